import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, StorageError } from '../errors.js';
import { removeFile, writeFileAtomic } from '../fs/atomic.js';
import { isStateInfo } from '../model/document-checks.js';
import { keyToFolder } from '../model/key-folder.js';
import type { StateInfo } from '../model/state-info.js';

/**
 * Local management: `.local_defs_state/<key folder>/state` plus `info.json` beside it. The folder
 * carries a `.gitignore` that ignores everything, so state never enters version control, yet a
 * plain `COPY . /app` takes it into the image.
 *
 * `info.json` is the record and the commit point: a commit (`local-commit.ts`) first puts the new
 * bytes at `.pending/<version>`, then replaces `info.json`, then moves the bytes to `state`, then
 * removes the pending file. So `info.json` always names bytes that exist whole: at
 * `.pending/<version>` while a commit is under way (or was cut short by a crash), at `state`
 * otherwise. Readers go through `readLocalState`, which knows where to look.
 */
export const LOCAL_STATE_DIR = '.local_defs_state';
export const STATE_FILE = 'state';
export const INFO_FILE = 'info.json';
/** Bytes whose record is already in `info.json` but that are not at `state` yet. */
export const PENDING_DIR = '.pending';
const STAGING_DIR = '.staging';
const GITIGNORE = '# Written by defstate: state is built in CI, not committed.\n*\n';

export interface LocalStatePaths {
  folder: string;
  state: string;
  info: string;
  /** Where a commit keeps the bytes of `version` until they are at `state`. */
  pending: (version: string) => string;
  /** The lock that serialises commits of this key. */
  lock: string;
}

export function localStateRoot(projectRoot: string): string {
  return join(projectRoot, LOCAL_STATE_DIR);
}

export function localStatePaths(projectRoot: string, key: string): LocalStatePaths {
  const folder = join(localStateRoot(projectRoot), keyToFolder(key));
  return {
    folder,
    state: join(folder, STATE_FILE),
    info: join(folder, INFO_FILE),
    pending: (version) => join(folder, PENDING_DIR, version),
    lock: join(folder, '.lock'),
  };
}

/** Creates `.local_defs_state/` with its `.gitignore`. */
export async function ensureLocalStateRoot(projectRoot: string): Promise<string> {
  const root = localStateRoot(projectRoot);
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    throw new ConfigError(
      `${root} is a file, not a folder`,
      { file: root },
      {
        cause: error,
        hint: `Local state lives in the folder ${LOCAL_STATE_DIR}/ of the project: move that file away.`,
      },
    );
  }
  const gitignore = join(root, '.gitignore');
  const current = await readFile(gitignore, 'utf8').catch(() => undefined);
  if (current !== GITIGNORE) await writeFileAtomic(gitignore, GITIGNORE);
  return root;
}

/**
 * A fresh folder for one refresh attempt to write into. It sits inside `.local_defs_state/` so
 * that committing local state is a same-file-system rename.
 */
/** The file in a staging folder that a component writes its state to. */
export const STAGED_STATE_FILE = 'state';

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
  // Most refreshes leave one file, `state`: removing it and the folder by name costs two calls,
  // where a recursive removal lists and stats. Anything else a component left falls back to that.
  try {
    await removeFile(join(folder, STAGED_STATE_FILE));
    await rmdir(folder);
  } catch {
    await rm(folder, { recursive: true, force: true });
  }
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
  const json = safeJson(text);
  if (isStateInfo(json) && json.key === key) return json;
  // Damaged: the schema, imported only now (an app reads these at start-up), says where.
  const { StateInfoSchema } = await import('../model/state-info.js');
  const result = StateInfoSchema.safeParse(json);
  throw new StorageError(`The local state record ${info} is damaged.`, {
    cause: result.error,
    hint: `Refresh "${key}" to rewrite it.`,
  });
}

/**
 * Lets the key's pending commit finish (waiting for its lock); false when it cannot, as in a
 * read-only tree. The commit code is imported only here: a reader rarely meets one, and an app
 * loading its state at start-up should not load it.
 */
async function finishPendingCommit(projectRoot: string, key: string): Promise<boolean> {
  const { finishCommit } = await import('./local-commit.js');
  return finishCommit(projectRoot, key).then(
    () => true,
    () => false,
  );
}

/** The recorded info of a key's local state, counted only while its bytes are there. */
export async function readPresentLocalInfo(
  projectRoot: string,
  key: string,
): Promise<StateInfo | undefined> {
  return (await readLocalState(projectRoot, key))?.info;
}

export interface LocalState {
  info: StateInfo;
  /** A file holding exactly the bytes `info` names. */
  path: string;
}

/**
 * A key's local state: its record and a file holding exactly the bytes the record names, or
 * `undefined` when it has none (no record, or its bytes are gone). A commit cut short between
 * its record and its rename (a crash) is finished first when the tree is writable, so `state`
 * catches up; in a read-only tree the pending bytes are returned as they are.
 */
export async function readLocalState(
  projectRoot: string,
  key: string,
): Promise<LocalState | undefined> {
  const paths = localStatePaths(projectRoot, key);
  for (let attempt = 0; ; attempt++) {
    const info = await readLocalStateInfo(projectRoot, key);
    if (!info) return undefined;
    const pending = paths.pending(info.version);
    let path = paths.state;
    if (await exists(pending)) {
      // A commit of this version is under way, or was cut short: let it finish (waiting for its
      // lock), and look again; if the tree cannot be written, the pending bytes are the state.
      if (attempt < 3 && (await finishPendingCommit(projectRoot, key))) continue;
      path = pending;
    } else if (!(await exists(paths.state))) {
      return undefined;
    }
    // The record did not move while we looked: the file holds its bytes.
    if ((await readLocalStateInfo(projectRoot, key))?.version === info.version)
      return { info, path };
    if (attempt >= 10) {
      throw new StorageError(`The local state of "${key}" keeps changing while it is read.`, {
        hint: 'Another process is refreshing it in a loop; read it again once that stops.',
      });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Removes what refreshes whose process is gone (killed, crashed) left behind: their staging
 * folders, and the temporary files of writes to `.local_defs_state/` they did not finish (the
 * pin file, the record of the last refreshes). Both are named after the process that made them.
 */
export async function removeAbandonedStaging(projectRoot: string): Promise<void> {
  const root = localStateRoot(projectRoot);
  const staging = join(root, STAGING_DIR);
  const entries = await readdir(staging).catch(() => [] as string[]);
  const temporaries = (await readdir(root).catch(() => [] as string[])).filter((entry) =>
    entry.startsWith('.tmp-'),
  );
  await Promise.all([
    ...entries
      .filter((entry) => !isProcessAlive(Number.parseInt(entry, 10)))
      .map((entry) => rm(join(staging, entry), { recursive: true, force: true })),
    ...temporaries
      .filter((entry) => !isProcessAlive(Number.parseInt(entry.slice('.tmp-'.length), 10)))
      .map((entry) => rm(join(root, entry), { force: true })),
  ]);
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
