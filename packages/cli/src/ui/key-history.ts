import {
  type BlobStore,
  describeError,
  type HistoryEntry,
  type PinFile,
  type Project,
  readHistory,
  readStatus,
} from '@defstate/core';
import { redact } from './status-view.js';

/** What the page shows under a key's details: its versions, newest first, and a note. */
export interface PageHistory {
  key: string;
  note: string | null;
  entries: HistoryEntry[];
}

/**
 * One key's history as the page shows it. A local key keeps only its current version, read from
 * the project's tree; a versioned key's versions are listed in the store.
 */
export async function readPageHistory(
  project: Project,
  key: string,
  options: { openStore: () => Promise<BlobStore>; pins?: PinFile; signal?: AbortSignal },
): Promise<PageHistory> {
  const component = project.components.find((candidate) => candidate.key === key);
  if (component?.management === 'local') {
    const report = await readStatus(project, { keys: [key] });
    const info = report.keys[0]?.info;
    return {
      key,
      note: 'Local state keeps only its current version.',
      entries: info
        ? [
            {
              ...info,
              key,
              storedAt: null,
              generation: null,
              latest: true,
              pinned: options.pins?.keys[key]?.version === info.version,
              published: true,
            },
          ]
        : [],
    };
  }
  const result = await readHistory(await options.openStore(), key, {
    pins: options.pins ? [options.pins] : [],
    signal: options.signal,
  });
  return { key, note: null, entries: result.entries };
}

// The static page is one file that opens anywhere, often as a CI artefact: it carries the history
// of at most this many keys, each cut to its newest versions, so that a store of thousands of
// keys neither makes `status --html` list every one of them nor writes a page of many megabytes.
export const STATIC_HISTORY_KEYS = 200;
export const STATIC_HISTORY_VERSIONS = 50;
const STATIC_HISTORY_CONCURRENCY = 8;

/**
 * The histories `status --html` embeds: those of the first keys of the page (the ones needing
 * attention come first), eight listed at a time. A key whose versions cannot be listed carries
 * the reason instead.
 */
export async function readStaticHistories(
  project: Project,
  keys: readonly string[],
  options: { openStore: () => Promise<BlobStore>; pins?: PinFile },
): Promise<PageHistory[]> {
  const chosen = keys.slice(0, STATIC_HISTORY_KEYS);
  // A list, not an object by key: a key may be any text, `__proto__` and `toString` included.
  const histories: PageHistory[] = new Array(chosen.length);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const index = next++;
      const key = chosen[index] as string;
      histories[index] = await readPageHistory(project, key, options).then(
        (history) => ({ ...history, entries: history.entries.slice(0, STATIC_HISTORY_VERSIONS) }),
        (error: unknown) => ({
          key,
          note: redact(`Could not list the history: ${describeError(error)}`),
          entries: [],
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: STATIC_HISTORY_CONCURRENCY }, worker));
  return histories;
}
