import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';
import {
  FileBlobStore,
  hashFile,
  IntegrityError,
  loadState,
  readLocalState,
  readPointer,
} from '../src/index.js';
import { ensureBuilt, sha256, useTempDir } from './helpers.js';

/**
 * A refresh killed with SIGKILL right after each of its file operations in turn, one run per
 * operation: after every one, each key's state is the old one or the new one, never a mix, and
 * `loadState` returns exactly the bytes of the version it names (or refuses, under pins, when the
 * tree has moved on). Then a plain refresh recovers.
 */
const PRELOAD = fileURLToPath(new URL('./fixtures/crash-after.mjs', import.meta.url));
const REFRESH = fileURLToPath(new URL('./fixtures/refresh-once.mjs', import.meta.url));

beforeAll(ensureBuilt, 120_000);

async function refreshOnce(project: string, store: string, content: string, env = {}, pin = false) {
  return runNode(
    ['--import', PRELOAD, REFRESH, project, store, content, ...(pin ? ['--pin'] : [])],
    {
      env: { ...process.env, ...env },
    },
  );
}

describe('a refresh killed between any two file operations', () => {
  it('leaves every key old or new, whole, and loads exactly what it names', async () => {
    const base = await useTempDir('crash');
    const project = join(base, 'project');
    const store = join(base, 'store');
    // The state a deployment was built from: v1, pinned.
    const deployed = await refreshOnce(project, store, 'v1', {}, true);
    expect(deployed.code, deployed.stderr).toBe(0);

    const counter = join(base, 'count');
    const dry = join(await useTempDir('crash'), 'copy');
    await cp(base, dry, { recursive: true });
    await refreshOnce(join(dry, 'project'), join(dry, 'store'), 'v2', {
      DEFSTATE_CRASH_MATCH: dry,
      DEFSTATE_CRASH_COUNT: counter,
    });
    const operations = Number(await readFile(counter, 'utf8'));
    expect(operations).toBeGreaterThan(10);

    for (let crashAfter = 1; crashAfter <= operations; crashAfter++) {
      const run = join(await useTempDir('crash'), `after-${crashAfter}`);
      await cp(base, run, { recursive: true });
      const [runProject, runStore] = [join(run, 'project'), join(run, 'store')];
      const killed = await refreshOnce(runProject, runStore, 'v2', {
        DEFSTATE_CRASH_AFTER: String(crashAfter),
        DEFSTATE_CRASH_MATCH: run,
      });
      const where = `killed after operation ${crashAfter} of ${operations}`;
      expect(killed.signal, where).toBe('SIGKILL');

      const local = await readLocalState(runProject, 'local-key');
      expect(local, where).toBeDefined();
      const bytes = await readFile(local?.path as string, 'utf8');
      expect(['local v1', 'local v2'], where).toContain(bytes);
      expect(sha256(bytes), where).toBe(local?.info.sha256);

      const pinned: Awaited<ReturnType<typeof loadState>> | Error = await loadState('local-key', {
        projectRoot: runProject,
      }).catch((error: Error) => error);
      if (pinned instanceof Error) {
        // The tree moved on to v2: under the v1 pins, that is refused, never served as v1.
        expect(pinned, where).toBeInstanceOf(IntegrityError);
      } else {
        expect(await readFile(pinned.path, 'utf8'), where).toBe('local v1');
      }

      const fileStore = new FileBlobStore(runStore);
      const latest = (await readPointer(fileStore, { keys: ['versioned-key'] })).entries.get(
        'versioned-key',
      );
      const loaded = await loadState('versioned-key', {
        projectRoot: runProject,
        store: fileStore,
        ignorePins: true,
        cacheDir: join(run, 'cache'),
      });
      expect(loaded.version, where).toBe(latest?.version);
      expect((await hashFile(loaded.path)).sha256, where).toBe(latest?.sha256);
      expect(['versioned v1', 'versioned v2'], where).toContain(
        await readFile(loaded.path, 'utf8'),
      );

      // And the next refresh, not killed, gets everything to v2.
      const recovered = await refreshOnce(runProject, runStore, 'v2');
      expect(recovered.code, `${where}: ${recovered.stderr}`).toBe(0);
      const after = await readLocalState(runProject, 'local-key');
      expect(await readFile(after?.path as string, 'utf8'), where).toBe('local v2');
    }
  }, 600_000);
});

describe('local refreshes of one project at once', () => {
  it('serialise each key: its bytes and its record always agree', async () => {
    const project = join(await useTempDir('local-race'), 'project');
    const go = join(project, '..', 'go');
    const script = fileURLToPath(new URL('./fixtures/refresh-local.mjs', import.meta.url));
    for (let round = 0; round < 3; round++) {
      const runs = Array.from({ length: 3 }, () => runNode([script, project, go]));
      await writeFile(go, '');
      for (const result of await Promise.all(runs)) expect(result.code, result.stderr).toBe(0);
      await rm(go);
      for (let index = 0; index < 50; index++) {
        const local = await readLocalState(project, `local-${index}`);
        expect((await hashFile(local?.path as string)).sha256, `local-${index}`).toBe(
          local?.info.sha256,
        );
      }
    }
  }, 300_000);
});
