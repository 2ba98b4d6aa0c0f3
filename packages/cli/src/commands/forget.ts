import { resolve } from 'node:path';
import {
  didYouMean,
  type ForgottenKey,
  forgetState,
  readPointer,
  type StateInfo,
  UsageError,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { printJson } from '../output/json.js';
import { count, noteMessage } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import { optionalProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface ForgetCommandOptions {
  project?: string;
  storage?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `defstate forget <key…>`: moves keys out of the latest pointer, for components the project no
 * longer declares. Every key is checked before anything is written: a key the store does not hold,
 * or one the project still declares (without `--force`), changes nothing.
 */
export async function forgetCommand(
  keys: string[],
  options: ForgetCommandOptions,
): Promise<number> {
  const project = await optionalProject(options.project);
  const declared = new Set(project?.components.map(({ key }) => key));
  const stillDeclared = keys.filter((key) => declared.has(key));
  if (stillDeclared.length > 0 && !options.force) {
    const names = stillDeclared.map((key) => `"${key}"`).join(', ');
    throw new UsageError(
      `${names} ${stillDeclared.length === 1 ? 'is' : 'are'} still declared in ${project?.configFile}: the next refresh would bring ${stillDeclared.length === 1 ? 'it' : 'them'} back. Nothing was forgotten.`,
      {
        hint: 'Remove the component from the config first, or pass --force to forget it anyway.',
      },
    );
  }
  const projectRoot = project?.root ?? resolve(options.project ?? '.');
  const storage = storeOpener(projectRoot, options.storage);
  let results: ForgottenKey[];
  let location: string;
  try {
    const store = await storage.open();
    location = store.location;
    const { entries } = await readPointer(store);
    const missing = keys.filter((key) => !entries.has(key));
    if (missing.length > 0) throw notInStore(missing, entries, declared, location);
    results = options.dryRun
      ? keys.map((key) => ({ key, status: 'forgotten', previous: entries.get(key) as StateInfo }))
      : await forgetState(store, keys);
  } finally {
    await storage.close();
  }
  if (options.json) {
    printJson({
      schemaVersion: 1,
      dryRun: options.dryRun === true,
      store: location,
      keys: results.map(({ key, status, previous }) => ({
        key,
        status,
        previousVersion: previous?.version ?? null,
      })),
    });
    return ExitCode.ok;
  }
  const terminal = terminalFor(process.stdout);
  const verb = options.dryRun ? 'would forget' : 'forgot';
  for (const { key, status, previous } of results) {
    terminal.line(
      status === 'forgotten'
        ? `${options.dryRun ? paint(terminal, 'yellow', 'dry run:') : paint(terminal, 'green', '✓')} ${verb} "${key}" (latest was ${previous?.version}${previous?.generation ? `, generation ${previous.generation}` : ''})`
        : `"${key}" had already left the pointer; nothing to do`,
    );
  }
  const forgotten = results.filter(({ status }) => status === 'forgotten').length;
  terminal.line(`${verb} ${count(forgotten, 'key')} in ${location}`);
  if (forgotten > 0 && !options.dryRun) {
    noteMessage(
      'Their versions stay in the store, and pin files that name them still load, until `defstate prune --undeclared --older-than <age>` collects them.',
    );
  }
  return ExitCode.ok;
}

function notInStore(
  missing: readonly string[],
  entries: ReadonlyMap<string, StateInfo>,
  declared: ReadonlySet<string>,
  location: string,
): UsageError {
  const undeclared = [...entries.keys()].filter((key) => !declared.has(key));
  const names = missing.map((key) => `"${key}"`).join(', ');
  const suggestion = missing.length === 1 ? didYouMean(missing[0] as string, undeclared) : '';
  return new UsageError(
    `${names} ${missing.length === 1 ? 'is' : 'are'} not in the latest pointer of ${location}. Nothing was forgotten.`,
    {
      hint: [
        suggestion,
        undeclared.length > 0
          ? `Keys in the store that the project does not declare: ${undeclared
              .slice(0, 10)
              .map((key) => `"${key}"`)
              .join(', ')}${undeclared.length > 10 ? ', …' : ''}.`
          : '`defstate status` lists what the store holds.',
      ]
        .filter(Boolean)
        .join(' '),
    },
  );
}
