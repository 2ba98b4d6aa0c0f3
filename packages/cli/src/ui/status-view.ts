import {
  type BlobStore,
  DefstateError,
  freshSince,
  type KeyStatus,
  type LastRefreshEntry,
  type LastRefreshRecord,
  type ManagementType,
  type PinFile,
  type Project,
  readLastRefresh,
  readPins,
  readRecordTime,
  readStatus,
  type StateInfo,
  selectComponents,
} from '@defstate/core';
import { humanDuration } from '../output/format.js';
import { redactDocument, redactText } from '../output/redact.js';

export { humanDuration };

/**
 * What the status page shows, as one JSON document: the live page polls it from `defstate ui`,
 * and `defstate status --html` embeds it in a static file. It holds what `status` shows plus
 * pins and the last refresh, each key's health, and nothing secret: the store's location, never
 * the instance config, the environment or credentials.
 */
export const STATUS_VIEW_SCHEMA_VERSION = 1;

export type KeyHealth =
  | 'up-to-date'
  | 'update-available'
  | 'rolled-back'
  | 'pin-mismatch'
  | 'no-state'
  | 'stale'
  | 'failed'
  | 'unknown';

/** Most serious first: the order `problems` are listed in and the page sorts by. */
export const HEALTH_ORDER: readonly KeyHealth[] = [
  'failed',
  'pin-mismatch',
  'unknown',
  'no-state',
  'stale',
  'update-available',
  'rolled-back',
  'up-to-date',
];

/** How each health reads, the same in the terminal and on the page. */
export const HEALTH_LABELS: Readonly<Record<KeyHealth, string>> = {
  failed: 'failed last refresh',
  'pin-mismatch': 'pin mismatch',
  unknown: 'unknown',
  'no-state': 'no state',
  stale: 'stale',
  'update-available': 'update available',
  'rolled-back': 'rolled back',
  'up-to-date': 'up to date',
};

export interface ViewError {
  code: string;
  message: string;
}

export interface StatusViewKey {
  key: string;
  management: ManagementType;
  description: string | null;
  /** How many components declare the key (more than one share its state). */
  declarations: number;
  version: string | null;
  createdAt: string | null;
  size: number | null;
  sha256: string | null;
  /** The store's generation of a versioned key's state, when the store assigns one. */
  generation: number | null;
  pinnedVersion: string | null;
  lastRefresh: {
    /** refreshed, unchanged or failed; an interrupted run may also record cancelled or not-run. */
    status: LastRefreshEntry['status'] | 'cancelled' | 'not-run';
    at: string;
    version: string | null;
    error: ViewError | null;
  } | null;
  /** The most serious of `problems`, or `up-to-date` when there are none. */
  health: KeyHealth;
  /** Everything wrong with the key at once (failed and stale, say), most serious first. */
  problems: KeyHealth[];
  /** A sentence for each problem, saying why and what to run; or why all is well. */
  reason: string;
}

/** A key the store holds and the project does not declare (a warning, not a failure). */
export interface UndeclaredKey {
  key: string;
  version: string;
  createdAt: string;
  size: number;
}

export interface StatusView {
  schemaVersion: typeof STATUS_VIEW_SCHEMA_VERSION;
  generatedAt: string;
  project: string;
  store: string | null;
  maxAgeMs: number | null;
  pinnedAt: string | null;
  /** Whether the page offers refresh and rollback (only `defstate ui --allow-writes`). */
  writable: boolean;
  /** Why some of the state could not be read; the keys that could are still listed. */
  error: ViewError | null;
  keys: StatusViewKey[];
  /** Keys in the store that the project does not declare; empty when not looked for. */
  undeclared: UndeclaredKey[];
}

export interface BuildStatusViewInput {
  project: string;
  keys: readonly KeyStatus[];
  storeLocation?: string;
  /** Keys in the store that the project does not declare. */
  undeclared?: readonly StateInfo[];
  pins?: PinFile;
  lastRefresh?: LastRefreshRecord;
  /** Keys whose state could not be read (their store failed). */
  unreadable?: ReadonlySet<string>;
  /**
   * Versioned keys whose latest version the store recorded before their pinned one: rolled back
   * (`findRolledBack`). A differing latest not in here is an update.
   */
  rolledBack?: ReadonlySet<string>;
  error?: unknown;
  maxAgeMs?: number;
  writable?: boolean;
  now?: Date;
}

