import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StateNotFoundError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { ensureLocalStateRoot, localStateRoot } from '../local/local-state.js';
import { isPinFile, PIN_FILE_SCHEMA_VERSION } from '../model/document-checks.js';
import { parseJsonDocument } from '../model/json-document.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import { removeStalePulled } from './pulled.js';

/**
 * The pin file: the exact version of every declared key that a deployment uses. `defstate deploy`
 * (`refresh --pin`) and `defstate pull` write it into `.local_defs_state/`, so the artifact carries
 * it, and `loadState` loads exactly those versions, never whatever is latest when the code starts.
 */
export const PIN_FILE = '.pins.json';

export function pinFilePath(projectRoot: string): string {
  return join(localStateRoot(projectRoot), PIN_FILE);
}

/** The project's pin file, or `undefined` when it has none. */
export async function readPins(projectRoot: string): Promise<PinFile | undefined> {
  return readPinFileIfPresent(pinFilePath(resolve(projectRoot)));
}

/** A pin file anywhere, e.g. one kept from a deployed artifact; it must exist. */
export async function readPinFile(path: string): Promise<PinFile> {
  const pins = await readPinFileIfPresent(resolve(path));
  if (!pins) {
    throw new UsageError(`No pin file at ${path}.`, {
      hint: `Pin files are written by \`defstate deploy\` to .local_defs_state/${PIN_FILE}.`,
    });
  }
  return pins;
}

async function readPinFileIfPresent(path: string): Promise<PinFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // An app reads its pin file at start-up: the schema is imported only for a damaged one.
  return parseJsonDocument(text, async () => (await import('../model/pin-file.js')).PinFileSchema, {
    isValid: isPinFile,
    name: `The pin file ${path}`,
    mismatch: 'is not valid',
    badJsonHint: 'Write it again with `defstate deploy`.',
    mismatchHint: 'Write it again with `defstate deploy`.',
  });
}

/** Writes the project's pin file atomically; keys are sorted so that the file diffs well. */
export async function writePins(
  projectRoot: string,
  infos: readonly StateInfo[],
  { store, now = new Date() }: { store?: string; now?: Date } = {},
): Promise<PinFile> {
  const pins: PinFile = {
    schemaVersion: PIN_FILE_SCHEMA_VERSION,
    pinnedAt: now.toISOString(),
    store: store ?? null,
    keys: Object.fromEntries(
      [...infos].sort((a, b) => (a.key < b.key ? -1 : 1)).map((info) => [info.key, info]),
    ),
  };
  await ensureLocalStateRoot(projectRoot);
  await writeFileAtomic(pinFilePath(projectRoot), `${JSON.stringify(pins, null, 2)}\n`);
  await removeStalePulled(projectRoot, pins.keys);
  return pins;
}

/** The error for a pinned version that the store no longer holds. */
export function pinnedVersionMissing(
  info: StateInfo,
  storeLocation: string,
  pins: PinFile,
  cause?: unknown,
): StateNotFoundError {
  const elsewhere =
    pins.store && pins.store !== storeLocation ? ` (it was pinned from ${pins.store})` : '';
  return new StateNotFoundError(
    info.key,
    `Pinned version ${info.version} of "${info.key}" is not in ${storeLocation}${elsewhere}.`,
    {
      cause,
      hint: 'It was pruned, or this environment points at another store. Deploy again, or run `defstate pull` while building the artifact so it needs no storage.',
    },
  );
}
