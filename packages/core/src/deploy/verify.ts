import { createLimit } from '../async/limit.js';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { describeError } from '../errors.js';
import { type Digest, hashFile, hashStream } from '../fs/hash-file.js';
import { localStatePaths, readLocalState, readLocalStateInfo } from '../local/local-state.js';
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
import { undeclaredEntries } from './undeclared.js';

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
  | 'store-error'
  /** The pin file was written for another store than the one this environment uses. */
  | 'pin-store-mismatch';

export interface VerifyProblem {
  /** `null` for a problem of the whole project (a store that cannot be read). */
  key: string | null;
  code: VerifyProblemCode;
  message: string;
}

/** Something worth saying that does not fail the check. */
export interface VerifyWarning {
  key: string;
  /** `undeclared`: the store holds the key, and the project does not declare it. */
  code: 'undeclared';
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
  /** What is worth a look but passes: keys in the store that the project no longer declares. */
  warnings: VerifyWarning[];
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
  /** Also warn of keys in the store that the project does not declare (reads every shard). */
  undeclared?: boolean;
  now?: Date;
  signal?: AbortSignal;
}

/** What the steps of one verification share. */
interface Verification {
  project: Project;
  options: VerifyOptions;
  now: number;
  problems: VerifyProblem[];
  pins: PinFile | undefined;
  /** Since when each state is known current: its creation or a later unchanged refresh. */
  confirmedAt: (info: StateInfo) => number;
  store: BlobStore | undefined;
  /** The store could not be read: its keys are not known to be good. */
  storeFailed: boolean;
  /** The pinned versions are in another store: they are not looked for in this one. */
  pinsElsewhere: boolean;
  latest: Map<string, StateInfo>;
  warnings: VerifyWarning[];
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
  const components = selectComponents(project, options.keys, options.management);
  const run: Verification = {
    project,
    options,
    now: (options.now ?? new Date()).getTime(),
    problems: [],
    pins: undefined,
    confirmedAt: (info) => Date.parse(info.createdAt),
    store: undefined,
    storeFailed: false,
    pinsElsewhere: false,
    latest: new Map(),
    warnings: [],
  };
  await readProjectRecords(run);
  const versioned = components.filter(({ management }) => management === 'versioned');
  if (versioned.length > 0 && options.openStore) {
    await readStore(
      run,
      options.openStore,
      versioned.map(({ key }) => key),
    );
  }
  const limit = createLimit(4);
  const keys = await Promise.all(
    components.map(({ key, management }) => limit(() => verifyKey(run, key, management))),
  );
  // Checks run concurrently; report in a stable order: project-wide first, then by key.
  run.problems.sort(
    (a, b) => (a.key ?? '').localeCompare(b.key ?? '') || a.code.localeCompare(b.code),
  );
  return {
    ok: run.problems.length === 0,
    keys,
    problems: run.problems,
    warnings: run.warnings,
    ...(run.pins ? { pinFile: pinFilePath(project.root) } : {}),
    ...(run.store ? { storeLocation: run.store.location } : {}),
  };
}

function report(run: Verification, key: string | null, code: VerifyProblemCode, message: string) {
  run.problems.push({ key, code, message });
}

/** The pin file and the record of the last refreshes, from the project's state folder. */
async function readProjectRecords(run: Verification): Promise<void> {
  try {
    run.pins = await readPins(run.project.root);
  } catch (error) {
    report(run, null, 'pin-file-invalid', describeError(error));
  }
  // A refresh that found the content unchanged confirms that state is still current, though its
  // version (and `createdAt`) stays old: age counts from the later of the two.
  const lastRefresh = await readLastRefresh(run.project.root);
  run.confirmedAt = (info) => freshSince(info, lastRefresh?.keys[info.key]);
}

/** Opens the store and reads the latest entries of the versioned keys (their shards only). */
async function readStore(
  run: Verification,
  openStore: () => Promise<BlobStore>,
  keys: readonly string[],
): Promise<void> {
  const { signal } = run.options;
  try {
    const store = await openStore();
    const whole = run.options.undeclared === true;
    ({ entries: run.latest } = await readPointer(store, { ...(whole ? {} : { keys }), signal }));
    run.store = store;
    if (whole) {
      for (const info of undeclaredEntries(run.project, run.latest)) {
        run.warnings.push({
          key: info.key,
          code: 'undeclared',
          message: `the store holds it (latest ${info.version}) but the project does not declare it; \`defstate forget\` moves it out of the pointer, \`defstate prune --undeclared --older-than <age>\` collects it`,
        });
      }
    }
  } catch (error) {
    report(run, null, 'store-error', `The store could not be read: ${describeError(error)}`);
    run.storeFailed = true;
    return;
  }
  // Pins name versions of the store they were written from. Looking for them in another says
  // only "gone", which is not the problem: the environment points elsewhere.
  const pinnedFrom = run.pins?.store;
  if (pinnedFrom && pinnedFrom !== run.store.location) {
    run.pinsElsewhere = true;
    report(
      run,
      null,
      'pin-store-mismatch',
      `the pin file was written from ${pinnedFrom}, but this environment's store is ${run.store.location}; its versioned pins were not looked for there`,
    );
  }
}