/** Turns what core read into the page's document. Pure, so every health rule is testable. */
export function buildStatusView(input: BuildStatusViewInput): StatusView {
  const now = input.now ?? new Date();
  // Every string, not just the messages: whatever a later field quotes is covered too.
  return redactDocument({
    schemaVersion: STATUS_VIEW_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    project: input.project,
    store: input.storeLocation ?? input.pins?.store ?? null,
    maxAgeMs: input.maxAgeMs ?? null,
    pinnedAt: input.pins?.pinnedAt ?? null,
    writable: input.writable ?? false,
    error: input.error === undefined ? null : viewError(input.error),
    keys: input.keys.map((status) => viewKey(status, input, now)),
    undeclared: (input.undeclared ?? []).map(({ key, version, createdAt, size }) => ({
      key,
      version,
      createdAt,
      size,
    })),
  } satisfies StatusView);
}

function viewKey(
  { key, management, description, info, declarations }: KeyStatus,
  input: BuildStatusViewInput,
  now: Date,
): StatusViewKey {
  const pinnedVersion = input.pins?.keys[key]?.version ?? null;
  const last = input.lastRefresh?.keys[key];
  const lastRefresh = last
    ? {
        status: last.status,
        at: last.at,
        version: last.version,
        error: last.error ? { code: last.error.code, message: redact(last.error.message) } : null,
      }
    : null;
  const findings = judge(management, info, {
    pinnedVersion,
    rolledBack: input.rolledBack?.has(key) ?? false,
    lastRefresh: last,
    unreadable: input.unreadable?.has(key) ?? false,
    maxAgeMs: input.maxAgeMs,
    now,
  });
  const problems = findings.map(([health]) => health);
  return {
    key,
    management,
    description: description ?? null,
    declarations: declarations ?? 1,
    version: info?.version ?? null,
    createdAt: info?.createdAt ?? null,
    size: info?.size ?? null,
    sha256: info?.sha256 ?? null,
    generation: (info as { generation?: number } | undefined)?.generation ?? null,
    pinnedVersion,
    lastRefresh,
    health: problems[0] ?? 'up-to-date',
    problems,
    reason: findings.length
      ? findings.map(([, reason]) => reason).join(' ')
      : pinnedVersion
        ? 'Latest and pinned.'
        : 'Present.',
  };
}

/**
 * Every problem a key has, most serious first, each with its reason. Rules that exclude each
 * other (no state / a pin that disagrees) are decided in order; a failure and staleness stand
 * together, as both are true at once.
 */
function judge(
  management: ManagementType,
  info: StateInfo | undefined,
  facts: {
    pinnedVersion: string | null;
    rolledBack: boolean;
    lastRefresh: LastRefreshEntry | undefined;
    unreadable: boolean;
    maxAgeMs: number | undefined;
    now: Date;
  },
): Array<[KeyHealth, string]> {
  if (facts.unreadable) {
    return [['unknown', 'Its store could not be read (see the message above).']];
  }
  const found: Array<[KeyHealth, string]> = [];
  const failure = facts.lastRefresh?.status === 'failed' ? facts.lastRefresh : undefined;
  // A failure older than the current state is history: a later refresh (maybe elsewhere) or a
  // rollback has replaced the state since.
  if (failure && !(info && Date.parse(info.createdAt) > Date.parse(failure.at))) {
    const cause = failure.error ? `: ${redact(failure.error.message)}` : '.';
    found.push([
      'failed',
      `The last refresh, at ${failure.at.slice(0, 19).replace('T', ' ')}Z, failed${cause}`,
    ]);
  }
  const pinned = facts.pinnedVersion;
  if (!info) {
    found.push(['no-state', 'No state yet: run `defstate refresh`.']);
  } else if (pinned && pinned !== info.version && management === 'local') {
    // Local state lives in the tree: the pinned bytes are gone, and loading them fails.
    found.push([
      'pin-mismatch',
      `The pin file pins ${pinned}, but the tree holds ${info.version}: loadState() fails (integrity) until you run \`defstate pin\` (or \`defstate deploy\`).`,
    ]);
  } else if (facts.maxAgeMs !== undefined) {
    const age = facts.now.getTime() - freshSince(info, facts.lastRefresh);
    if (age > facts.maxAgeMs) {
      found.push([
        'stale',
        `Not refreshed within the maximum age (${humanDuration(facts.maxAgeMs)}).`,
      ]);
    }
  }
  if (info && pinned && pinned !== info.version && management === 'versioned') {
    found.push(
      !facts.rolledBack
        ? [
            'update-available',
            `The pin file names ${pinned}; the latest is ${info.version}. Deployments load the pinned one until \`defstate deploy\` or \`defstate pin\`.`,
          ]
        : [
            'rolled-back',
            `Latest (${info.version}) is older than the pinned ${pinned}: it was rolled back. Deployments keep ${pinned} until \`defstate pin\` ships the rollback.`,
          ],
    );
  }
  return found.sort(([a], [b]) => HEALTH_ORDER.indexOf(a) - HEALTH_ORDER.indexOf(b));
}

