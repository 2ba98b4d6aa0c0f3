import { type PinFile, pinProject } from '@defstate/core';
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
}

/**
 * `defstate pin`: writes the pin file from the state as it is (local state in the tree, versioned
 * latest), refreshing nothing. After a `rollback` this is how the older version ships: `deploy`
 * would refresh the key and move it forward again.
 */
export async function pinCommand(options: PinCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  const storage = storeOpener(project.root, options.storage);
  const versioned = project.components.some((component) => component.management === 'versioned');
  let pins: PinFile;
  try {
    pins = await pinProject(project, { store: versioned ? await storage.open() : undefined });
  } finally {
    await storage.close();
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
  terminal.line(`Pinned ${count(rows.length, 'key')}; nothing was refreshed.`);
  return ExitCode.ok;
}
