import { stat } from 'node:fs/promises';
import { createLimit } from '../async/limit.js';
import { DEFAULT_RETRY_POLICY, withRetry } from '../async/retry.js';
import { describeError } from '../errors.js';
import { type Digest, hashFile, hashStream } from '../fs/hash-file.js';
import { localStatePaths, readLocalStateInfo } from '../local/local-state.js';
import type { PinFile } from '../model/pin-file.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { stateObjectName } from '../versioned/layout.js';
import { readPointer } from '../versioned/pointer.js';
import { freshSince, readLastRefresh } from './last-refresh.js';
import { pinFilePath, readPins } from './pins.js';
import { pulledStatePath } from './pulled.js';

export type VerifyProblemCode =
  /** A declared component has no state at all. */
  | 'no-state'
  /** Local state is recorded or pinned, but its file is not in the tree. */
  | 'local-missing'
  /** The local state in the tree is not the version the pin file names. */
  | 'pin-mismatch'
  /** The project has a pin file, and it does not name this declared key. */
  | 'not-pinned'
  /** The pin file cannot be read. */
  | 'pin-file-invalid'
  /** A pinned version is gone from storage. */
  | 'pinned-version-missing'
  /** The latest pointer names a version that is gone from storage. */
  | 'version-missing'
  /** The state is older than the allowed age. */
  | 'stale'
  /** Bytes do not match the recorded sha256 or size. */
  | 'sha256-mismatch'
  /** The store could not be read. */
  | 'store-error';

export interface VerifyProblem {
  /** `null` for a problem of the whole project (a store that cannot be read). */
  key: string | null;
  code: VerifyProblemCode;
  message: string;
}

export interface VerifiedKey {
  key: string;
  management: ManagementType;
  /** The state that was checked: the pinned one, else the current one. */
  info?: StateInfo;
  pinned: boolean;
  ok: boolean;
}

export interface VerifyReport {
  ok: boolean;
  keys: VerifiedKey[];
  problems: VerifyProblem[];
  /** The pin file checked, when the project has one. */
  pinFile?: string;
  storeLocation?: string;
}

export interface VerifyOptions {
  keys?: readonly string[];
  management?: readonly ManagementType[];
  /** Opened only when a versioned key is selected. */
  openStore?: () => Promise<BlobStore>;
  /** State older than this (ms) is a problem. */
  maxAgeMs?: number;
  /** Download every versioned state and check its sha256, not only its size. */
  deep?: boolean;
  now?: Date;
  signal?: AbortSignal;
}

/**
 * The CI gate: checks that every selected component has state a deployment can use. With a pin
 * file, the pinned versions are what is checked. Local state is hashed in the tree; versioned
 * state is looked up in the store (and downloaded and hashed with `deep`), and a copy put in the
 * tree by `defstate pull` is hashed too. Every problem is reported, not just the first.
 */
