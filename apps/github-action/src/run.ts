/**
 * What the action does, over the same engine as `defstate refresh --pin` and `defstate verify`:
 * load the project, refresh the selected keys (pinning when asked), verify when asked, and report
 * through the runner: a log line per key, an error annotation per failure, the outputs and the
 * job summary. It takes everything as arguments, so tests call it as the entry does.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import {
  createStoreOpener,
  DefstateError,
  debugEnabled,
  devOnlyDependencyWarning,
  devOnlyRuntimeDependencies,
  environmentSecrets,
  findSecrets,
  formatCauseChain,
  type KeyResult,
  loadProject,
  mergePins,
  type Project,
  parseInstanceConfig,
  type RefreshEvent,
  type RefreshReport,
  refreshShard,
  resolveStorage,
  type ShardPlan,
  type StoreOpener,
  shardFromEnvironment,
  shardRunId,
  type VerifyReport,
  verifyState,
} from '@defstate/core';
import type { ActionInputs } from './inputs.js';
import { instanceConfigError } from './instance-config-error.js';
import { writeInstanceHome } from './instance-home.js';
import { count, failureText, failureTitle } from './messages.js';
import type { Runner } from './runner.js';
import { secretValues } from './secret-values.js';
import {
  countOutcomes,
  failureMarkdown,
  formatDuration,
  formatSize,
  mergeSummaryMarkdown,
  outcomeOf,
  summaryMarkdown,
} from './summary.js';

export interface RunContext {
  runner: Runner;
  env: NodeJS.ProcessEnv;
  /** The folder `working-directory` is relative to: the workspace, where the runner starts. */
  cwd: string;
  signal?: AbortSignal;
}

/** Every output of action.yml, as the strings the runner passes on. */
export interface ActionOutputs {
  versions: string;
  refreshed: string;
  unchanged: string;
  failed: string;
  'pin-file': string;
}

export interface RunResult {
  ok: boolean;
  refresh: RefreshReport;
  verify?: VerifyReport;
  outputs: ActionOutputs;
}

/** The outputs of a run that stopped before any key was refreshed: numbers and JSON still. */
export const NO_RUN_OUTPUTS: Readonly<ActionOutputs> = {
  versions: '{}',
  refreshed: '0',
  unchanged: '0',
  failed: '0',
  'pin-file': '',
};

/** The run failed: the annotations and summary already say why, key by key. */
export class ActionFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionFailedError';
  }
}

export async function run(inputs: ActionInputs, context: RunContext): Promise<RunResult> {
  let instanceFile: string | undefined;
  try {
    return await runSteps(inputs, context, (file) => {
      instanceFile = file;
    });
  } catch (error) {
    // An error in the instance config is told against the input, at its line.
    throw instanceFile && inputs.instanceConfig !== undefined
      ? instanceConfigError(error, instanceFile, inputs.instanceConfig)
      : error;
  }
}

/** Whether stack traces are wanted: DEFSTATE_DEBUG, or the runner's own debug logging. */
export function debugging(env: NodeJS.ProcessEnv): boolean {
  return debugEnabled('cli', env) || env.RUNNER_DEBUG === '1';
}

