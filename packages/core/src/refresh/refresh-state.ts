import { rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createLimit } from '../async/limit.js';
import {
  DEFAULT_RETRY_POLICY,
  type RetryRuntime,
  systemRuntime,
  withRetry,
} from '../async/retry.js';
import { recordLastRefresh } from '../deploy/last-refresh.js';
import { pinProject } from '../deploy/pin-project.js';
import { pinFilePath } from '../deploy/pins.js';
import {
  AbortedError,
  ConfigError,
  DefstateError,
  describeError,
  RefreshFailedError,
  TimeoutError,
  UsageError,
} from '../errors.js';
import { type Digest, hashFile } from '../fs/hash-file.js';
import {
  commitLocalState,
  createStagingFolder,
  ensureLocalStateRoot,
  localStatePaths,
  readLocalStateInfo,
  removeAbandonedStaging,
  removeStagingFolder,
  removeStagingRootIfEmpty,
} from '../local/local-state.js';
import type { PinFile } from '../model/pin-file.js';
import type { ManagementType, StateInfo, StateInfoDocument } from '../model/state-info.js';
import type { Component } from '../project/component.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { readStateInfo } from '../versioned/state-info-store.js';
import { uploadStateVersion } from '../versioned/transfer.js';
import { PointerBatcher } from './pointer-batcher.js';

export type KeyOutcome = 'refreshed' | 'unchanged' | 'failed';

export interface KeyResult {
  key: string;
  management: ManagementType;
  status: KeyOutcome;
  durationMs: number;
  /** Attempts made at the component's refresh (1 when it succeeded first time). */
  attempts: number;
  /** The key's state after the run (the previous one when unchanged). */
  info?: StateInfo;
  error?: Error;
}

export type RefreshEvent =
  | { type: 'start'; key: string; management: ManagementType }
  | { type: 'log'; key: string; message: string }
  | { type: 'retry'; key: string; attempt: number; delayMs: number; error: Error }
  | { type: 'end'; result: KeyResult };

export interface RefreshReport {
  ok: boolean;
  results: KeyResult[];
  durationMs: number;
  /** Writes of the state info document this run made. */
  stateInfoWrites: number;
  /** Where versioned state went, when any versioned key was selected. */
  storeLocation?: string;
  /** The pins written, when `pin` was asked for and every key succeeded. */
  pins?: PinFile;
  /** The pin file's path, when it was written. */
  pinFile?: string;
  /** Why no pins were written although `pin` was asked for; `ok` is false then. */
  pinError?: Error;
}

export const DEFAULT_CONCURRENCY = Math.min(8, Math.max(2, availableParallelism() * 2));
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

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

/**
 * Refreshes the selected components concurrently, each with a timeout, an AbortSignal and
 * retries of transient failures. Local state is committed by rename as each key finishes;
 * versioned state is uploaded as a new immutable version, and the pointer moves in batches.
 * Keys that succeed are committed even when others fail; the report says which failed.
 */
