import { setMaxListeners } from 'node:events';
import {
  loadProject,
  type ManagementType,
  pinFilePath,
  type RefreshReport,
  readPins,
  refreshState,
  selectComponents,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { LiveRefreshView, PlainRefreshView, type RefreshView } from '../output/refresh-view.js';
import { paint, type Terminal, terminalFor } from '../output/terminal.js';
import { storeOpener } from '../storage.js';

export interface RefreshCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project: string;
  concurrency?: number;
  retries?: number;
  timeout?: number;
  storage?: string;
  json?: boolean;
  /** Pin every declared key afterwards (`refresh --pin`, `deploy`). */
  pin?: boolean;
}

/** `defstate refresh`: returns the exit code; throws typed errors for usage and config problems. */
export async function refreshCommand(options: RefreshCommandOptions): Promise<number> {
  const project = await loadProject(options.project);
  const controller = new AbortController();
  // Every running refresh and store request listens on this one signal.
  setMaxListeners(0, controller.signal);
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  // Human output goes to stdout, unless --json owns it; then only a terminal gets progress.
  const humanStream = options.json ? process.stderr : process.stdout;
  const terminal = terminalFor(humanStream);
  const total = selectComponents(project, options.key, options.managementType).length;
  const view: RefreshView | undefined =
    options.json && !terminal.live
      ? undefined
      : terminal.live
        ? new LiveRefreshView(terminal, total)
        : new PlainRefreshView(terminal);

  const storage = storeOpener(project.root, options.storage);
  let report: RefreshReport;
  try {
    report = await refreshState({
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
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await storage.close();
  }
  view?.finish(report);
  await explainPins(terminal, report, project.root, options.pin === true);
  if (options.json) process.stdout.write(`${JSON.stringify(refreshJson(report), null, 2)}\n`);
  if (controller.signal.aborted) return ExitCode.interrupted;
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

/**
 * Says what happened to the pins: where they went, why none were written, or, after a plain
 * refresh, that the project's pin file still decides what `loadState` loads.
 */
async function explainPins(
  terminal: Terminal,
  report: RefreshReport,
  projectRoot: string,
  pinning: boolean,
): Promise<void> {
  if (report.pins && report.pinFile) {
    const count = Object.keys(report.pins.keys).length;
    terminal.line(`Pinned ${count} key${count === 1 ? '' : 's'} in ${report.pinFile}`);
  } else if (report.pinError) {
    terminal.line(`${paint(terminal, 'red', 'error')} ${report.pinError.message}`);
  } else if (!pinning && (await readPins(projectRoot).catch(() => undefined))) {
    terminal.line(
      `${paint(terminal, 'yellow', 'note')} ${pinFilePath(projectRoot)} still pins the versions of the last deploy, and loadState() loads those; run \`defstate deploy\` to pin the new ones, or delete the file.`,
    );
  }
}

/** The `--json` document: versioned by `schemaVersion`, one entry per key. */
export function refreshJson(report: RefreshReport) {
  return {
    schemaVersion: 1,
    ok: report.ok,
    durationMs: Math.round(report.durationMs),
    interrupted: report.interrupted,
    pointerWrites: report.pointerWrites,
    stateInfoWrites: report.stateInfoWrites,
    store: report.storeLocation ?? null,
    pinFile: report.pinFile ?? null,
    pinError: report.pinError?.message ?? null,
    results: report.results.map((result) => ({
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
      error: result.error
        ? {
            code: (result.error as { code?: string }).code ?? 'ERROR',
            message: result.error.message,
          }
        : null,
    })),
  };
}
