import { readPresentLocalInfo } from '../local/local-state.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { readPointer } from '../versioned/pointer.js';
import { undeclaredEntries } from './undeclared.js';

export interface KeyStatus {
  key: string;
  management: ManagementType;
  description?: string;
  /** The current state, or `undefined` when the key has none. */
  info: StateInfo | undefined;
  /** How many components declare the key, when more than one do (they share its state). */
  declarations?: number;
}

export interface StatusReport {
  keys: KeyStatus[];
  storeLocation?: string;
  /**
   * With `undeclared`: the latest entries of keys the store holds and the project does not
   * declare, by key.
   */
  undeclared?: StateInfo[];
}

export interface ReadStatusOptions {
  keys?: readonly string[];
  management?: readonly ManagementType[];
  /** Opened only when a versioned key is selected. */
  openStore?: () => Promise<BlobStore>;
  /**
   * Also list the keys in the store that the project does not declare. It reads every pointer
   * shard rather than only the selected keys' (still one read per shard).
   */
  undeclared?: boolean;
  signal?: AbortSignal;
}

/**
 * The current state of every declared key. Versioned keys cost one read of each pointer shard
 * however many keys there are; local keys read their `info.json`.
 */
export async function readStatus(
  project: Project,
  options: ReadStatusOptions = {},
): Promise<StatusReport> {
  const components = selectComponents(project, options.keys, options.management);
  let storeLocation: string | undefined;
  let latest = new Map<string, StateInfo>();
  let undeclared: StateInfo[] | undefined;
  const versioned = components.filter(({ management }) => management === 'versioned');
  if (versioned.length > 0 && options.openStore) {
    const store = await options.openStore();
    storeLocation = store.location;
    // The shards the keys fall in, each read once: at most the shard count, however many keys.
    const keys = versioned.map(({ key }) => key);
    const whole = options.undeclared === true;
    ({ entries: latest } = await readPointer(store, {
      ...(whole ? {} : { keys }),
      signal: options.signal,
    }));
    if (whole) undeclared = undeclaredEntries(project, latest);
  }
  const keys = await Promise.all(
    components.map(async ({ key, management, description }): Promise<KeyStatus> => {
      const info =
        management === 'local' ? await readPresentLocalInfo(project.root, key) : latest.get(key);
      const declarations = project.sharedKeys?.get(key)?.length;
      return {
        key,
        management,
        ...(description ? { description } : {}),
        info,
        ...(declarations ? { declarations } : {}),
      };
    }),
  );
  return { keys, storeLocation, ...(undeclared ? { undeclared } : {}) };
}