export async function refreshState(options: RefreshStateOptions): Promise<RefreshReport> {
  const {
    project,
    concurrency = DEFAULT_CONCURRENCY,
    retries = DEFAULT_RETRY_POLICY.retries,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    signal,
    onEvent = () => {},
    runtime = systemRuntime,
    commitDelayMs = 500,
    now = () => new Date(),
  } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError('concurrency must be a whole number ≥ 1.');
  if (!Number.isInteger(retries) || retries < 0)
    throw new UsageError('retries must be a whole number ≥ 0.');
  if (!(timeoutMs > 0)) throw new UsageError('timeout must be more than 0.');
  const started = performance.now();
  const components = selectComponents(project, options.keys, options.management);
  const policy = { ...DEFAULT_RETRY_POLICY, retries };

  await ensureLocalStateRoot(project.root);
  await removeAbandonedStaging(project.root);

  // Pinning records every declared key, so it needs the pointer even when only local keys run.
  const needsStore = (options.pin ? project.components : components).some(
    (component) => component.management === 'versioned',
  );
  let versioned:
    | { store: BlobStore; latest: StateInfoDocument; batcher: PointerBatcher }
    | undefined;
  // A store that cannot be reached fails the versioned keys, each with the cause, while local
  // keys still refresh. A store that is misconfigured is a config error for the whole run.
  let storeFailure: Error | undefined;
  if (needsStore) {
    if (!options.openStore) {
      throw new UsageError('Versioned components need a store, and none was given.');
    }
    const openStore = options.openStore;
    try {
      const store = await openStore();
      const { document } = await withRetry(() => readStateInfo(store, { signal }), {
        policy,
        runtime,
        signal,
      });
      const batcher = new PointerBatcher(store, { delayMs: commitDelayMs, runtime, now });
      versioned = { store, latest: document, batcher };
    } catch (error) {
      if (error instanceof ConfigError || error instanceof UsageError) throw error;
      storeFailure = asError(error);
    }
  }

  const limit = createLimit(concurrency);

  const prepare = async (component: Component) => {
    const { key, management } = component;
    const keyStarted = performance.now();
    onEvent({ type: 'start', key, management });
    if (management === 'versioned' && storeFailure) {
      return {
        key,
        management,
        status: 'failed' as const,
        attempts: 0,
        error: storeFailure,
        keyStarted,
      };
    }
    let attempts = 0;
    const staging = await createStagingFolder(project.root);
    const statePath = join(staging, 'state');
    try {
      const digest = await withRetry(
        async (attempt) => {
          attempts = attempt;
          await runAttempt(component, {
            statePath,
            attempt,
            timeoutMs,
            signal,
            projectRoot: project.root,
            onEvent,
          });
          return hashStagedState(key, statePath);
        },
        {
          policy,
          runtime,
          signal,
          onRetry: ({ attempt, delayMs, error }) =>
            onEvent({ type: 'retry', key, attempt, delayMs, error: asError(error) }),
        },
      ).catch((error: unknown) => {
        throw asRefreshError(key, error);
      });
      let info: StateInfo;
      let status: KeyOutcome;
      let commit: Promise<void> | undefined;
      if (management === 'local') {
        const current = await readLocalStateInfo(project.root, key);
        // The record alone is not enough: if the state file went missing, write it again.
        if (sameContent(current, digest) && (await hasLocalState(project.root, key, digest))) {
          [info, status] = [current, 'unchanged'];
        } else {
          [info, status] = [
            await commitLocalState(project.root, key, statePath, digest, now()),
            'refreshed',
          ];
        }
      } else {
        const { store, latest, batcher } = versioned as NonNullable<typeof versioned>;
        const current = latest.keys[key];
        if (sameContent(current, digest)) {
          [info, status] = [current, 'unchanged'];
        } else {
          info = await withRetry(
            () => uploadStateVersion(store, key, statePath, digest, { now: now(), signal }),
            {
              policy,
              runtime,
              signal,
            },
          );
          status = 'refreshed';
          commit = batcher.commit(info);
        }
      }
      return { key, management, status, attempts, info, commit, keyStarted };
    } catch (error) {
      return {
        key,
        management,
        status: 'failed' as const,
        attempts,
        error: asError(error),
        keyStarted,
      };
    } finally {
      await removeStagingFolder(staging);
    }
  };

  const prepared = components.map((component) => limit(() => prepare(component)));
  const flushed = Promise.all(prepared).then(() => versioned?.batcher.flush());
  const results = await Promise.all(
    prepared.map(async (pending): Promise<KeyResult> => {
      const { keyStarted, commit, ...outcome } = await pending;
      let result: KeyResult = { ...outcome, durationMs: 0 };
      if (commit) {
        await commit.catch((error: unknown) => {
          result = { ...result, status: 'failed', info: undefined, error: asError(error) };
        });
      }
      result.durationMs = performance.now() - keyStarted;
      onEvent({ type: 'end', result });
      return result;
    }),
  );
  await flushed;
  await removeStagingRootIfEmpty(project.root);
  await recordLastRefresh(project.root, results.map(lastRefreshEntry(now()))).catch(
    () => undefined,
  );
  const report: RefreshReport = {
    ok: results.every((result) => result.status !== 'failed'),
    results,
    durationMs: performance.now() - started,
    stateInfoWrites: versioned?.batcher.writes ?? 0,
    storeLocation: versioned?.store.location,
  };
  if (options.pin) {
    try {
      if (!report.ok) {
        const failed = results.filter((result) => result.status === 'failed').length;
        throw new UsageError(`Not pinned: ${failed} key(s) failed to refresh.`, {
          hint: 'The pin file was left as it was; fix the failures and run again.',
        });
      }
      if (storeFailure) throw storeFailure;
      const produced = new Map(
        results.flatMap((result) => (result.info ? [[result.key, result.info] as const] : [])),
      );
      report.pins = await pinProject(project, {
        store: versioned?.store,
        produced,
        now: now(),
        signal,
        policy,
        runtime,
      });
      report.pinFile = pinFilePath(project.root);
    } catch (error) {
      report.pinError = asError(error);
      report.ok = false;
    }
  }
  return report;
}

