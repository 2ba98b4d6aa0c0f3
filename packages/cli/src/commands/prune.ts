import { type PinFile, pruneState, readPinFile, readPins, selectComponents } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { formatBytes, formatTimestamp, shortKey, table } from '../output/format.js';
import { printJson } from '../output/json.js';
import { paint, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface PruneCommandOptions {
  key: string[];
  project?: string;
  storage?: string;
  keep: number;
  olderThan?: number;
  minAge?: number;
  pins?: string[];
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `defstate prune`: old versions of the project's versioned keys. The project's own pin file is
 * always honoured, and so is every `--pins` file (e.g. kept from the artifacts still deployed).
 */
export async function pruneCommand(options: PruneCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  const keys = selectComponents(project, options.key, ['versioned']).map(({ key }) => key);
  // Read again just before each key's deletes, so that a deploy pinning meanwhile is honoured.
  const readAllPins = async (): Promise<PinFile[]> => {
    const own = await readPins(project.root);
    return [
      ...(own ? [own] : []),
      ...(await Promise.all((options.pins ?? []).map((file) => readPinFile(file)))),
    ];
  };
  const pins = await readAllPins();
  const storage = storeOpener(project.root, options.storage);
  const store = await storage.open();
  const report = await pruneState(store, {
    keys,
    keep: options.keep,
    olderThanMs: options.olderThan,
    ...(options.minAge !== undefined ? { recordGraceMs: options.minAge } : {}),
    pins,
    reloadPins: readAllPins,
    dryRun: options.dryRun,
  }).finally(storage.close);
  if (options.json) {
    printJson({ schemaVersion: 1, ...report });
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  const verb = report.dryRun ? 'would delete' : 'deleted';
  if (report.deleted.length > 0) {
    const header = ['KEY', 'VERSION', 'CREATED', 'SIZE', 'WHY'].map((title) =>
      paint(terminal, 'bold', title),
    );
    const rows = report.deleted.map((candidate) => [
      shortKey(candidate.key),
      candidate.version,
      formatTimestamp(candidate.createdAt),
      formatBytes(candidate.size),
      candidate.reason === 'orphan' ? paint(terminal, 'yellow', 'orphan') : 'superseded',
    ]);
    for (const line of table([header, ...rows])) terminal.line(line);
    terminal.line();
  }
  terminal.line(
    `${report.dryRun ? paint(terminal, 'yellow', 'dry run: ') : ''}${verb} ${report.deleted.length} version${report.deleted.length === 1 ? '' : 's'} (${formatBytes(report.freedBytes)}) of ${keys.length} key${keys.length === 1 ? '' : 's'}; kept ${report.keptCount} · ${store.location}`,
  );
  return ExitCode.ok;
}
