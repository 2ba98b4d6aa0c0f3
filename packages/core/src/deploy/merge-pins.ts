import { resolve } from 'node:path';
import { IntegrityError, UsageError } from '../errors.js';
import type { PartialPinFile, PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { findPartialPinFiles, readPartialPinFile } from './partial-pins.js';
import { pinFilePath, writePins } from './pins.js';

export interface MergePinsOptions {
  /** The partial pin files; the project's `.local_defs_state/.pins.shard-*-of-*.json` by default. */
  files?: readonly string[];
  now?: Date;
}

export interface MergePinsReport {
  pins: PinFile;
  pinFile: string;
  /** The partial files merged, in shard order. */
  files: string[];
  total: number;
}

const HINT =
  'Every shard’s `defstate deploy --shard i/n` must succeed, and each one’s .local_defs_state/ be collected into this project (e.g. actions/download-artifact with merge-multiple).';

/**
 * Combines the partial pin files of a sharded deploy into the project's pin file, so the image is
 * built once, from the union. The files must be the shards 1…n of one run (one total, one plan,
 * one store), and together pin every declared key exactly once: a key missing, pinned twice or
 * not declared fails the merge (`IntegrityError`), and no pin file is written.
 */
export async function mergePins(
  project: Project,
  options: MergePinsOptions = {},
): Promise<MergePinsReport> {
  const given = options.files?.length ? options.files : await findPartialPinFiles(project.root);
  const files = [...new Set(given.map((file) => resolve(file)))];
  if (files.length === 0) {
    throw new UsageError(
      `No partial pin files to merge in ${pinFilePath(project.root).replace(/\.pins\.json$/, '')}.`,
      { hint: `Pass them (defstate pin --merge <files…>), or collect them there first. ${HINT}` },
    );
  }
  const partials = await Promise.all(
    files.map(async (file) => ({ file, pins: await readPartialPinFile(file) })),
  );
  const total = checkShards(partials);
  const store = checkRun(partials);
  const owner = new Map<string, number>();
  const twice: string[] = [];
  const infos: StateInfo[] = [];
  for (const { pins } of partials) {
    for (const info of Object.values(pins.keys)) {
      const earlier = owner.get(info.key);
      if (earlier !== undefined) {
        twice.push(`"${info.key}" (shards ${earlier} and ${pins.shard.index})`);
        continue;
      }
      owner.set(info.key, pins.shard.index);
      infos.push(info);
    }
  }
  if (twice.length > 0) {
    throw new IntegrityError(
      `${twice.length === 1 ? 'A key is' : `${twice.length} keys are`} pinned by two shards: ${list(twice)}. No pin file was written.`,
      {
        hint: 'The shards did not share one plan: run every shard of one CI run, with the same keys and total, and merge only its files.',
      },
    );
  }
  const declared = project.components.map(({ key }) => key);
  const missing = declared.filter((key) => !owner.has(key)).map((key) => `"${key}"`);
  if (missing.length > 0) {
    throw new IntegrityError(
      `${missing.length === 1 ? 'A declared key is' : `${missing.length} declared keys are`} in no partial pin file: ${list(missing)}. No pin file was written.`,
      {
        hint: `A sharded deploy must select every key (no --key or --management-type). ${HINT}`,
      },
    );
  }
  const known = new Set(declared);
  const extra = [...owner.keys()].filter((key) => !known.has(key)).map((key) => `"${key}"`);
  if (extra.length > 0) {
    throw new IntegrityError(
      `The partial pin files pin ${extra.length === 1 ? 'a key' : `${extra.length} keys`} that ${project.configFile} does not declare: ${list(extra)}. No pin file was written.`,
      {
        hint: 'The config changed between the shards and the merge: deploy again from one commit.',
      },
    );
  }
  const pins = await writePins(project.root, infos, { store, now: options.now });
  return {
    pins,
    pinFile: pinFilePath(project.root),
    files: partials.map(({ file }) => file),
    total,
  };
}

/** One total, and each shard from 1 to it exactly once. Returns the total. */
function checkShards(partials: Array<{ file: string; pins: PartialPinFile }>): number {
  const totals = [...new Set(partials.map(({ pins }) => pins.shard.total))];
  if (totals.length > 1) {
    throw new IntegrityError(
      `The partial pin files come from runs of ${totals.join(' and ')} shards. No pin file was written.`,
      { hint: 'Merge the files of one sharded run only.' },
    );
  }
  const total = totals[0] as number;
  const byIndex = new Map<number, string>();
  for (const { file, pins } of partials) {
    const other = byIndex.get(pins.shard.index);
    if (other) {
      throw new IntegrityError(
        `Shard ${pins.shard.index} of ${total} has two partial pin files: ${other} and ${file}. No pin file was written.`,
        { hint: 'Merge the files of one sharded run only.' },
      );
    }
    byIndex.set(pins.shard.index, file);
  }
  const absent = Array.from({ length: total }, (_, index) => index + 1).filter(
    (index) => !byIndex.has(index),
  );
  if (absent.length > 0) {
    throw new IntegrityError(
      `${absent.length === 1 ? `Shard ${absent[0]}` : `Shards ${absent.join(', ')}`} of ${total} ${absent.length === 1 ? 'has' : 'have'} no partial pin file. No pin file was written.`,
      { hint: HINT },
    );
  }
  partials.sort((a, b) => a.pins.shard.index - b.pins.shard.index);
  return total;
}

/** One plan and one store for every shard; returns the store. */
function checkRun(partials: ReadonlyArray<{ pins: PartialPinFile }>): string | undefined {
  const plans = [...new Set(partials.map(({ pins }) => pins.shard.plan ?? '(by count)'))];
  if (plans.length > 1) {
    throw new IntegrityError(
      `The shards were planned separately (${plans.join(', ')}): their keys may overlap or leave some out. No pin file was written.`,
      { hint: 'Merge the files of one CI run; its shards share one plan through the store.' },
    );
  }
  const stores = [...new Set(partials.flatMap(({ pins }) => (pins.store ? [pins.store] : [])))];
  if (stores.length > 1) {
    throw new IntegrityError(
      `The shards pinned versions of different stores: ${stores.join(', ')}. No pin file was written.`,
      { hint: 'Every shard must use the same instance config (DEFSTATE_HOME, --storage).' },
    );
  }
  return stores[0];
}

function list(items: readonly string[]): string {
  return items.length > 10
    ? `${items.slice(0, 10).join(', ')}, … (${items.length - 10} more)`
    : items.join(', ');
}