async function runSteps(
  inputs: ActionInputs,
  context: RunContext,
  onInstanceFile: (file: string) => void,
): Promise<RunResult> {
  const { runner, signal } = context;
  let env = context.env;
  maskSecrets(runner, inputs, env);
  if (inputs.instanceConfig !== undefined) {
    const { home, file } = await writeInstanceHome(inputs.instanceConfig, env.RUNNER_TEMP);
    onInstanceFile(file);
    // The input is explicit, so it wins over a DEFSTATE_STORAGE_URL in the job's environment.
    env = { ...env, DEFSTATE_HOME: home, DEFSTATE_STORAGE_URL: undefined };
    // Checked now even if no versioned key is selected: a broken config should not wait for one.
    await parseInstanceConfig(inputs.instanceConfig, file, env);
    // Later steps use the same store: DEFSTATE_STORAGE_URL ranks above DEFSTATE_HOME, so a
    // job-level one is emptied, which core reads as not set. (A later step's own `env:` still
    // wins over GITHUB_ENV.)
    runner.exportVariable('DEFSTATE_HOME', home);
    runner.exportVariable('DEFSTATE_STORAGE_URL', '');
    runner.info(
      `instance-config written to ${file} (DEFSTATE_HOME for this and later steps, DEFSTATE_STORAGE_URL emptied)`,
    );
  }

  const project = await loadProject(resolve(context.cwd, inputs.workingDirectory));
  await warnDevOnlyDependencies(runner, project, inputs.storageUrl, env);
  const storage = createStoreOpener({
    projectRoot: project.root,
    storageUrl: inputs.storageUrl,
    env,
    // On a runner the embedded store vanishes with the machine: almost surely a mistake.
    onDefault: (location) =>
      runner.warning(
        `No storage is configured, so versioned state went to the runner's own disk (${location}), which is gone when the job ends. Set the action's instance-config input (a secret holding defstate.yaml) or its storage-url input.`,
        { title: 'defstate: no storage configured' },
      ),
  });
  if (inputs.merge) return mergeSteps(inputs, { runner, signal, project, storage });
  const shard = inputs.shard === 'auto' ? shardFromEnvironment(env) : inputs.shard;
  const logs = new KeyLogs(runner);
  let refresh: RefreshReport & { shard?: ShardPlan };
  let verify: VerifyReport | undefined;
  try {
    refresh = await refreshShard({
      shard,
      runId: shardRunId(env),
      onPlan: (plan) => runner.info(shardText(plan)),
      project,
      keys: inputs.keys,
      management: inputs.management,
      openStore: storage.open,
      concurrency: inputs.concurrency,
      retries: inputs.retries,
      timeoutMs: inputs.timeoutMs,
      pin: inputs.pin,
      signal,
      onEvent: (event) => logs.onEvent(event),
    });
    // A shard verifies its own keys (the job that merges the pins verifies the whole); a shard
    // that the plan gave no key has nothing to verify.
    if (inputs.verify && refresh.ok && refresh.shard?.keys.length === 0) {
      verify = { ok: true, keys: [], problems: [], warnings: [] };
    } else if (inputs.verify && refresh.ok) {
      verify = await verifyState(project, {
        keys: refresh.shard ? refresh.shard.keys : inputs.keys,
        management: inputs.management,
        openStore: storage.open,
        signal,
      });
    }
  } finally {
    await storage.close();
  }

  const interrupted = signal?.aborted === true;
  for (const result of refresh.results) {
    if (outcomeOf(result, interrupted) !== 'failed') continue;
    runner.error(`${result.key}: ${failureText(result.error)}`, {
      title: `defstate: ${result.key} failed`,
    });
    if (debugging(env)) runner.debug(`${result.key}:\n${formatCauseChain(result.error)}`);
  }
  if (inputs.pin && refresh.pinError) reportNotPinned(runner, refresh, interrupted);
  for (const problem of verify?.problems ?? []) {
    runner.error(`${problem.key ?? 'store'}: ${problem.code}: ${problem.message}`, {
      title: `defstate verify: ${problem.key ?? 'store'}`,
    });
  }

  const counts = countOutcomes(refresh.results, interrupted);
  const outputs: ActionOutputs = {
    versions: JSON.stringify(
      Object.fromEntries(
        refresh.results.map((result) => [result.key, result.info?.version ?? null]),
      ),
    ),
    refreshed: String(counts.refreshed),
    unchanged: String(counts.unchanged),
    failed: String(counts.failed),
    'pin-file': refresh.pinFile ?? '',
  };
  for (const [name, value] of Object.entries(outputs)) runner.setOutput(name, value);
  runner.appendSummary(
    summaryMarkdown({
      refresh,
      verify: inputs.verify ? (verify ?? 'skipped') : undefined,
      pin: inputs.pin,
      interrupted,
      shard: refresh.shard,
    }),
  );
  const ok = refresh.ok && !interrupted && (verify?.ok ?? !inputs.verify);
  return { ok, refresh, verify, outputs };
}

/**
 * Masked first, before anything that could print a value: the credentials of the step's
 * environment (DEFSTATE_STORAGE_URL's and the inputs' among them), of `storage-url`, and every
 * secret-looking value of `instance-config`. A masked value is hidden in the rest of the job.
 */
