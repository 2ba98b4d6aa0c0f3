import { DEFAULT_RETRY_POLICY, withRetry } from '../async/retry.js';
import { readPresentLocalInfo } from '../local/local-state.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { readStateInfo } from '../versioned/state-info-store.js';

export interface KeyStatus {
  key: string;
  management: ManagementType;
  description?: string;
  /** The current state, or `undefined` when the key has none. */
  info: StateInfo | undefined;
}

export interface StatusReport {
  keys: KeyStatus[];
  storeLocation?: string;
}

export interface ReadStatusOptions {
  keys?: readonly string[];
  management?: readonly ManagementType[];
  /** Opened only when a versioned key is selected. */
  openStore?: () => Promise<BlobStore>;
  signal?: AbortSignal;
}

/**
 * The current state of every declared key. Versioned keys cost one read of the state info
 * document however many there are; local keys read their `info.json`.
 */
export async function readStatus(
  project: Project,
  options: ReadStatusOptions = {},
): Promise<StatusReport> {
  const components = selectComponents(project, options.keys, options.management);
  let storeLocation: string | undefined;
  let latest: Record<string, StateInfo> = {};
  if (components.some((component) => component.management === 'versioned') && options.openStore) {
    const store = await options.openStore();
    storeLocation = store.location;
    const read = () => readStateInfo(store, { signal: options.signal });
    const policy = DEFAULT_RETRY_POLICY;
    latest = (await withRetry(read, { policy, signal: options.signal })).document.keys;
  }
  const keys = await Promise.all(
    components.map(async ({ key, management, description }): Promise<KeyStatus> => {
      const info =
        management === 'local' ? await readPresentLocalInfo(project.root, key) : latest[key];
      return { key, management, ...(description ? { description } : {}), info };
    }),
  );
  return { keys, storeLocation };
}
