import { resolve } from 'node:path';
import {
  freshSince,
  type KeyStatus,
  loadProject,
  type ManagementType,
  readLastRefresh,
  readStatus,
  type StateInfo,
  type StatusReport,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { formatAge, formatBytes, formatTimestamp, shortKey, table } from '../output/format.js';
import { paint, terminalFor } from '../output/terminal.js';
import { storeOpener } from '../storage.js';

export interface StatusCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project: string;
  storage?: string;
  json?: boolean;
  /** Also write the status page, as one static file, here. */
  html?: string;
  /** State older than this, in ms, is called stale. */
  maxAge?: number;
}

/** `defstate status`: one row per declared key; versioned keys cost one read of the pointer. */
export async function statusCommand(options: StatusCommandOptions): Promise<number> {
  const project = await loadProject(options.project);
  const storage = storeOpener(project.root, options.storage);
  const selection = { keys: options.key, management: options.managementType };
  let report: StatusReport;
  try {
    report = await readStatus(project, { ...selection, openStore: storage.open });
  } catch (error) {
    // The page still says what went wrong, then the command fails as before.
    if (options.html) {
      const { writeStaticStatusPage } = await import('../ui/static-page.js');
      await writeStaticStatusPage(options.html, project, { error }, pageOptions(options));
    }
    throw error;
  } finally {
    await storage.close();
  }
  // Only --html loads the page's code, so a plain status stays as quick to start as before.
  if (options.html) {
    const { writeStaticStatusPage } = await import('../ui/static-page.js');
    await writeStaticStatusPage(options.html, project, { report }, pageOptions(options));
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(statusJson(report.keys), null, 2)}\n`);
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  const now = new Date();
  const isStale = await staleRule(project.root, options.maxAge, now);
  const rows = report.keys.map(({ key, management, info }) =>
    info
      ? [
          shortKey(key),
          management,
          info.version,
          `${formatTimestamp(info.createdAt)} (${formatAge(new Date(info.createdAt), now)})`,
          formatBytes(info.size),
          info.sha256.slice(0, 12),
          isStale(info) ? paint(terminal, 'yellow', 'stale') : paint(terminal, 'green', 'present'),
        ]
      : [shortKey(key), management, '—', '—', '—', '—', paint(terminal, 'yellow', 'no state')],
  );
  const header = ['KEY', 'TYPE', 'VERSION', 'UPDATED', 'SIZE', 'SHA256', 'STATE'].map((title) =>
    paint(terminal, 'bold', title),
  );
  for (const line of table([header, ...rows])) terminal.line(line);
  const missing = report.keys.filter((status) => !status.info).length;
  terminal.line();
  terminal.line(
    `${report.keys.length} key${report.keys.length === 1 ? '' : 's'}, ${missing} without state${report.storeLocation ? ` · versioned store ${report.storeLocation}` : ''}`,
  );
  if (options.html) terminal.line(`Status page written to ${resolve(options.html)}`);
  return ExitCode.ok;
}

/**
 * With `--max-age`, whether a key's state is stale: measured from the later of its version's
 * creation and the last successful refresh that confirmed it, as the page and `verify` measure.
 */
async function staleRule(
  projectRoot: string,
  maxAge: number | undefined,
  now: Date,
): Promise<(info: StateInfo) => boolean> {
  if (maxAge === undefined) return () => false;
  const lastRefresh = await readLastRefresh(projectRoot);
  return (info) => now.getTime() - freshSince(info, lastRefresh?.keys[info.key]) > maxAge;
}

const pageOptions = (options: StatusCommandOptions) => ({
  keys: options.key,
  management: options.managementType,
  maxAgeMs: options.maxAge,
});

/** The `--json` document: `null` fields where a key has no state. */
export function statusJson(keys: readonly KeyStatus[]) {
  return {
    schemaVersion: 1,
    keys: keys.map(({ key, management, info }) => ({
      key,
      management,
      version: info?.version ?? null,
      createdAt: info?.createdAt ?? null,
      sha256: info?.sha256 ?? null,
      size: info?.size ?? null,
    })),
  };
}
