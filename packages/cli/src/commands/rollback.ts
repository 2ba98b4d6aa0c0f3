import { resolve } from 'node:path';
import { pinFilePath, readPins, rollbackState } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { paint, terminalFor } from '../output/terminal.js';
import { storeOpener } from '../storage.js';

export interface RollbackCommandOptions {
  project: string;
  storage?: string;
  to: string;
  json?: boolean;
}

/** `defstate rollback <key> --to <version>`: the latest pointer back to an earlier version. */
export async function rollbackCommand(
  key: string,
  options: RollbackCommandOptions,
): Promise<number> {
  const projectRoot = resolve(options.project);
  const storage = storeOpener(projectRoot, options.storage);
  const store = await storage.open();
  const result = await rollbackState(store, key, options.to).finally(storage.close);
  if (options.json) {
    const document = {
      schemaVersion: 1,
      key,
      previous: result.previous?.version ?? null,
      current: result.current.version,
      changed: result.writes > 0,
    };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  if (result.writes === 0) {
    terminal.line(`"${key}" is already at ${result.current.version}; nothing changed.`);
  } else {
    terminal.line(
      `${paint(terminal, 'green', '✓')} "${key}" latest: ${result.previous?.version ?? '(none)'} → ${result.current.version} in ${store.location}`,
    );
  }
  // Pinned artifacts load their pins, not latest: say so when this project has some.
  const pinned = (await readPins(projectRoot).catch(() => undefined))?.keys[key];
  if (pinned && pinned.version !== result.current.version) {
    terminal.line(
      `${paint(terminal, 'yellow', 'note')} ${pinFilePath(projectRoot)} pins ${pinned.version}; deployments load their pins: run \`defstate pin\` (not \`deploy\`, which would refresh the key again) and build, to ship the rollback.`,
    );
  }
  return ExitCode.ok;
}
