import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { redactSecrets } from '../adapter/redact.js';
import { abortAfterGrace } from '../async/grace.js';
import { createLimit } from '../async/limit.js';
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type RetryRuntime,
  systemRuntime,
} from '../async/retry.js';
import { recordLastRefresh } from '../deploy/last-refresh.js';
import { pinProject } from '../deploy/pin-project.js';
import { pinFilePath } from '../deploy/pins.js';
import { AbortedError, ConfigError, UsageError } from '../errors.js';
import type { Digest } from '../fs/hash-file.js';
import { commitLocalState } from '../local/local-commit.js';
import {
  createStagingFolder,
  ensureLocalStateRoot,
  readLocalState,
  removeAbandonedStaging,
  removeStagingFolder,
  removeStagingRootIfEmpty,
  STAGED_STATE_FILE,
} from '../local/local-state.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import type { Component } from '../project/component.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { readPointer } from '../versioned/pointer.js';
import { prepareStoreForWrites } from '../versioned/pointer-writer.js';
import { ORPHAN_GRACE_MS } from '../versioned/published.js';
import { withComponentGuards } from './component-guard.js';
import { asError, fetchComponentState } from './fetch-state.js';
import { PointerBatcher, sameContent } from './pointer-batcher.js';
import { publishVersion, type RecordedVersion } from './publish-version.js';
import type { KeyOutcome, KeyResult, RefreshEvent, RefreshReport } from './report.js';

export type { KeyOutcome, KeyResult, RefreshEvent, RefreshReport } from './report.js';

export const DEFAULT_CONCURRENCY = Math.min(8, Math.max(2, availableParallelism() * 2));
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** How long an interrupted run may still take to commit what it already uploaded, in ms. */
const COMMIT_GRACE_MS = 1_500;

export interface RefreshStateOptions {
  project: Project;
  /** Only these keys; every one must be declared. */
  keys?: readonly string[];
  /** Only these management types; both by default. */
  management?: readonly ManagementType[];
  /** Opens the store for versioned state; called once, and only if a versioned key is selected. */
  openStore?: () => Promise<BlobStore>;
  /** Components refreshed at once. */
  concurrency?: number;
  /** Retries of a transient failure, per key. */
  retries?: number;
  /** Longest one refresh attempt may take, in ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: RefreshEvent) => void;
  runtime?: RetryRuntime;
  /** How long a batch of pointer updates gathers before its compare-and-swap, in ms. */
  commitDelayMs?: number;
  /**
   * After the run, if every key succeeded, pin every declared component (selected or not) to its
   * current version in `.local_defs_state/.pins.json`, for the deployment artifact.
   */
  pin?: boolean;
  now?: () => Date;
}

/** What the steps of one run share. */
interface Run {
  project: Project;
  policy: RetryPolicy;
  runtime: RetryRuntime;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onEvent: (event: RefreshEvent) => void;
  now: () => Date;
  limit: ReturnType<typeof createLimit>;
  versioned: VersionedTarget | undefined;
  /** Why versioned keys cannot be refreshed in this run: the store could not be reached. */
  storeFailure: Error | undefined;
}

interface VersionedTarget {
  store: BlobStore;
  /** The latest entries when the run began: only a guess of what needs uploading. */
  snapshot: Map<string, StateInfo>;
  batcher: PointerBatcher;
}

/**
 * Refreshes the selected components concurrently, each with a timeout, an AbortSignal and
 * retries of transient failures. Local state is committed by rename as each key finishes;
 * versioned state is uploaded as a new immutable version, recorded, and made latest by the
 * pointer's compare-and-swap, in batches. Keys that succeed are committed even when others fail;
 * the report says which failed, and every result is true when it is reported.
 */
export async function refreshState(options: RefreshStateOptions): Promise<RefreshReport> {
  return withComponentGuards(() => runRefresh(options));
}

async function runRefresh(options: RefreshStateOptions): Promise<RefreshReport> {
  const started = performance.now();
  const run = await startRun(options);
  const components = selectComponents(options.project, options.keys, options.management);
  // Once every key has been fetched (and uploaded), nothing more is coming to the batcher: let
  // it commit at once rather than wait out its gathering delay.
  let fetching = components.length;
  const fetched = () => {
    fetching--;
    if (fetching === 0) run.versioned?.batcher.drain();
  };
  const results = await Promise.all(
    components.map((component) => refreshKey(run, component, fetched)),
  );
  await run.versioned?.batcher.flush();
  await removeStagingRootIfEmpty(run.project.root);
  await recordOutcomes(run, results);
  const interrupted = run.signal?.aborted === true;
  const writes = run.versioned?.batcher.writes ?? 0;
  const report: RefreshReport = {
    ok:
      !interrupted &&
      results.every(({ status }) => status === 'refreshed' || status === 'unchanged'),
    interrupted,
    results,
    durationMs: performance.now() - started,
    pointerWrites: writes,
    stateInfoWrites: writes,
    ...(run.versioned ? { storeLocation: run.versioned.store.location } : {}),
  };
  if (options.pin) await pinAfterRun(run, report);
  return report;
}

