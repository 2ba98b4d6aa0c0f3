import {
  type RetryPolicy,
  type RetryRuntime,
  STORE_RETRY_POLICY,
  withRetry,
} from '../async/retry.js';
import { UsageError } from '../errors.js';
import { readPresentLocalInfo } from '../local/local-state.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import type { BlobStore } from '../store/blob-store.js';
import { readPointer } from '../versioned/pointer.js';
import { writePins } from './pins.js';

export interface PinProjectOptions {
  /** Where versioned state is: its latest pointer is read (retried) for the versioned keys. */
  store?: BlobStore;
  /** What this run produced (or found unchanged), by key; it wins over everything else. */
  produced?: ReadonlyMap<string, StateInfo>;
  now?: Date;
  signal?: AbortSignal;
  /** Retries of reading the pointer. */
  policy?: RetryPolicy;
  runtime?: RetryRuntime;
}

/**
 * Pins every declared component at its current state: what this run produced, else the local
 * state in the tree or the latest versioned one (read from `store` now). A deployment needs all of them, so a declared key
 * without state is an error and no pin file is written.
 */
export async function pinProject(
  project: Project,
  options: PinProjectOptions = {},
): Promise<PinFile> {
  const { store, signal, runtime, policy = STORE_RETRY_POLICY } = options;
  const versionedKeys = project.components
    .filter(({ key, management }) => management === 'versioned' && !options.produced?.has(key))
    .map(({ key }) => key);
  const latest =
    store && versionedKeys.length > 0
      ? (
          await withRetry(() => readPointer(store, { keys: versionedKeys, signal }), {
            policy,
            runtime,
            signal,
          })
        ).entries
      : new Map<string, StateInfo>();
  const infos = await Promise.all(
    project.components.map(
      async ({ key, management }) =>
        options.produced?.get(key) ??
        (management === 'local' ? await readPresentLocalInfo(project.root, key) : latest.get(key)),
    ),
  );
  const missing = project.components.filter((_component, index) => !infos[index]);
  if (missing.length > 0) {
    const keys = missing.map(({ key }) => `"${key}"`).join(', ');
    const count =
      missing.length === 1 ? '1 declared key has' : `${missing.length} declared keys have`;
    throw new UsageError(`Cannot pin: ${count} no state: ${keys}.`, {
      hint: 'A deployment needs state for every declared key; refresh them all (no --key) first.',
    });
  }
  return writePins(project.root, infos as StateInfo[], {
    store: store?.location,
    now: options.now,
  });
}