export async function verifyState(
  project: Project,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { signal } = options;
  const now = (options.now ?? new Date()).getTime();
  const components = selectComponents(project, options.keys, options.management);
  const problems: VerifyProblem[] = [];
  const report = (key: string | null, code: VerifyProblemCode, message: string) =>
    problems.push({ key, code, message });

  let pins: PinFile | undefined;
  try {
    pins = await readPins(project.root);
  } catch (error) {
    report(null, 'pin-file-invalid', describeError(error));
  }

  // A refresh that found the content unchanged confirms that state is still current, though its
  // version (and `createdAt`) stays old: age counts from the later of the two.
  const lastRefresh = await readLastRefresh(project.root);
  const confirmedAt = (info: StateInfo) => freshSince(info, lastRefresh?.keys[info.key]);

  let store: BlobStore | undefined;
  let storeFailed = false;
  let latest = new Map<string, StateInfo>();
  if (components.some((component) => component.management === 'versioned') && options.openStore) {
    try {
      store = await options.openStore();
      const keys = components
        .filter(({ management }) => management === 'versioned')
        .map(({ key }) => key);
      ({ entries: latest } = await readPointer(store, { keys, signal }));
    } catch (error) {
      report(null, 'store-error', `The store could not be read: ${describeError(error)}`);
      store = undefined;
      storeFailed = true;
    }
  }

  const checkLocal = async (key: string, pinned: StateInfo | undefined) => {
    const path = localStatePaths(project.root, key).state;
    let info: StateInfo | undefined;
    try {
      info = await readLocalStateInfo(project.root, key);
    } catch (error) {
      report(key, 'local-missing', describeError(error));
      return pinned;
    }
    const present = await stat(path).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (!present) {
      if (pinned || info) report(key, 'local-missing', `local state file ${path} is missing`);
      else report(key, 'no-state', 'no local state; refresh it before building the artifact');
      return pinned ?? info;
    }
    if (!info) {
      report(key, 'local-missing', `${path} has no info.json beside it; refresh the key`);
      return pinned;
    }
    checkDigest(key, await hashFile(path), info, path);
    if (pinned && (pinned.version !== info.version || pinned.sha256 !== info.sha256)) {
      report(
        key,
        'pin-mismatch',
        `local state is version ${info.version}, the pin file pins ${pinned.version}`,
      );
    }
    return pinned ?? info;
  };

  const checkVersioned = async (key: string, pinned: StateInfo | undefined) => {
    const info = pinned ?? latest.get(key);
    if (pinned) {
      const pulled = pulledStatePath(project.root, pinned);
      const digest = await hashFile(pulled).catch(() => undefined);
      if (digest) checkDigest(key, digest, pinned, pulled);
    }
    if (!store) return info;
    if (!info) {
      report(key, 'no-state', `no versioned state in ${store.location}`);
      return info;
    }
    const name = stateObjectName(key, info.version);
    const retry = { policy: DEFAULT_RETRY_POLICY, signal };
    const meta = await withRetry(() => (store as BlobStore).head(name, { signal }), retry);
    const where = `${store.location}/${name}`;
    if (!meta) {
      report(
        key,
        pinned ? 'pinned-version-missing' : 'version-missing',
        `${pinned ? 'pinned' : 'latest'} version ${info.version} is gone from storage (${where})`,
      );
    } else if (meta.size !== info.size) {
      report(
        key,
        'sha256-mismatch',
        `${where} holds ${meta.size} bytes; its record says ${info.size}`,
      );
    } else if (options.deep) {
      const { body } = await withRetry(() => (store as BlobStore).get(name, { signal }), retry);
      checkDigest(key, await hashStream(body), info, where);
    }
    return info;
  };

  const checkDigest = (key: string, actual: Digest, expected: StateInfo, where: string) => {
    if (actual.sha256 !== expected.sha256 || actual.size !== expected.size) {
      report(
        key,
        'sha256-mismatch',
        `${where} has sha256 ${actual.sha256.slice(0, 12)}… (${actual.size} bytes); version ${expected.version} records ${expected.sha256.slice(0, 12)}… (${expected.size} bytes)`,
      );
    }
  };

  const limit = createLimit(4);
  const keys = await Promise.all(
    components.map(({ key, management }) =>
      limit(async (): Promise<VerifiedKey> => {
        const pinned = pins?.keys[key];
        if (pins && !pinned) {
          report(key, 'not-pinned', `the pin file does not name this key; deploy again`);
        }
        let info: StateInfo | undefined;
        try {
          info =
            management === 'local'
              ? await checkLocal(key, pinned)
              : await checkVersioned(key, pinned);
        } catch (error) {
          report(key, 'store-error', describeError(error));
        }
        if (info && options.maxAgeMs !== undefined) {
          const created = now - Date.parse(info.createdAt);
          const age = now - confirmedAt(info);
          if (age > options.maxAgeMs) {
            const confirmed =
              created - age > 1000 ? `, last confirmed by a refresh ${formatAge(age)} ago` : '';
            report(
              key,
              'stale',
              `version ${info.version} is ${formatAge(created)} old${confirmed}; the limit is ${formatAge(options.maxAgeMs)}`,
            );
          }
        }
        return {
          key,
          management,
          ...(info ? { info } : {}),
          pinned: pinned !== undefined,
          // Only this task reports problems of this key. A versioned key the store could not be
          // asked about is not known to be good.
          ok:
            !(storeFailed && management === 'versioned') &&
            !problems.some((problem) => problem.key === key),
        };
      }),
    ),
  );
  // Checks run concurrently; report in a stable order: project-wide first, then by key.
  problems.sort((a, b) => (a.key ?? '').localeCompare(b.key ?? '') || a.code.localeCompare(b.code));
  return {
    ok: problems.length === 0,
    keys,
    problems,
    ...(pins ? { pinFile: pinFilePath(project.root) } : {}),
    ...(store ? { storeLocation: store.location } : {}),
  };
}

function formatAge(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.round(ms)}ms`;
}
