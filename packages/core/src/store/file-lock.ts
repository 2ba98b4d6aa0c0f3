import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AbortedError, TransientError } from '../errors.js';
import { removeFile } from '../fs/atomic.js';
import { currentProcess, isGoneHere, type ProcessIdentity } from '../fs/process-identity.js';

/**
 * A cross-process lock made of a file, for stores that keep objects in a folder (a local disk or
 * a shared mount). The same contract as the store-wide maintenance lease: an owner token, a
 * heartbeat, acquire with a bounded wait, and a takeover of a stale holder that two contenders can
 * never both win.
 *
 * - Acquire: a file holding the owner's token and identity is `link()`ed to the lock's name,
 *   which fails atomically while another lock is there.
 * - Heartbeat: while held, the holder touches the lock every `staleMs / 3`, so a long hold is not
 *   taken for a dead one; a holder that finds its token gone knows it lost the lock (`signal`).
 * - Stale: a holder on this machine whose process is gone is stale at once; any other holder is
 *   stale once its lock has not changed for `staleMs` as timed by the waiter's own monotonic clock
 *   (no comparison of two machines' clocks).
 * - Takeover and release both go through one claim file (`<lock>.break`, created exclusively): the
 *   claimant re-reads the lock and removes it only if it is still the very instance it judged
 *   (same content, same inode). A breaker delayed between its judgement and its removal therefore
 *   finds the fresh lock of whoever broke first and leaves it alone; a holder releasing a lock
 *   that was broken under it removes nothing of its successor's.
 */
export interface FileLockOptions {
  /** A holder whose lock has not changed for this long is taken to be gone, in ms. */
  staleMs?: number;
  /** Longest wait for the lock before a `TransientError`, in ms. */
  waitMs?: number;
  signal?: AbortSignal;
  /** For tests: runs after a lock was judged stale and before the attempt to break it. */
  beforeBreak?: () => Promise<void>;
  /**
   * Asked while waiting: an error to stop waiting with, when what the lock was wanted for can no
   * longer succeed (a compare-and-swap whose etag has changed meanwhile).
   */
  giveUp?: () => Promise<Error | undefined>;
}

