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
  defaultStorageNotice,
  loadProject,
  parseInstanceConfig,
  type RefreshEvent,
  type RefreshReport,
  refreshState,
  type VerifyReport,
  verifyState,
} from '@defstate/core';
import type { ActionInputs } from './inputs.js';
import { writeInstanceHome } from './instance-home.js';
import type { Runner } from './runner.js';
import { secretValues } from './secret-values.js';
import {
  countOutcomes,
  failureCause,
  failureMarkdown,
  formatDuration,
  formatSize,
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
  const { runner, signal } = context;
  let env = context.env;
  if (inputs.instanceConfig !== undefined) {
    // Masked first, before anything that could print a value.
    for (const secret of secretValues(inputs.instanceConfig)) {
      for (const line of secret.split(/\r?\n/)) runner.mask(line);
    }
    const { home, file } = await writeInstanceHome(inputs.instanceConfig, env.RUNNER_TEMP);
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
  const storage = createStoreOpener({
    projectRoot: project.root,
    storageUrl: inputs.storageUrl,
    env,
    // On a runner the embedded store vanishes with the machine: almost surely a mistake.
    onDefault: (location) =>
      runner.warning(defaultStorageNotice(location), { title: 'defstate: local store' }),
  });
  let refresh: RefreshReport;
  let verify: VerifyReport | undefined;
  try {
    refresh = await refreshState({
      project,
      keys: inputs.keys,
      management: inputs.management,
      openStore: storage.open,
      concurrency: inputs.concurrency,
      retries: inputs.retries,
      pin: inputs.pin,
      signal,
      onEvent: (event) => logEvent(runner, event),
    });
    if (inputs.verify && refresh.ok) {
      verify = await verifyState(project, {
        keys: inputs.keys,
        management: inputs.management,
        openStore: storage.open,
        signal,
      });
    }
  } finally {
    await storage.close();
  }

  for (const result of refresh.results) {
    if (result.status !== 'failed') continue;
    runner.error(`${result.key}: ${failureCause(result.error)}`, {
      title: `defstate: ${result.key} failed`,
    });
  }
  if (inputs.pin && refresh.pinError) {
    runner.error(failureCause(refresh.pinError), { title: 'defstate: not pinned' });
  }
  for (const problem of verify?.problems ?? []) {
    runner.error(`${problem.key ?? 'store'}: ${problem.code}: ${problem.message}`, {
      title: `defstate verify: ${problem.key ?? 'store'}`,
    });
  }

  const counts = countOutcomes(refresh.results);
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
    }),
  );
  const ok = refresh.ok && (verify?.ok ?? !inputs.verify);
  return { ok, refresh, verify, outputs };
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
  runner.error(
    failureCause(error),
    inWorkspace ? { title: 'defstate', file, line: where.line } : { title: 'defstate' },
  );
  runner.appendSummary(failureMarkdown(error));
}

/** Why a finished run failed, in one line for the final annotation. */
export function failureMessage(result: RunResult): string {
  const { failed } = countOutcomes(result.refresh.results);
  const reasons = [
    failed > 0 && `${failed} of ${result.refresh.results.length} keys failed`,
    result.refresh.pinError && 'pinning was not done',
    result.verify &&
      !result.verify.ok &&
      `verify found ${result.verify.problems.length} problem(s)`,
  ].filter(Boolean);
  return `defstate: ${reasons.join('; ') || 'the run failed'}; see the annotations above.`;
}

function logEvent(runner: Runner, event: RefreshEvent): void {
  switch (event.type) {
    case 'log':
      // Every line carries its key; the runner shows them and obeys none (see Runner.info).
      runner.info(
        event.message
          .split(/\r\n|\r|\n/)
          .map((line) => `[${event.key}] ${line}`)
          .join('\n'),
      );
      return;
    case 'retry':
      runner.info(
        `↻ ${event.key}: attempt ${event.attempt} failed (${event.error.message.split('\n')[0]}), retrying in ${formatDuration(event.delayMs)}`,
      );
      return;
    case 'end': {
      const { result } = event;
      const details = [
        result.info?.version,
        result.info && formatSize(result.info.size),
        formatDuration(result.durationMs),
      ].filter(Boolean);
      const mark = result.status === 'failed' ? '✗' : result.status === 'refreshed' ? '✓' : '=';
      runner.info(`${mark} ${result.key} ${result.status} (${details.join(', ')})`);
      return;
    }
    default:
      return;
  }
}