/** Checks the options, prepares the project's state folder, and opens the store if needed. */
async function startRun(options: RefreshStateOptions): Promise<Run> {
  const {
    project,
    concurrency = DEFAULT_CONCURRENCY,
    retries = DEFAULT_RETRY_POLICY.retries,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    signal,
    onEvent = () => {},
    runtime = systemRuntime,
    now = () => new Date(),
  } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError('concurrency must be a whole number ≥ 1.');
  if (!Number.isInteger(retries) || retries < 0)
    throw new UsageError('retries must be a whole number ≥ 0.');
  if (!(timeoutMs > 0)) throw new UsageError('timeout must be more than 0.');
  const components = selectComponents(project, options.keys, options.management);
  const policy = { ...DEFAULT_RETRY_POLICY, retries };

  await ensureLocalStateRoot(project.root);
  await removeAbandonedStaging(project.root);

  const run: Run = {
    project,
    policy,
    runtime,
    timeoutMs,
    signal,
    onEvent,
    now,
    limit: createLimit(concurrency),
    versioned: undefined,
    storeFailure: undefined,
  };
  // Pinning records every declared key, so it needs the store even when only local keys run.
  const versionedKeys = components.filter(({ management }) => management === 'versioned');
  const needsStore =
    versionedKeys.length > 0 ||
    (options.pin && project.components.some(({ management }) => management === 'versioned'));
  if (!needsStore) return run;
  if (!options.openStore) {
    throw new UsageError('Versioned components need a store, and none was given.');
  }
  // A store that cannot be reached fails the versioned keys, each with the cause, while local
  // keys still refresh. A store that is misconfigured is a config error for the whole run.
  try {
    const store = await options.openStore();
    // Before anything is written: the store's conditional writes are proven and its layout is
    // current. A store that drops its conditions is refused here, for the whole run.
    if (versionedKeys.length > 0) await prepareStoreForWrites(store, { signal });
    const { entries } = await readPointer(store, {
      keys: versionedKeys.map(({ key }) => key),
      signal,
    });
    // An interruption stops fetches and uploads at once, but what is already uploaded and recorded
    // is committed right away, within a short grace, rather than thrown away.
    const batcher = new PointerBatcher(store, {
      delayMs: options.commitDelayMs ?? 500,
      // `--timeout` bounds each step of a key: its fetch, its upload, its commit.
      timeoutMs,
      signal: abortAfterGrace(signal, COMMIT_GRACE_MS),
      runtime,
    });
    signal?.addEventListener('abort', () => batcher.drain(), { once: true });
    run.versioned = { store, snapshot: entries, batcher };
    // Interrupted uploads of earlier runs that the store does not expire by itself.
    await store
      .removeAbandonedUploads?.({ olderThanMs: ORPHAN_GRACE_MS, signal })
      .catch(() => undefined);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) throw error;
    run.storeFailure = asError(error);
  }
  return run;
}

/** One key from start to result: fetch, then commit (local or versioned). Never throws. */
async function refreshKey(run: Run, component: Component, fetched: () => void): Promise<KeyResult> {
  const { key, management } = component;
  // The clock starts when the key gets a slot: its wait behind other keys is not its own time.
  let keyStarted = performance.now();
  let attempts = 0;
  const result = (
    status: KeyOutcome,
    rest: { info?: StateInfo; error?: Error } = {},
  ): KeyResult => {
    const done: KeyResult = {
      key,
      management,
      status,
      durationMs: performance.now() - keyStarted,
      attempts,
      ...rest,
    };
    run.onEvent({ type: 'end', result: done });
    return done;
  };
  let staging: string | undefined;
  let fetching = true;
  const leaveFetching = () => {
    if (fetching) fetched();
    fetching = false;
  };
  try {
    const outcome = await run.limit(async () => {
      if (run.signal?.aborted) return undefined;
      keyStarted = performance.now();
      run.onEvent({ type: 'start', key, management });
      if (management === 'versioned' && run.storeFailure) throw run.storeFailure;
      staging = await createStagingFolder(run.project.root);
      const statePath = join(staging, STAGED_STATE_FILE);
      const staged = await fetchComponentState(component, {
        statePath,
        projectRoot: run.project.root,
        timeoutMs: run.timeoutMs,
        policy: run.policy,
        runtime: run.runtime,
        signal: run.signal,
        onEvent: run.onEvent,
        onAttempt: (attempt) => {
          attempts = attempt;
        },
      });
      const { digest } = staged;
      if (management === 'local') return commitLocal(run, key, statePath, digest);
      const target = run.versioned as VersionedTarget;
      // Upload now if the content looks new; whether it is decides at commit time.
      const recorded = sameContent(target.snapshot.get(key), digest)
        ? undefined
        : await publishVersion(target.store, key, statePath, staged, run);
      // The staged bytes are not kept: a key may wait a while for its commit.
      return { statePath, digest, recorded };
    });
    if (!outcome) return result('not-run');
    if ('status' in outcome) return result(outcome.status, { info: outcome.info });
    // The commit joins the batcher's queue before this call returns; only then is the key done
    // with fetching, so that the last one's drain finds it queued.
    const committing = commitVersioned(run, key, outcome);
    leaveFetching();
    const committed = await committing;
    return result(committed.status, { info: committed.info });
  } catch (error) {
    const stopped = run.signal?.aborted === true;
    return result(stopped ? 'cancelled' : 'failed', {
      error:
        stopped && !(error instanceof AbortedError)
          ? new AbortedError(`Refresh of "${key}" was cancelled.`, { cause: error })
          : asError(error),
    });
  } finally {
    leaveFetching();
    if (staging) await removeStagingFolder(staging);
  }
}

