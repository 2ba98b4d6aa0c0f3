import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { ensureLocalStateRoot, localStateRoot } from '../local/local-state.js';
import { PIN_FILE_SCHEMA_VERSION } from '../model/document-checks.js';
import { parseJsonDocument } from '../model/json-document.js';
import { type PartialPinFile, PartialPinFileSchema, type PinFileShard } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';

/**
 * The pins one shard of a sharded deploy writes: `.local_defs_state/.pins.shard-<i>-of-<n>.json`,
 * beside (never instead of) the pin file, so a shard's tree never holds a pin file that names
 * only some keys. A CI system collects every shard's `.local_defs_state/` into one folder, and
 * `defstate pin --merge` turns the partial files into the one pin file the image is built with.
 */
const PARTIAL_NAME = /^\.pins\.shard-(\d+)-of-(\d+)\.json$/;

export function partialPinFileName({ index, total }: { index: number; total: number }): string {
  return `.pins.shard-${index}-of-${total}.json`;
}

export function partialPinFilePath(
  projectRoot: string,
  shard: { index: number; total: number },
): string {
  return join(localStateRoot(projectRoot), partialPinFileName(shard));
}

export async function writePartialPins(
  projectRoot: string,
  infos: readonly StateInfo[],
  { store, shard, now = new Date() }: { store?: string; shard: PinFileShard; now?: Date },
): Promise<{ file: string; pins: PartialPinFile }> {
  const pins: PartialPinFile = {
    schemaVersion: PIN_FILE_SCHEMA_VERSION,
    pinnedAt: now.toISOString(),
    store: store ?? null,
    keys: Object.fromEntries(
      [...infos].sort((a, b) => (a.key < b.key ? -1 : 1)).map((info) => [info.key, info]),
    ),
    shard,
  };
  await ensureLocalStateRoot(projectRoot);
  const file = partialPinFilePath(projectRoot, shard);
  await writeFileAtomic(file, `${JSON.stringify(pins, null, 2)}\n`);
  return { file, pins };
}

export async function readPartialPinFile(path: string): Promise<PartialPinFile> {
  let text: string;
  try {
    text = await readFile(resolve(path), 'utf8');
  } catch (error) {
    throw new UsageError(
      `Cannot read the partial pin file ${path} (${(error as NodeJS.ErrnoException).code}).`,
      {
        cause: error,
        hint: 'Pass the files `defstate deploy --shard i/n` wrote: .local_defs_state/.pins.shard-<i>-of-<n>.json.',
      },
    );
  }
  return parseJsonDocument(text, PartialPinFileSchema, {
    name: `The partial pin file ${path}`,
    mismatch: 'is not a partial pin file',
    badJsonHint: 'Write it again with `defstate deploy --shard i/n`.',
    mismatchHint:
      'Pass only the files `defstate deploy --shard i/n` wrote (.pins.shard-<i>-of-<n>.json), not a merged pin file.',
  });
}

/** The partial pin files in the project's `.local_defs_state/`, by name. */
export async function findPartialPinFiles(projectRoot: string): Promise<string[]> {
  const folder = localStateRoot(projectRoot);
  const names = await readdir(folder).catch(() => [] as string[]);
  return names
    .filter((name) => PARTIAL_NAME.test(name))
    .sort((a, b) => shardNumber(a) - shardNumber(b))
    .map((name) => join(folder, name));
}

function shardNumber(name: string): number {
  return Number(PARTIAL_NAME.exec(name)?.[1] ?? 0);
}
