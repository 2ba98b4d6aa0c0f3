import {
  findUndeclaredKeys,
  type PinFile,
  type PruneReport,
  pruneState,
  readPinFile,
  readPins,
  selectComponents,
  UsageError,
} from '@defstate/core';
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
  keep?: number;
  undeclared?: boolean;
  olderThan?: number;
  minAge?: number;
  pins?: string[];
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `defstate prune`: old versions of the project's versioned keys, or with `--undeclared` the keys
 * it no longer declares. The project's own pin file is always honoured, and so is every `--pins`
 * file (e.g. kept from the artifacts still deployed).
 */
export async function pruneCommand(options: PruneCommandOptions): Promise<number> {
  checkOptions(options);
  const project = await commandProject(options.project);
  const keys = options.undeclared
    ? []
    : selectComponents(project, options.key, ['versioned']).map(({ key }) => key);
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
  let report: PruneReport;
  try {
    // Undeclared keys: every key of the pointer, and of the published records, not declared.
    if (options.undeclared) {
      const declared = project.components.map(({ key }) => key);
      keys.push(...(await findUndeclaredKeys(store, declared)));
    }
    report = await pruneState(store, {
      keys,
      keep: options.keep ?? 0,
      undeclared: options.undeclared,
      olderThanMs: options.olderThan,
      ...(options.minAge !== undefined ? { recordGraceMs: options.minAge } : {}),
      pins,
      reloadPins: readAllPins,
      dryRun: options.dryRun,
    });
  } finally {
    await storage.close();
  }
  if (options.json) {
    printJson({ schemaVersion: 1, ...report });
    return ExitCode.ok;
  }
  const forgotten = report.forgotten ?? [];
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
  if (forgotten.length > 0) {
    terminal.line(
      `${report.dryRun ? 'would forget' : 'forgot'} ${forgotten.map((key) => `"${key}"`).join(', ')}: out of the pointer, no longer declared, nothing stored for them within --older-than`,
    );
  }
  terminal.line(
    `${report.dryRun ? paint(terminal, 'yellow', 'dry run: ') : ''}${verb} ${report.deleted.length} version${report.deleted.length === 1 ? '' : 's'} (${formatBytes(report.freedBytes)}) of ${keys.length}${options.undeclared ? ' undeclared' : ''} key${keys.length === 1 ? '' : 's'}; kept ${report.keptCount} · ${store.location}`,
  );
  return ExitCode.ok;
}

/** `--keep` for a plain prune; `--older-than` and no `--key` for `--undeclared`. */
function checkOptions(options: PruneCommandOptions): void {
  if (options.undeclared) {
    if (options.olderThan === undefined) {
      throw new UsageError('prune --undeclared needs --older-than <duration>, e.g. 30d.', {
        hint: 'A key that another branch or project still refreshes must not be collected: only keys nothing was stored for in that long are.',
      });
    }
    if (options.key.length > 0 || options.keep !== undefined) {
      throw new UsageError('prune --undeclared takes neither --key nor --keep.', {
        hint: 'It collects every key the project does not declare, whole; `defstate forget <key>` moves one key out of the pointer.',
      });
    }
    return;
  }
  if (options.keep === undefined) {
    throw new UsageError('prune needs --keep <n>: how many published versions to keep per key.', {
      hint: 'e.g. `defstate prune --keep 10`; or `defstate prune --undeclared --older-than 30d` to collect keys the project no longer declares.',
    });
  }
}