/** Every check of one key; only this task reports problems of this key. */
async function verifyKey(
  run: Verification,
  key: string,
  management: ManagementType,
): Promise<VerifiedKey> {
  const pinned = run.pins?.keys[key];
  if (run.pins && !pinned) {
    report(run, key, 'not-pinned', 'the pin file does not name this key; deploy again');
  }
  let info: StateInfo | undefined;
  try {
    info =
      management === 'local'
        ? await checkLocal(run, key, pinned)
        : await checkVersioned(run, key, pinned);
  } catch (error) {
    report(run, key, 'store-error', describeError(error));
  }
  if (info) checkAge(run, key, info);
  return {
    key,
    management,
    ...(info ? { info } : {}),
    pinned: pinned !== undefined,
    // A versioned key the store could not be asked about is not known to be good.
    ok:
      !(run.storeFailed && management === 'versioned') &&
      !run.problems.some((problem) => problem.key === key),
  };
}

/** Local state: its record, its file, its bytes, and the pin. */
async function checkLocal(
  run: Verification,
  key: string,
  pinned: StateInfo | undefined,
): Promise<StateInfo | undefined> {
  const { state } = localStatePaths(run.project.root, key);
  let info: StateInfo | undefined;
  let local: Awaited<ReturnType<typeof readLocalState>>;
  try {
    info = await readLocalStateInfo(run.project.root, key);
    local = await readLocalState(run.project.root, key);
  } catch (error) {
    report(run, key, 'local-missing', describeError(error));
    return pinned;
  }
  if (!local) {
    if (pinned || info) report(run, key, 'local-missing', `local state file ${state} is missing`);
    else report(run, key, 'no-state', 'no local state; refresh it before building the artifact');
    return pinned ?? info;
  }
  checkDigest(run, key, await hashFile(local.path), local.info, local.path);
  if (pinned && (pinned.version !== local.info.version || pinned.sha256 !== local.info.sha256)) {
    report(
      run,
      key,
      'pin-mismatch',
      `local state is version ${local.info.version}, the pin file pins ${pinned.version}`,
    );
  }
  return pinned ?? local.info;
}

/** Versioned state: the pulled copy, then the object in the store (its size, or its bytes). */
async function checkVersioned(
  run: Verification,
  key: string,
  pinned: StateInfo | undefined,
): Promise<StateInfo | undefined> {
  const { store, options } = run;
  const { signal } = options;
  const info = pinned ?? run.latest.get(key);
  if (pinned) {
    const pulled = pulledStatePath(run.project.root, pinned);
    const digest = await hashFile(pulled).catch(() => undefined);
    if (digest) checkDigest(run, key, digest, pinned, pulled);
  }
  if (!store || (pinned && run.pinsElsewhere)) return info;
  if (!info) {
    report(run, key, 'no-state', `no versioned state in ${store.location}`);
    return info;
  }
  const name = stateObjectName(key, info.version);
  const retry = { policy: STORE_RETRY_POLICY, signal };
  const meta = await withRetry(() => store.head(name, { signal }), retry);
  const where = `${store.location}/${name}`;
  if (!meta) {
    report(
      run,
      key,
      pinned ? 'pinned-version-missing' : 'version-missing',
      `${pinned ? 'pinned' : 'latest'} version ${info.version} is gone from storage (${where})`,
    );
  } else if (meta.size !== info.size) {
    report(
      run,
      key,
      'sha256-mismatch',
      `${where} holds ${meta.size} bytes; its record says ${info.size}`,
    );
  } else if (options.deep) {
    const { body } = await withRetry(() => store.get(name, { signal }), retry);
    checkDigest(run, key, await hashStream(body), info, where);
  }
  return info;
}

function checkDigest(
  run: Verification,
  key: string,
  actual: Digest,
  expected: StateInfo,
  where: string,
): void {
  if (actual.sha256 !== expected.sha256 || actual.size !== expected.size) {
    report(
      run,
      key,
      'sha256-mismatch',
      `${where} has sha256 ${actual.sha256.slice(0, 12)}… (${actual.size} bytes); version ${expected.version} records ${expected.sha256.slice(0, 12)}… (${expected.size} bytes)`,
    );
  }
}

/** The state's age against `--max-age`, counted from the last refresh that confirmed it. */
function checkAge(run: Verification, key: string, info: StateInfo): void {
  const { maxAgeMs } = run.options;
  if (maxAgeMs === undefined) return;
  const created = run.now - Date.parse(info.createdAt);
  const age = run.now - run.confirmedAt(info);
  if (age <= maxAgeMs) return;
  const confirmed =
    created - age > 1000 ? `, last confirmed by a refresh ${formatAge(age)} ago` : '';
  report(
    run,
    key,
    'stale',
    `version ${info.version} is ${formatAge(created)} old${confirmed}; the limit is ${formatAge(maxAgeMs)}`,
  );
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
