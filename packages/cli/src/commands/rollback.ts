import { resolve } from 'node:path';
import { pinFilePath, readPins, rollbackState } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { printJson } from '../output/json.js';
import { noteMessage } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import { declaredKey, localKeyError, optionalProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface RollbackCommandOptions {
  project?: string;
  storage?: string;
  to: string;
  json?: boolean;
}

/** `defstate rollback <key> --to <version>`: the latest pointer back to an earlier version. */
export async function rollbackCommand(
  key: string,
  options: RollbackCommandOptions,
): Promise<number> {
  const project = await optionalProject(options.project);
  // Only a declared, versioned key: the project's app loads nothing else.
  if (project && declaredKey(project, key).management === 'local') {
    throw localKeyError(key, ' to roll back to');
  }
  const projectRoot = project?.root ?? resolve(options.project ?? '.');
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
    printJson(document);
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
    noteMessage(
      `${pinFilePath(projectRoot)} pins ${pinned.version}; deployments load their pins: run \`defstate pin\` (not \`deploy\`, which would refresh the key again) and build, to ship the rollback.`,
    );
  }
  return ExitCode.ok;
}
