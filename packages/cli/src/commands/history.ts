import { resolve } from 'node:path';
import { readHistory, readPins, StateNotFoundError } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { formatAge, formatBytes, formatTimestamp, table } from '../output/format.js';
import { printJson } from '../output/json.js';
import { paint, terminalFor } from '../output/terminal.js';
import { localKeyError, optionalProject, unknownKeyError } from '../project.js';
import { storeOpener } from '../storage.js';

export interface HistoryCommandOptions {
  project?: string;
  storage?: string;
  limit?: number;
  json?: boolean;
}

/** `defstate history <key>`: a versioned key's versions, newest first. */
export async function historyCommand(key: string, options: HistoryCommandOptions): Promise<number> {
  const project = await optionalProject(options.project);
  const component = project?.components.find((candidate) => candidate.key === key);
  if (component?.management === 'local') throw localKeyError(key, ' to list');
  const projectRoot = project?.root ?? resolve(options.project ?? '.');
  const pins = await readPins(projectRoot);
  const storage = storeOpener(projectRoot, options.storage);
  const store = await storage.open();
  const history = await readHistory(store, key, { pins: pins ? [pins] : [] }).finally(
    storage.close,
  );
  if (history.entries.length === 0) {
    // A key no longer declared may still have versions, and those are worth listing; a key that
    // is neither declared nor stored is most likely a typo.
    if (project && !component) throw unknownKeyError(project, key);
    throw new StateNotFoundError(key, `"${key}" has no versions in ${store.location}.`, {
      hint: 'Local keys keep one state in the tree and have no history; versioned keys get one version per refresh that changed them.',
    });
  }
  const entries = history.entries.slice(0, options.limit);
  if (options.json) {
    printJson({ schemaVersion: 1, key, entries });
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  const now = new Date();
  const rows = entries.map((entry) => [
    entry.version,
    `${formatTimestamp(entry.createdAt)} (${formatAge(new Date(entry.createdAt), now)})`,
    formatBytes(entry.size),
    entry.sha256?.slice(0, 12) ?? '—',
    [
      entry.latest ? paint(terminal, 'green', 'latest') : '',
      entry.pinned ? paint(terminal, 'cyan', 'pinned') : '',
      entry.published ? '' : paint(terminal, 'yellow', 'orphan'),
    ]
      .filter(Boolean)
      .join(' '),
  ]);
  const header = ['VERSION', 'CREATED', 'SIZE', 'SHA256', ''].map((title) =>
    paint(terminal, 'bold', title),
  );
  for (const line of table([header, ...rows])) terminal.line(line);
  const more = history.entries.length - entries.length;
  terminal.line();
  terminal.line(
    `${history.entries.length} version${history.entries.length === 1 ? '' : 's'} of "${key}"${more > 0 ? ` (${more} older not shown)` : ''}`,
  );
  return ExitCode.ok;
}
