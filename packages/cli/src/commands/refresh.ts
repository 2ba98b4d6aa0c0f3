import { setMaxListeners } from 'node:events';
import {
  type ManagementType,
  type PinFile,
  parseShardSpec,
  pinFilePath,
  readPins,
  refreshShard,
  type ShardedRefreshReport,
  type ShardPlan,
  type ShardSpec,
  selectComponents,
  shardFromEnvironment,
  shardRunId,
  UsageError,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { humanDuration } from '../output/format.js';
import { printJson } from '../output/json.js';
import { count, errorMessage, noteMessage, warningMessage } from '../output/messages.js';
import { type ShownResult, shownResult, wasInterrupted } from '../output/outcomes.js';
import {
  LiveRefreshView,
  PlainRefreshView,
  type RefreshView,
  type RefreshViewOptions,
} from '../output/refresh-view.js';
import { terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface RefreshCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project?: string;
  concurrency?: number;
  retries?: number;
  timeout?: number;
  storage?: string;
  json?: boolean;
  /** Pin every declared key afterwards (`refresh --pin`, `deploy`). */
  pin?: boolean;
  /** `i/n` or `auto`: only this shard of the selected keys. */
  shard?: string;
  /** With `--shard auto`, where the CI system gives no total. */
  shardTotal?: number;
}

const SIGNAL_EXIT: Readonly<Record<string, number>> = {
  SIGINT: ExitCode.interrupted,
  SIGTERM: ExitCode.terminated,
};

/** `defstate refresh`: returns the exit code; throws typed errors for usage and config problems. */
export async function refreshCommand(options: RefreshCommandOptions): Promise<number> {
  const shard = shardOption(options);
  const project = await commandProject(options.project);
  const controller = new AbortController();
  // Every running refresh and store request listens on this one signal.
  setMaxListeners(0, controller.signal);
  let stoppedBy: NodeJS.Signals | undefined;
  let view: RefreshView | undefined;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C while keys are stopping ends at once, as users expect.
    if (stoppedBy) process.exit(SIGNAL_EXIT[signal] ?? ExitCode.interrupted);
    stoppedBy = signal;
    view?.interrupting(signal);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // Human output goes to stdout, unless --json owns it; then it all goes to stderr.
  const humanStream = options.json ? process.stderr : process.stdout;
  const terminal = terminalFor(humanStream);
  const viewOptions: RefreshViewOptions = {
    timeoutMs: options.timeout,
    timeoutText: options.timeout === undefined ? undefined : humanDuration(options.timeout),
  };
  const showProgress = (total: number): RefreshView =>
    terminal.live
      ? new LiveRefreshView(terminal, total, viewOptions)
      : new PlainRefreshView(terminal, viewOptions);
  // A shard knows how many keys it has only once its plan is made.
  if (!shard)
    view = showProgress(selectComponents(project, options.key, options.managementType).length);

  const storage = storeOpener(project.root, options.storage);
  let report: ShardedRefreshReport;
  try {
    report = await refreshShard({
      shard,
      runId: shardRunId(),
      onPlan: (plan) => {
        terminal.line(describePlan(plan));
        view = showProgress(plan.keys.length);
      },
      project,
      keys: options.key,
      management: options.managementType,
      openStore: storage.open,
      concurrency: options.concurrency,
      retries: options.retries,
      timeoutMs: options.timeout,
      pin: options.pin,
      signal: controller.signal,
      onEvent: (event) => view?.onEvent(event),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await storage.close();
  }
  const interrupted = wasInterrupted(report, stoppedBy !== undefined);
  const results = report.results.map((result) => shownResult(result, interrupted));
  view ??= showProgress(0);
  view.finish({
    results,
    durationMs: report.durationMs,
    storeLocation: report.storeLocation,
    interrupted,
  });
  await explainPins(report, results, project.root, options.pin === true);
  if (options.json) printJson(refreshJson(report, results, interrupted));
  if (report.shard && report.pinFile) {
    noteMessage(
      `This is a partial pin file, for shard ${report.shard.index} of ${report.shard.total}: once every shard has deployed, collect their .local_defs_state/ folders into one and run \`defstate pin --merge\` to write the pin file the image is built with.`,
    );
  }
  if (stoppedBy) return SIGNAL_EXIT[stoppedBy] ?? ExitCode.interrupted;
  return report.ok && !interrupted ? ExitCode.ok : ExitCode.failed;
}

/** `--shard i/n` or `--shard auto` (with `--shard-total`), checked before anything runs. */
function shardOption(options: RefreshCommandOptions): ShardSpec | undefined {
  if (options.shard === undefined) {
    if (options.shardTotal !== undefined) {
      throw new UsageError('--shard-total goes with --shard auto.', {
        hint: 'e.g. --shard auto --shard-total 8 in a Kubernetes Indexed Job of 8 completions.',
      });
    }
    return undefined;
  }
  return options.shard.trim() === 'auto'
    ? shardFromEnvironment(process.env, options.shardTotal)
    : parseShardSpec(options.shard);
}

/** One line on how the shard got its keys. */
function describePlan(plan: ShardPlan): string {
  const by =
    plan.balancedBy === 'durations'
      ? 'balanced by each key’s last refresh duration'
      : plan.source === 'local'
        ? 'balanced by count (no CI run id or store to share a plan through)'
        : 'balanced by count (no refresh durations known yet)';
  const planned = plan.planId
    ? `; plan ${plan.planId.slice(0, 12)}, ${plan.source === 'created' ? 'made by this shard' : 'shared with the other shards'}`
    : '';
  return `shard ${plan.index}/${plan.total}: ${count(plan.keys.length, 'key')} of ${plan.selected}, ${by}${planned}`;
}

/**
 * Says what happened to the pins: where they went or why none were written; after a plain
 * refresh, what the project's pin file now means for each key it changed. A local key's state is
 * replaced in the tree, so its pin no longer matches and loadState() fails until it is pinned
 * again; a versioned key keeps its pinned version in the store, and that is what loads.
 */
async function explainPins(
  report: ShardedRefreshReport,
  results: readonly ShownResult[],
  projectRoot: string,
  pinning: boolean,
): Promise<void> {
  const terminal = terminalFor(process.stderr);
  if (report.pins && report.pinFile) {
    const pinned = Object.keys(report.pins.keys).length;
    terminalFor(process.stdout).line(`Pinned ${count(pinned, 'key')} in ${report.pinFile}`);
    return;
  }
  if (report.pinError) {
    const failed = results.filter((result) => result.status === 'failed').length;
    const cancelled = results.some(
      (result) => result.status === 'cancelled' || result.status === 'not-run',
    );
    errorMessage(
      failed > 0
        ? `Not pinned: ${count(failed, 'key')} failed to refresh; the pin file was left as it was.`
        : cancelled
          ? 'Not pinned: the run was interrupted; the pin file was left as it was.'
          : report.pinError.message,
      terminal,
    );
    return;
  }
  if (pinning) return;
  const pins: PinFile | undefined = await readPins(projectRoot).catch(() => undefined);
  if (!pins) return;
  const file = pinFilePath(projectRoot);
  const moved = results.filter((result) => {
    const pinned = pins.keys[result.key];
    return result.status === 'refreshed' && pinned && pinned.version !== result.info?.version;
  });
  const broken = moved.filter((result) => result.management === 'local');
  const floating = moved.filter((result) => result.management === 'versioned');
  for (const result of broken) {
    warningMessage(
      `${file} pins "${result.key}" at ${pins.keys[result.key]?.version}, but this refresh replaced its local state in the tree (now ${result.info?.version}): loadState("${result.key}") fails with an integrity error, and \`defstate verify\` reports pin-mismatch.\n  → Run \`defstate pin\` to pin the state now in the tree, or \`defstate deploy\` to refresh and pin everything.`,
      terminal,
    );
  }
  if (floating.length > 0) {
    const keys = floating.map((result) => `"${result.key}"`).join(', ');
    noteMessage(
      `${file} still pins ${floating.length === 1 ? 'the earlier version' : 'earlier versions'} of ${keys}; loadState() loads the pinned version from the store, not the new one.\n  → Run \`defstate pin\` (or \`defstate deploy\`) to ship the new versions.`,
      terminal,
    );
  }
}

/** The `--json` document: versioned by `schemaVersion`, one entry per key. */
export function refreshJson(
  report: ShardedRefreshReport,
  results: readonly ShownResult[],
  interrupted: boolean,
) {
  return {
    schemaVersion: 1,
    ok: report.ok && !interrupted,
    interrupted,
    durationMs: Math.round(report.durationMs),
    pointerWrites: report.pointerWrites,
    stateInfoWrites: report.stateInfoWrites,
    store: report.storeLocation ?? null,
    pinFile: report.pinFile ?? null,
    pinError: report.pinError?.message ?? null,
    shard: report.shard
      ? {
          index: report.shard.index,
          total: report.shard.total,
          keys: report.shard.keys.length,
          selected: report.shard.selected,
          balancedBy: report.shard.balancedBy,
          plan: report.shard.planId ?? null,
        }
      : null,
    results: results.map((result) => ({
      key: result.key,
      management: result.management,
      status: result.status,
      durationMs: Math.round(result.durationMs),
      attempts: result.attempts,
      version: result.info?.version ?? null,
      generation: result.info?.generation ?? null,
      createdAt: result.info?.createdAt ?? null,
      sha256: result.info?.sha256 ?? null,
      size: result.info?.size ?? null,
      // A key that never ran did not fail: it has no error.
      error:
        result.error && result.status !== 'not-run'
          ? {
              code: (result.error as { code?: string }).code ?? 'ERROR',
              message: result.error.message,
            }
          : null,
    })),
  };
}
