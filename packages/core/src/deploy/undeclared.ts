import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { keyToFolder } from '../model/key-folder.js';
import type { StateInfo } from '../model/state-info.js';
import { StateInfoSchema } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { type BlobStore, listAll, readText } from '../store/blob-store.js';
import { PUBLISHED_PREFIX } from '../versioned/layout.js';
import { readPointer } from '../versioned/pointer.js';

/**
 * Keys a store holds that the project does not declare ("undeclared"): left behind when a
 * component was removed or renamed. They are reported, never failed on: a store may be shared
 * with another project or branch that still declares them. `defstate forget` moves one out of
 * the pointer; `prune --undeclared --older-than <age>` collects the ones nobody has refreshed
 * for that long.
 */
export function undeclaredEntries(
  project: Project,
  entries: ReadonlyMap<string, StateInfo>,
): StateInfo[] {
  const declared = new Set(project.components.map(({ key }) => key));
  return [...entries.values()]
    .filter(({ key }) => !declared.has(key))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Every key the store holds versions of that is not in `declared`: the keys of the whole pointer,
 * and the keys of published records that no pointer entry names any more (forgotten keys whose
 * versions are still there). A record's folder is mapped back to its key by reading one record,
 * which names its key: a long key's folder is a hash and cannot be read backwards.
 */
export async function findUndeclaredKeys(
  store: BlobStore,
  declared: readonly string[],
  { signal }: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const retry = { policy: STORE_RETRY_POLICY, signal };
  const { entries } = await readPointer(store, { signal });
  const known = new Map<string, string>();
  for (const key of [...declared, ...entries.keys()]) known.set(keyToFolder(key), key);
  const unknownFolders = new Map<string, string>();
  await withRetry(async () => {
    for await (const item of listAll(store, PUBLISHED_PREFIX, { signal })) {
      const folder = item.name.slice(PUBLISHED_PREFIX.length).split('/')[0] ?? '';
      if (folder && !known.has(folder) && !unknownFolders.has(folder)) {
        unknownFolders.set(folder, item.name);
      }
    }
  }, retry);
  const found = new Set(entries.keys());
  for (const [folder, name] of unknownFolders) {
    const record = await withRetry(() => readText(store, name, { signal }), retry).catch(
      () => undefined,
    );
    const parsed = record ? StateInfoSchema.safeParse(safeJson(record.text)) : undefined;
    // A record that does not name a key of its folder is not defstate's to collect.
    if (parsed?.success && keyToFolder(parsed.data.key) === folder) found.add(parsed.data.key);
  }
  const declaredSet = new Set(declared);
  return [...found].filter((key) => !declaredSet.has(key)).sort();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