function lastRefreshEntry(at: Date) {
  return (result: KeyResult) => ({
    key: result.key,
    management: result.management,
    status: result.status,
    at: at.toISOString(),
    version: result.info?.version ?? null,
    error: result.error
      ? { code: (result.error as { code?: string }).code ?? 'ERROR', message: result.error.message }
      : null,
  });
}

async function hasLocalState(projectRoot: string, key: string, digest: Digest): Promise<boolean> {
  const stats = await stat(localStatePaths(projectRoot, key).state).catch(() => undefined);
  return stats?.isFile() === true && stats.size === digest.size;
}

function sameContent(info: StateInfo | undefined, digest: Digest): info is StateInfo {
  return info !== undefined && info.sha256 === digest.sha256 && info.size === digest.size;
}

interface AttemptOptions {
  statePath: string;
  attempt: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  projectRoot: string;
  onEvent: (event: RefreshEvent) => void;
}

/**
 * One call of a component's `refresh`, bounded by the timeout and the run's signal. A component
 * that ignores its signal is abandoned when the time is up; its late writes go to a staging file
 * that is never committed.
 */
async function runAttempt(component: Component, options: AttemptOptions): Promise<void> {
  const { key } = component;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(controller.signal.reason);
    controller.signal.addEventListener('abort', fail, { once: true });
    timer = setTimeout(
      () =>
        controller.abort(
          new TimeoutError(
            `Refresh of "${key}" took longer than ${options.timeoutMs} ms and was stopped.`,
            {
              hint: 'Raise --timeout, or find out why the source is slow.',
            },
          ),
        ),
      options.timeoutMs,
    );
  });
  // It may reject before the race below is awaited (a run already cancelled, a timeout during the
  // `rm`): handle it now so that it is never an unhandled rejection. The race still sees it.
  stopped.catch(() => {});
  const forwardAbort = () =>
    controller.abort(
      new AbortedError(`Refresh of "${key}" was cancelled.`, { cause: options.signal?.reason }),
    );
  if (options.signal?.aborted) forwardAbort();
  options.signal?.addEventListener('abort', forwardAbort, { once: true });
  try {
    // A retry starts from nothing, not from what a failed attempt left behind.
    await rm(options.statePath, { force: true });
    await Promise.race([
      stopped,
      Promise.resolve().then(() =>
        component.refresh({
          key,
          statePath: options.statePath,
          signal: controller.signal,
          log: (message) => options.onEvent({ type: 'log', key, message }),
          projectRoot: options.projectRoot,
          attempt: options.attempt,
        }),
      ),
    ]);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forwardAbort);
  }
}

async function hashStagedState(key: string, statePath: string): Promise<Digest> {
  const stats = await stat(statePath).catch(() => undefined);
  if (!stats?.isFile()) {
    throw new RefreshFailedError(key, `Refresh of "${key}" finished without writing its state.`, {
      hint: 'refresh({ statePath }) must write the whole state to the file at statePath.',
    });
  }
  return hashFile(statePath);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describeError(error));
}

function asRefreshError(key: string, error: unknown): Error {
  if (error instanceof DefstateError) return error;
  return new RefreshFailedError(key, `Refresh of "${key}" failed: ${describeError(error)}`, {
    cause: error,
  });
}