/**
 * The commit step of a versioned key. Content that the run's first read said was latest is
 * confirmed against a fresh read; if it is no longer latest, it is uploaded after all. A new
 * version is made latest by the batcher's compare-and-swap, unless the latest version has the
 * same content by then.
 */
async function commitVersioned(
  run: Run,
  key: string,
  staged: { statePath: string; digest: Digest; recorded: RecordedVersion | undefined },
): Promise<{ status: 'refreshed' | 'unchanged'; info: StateInfo }> {
  const { store, batcher } = run.versioned as VersionedTarget;
  let { recorded } = staged;
  if (!recorded) {
    const confirmed = await batcher.confirm(key, staged.digest);
    if (confirmed.status !== 'needs-upload') return confirmed;
    recorded = await run.limit(() =>
      publishVersion(store, key, staged.statePath, { digest: staged.digest }, run),
    );
  }
  return batcher.publish(recorded.info, staged.digest, recorded.commitBy);
}

/** The commit step of a local key: a rename into `.local_defs_state/<key>/`, unless unchanged. */
async function commitLocal(
  run: Run,
  key: string,
  statePath: string,
  digest: Digest,
): Promise<{ status: 'refreshed' | 'unchanged'; info: StateInfo }> {
  const { root } = run.project;
  // The record alone is not enough: if its bytes went missing, write them again.
  const current = await readLocalState(root, key);
  if (sameContent(current?.info, digest)) return { status: 'unchanged', info: current.info };
  return {
    status: 'refreshed',
    info: await commitLocalState(root, key, statePath, digest, run.now()),
  };
}

/**
 * Records each key's outcome for the status page. A key an interruption stopped (or never
 * started) did not fail: it keeps the outcome of its last real refresh.
 */
async function recordOutcomes(run: Run, results: readonly KeyResult[]): Promise<void> {
  const at = run.now().toISOString();
  const entries = results
    .filter(({ status }) => status === 'refreshed' || status === 'unchanged' || status === 'failed')
    .map((result) => ({
      key: result.key,
      management: result.management,
      status: result.status as 'refreshed' | 'unchanged' | 'failed',
      at,
      version: result.info?.version ?? null,
      error: result.error
        ? {
            code: (result.error as { code?: string }).code ?? 'ERROR',
            message: redactSecrets(result.error.message),
          }
        : null,
    }));
  if (entries.length > 0) await recordLastRefresh(run.project.root, entries).catch(() => undefined);
}

/** Pins every declared key at what this run committed or found, if the whole run succeeded. */
async function pinAfterRun(run: Run, report: RefreshReport): Promise<void> {
  try {
    if (report.interrupted) {
      throw new AbortedError('Not pinned: the run was interrupted.', {
        hint: 'The pin file was left as it was; run the deploy again.',
      });
    }
    if (!report.ok) {
      const failed = report.results.filter((result) => result.status === 'failed').length;
      throw new UsageError(`Not pinned: ${plural(failed, 'key')} failed to refresh.`, {
        hint: 'The pin file was left as it was; fix the failures and run again.',
      });
    }
    if (run.storeFailure) throw run.storeFailure;
    const produced = new Map(
      report.results.flatMap((result) => (result.info ? [[result.key, result.info] as const] : [])),
    );
    report.pins = await pinProject(run.project, {
      store: run.versioned?.store,
      produced,
      now: run.now(),
      signal: run.signal,
      runtime: run.runtime,
    });
    report.pinFile = pinFilePath(run.project.root);
  } catch (error) {
    report.pinError = asError(error);
    report.ok = false;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
