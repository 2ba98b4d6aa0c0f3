import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TransientError } from '../errors.js';

/**
 * A cross-process lock made of a file created with O_EXCL. Held for the few milliseconds of a
 * compare-and-rename, so waiters poll. A lock older than `staleMs` belongs to a process that died
 * holding it and is broken by renaming it away (only one breaker's rename can succeed).
 */
export async function withFileLock<T>(
  lockPath: string,
  action: () => Promise<T>,
  { staleMs = 10_000, waitMs = 30_000 } = {},
): Promise<T> {
  const deadline = Date.now() + waitMs;
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await breakIfStale(lockPath, staleMs);
    if (Date.now() > deadline) {
      throw new TransientError(`Timed out waiting for the lock ${lockPath}.`, {
        hint: 'Another defstate process is writing to the same folder; if none is, delete the lock file.',
      });
    }
    await delay(2 + Math.random() * 8);
  }
  try {
    return await action();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<void> {
  try {
    const { mtimeMs } = await stat(lockPath);
    if (Date.now() - mtimeMs < staleMs) return;
    const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
    await rename(lockPath, aside);
    await rm(aside, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
