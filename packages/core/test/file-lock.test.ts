import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../src/index.js';
import { acquireFileLock, withFileLock } from '../src/store/file-lock.js';
import { ensureBuilt, rejection, useTempDir } from './helpers.js';

beforeAll(ensureBuilt, 120_000);

/** A lock file as a holder on another machine leaves it: only a missing heartbeat shows it died. */
async function foreignLock(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const holder = {
    token: 'elsewhere',
    host: 'another-machine',
    pid: 4242,
    since: '2026-01-01T00:00:00.000Z',
  };
  await writeFile(path, `${JSON.stringify(holder)}\n`);
}

describe('file lock', () => {
  it('lets exactly one holder in at a time', async () => {
    const lock = join(await useTempDir('lock'), 'x.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withFileLock(lock, async () => {
          inside++;
          most = Math.max(most, inside);
          await delay(3);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await readdir(join(lock, '..'))).toEqual([]);
  });

  it('never lets two breakers of one stale lock both hold it', async () => {
    const lock = join(await useTempDir('lock'), 'x.lock');
    await foreignLock(lock);
    let inside = 0;
    let most = 0;
    let firstBroke!: () => void;
    const broken = new Promise<void>((resolve) => {
      firstBroke = resolve;
    });
    let judged = 0;
    let zeroJudged!: () => void;
    const zeroHasJudged = new Promise<void>((resolve) => {
      zeroJudged = resolve;
    });
    // Both contenders judge the foreign lock stale. Contender 0 is held between its judgement and
    // its break until contender 1 has broken the lock and taken it; contender 1 breaks only once
    // contender 0 has judged (on a busy machine it may get there first).
    const contender = (index: number) =>
      withFileLock(
        lock,
        async () => {
          inside++;
          most = Math.max(most, inside);
          if (index === 1) firstBroke();
          await delay(200);
          inside--;
        },
        {
          // Long enough that no holder's heartbeat is missed on a busy machine.
          staleMs: 1_000,
          beforeBreak: async () => {
            judged++;
            if (index === 0) {
              zeroJudged();
              await broken;
            } else {
              await zeroHasJudged;
            }
          },
        },
      );
    await Promise.all([contender(0), delay(20).then(() => contender(1))]);
    expect(judged).toBeGreaterThanOrEqual(2);
    expect(most).toBe(1);
  });

  it('keeps a lock held longer than the stale time alive with its heartbeat', async () => {
    const lock = join(await useTempDir('lock'), 'x.lock');
    // Held for 2.5 times the stale time: only the heartbeat keeps the waiter from breaking it.
    const held = await acquireFileLock(lock, { staleMs: 1_000 });
    const waiter = rejection(acquireFileLock(lock, { staleMs: 1_000, waitMs: 2_500 }));
    expect(await waiter).toBeInstanceOf(TransientError);
    expect(held.signal.aborted).toBe(false);
    await held.release();
    const next = await acquireFileLock(lock, { staleMs: 1_000, waitMs: 700 });
    await next.release();
  });

  it('takes over at once the lock of a process on this machine that was killed', async () => {
    const dir = await useTempDir('lock');
    const lock = join(dir, 'x.lock');
    // The holder runs the same source, through jiti (the package's own TypeScript loader).
    const source = fileURLToPath(new URL('../src/store/file-lock.ts', import.meta.url));
    const script = `const { createJiti } = await import('jiti');
      const { acquireFileLock } = await createJiti(${JSON.stringify(import.meta.url)}).import(${JSON.stringify(source)});
      await acquireFileLock(${JSON.stringify(lock)});
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const holder = JSON.parse(await readFile(lock, 'utf8')) as { pid: number };
    expect(holder.pid).toBe(child.pid);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // A minute of staleness would be needed to take it from a holder on another machine.
    const next = await acquireFileLock(lock, { staleMs: 60_000, waitMs: 2_000 });
    await next.release();
  });

  it('says who holds the lock when the wait runs out', async () => {
    const lock = join(await useTempDir('lock'), 'x.lock');
    await foreignLock(lock);
    const error = await rejection(acquireFileLock(lock, { staleMs: 60_000, waitMs: 100 }));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('process 4242 on another-machine');
  });

  it('releases nothing of a successor when its own lock was broken under it', async () => {
    const lock = join(await useTempDir('lock'), 'x.lock');
    const first = await acquireFileLock(lock, { staleMs: 100 });
    // Another contender takes the lock over, as if the first had died; the first then releases.
    await writeFile(
      lock,
      `${JSON.stringify({ token: 'successor', host: 'another-machine', pid: 1 })}\n`,
    );
    await first.release();
    expect(JSON.parse(await readFile(lock, 'utf8')).token).toBe('successor');
  });
});