export function maskSecrets(runner: Runner, inputs: ActionInputs, env: NodeJS.ProcessEnv): void {
  const secrets = [
    ...environmentSecrets(env),
    ...(inputs.storageUrl ? findSecrets(inputs.storageUrl) : []),
    ...(inputs.instanceConfig !== undefined ? secretValues(inputs.instanceConfig) : []),
  ];
  for (const secret of secrets) {
    for (const line of secret.split(/\r?\n/)) runner.mask(line);
  }
}

/**
 * `merge: true`, in the job after a matrix of `shard` runs: the partial pin files every shard
 * wrote are combined into the pin file (failing if a key is missing or pinned twice), then
 * verified when asked. Nothing is refreshed.
 */
async function mergeSteps(
  inputs: ActionInputs,
  context: { runner: Runner; signal?: AbortSignal; project: Project; storage: StoreOpener },
): Promise<RunResult> {
  const { runner, signal, project, storage } = context;
  let verify: VerifyReport | undefined;
  let merged: Awaited<ReturnType<typeof mergePins>>;
  try {
    merged = await mergePins(project);
    runner.info(
      `merged the partial pin files of ${count(merged.total, 'shard')} into ${merged.pinFile}: ${count(Object.keys(merged.pins.keys).length, 'key')} pinned`,
    );
    if (inputs.verify) verify = await verifyState(project, { openStore: storage.open, signal });
  } finally {
    await storage.close();
  }
  for (const problem of verify?.problems ?? []) {
    runner.error(`${problem.key ?? 'store'}: ${problem.code}: ${problem.message}`, {
      title: `defstate verify: ${problem.key ?? 'store'}`,
    });
  }
  const outputs: ActionOutputs = {
    versions: JSON.stringify(
      Object.fromEntries(Object.values(merged.pins.keys).map((info) => [info.key, info.version])),
    ),
    refreshed: '0',
    unchanged: '0',
    failed: '0',
    'pin-file': merged.pinFile,
  };
  for (const [name, value] of Object.entries(outputs)) runner.setOutput(name, value);
  runner.appendSummary(
    mergeSummaryMarkdown({
      pinFile: merged.pinFile,
      keys: Object.keys(merged.pins.keys).length,
      total: merged.total,
      verify,
    }),
  );
  const refresh: RefreshReport = {
    ok: true,
    interrupted: false,
    results: [],
    durationMs: 0,
    pointerWrites: 0,
    stateInfoWrites: 0,
    pins: merged.pins,
    pinFile: merged.pinFile,
  };
  return { ok: verify?.ok ?? true, refresh, verify, outputs };
}

function shardText(plan: ShardPlan): string {
  const by =
    plan.balancedBy === 'durations'
      ? 'balanced by each key’s last refresh duration'
      : 'balanced by count';
  return `shard ${plan.index}/${plan.total}: ${count(plan.keys.length, 'key')} of ${plan.selected}, ${by}${plan.planId ? `; plan ${plan.planId.slice(0, 12)}` : ''}`;
}

/**
 * Pins are refused when keys failed: that is a consequence of the failures already annotated,
 * so it is a notice. Refused for any other reason, it is an error of its own.
 */
function reportNotPinned(runner: Runner, refresh: RefreshReport, interrupted: boolean): void {
  const outcomes = refresh.results.map((result) => outcomeOf(result, interrupted));
  const failed = outcomes.filter((outcome) => outcome === 'failed').length;
  const title = { title: 'defstate: not pinned' };
  if (failed > 0) {
    runner.notice(
      `The pin file was left as it was because ${count(failed, 'key')} failed to refresh.`,
      title,
    );
  } else if (interrupted) {
    runner.notice('The pin file was left as it was because the run was cancelled.', title);
  } else {
    runner.error(failureText(refresh.pinError), title);
  }
}

/**
 * The image this job builds installs the project without devDependencies, as a rule: warn when
 * @defstate/core or the store's adapter is only one, since the app then cannot load its state.
 */
