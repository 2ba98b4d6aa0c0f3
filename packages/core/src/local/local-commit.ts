import { link, mkdir, readdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  commitFile,
  removeFile,
  syncPath,
  temporarySibling,
  writeFileAtomic,
} from '../fs/atomic.js';
import type { Digest } from '../fs/hash-file.js';
import type { StateInfo } from '../model/state-info.js';
import { createStateVersion } from '../model/state-version.js';
import { withFileLock } from '../store/file-lock.js';
import {
  ensureLocalStateRoot,
  type LocalStatePaths,
  localStatePaths,
  readLocalStateInfo,
} from './local-state.js';

/**
 * Commits a key's local state so that its bytes and its record switch together. Under the key's
 * lock (two refreshes of one project never interleave their commits of a key):
 *
 *   1. the staged file moves to `.pending/<version>`       record: old   bytes: old at `state`
 *   2. `info.json` is replaced by the new record           record: new   bytes: new, pending
 *   3. the pending bytes are linked over `state`           record: new   bytes: new at `state`
 *   4. the pending name is removed
 *
 * Step 2 is the commit point. Killed anywhere, the tree holds the old record with its bytes, or
 * the new record with its bytes (pending or in place); `readLocalState` and the next commit find
 * an unfinished step 3 and finish it.
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
  await withFileLock(paths.lock, async () => {
    await finishUnderLock(projectRoot, key);
    const pending = paths.pending(info.version);
    await mkdir(dirname(pending), { recursive: true });
    await commitFile(stagedFile, pending);
    await writeFileAtomic(paths.info, `${JSON.stringify(info, null, 2)}\n`);
    // Steps 3 and 4 for the version just recorded: the lock is still held, so nothing else
    // changed the folder since the look above.
    await placePending(paths, info.version);
  });
  return info;
}

/**
 * Finishes a commit of the key that was cut short after its record (moves its pending bytes to
 * `state`), and removes what commits cut short before their record left behind.
 */
export async function finishCommit(projectRoot: string, key: string): Promise<void> {
  await withFileLock(localStatePaths(projectRoot, key).lock, () =>
    finishUnderLock(projectRoot, key),
  );
}

async function finishUnderLock(projectRoot: string, key: string): Promise<void> {
  const paths = localStatePaths(projectRoot, key);
  const info = await readLocalStateInfo(projectRoot, key);
  const pendingDir = dirname(paths.pending('x'));
  const entries = await readdir(pendingDir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (entry === info?.version) await placePending(paths, entry);
    // Bytes whose record never landed (a commit killed before step 2): nothing names them.
    else await removeFile(join(pendingDir, entry));
  }
  // Temporary files of writes that died half-way in this folder (only this key's commits write
  // here, and they hold the lock).
  for (const entry of await readdir(paths.folder).catch(() => [] as string[])) {
    if (entry.startsWith('.tmp-')) await removeFile(join(paths.folder, entry));
  }
}

/**
 * Steps 3 and 4: a second name for the recorded version's pending bytes, renamed over `state` in
 * one step, then the pending name removed.
 */
async function placePending(paths: LocalStatePaths, version: string): Promise<void> {
  const pending = paths.pending(version);
  const temporary = temporarySibling(paths.state);
  await link(pending, temporary);
  try {
    await rename(temporary, paths.state);
  } finally {
    await removeFile(temporary);
  }
  await syncPath(paths.folder);
  await removeFile(pending);
}
