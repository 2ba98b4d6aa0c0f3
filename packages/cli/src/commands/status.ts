import { resolve } from 'node:path';
import {
  type BlobStore,
  type ManagementType,
  type Project,
  readStatus,
  type StatusReport,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { formatAge, formatBytes, formatTimestamp, shortKey, table } from '../output/format.js';
import { printJson } from '../output/json.js';
import { count } from '../output/messages.js';
import { paint, type Style, type Terminal, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';
import {
  buildStatusView,
  findRolledBack,
  HEALTH_LABELS,
  type KeyHealth,
  readDeployFacts,
  type StatusView,
  type StatusViewKey,
} from '../ui/status-view.js';

export interface StatusCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project?: string;
  storage?: string;
  json?: boolean;
  /** Also write the status page, as one static file, here. */
  html?: string;
  /** State older than this, in ms, is called stale. */
  maxAge?: number;
}

/**
 * `defstate status`: one row per declared key, judged by the same rules as the status page
 * (pins, the last refresh, the maximum age). Versioned keys cost one read of the pointer.
 */
export async function statusCommand(options: StatusCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  const storage = storeOpener(project.root, options.storage);
  const selection = { keys: options.key, management: options.managementType };
  // Keys the project no longer declares are looked for only when every declared key is shown.
  const undeclared = options.key.length === 0 && options.managementType.length === 0;
  try {
    let view: StatusView;
    try {
      const report = await readStatus(project, {
        ...selection,
        openStore: storage.open,
        undeclared,
      });
      view = await statusView(project, report, options.maxAge, storage.open);
    } catch (error) {
      // The page still says what went wrong, then the command fails as before.
      if (options.html) {
        const { writeStaticStatusPage } = await import('../ui/static-page.js');
        await writeStaticStatusPage(options.html, project, { error }, pageOptions(options));
      }
      throw error;
    }
    // Only --html loads the page's code, so a plain status stays as quick to start as before. The
    // page carries the keys' histories, read from the store while it is open.
    if (options.html) {
      const { writeStaticStatusPage } = await import('../ui/static-page.js');
      await writeStaticStatusPage(
        options.html,
        project,
        { view },
        { ...pageOptions(options), openStore: storage.open },
      );
    }
    if (options.json) {
      printJson(statusJson(view));
      return ExitCode.ok;
    }
    printTable(terminalFor(process.stdout), view);
    if (options.html)
      terminalFor(process.stdout).line(`Status page written to ${resolve(options.html)}`);
    return ExitCode.ok;
  } finally {
    await storage.close();
  }
}

async function statusView(
  project: Project,
  report: StatusReport,
  maxAgeMs: number | undefined,
  openStore: () => Promise<BlobStore>,
): Promise<StatusView> {
  const { pins, lastRefresh, problem } = await readDeployFacts(project.root);
  const rolledBack = report.storeLocation
    ? await findRolledBack(await openStore(), report.keys, pins)
    : undefined;
  return buildStatusView({
    project: project.root,
    keys: report.keys,
    storeLocation: report.storeLocation,
    ...(rolledBack ? { rolledBack } : {}),
    undeclared: report.undeclared,
    pins,
    lastRefresh,
    error: problem,
    maxAgeMs,
  });
}

const HEALTH_STYLE: Readonly<Record<KeyHealth, Style>> = {
  failed: 'red',
  'pin-mismatch': 'red',
  'no-state': 'red',
  unknown: 'dim',
  stale: 'yellow',
  'update-available': 'yellow',
  'rolled-back': 'yellow',
  'up-to-date': 'green',
};

function printTable(terminal: Terminal, view: StatusView): void {
  const now = new Date(view.generatedAt);
  const rows = view.keys.map((key) => [
    shortKey(key.key),
    key.management,
    key.version ?? '—',
    key.createdAt
      ? `${formatTimestamp(key.createdAt)} (${formatAge(new Date(key.createdAt), now)})`
      : '—',
    key.size === null ? '—' : formatBytes(key.size),
    key.sha256?.slice(0, 12) ?? '—',
    pinnedCell(key),
    healthCell(terminal, key),
  ]);
  const header = ['KEY', 'TYPE', 'VERSION', 'UPDATED', 'SIZE', 'SHA256', 'PINNED', 'STATE'].map(
    (title) => paint(terminal, 'bold', title),
  );
  for (const line of table([header, ...rows])) terminal.line(line);
  // What the row cannot hold: when and why a refresh failed, and what to run for a broken pin.
  const details = view.keys.flatMap((key) => detailLines(key));
  if (details.length > 0) {
    terminal.line();
    for (const line of details) terminal.line(line);
  }
  if (view.undeclared.length > 0) {
    terminal.line();
    terminal.line(
      `${paint(terminal, 'yellow', 'undeclared:')} the store holds ${count(view.undeclared.length, 'key')} this project does not declare:`,
    );
    for (const entry of view.undeclared) {
      terminal.line(
        `  ${shortKey(entry.key)}  latest ${entry.version} (${formatAge(new Date(entry.createdAt), now)}, ${formatBytes(entry.size)})`,
      );
    }
    terminal.line(
      '  → `defstate forget <key>` moves one out of the pointer; `defstate prune --undeclared --older-than 30d` collects those nothing was stored for in 30 days.',
    );
  }
  const missing = view.keys.filter((key) => key.version === null).length;
  const attention = view.keys.filter((key) => key.problems.length > 0).length;
  terminal.line();
  terminal.line(
    `${count(view.keys.length, 'key')}, ${missing} without state, ${attention} needing attention${view.store ? ` · versioned store ${view.store}` : ''}`,
  );
}

function pinnedCell(key: StatusViewKey): string {
  if (!key.pinnedVersion) return '—';
  return key.pinnedVersion === key.version ? '= version' : key.pinnedVersion;
}

function healthCell(terminal: Terminal, key: StatusViewKey): string {
  const healths: KeyHealth[] = key.problems.length ? key.problems : ['up-to-date'];
  return healths
    .map((health) => paint(terminal, HEALTH_STYLE[health], HEALTH_LABELS[health]))
    .join(', ');
}

function detailLines(key: StatusViewKey): string[] {
  const lines: string[] = [];
  const last = key.lastRefresh;
  if (key.problems.includes('failed') && last) {
    const message = last.error ? `: ${last.error.message.split('\n')[0]}` : '';
    lines.push(`${key.key}: last refresh failed at ${formatTimestamp(last.at)}${message}`);
  }
  if (key.problems.includes('pin-mismatch')) {
    lines.push(
      `${key.key}: pinned ${key.pinnedVersion}, but the tree holds ${key.version}: loadState() fails until \`defstate pin\` (or \`defstate deploy\`).`,
    );
  }
  return lines;
}

const pageOptions = (options: StatusCommandOptions) => ({
  keys: options.key,
  management: options.managementType,
  maxAgeMs: options.maxAge,
});

/**
 * The `--json` document: `null` fields where a key has no state. Schema 1's fields stay as they
 * were; pins, the last refresh, health, generation, declarations and the undeclared keys of the
 * store were added beside them.
 */
export function statusJson(view: Pick<StatusView, 'keys' | 'undeclared'>) {
  return {
    schemaVersion: 1,
    keys: view.keys.map((key) => ({
      key: key.key,
      management: key.management,
      version: key.version,
      createdAt: key.createdAt,
      sha256: key.sha256,
      size: key.size,
      generation: key.generation,
      pinnedVersion: key.pinnedVersion,
      health: key.health,
      problems: key.problems,
      reason: key.reason,
      lastRefresh: key.lastRefresh,
      declarations: key.declarations,
    })),
    undeclared: view.undeclared,
  };
}