export interface CollectStatusViewOptions {
  openStore: () => Promise<BlobStore>;
  maxAgeMs?: number;
  writable?: boolean;
  keys?: readonly string[];
  management?: readonly ManagementType[];
  signal?: AbortSignal;
}

/**
 * Reads everything the page shows. A store that fails does not blank the page: the error is
 * carried in the view, local keys are still read, and versioned keys show as unknown.
 */
export async function collectStatusView(
  project: Project,
  options: CollectStatusViewOptions,
): Promise<StatusView> {
  const selection = { keys: options.keys, management: options.management, signal: options.signal };
  const { pins, lastRefresh, problem } = await readDeployFacts(project.root);
  const common = {
    project: project.root,
    pins,
    lastRefresh,
    maxAgeMs: options.maxAgeMs,
    writable: options.writable,
  };
  // Keys the project no longer declares are looked for only in a view of every declared key.
  const undeclared = !options.keys?.length && !options.management?.length;
  try {
    const report = await readStatus(project, {
      ...selection,
      openStore: options.openStore,
      undeclared,
    });
    const rolledBack = report.storeLocation
      ? await findRolledBack(await options.openStore(), report.keys, pins, options.signal)
      : undefined;
    return buildStatusView({
      ...common,
      keys: report.keys,
      storeLocation: report.storeLocation,
      ...(rolledBack ? { rolledBack } : {}),
      undeclared: report.undeclared,
      error: problem,
    });
  } catch (error) {
    // Without a store, readStatus reads only the local keys' state.
    const local = await readStatus(project, selection).catch(() => undefined);
    const keys: KeyStatus[] =
      local?.keys ??
      selectComponents(project, options.keys, options.management).map(({ key, management }) => ({
        key,
        management,
        info: undefined,
      }));
    const unreadable = new Set(
      keys.filter(({ management }) => !local || management === 'versioned').map(({ key }) => key),
    );
    return buildStatusView({ ...common, keys, unreadable, error });
  }
}

/**
 * The versioned keys whose latest version is older than their pinned one: rolled back, not an
 * update. Older by the store's clock, when it recorded each (version ids carry the clocks of the
 * machines that refreshed, which may be wrong). Two listings per key whose latest differs from
 * its pin; a store that stamps no times gives none.
 */
export async function findRolledBack(
  store: BlobStore,
  keys: readonly KeyStatus[],
  pins: PinFile | undefined,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const rolledBack = new Set<string>();
  await Promise.all(
    keys.map(async ({ key, management, info }) => {
      const pinned = pins?.keys[key]?.version;
      if (management !== 'versioned' || !info || !pinned || pinned === info.version) return;
      const [latestAt, pinnedAt] = await Promise.all([
        readRecordTime(store, key, info.version, { signal }),
        readRecordTime(store, key, pinned, { signal }),
      ]);
      if (latestAt && pinnedAt && latestAt < pinnedAt) rolledBack.add(key);
    }),
  );
  return rolledBack;
}

/**
 * The pin file and the last refresh record, either of which may be missing. One that cannot be
 * read is left out and returned as `problem`, for the page to show.
 */
export async function readDeployFacts(
  projectRoot: string,
): Promise<{ pins?: PinFile; lastRefresh?: LastRefreshRecord; problem?: unknown }> {
  let problem: unknown;
  const keep = (error: unknown) => {
    problem ??= error;
    return undefined;
  };
  const [pins, lastRefresh] = await Promise.all([
    readPins(projectRoot).catch(keep),
    readLastRefresh(projectRoot).catch(keep),
  ]);
  return { pins, lastRefresh, problem };
}

export function viewError(error: unknown): ViewError {
  const code = error instanceof DefstateError ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: redact(message) };
}

/**
 * Error text can quote URLs and connection strings. Their credentials go as they do everywhere
 * (core's redaction, and this run's own secrets); the page also leaves out the rest of any URL's
 * query, which a signed URL fills with more than a reader needs.
 */
export function redact(message: string): string {
  return redactText(message).replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi, '$1?…');
}