export interface HeldFileLock {
  /** Aborted if the lock is found broken by someone else while held. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

interface LockInstance {
  content: string;
  ino: bigint;
  mtimeNs: bigint;
  holder: Partial<ProcessIdentity> & { token?: string; since?: string };
}

const DEFAULT_STALE_MS = 10_000;
const DEFAULT_WAIT_MS = 30_000;

export async function withFileLock<T>(
  lockPath: string,
  action: (lock: HeldFileLock) => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = await acquireFileLock(lockPath, options);
  try {
    return await action(lock);
  } finally {
    await lock.release();
  }
}

export async function acquireFileLock(
  lockPath: string,
  options: FileLockOptions = {},
): Promise<HeldFileLock> {
  const { staleMs = DEFAULT_STALE_MS, waitMs = DEFAULT_WAIT_MS, signal } = options;
  const token = randomBytes(12).toString('hex');
  const content = `${JSON.stringify({ token, ...currentProcess(), since: new Date().toISOString() })}\n`;
  const temporary = `${lockPath}.${token}`;
  const started = performance.now();
  const watch = new StalenessWatch(staleMs);
  await mkdir(dirname(lockPath), { recursive: true });
  await writeFile(temporary, content, { flag: 'wx' });
  try {
    let current: LockInstance | undefined;
    for (let waits = 0; ; waits++) {
      if (signal?.aborted)
        throw new AbortedError(`Stopped while waiting for the lock ${lockPath}.`);
      try {
        await link(temporary, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      current = await readLock(lockPath, current);
      if (!current) continue;
      if (watch.isStale(current)) {
        await options.beforeBreak?.();
        if (await removeInstance(lockPath, current, watch)) continue;
      }
      if (performance.now() - started > waitMs) throw timedOut(lockPath, waitMs, current);
      const reason = await options.giveUp?.();
      if (reason) throw reason;
      // Locks are held for milliseconds: look again soon, then less often, with jitter so that
      // waiters do not wake together.
      await delay(Math.min(50, 1.5 ** waits) * (0.5 + Math.random()));
    }
  } finally {
    await removeFile(temporary);
  }
  return holdLock(lockPath, content, staleMs);
}

function holdLock(lockPath: string, content: string, staleMs: number): HeldFileLock {
  const controller = new AbortController();
  const heartbeat = setInterval(async () => {
    try {
      const current = await readLock(lockPath);
      if (current?.content !== content) {
        controller.abort(new TransientError(`The lock ${lockPath} was taken over.`));
        clearInterval(heartbeat);
        return;
      }
      const now = new Date();
      await utimes(lockPath, now, now);
    } catch {
      // A heartbeat that fails is retried on the next tick; missing several makes the lock stale.
    }
  }, staleMs / 3);
  heartbeat.unref();
  return {
    signal: controller.signal,
    async release() {
      clearInterval(heartbeat);
      const current = await readLock(lockPath);
      if (current?.content === content) {
        await removeInstance(lockPath, current, new StalenessWatch(staleMs));
      }
    },
  };
}

/**
 * Removes the lock at `lockPath` if it is still `judged`, under the claim file. `false` when it
 * was not removed: another claimant is at work, or the lock is another instance by now.
 */
async function removeInstance(
  lockPath: string,
  judged: LockInstance,
  watch: StalenessWatch,
): Promise<boolean> {
  const claim = `${lockPath}.break`;
  const claimContent = `${JSON.stringify({ ...currentProcess(), token: randomBytes(6).toString('hex') })}\n`;
  for (;;) {
    try {
      await writeFile(claim, claimContent, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // Someone else holds the claim. Only a claimant that died (its claim is held for
    // milliseconds) is cleared out of the way; a live one is left to finish.
    const other = await readLock(claim);
    if (other && !watch.isStale(other)) return false;
    if (other) await removeFile(claim);
  }
  try {
    const current = await readLock(lockPath);
    if (current?.content !== judged.content || current.ino !== judged.ino) return false;
    await removeFile(lockPath);
    return true;
  } finally {
    await removeFile(claim);
  }
}

/**
 * The lock at `path`, or `undefined` when there is none. A lock file's content never changes
 * (a new holder is a new file), so when `known` is the same file and has not been touched since,
 * it is returned without reading the file again.
 */
async function readLock(path: string, known?: LockInstance): Promise<LockInstance | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    if (known && known.ino === stats.ino && known.mtimeNs === stats.mtimeNs) return known;
    const content = await readFile(path, 'utf8');
    return { content, ino: stats.ino, mtimeNs: stats.mtimeNs, holder: parseHolder(content) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(content: string): LockInstance['holder'] {
  try {
    const parsed = JSON.parse(content) as unknown;
    if (typeof parsed === 'object' && parsed !== null) return parsed as LockInstance['holder'];
  } catch {
    // Locks written before the lock carried JSON hold a bare pid, with no host: not ours to judge.
  }
  return {};
}

/**
 * Tells a dead holder from a live one without comparing clocks: a lock instance is stale when
 * its holder is gone from this machine, or when it has not changed (no heartbeat) for `staleMs`
 * since this process first saw it.
 */
class StalenessWatch {
  readonly #seen = new Map<string, { mtimeNs: bigint; at: number; askedAt: number }>();

  constructor(private readonly staleMs: number) {}

  isStale(instance: LockInstance): boolean {
    const id = `${instance.ino}:${instance.content}`;
    const now = performance.now();
    let seen = this.#seen.get(id);
    if (!seen || seen.mtimeNs !== instance.mtimeNs) {
      seen = { mtimeNs: instance.mtimeNs, at: now, askedAt: Number.NEGATIVE_INFINITY };
      this.#seen.set(id, seen);
    }
    if (now - seen.at >= this.staleMs) return true;
    // Whether the holder's process is gone costs a look into /proc: most holders let go within
    // milliseconds, so ask only of a lock held a little while, and then every so often.
    if (now - seen.at >= 20 && now - seen.askedAt >= 100) {
      seen.askedAt = now;
      return isGoneHere(instance.holder);
    }
    return false;
  }
}

function timedOut(lockPath: string, waitMs: number, current: LockInstance): TransientError {
  const { pid, host, since } = current.holder;
  const holder = pid
    ? `process ${pid}${host ? ` on ${host}` : ''}${since ? ` since ${since}` : ''}`
    : 'another process';
  return new TransientError(
    `Timed out after ${waitMs} ms waiting for the lock ${lockPath}, held by ${holder}.`,
    {
      hint: 'Another defstate process is writing to the same folder. A lock whose holder is gone is taken over by itself; if its holder runs on another machine, that takes a few seconds.',
    },
  );
}