async function warnDevOnlyDependencies(
  runner: Runner,
  project: Project,
  storageUrl: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const versioned = project.components.some(({ management }) => management === 'versioned');
  const selection = versioned
    ? await resolveStorage({ storageUrl, env, cwd: project.root }).catch(() => undefined)
    : undefined;
  const found = await devOnlyRuntimeDependencies(project.root, {
    adapter: selection?.adapter,
    versioned,
  });
  for (const dependency of found) {
    runner.warning(devOnlyDependencyWarning(dependency), {
      title: 'defstate: run-time dependency',
    });
  }
}

/**
 * The one place a failure is reported: an error annotation and the summary. A config error in a
 * file of the repository (the project config) is annotated on that file and line; the message
 * names the file in every case, the private instance config included. A run that stopped before
 * refreshing anything still sets every output (`0`s, `{}`), so `if:` expressions downstream
 * compare numbers and parse JSON rather than empty strings.
 */
export function reportFailure(runner: Runner, error: unknown, workspace?: string): void {
  if (error instanceof ActionFailedError) {
    runner.error(error.message, { title: 'defstate' });
    return;
  }
  try {
    for (const [name, value] of Object.entries(NO_RUN_OUTPUTS)) runner.setOutput(name, value);
  } catch {
    // No GITHUB_OUTPUT (not on a runner): the error below says what went wrong.
  }
  const where = error instanceof DefstateError ? (error as { file?: string; line?: number }) : {};
  const file = where.file && workspace ? relative(workspace, where.file) : undefined;
  const inWorkspace =
    file !== undefined && file !== '' && !file.startsWith('..') && !isAbsolute(file);
  const title = failureTitle(error);
  runner.error(failureText(error), inWorkspace ? { title, file, line: where.line } : { title });
  if (debugging(process.env)) runner.debug(formatCauseChain(error));
  runner.appendSummary(failureMarkdown(error));
}

/** Why a finished run failed, in one line for the final annotation. */
export function failureMessage(result: RunResult, interrupted = false): string {
  const counts = countOutcomes(result.refresh.results, interrupted);
  const reasons = [
    interrupted && 'the run was cancelled',
    counts.failed > 0 && `${counts.failed} of ${result.refresh.results.length} keys failed`,
    result.refresh.pinError && 'pinning was not done',
    result.verify &&
      !result.verify.ok &&
      `verify found ${count(result.verify.problems.length, 'problem')}`,
  ].filter(Boolean);
  return `defstate: ${reasons.join('; ') || 'the run failed'}; see the annotations above.`;
}

/**
 * Each key's log lines, folded under its result line when it ends (`::group::`): keys refresh at
 * the same time, so their lines would interleave, and a group cannot. Every line keeps its key.
 */
class KeyLogs {
  readonly #lines = new Map<string, string[]>();

  constructor(private readonly runner: Runner) {}

  onEvent(event: RefreshEvent): void {
    switch (event.type) {
      case 'log':
        this.#add(
          event.key,
          event.message.split(/\r\n|\r|\n/).map((line) => `[${event.key}] ${line}`),
        );
        return;
      case 'retry':
        this.#add(event.key, [
          `↻ attempt ${event.attempt} failed (${event.error.message.split('\n')[0]}), retrying in ${formatDuration(event.delayMs)}`,
        ]);
        return;
      case 'end': {
        const lines = this.#lines.get(event.result.key) ?? [];
        this.#lines.delete(event.result.key);
        this.runner.group(resultLine(event.result), lines);
        return;
      }
      default:
        return;
    }
  }

  #add(key: string, lines: string[]): void {
    const kept = this.#lines.get(key) ?? [];
    kept.push(...lines);
    this.#lines.set(key, kept);
  }
}

const MARKS: Readonly<Record<string, string>> = {
  refreshed: '✓',
  unchanged: '=',
  failed: '✗',
  cancelled: '○',
  'not-run': '·',
};

function resultLine(result: KeyResult): string {
  const details = [
    result.info?.version,
    result.info && formatSize(result.info.size),
    formatDuration(result.durationMs),
  ].filter(Boolean);
  const status = result.status as string;
  return `${MARKS[status] ?? '?'} ${result.key} ${status} (${details.join(', ')})`;
}
