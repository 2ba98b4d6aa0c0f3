import { mergePins, type PinFile, pinProject } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { shortKey, table } from '../output/format.js';
import { printJson } from '../output/json.js';
import { count } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface PinCommandOptions {
  project?: string;
  storage?: string;
  json?: boolean;
  /** `--merge` (true) or `--merge <files…>`: the partial pin files of a sharded deploy. */
  merge?: boolean | string[];
}

/**
 * `defstate pin`: writes the pin file from the state as it is (local state in the tree, versioned
 * latest), refreshing nothing. After a `rollback` this is how the older version ships: `deploy`
 * would refresh the key and move it forward again. `pin --merge` writes it instead from the
 * partial pin files of every shard of a sharded deploy.
 */
export async function pinCommand(options: PinCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  let pins: PinFile;
  let merged: { files: string[]; total: number; pinFile: string } | undefined;
  if (options.merge) {
    // Merging reads only files: the shards already checked their versions against the store.
    const files = Array.isArray(options.merge) ? options.merge : [];
    ({ pins, ...merged } = await mergePins(project, { files }));
  } else {
    const storage = storeOpener(project.root, options.storage);
    const versioned = project.components.some((component) => component.management === 'versioned');
    try {
      pins = await pinProject(project, { store: versioned ? await storage.open() : undefined });
    } finally {
      await storage.close();
    }
  }
  if (options.json) {
    printJson(pins);
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  const header = ['KEY', 'TYPE', 'VERSION'].map((title) => paint(terminal, 'bold', title));
  const rows = Object.values(pins.keys).map((info) => [
    shortKey(info.key),
    info.management,
    info.version,
  ]);
  for (const line of table([header, ...rows])) terminal.line(line);
  terminal.line(
    merged
      ? `Pinned ${count(rows.length, 'key')} in ${merged.pinFile}, merged from the partial pin files of ${count(merged.total, 'shard')}.`
      : `Pinned ${count(rows.length, 'key')}; nothing was refreshed.`,
  );
  return ExitCode.ok;
}
