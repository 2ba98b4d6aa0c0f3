import { pullState } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { formatBytes, shortKey, table } from '../output/format.js';
import { printJson } from '../output/json.js';
import { paint, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface PullCommandOptions {
  key: string[];
  project?: string;
  storage?: string;
  json?: boolean;
}

/** `defstate pull`: the pinned versioned states into the tree, for an artifact with no storage. */
export async function pullCommand(options: PullCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  const storage = storeOpener(project.root, options.storage);
  const report = await pullState(project, { keys: options.key, openStore: storage.open }).finally(
    storage.close,
  );
  if (options.json) {
    const keys = report.keys.map(({ key, info, downloaded }) => ({
      key,
      version: info.version,
      sha256: info.sha256,
      size: info.size,
      downloaded,
    }));
    const document = { schemaVersion: 1, pinFile: report.pinFile, wrotePins: report.wrotePins };
    printJson({ ...document, keys });
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  if (report.wrotePins) {
    terminal.line(
      `No pin file: pinned every declared key at its latest state in ${report.pinFile}`,
    );
  }
  const rows = report.keys.map(({ key, info, downloaded }) => [
    shortKey(key),
    info.version,
    formatBytes(info.size),
    downloaded ? paint(terminal, 'green', 'downloaded') : 'already here',
  ]);
  const header = ['KEY', 'VERSION', 'SIZE', ''].map((title) => paint(terminal, 'bold', title));
  if (rows.length > 0) for (const line of table([header, ...rows])) terminal.line(line);
  const downloaded = report.keys.filter((key) => key.downloaded).length;
  terminal.line(
    `${report.keys.length} versioned key${report.keys.length === 1 ? '' : 's'} in .local_defs_state/ (${downloaded} downloaded) · from ${report.storeLocation}`,
  );
  return ExitCode.ok;
}
