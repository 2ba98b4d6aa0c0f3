import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../errors.js';
import { commitFile, writeFileAtomic } from '../fs/atomic.js';
import type { Digest } from '../fs/hash-file.js';
import { keyToFolder } from '../model/key-folder.js';
import { type StateInfo, StateInfoSchema } from '../model/state-info.js';
import { createStateVersion } from '../model/state-version.js';

/**
 * Local management: `.local_defs_state/<key folder>/state` plus `info.json` beside it. The folder
 * carries a `.gitignore` that ignores everything, so state never enters version control, yet a
 * plain `COPY . /app` takes it into the image.
 */
export const LOCAL_STATE_DIR = '.local_defs_state';
export const STATE_FILE = 'state';
export const INFO_FILE = 'info.json';
const STAGING_DIR = '.staging';
const GITIGNORE = '# Written by defstate: state is built in CI, not committed.\n*\n';

export interface LocalStatePaths {
  folder: string;
  state: string;
  info: string;
}

export function localStateRoot(projectRoot: string): string {
  return join(projectRoot, LOCAL_STATE_DIR);
}

export function localStatePaths(projectRoot: string, key: string): LocalStatePaths {
  const folder = join(localStateRoot(projectRoot), keyToFolder(key));
  return { folder, state: join(folder, STATE_FILE), info: join(folder, INFO_FILE) };
}

/** Creates `.local_defs_state/` with its `.gitignore`. */
export async function ensureLocalStateRoot(projectRoot: string): Promise<string> {
  const root = localStateRoot(projectRoot);
  await mkdir(root, { recursive: true });
  const gitignore = join(root, '.gitignore');
  const current = await readFile(gitignore, 'utf8').catch(() => undefined);
  if (current !== GITIGNORE) await writeFileAtomic(gitignore, GITIGNORE);
  return root;
}

/**
 * A fresh folder for one refresh attempt to write into. It sits inside `.local_defs_state/` so
 * that committing local state is a same-file-system rename.
 */
export async function createStagingFolder(projectRoot: string): Promise<string> {
  const folder = join(
    localStateRoot(projectRoot),
    STAGING_DIR,
    `${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  await mkdir(folder, { recursive: true });
  return folder;
}

export async function removeStagingFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

/** Removes the staging root once no refresh is using it, so a finished run leaves no trace. */
export async function removeStagingRootIfEmpty(projectRoot: string): Promise<void> {
  await rmdir(join(localStateRoot(projectRoot), STAGING_DIR)).catch(() => undefined);
}

/** The recorded info of a key's local state, or `undefined` when it has none. */
export async function readLocalStateInfo(
  projectRoot: string,
  key: string,
): Promise<StateInfo | undefined> {
  const { info } = localStatePaths(projectRoot, key);
  let text: string;
  try {
    text = await readFile(info, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const result = StateInfoSchema.safeParse(safeJson(text));
  if (!result.success || result.data.key !== key) {
    throw new StorageError(`The local state record ${info} is damaged.`, {
      cause: result.error,
      hint: `Refresh "${key}" to rewrite it.`,
    });
  }
  return result.data;
}

/** The recorded info of a key's local state, counted only while its state file is still there. */
export async function readPresentLocalInfo(
  projectRoot: string,
  key: string,
): Promise<StateInfo | undefined> {
  const info = await readLocalStateInfo(projectRoot, key);
  if (!info) return undefined;
  const present = await access(localStatePaths(projectRoot, key).state).then(
    () => true,
    () => false,
  );
  return present ? info : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Moves a finished state file into place and records its info. The state file is renamed first:
 * whatever happens, `state` is a whole file, old or new.
 */
export async function commitLocalState(
  projectRoot: string,
  key: string,
  stagedFile: string,
  digest: Digest,
  now: Date = new Date(),
): Promise<StateInfo> {
  await ensureLocalStateRoot(projectRoot);
  const paths = localStatePaths(projectRoot, key);
  await mkdir(paths.folder, { recursive: true });
  const info: StateInfo = {
    key,
    management: 'local',
    version: createStateVersion(now),
    createdAt: now.toISOString(),
    sha256: digest.sha256,
    size: digest.size,
  };
  await commitFile(stagedFile, paths.state);
  await writeFileAtomic(paths.info, `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** Removes staging folders left by refreshes whose process is gone (killed, crashed). */
export async function removeAbandonedStaging(projectRoot: string): Promise<void> {
  const staging = join(localStateRoot(projectRoot), STAGING_DIR);
  const entries = await readdir(staging).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => !isProcessAlive(Number.parseInt(entry, 10)))
      .map((entry) => rm(join(staging, entry), { recursive: true, force: true })),
  );
}

function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
