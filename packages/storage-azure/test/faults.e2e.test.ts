import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFaultProxy } from '@defstate/adapter-testkit';
import * as core from '@defstate/core';
import { describe, expect, test } from 'vitest';
import {
  badOutcome,
  checkPointer,
  createFaultProject,
  refreshRepeatedly,
  snapshotStore,
} from '../../../tools/testing/fault-refresh.mjs';
import {
  blobEndpoint,
  connectionString,
  container,
  endpoint,
  open,
  uniquePrefix,
} from './azurite.js';

// The built `defstate` refreshing 20 keys, 50 times and 5 at once, against Azurite through the
// kit's fault proxy: at 20% faults nearly every run succeeds and none crashes; at 100% each run
// fails with a message and the store is left exactly as it was.

// The project's credentials: Azurite's well-known development key, from the environment.
const EMULATOR_ENV = { AZURE_STORAGE_CONNECTION_STRING: connectionString };
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

const instanceConfig = (at: string, prefix: string) => `state_storage:
  adapter: azure
  options:
    container: ${container}
    prefix: ${prefix}
    accountUrl: ${blobEndpoint.replace(endpoint, at)}
    requestTimeoutMs: 3000
`;

async function setUp() {
  const proxy = await startFaultProxy(endpoint);
  const prefix = uniquePrefix('faults-e2e');
  const project = await createFaultProject({
    keys: 20,
    adapterPackage: '@defstate/storage-azure',
    adapterDir: PACKAGE_ROOT,
    instanceConfig: instanceConfig(proxy.endpoint, prefix),
  });
  // The same objects, straight from the emulator: what the checks read.
  const store = await open({ prefix, accountUrl: blobEndpoint, connectionString });
  const folder = await mkdtemp(join(tmpdir(), 'defstate-faults-check-'));
  return {
    proxy,
    project,
    store,
    folder,
    async tearDown() {
      await proxy.stop();
      await store.close?.();
      await project.cleanup();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** What a failed run said about its failures, without the keys that went well. */
function failureLines(output: string): string {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('✓'))
    .join('\n');
}

describe('refreshes through a flaky network, end to end', () => {
  test('at 20% faults, at least 49 of 50 runs exit 0, none crashes, the pointer never names a bad object', async () => {
    const { proxy, project, store, folder, tearDown } = await setUp();
    try {
      // A failing run prints its seed; DEFSTATE_E2E_SEED replays it.
      const replay = Number(process.env.DEFSTATE_E2E_SEED);
      proxy.randomFaults({ rate: 0.2, seed: Number.isInteger(replay) ? replay : undefined });
      const outcomes = await refreshRepeatedly(project, {
        runs: 50,
        concurrency: 5,
        env: EMULATOR_ENV,
        between: async () => {
          await checkPointer(store, core, folder);
        },
      });
      const seed = proxy.stats.seed;
      proxy.clear();
      for (const outcome of outcomes) {
        expect(
          badOutcome(outcome),
          `seed ${seed}, run ${outcome.run}:\n${outcome.stderr}${outcome.stdout}`,
        ).toBeUndefined();
      }
      const succeeded = outcomes.filter((outcome) => outcome.code === 0).length;
      console.info(
        `${succeeded} of 50 runs exited 0; ${proxy.stats.injected} of ${proxy.stats.total} requests faulted (seed ${seed})`,
      );
      const failures = outcomes
        .filter((outcome) => outcome.code !== 0)
        .map((outcome) => failureLines(outcome.stdout + outcome.stderr))
        .join('\n---\n');
      expect(
        succeeded,
        `seed ${seed}: ${50 - succeeded} runs failed:\n${failures}`,
      ).toBeGreaterThan(48);
      expect(proxy.stats.injected).toBeGreaterThan(50);
      expect(await checkPointer(store, core, folder)).toBe(20);
    } finally {
      await tearDown();
    }
  }, 1_200_000);

  test('at 100% faults, every run exits 1 with a message and the store stays byte-identical', async () => {
    const { proxy, project, store, folder, tearDown } = await setUp();
    try {
      const [first] = await refreshRepeatedly(project, {
        runs: 1,
        concurrency: 1,
        env: EMULATOR_ENV,
      });
      expect(first?.code, first?.stderr).toBe(0);
      const before = await snapshotStore(store, core);
      // Faults that never let a request reach the store, so nothing can change behind them.
      proxy.randomFaults({ rate: 1, kinds: ['reset', 'status'] });
      const outcomes = await refreshRepeatedly(project, {
        runs: 3,
        concurrency: 3,
        env: EMULATOR_ENV,
      });
      proxy.clear();
      for (const outcome of outcomes) {
        expect(outcome.code, outcome.stderr).toBe(1);
        expect(badOutcome(outcome)).toBeUndefined();
        expect(outcome.stdout + outcome.stderr).toMatch(/failed/);
      }
      expect(await snapshotStore(store, core)).toEqual(before);
      expect(await checkPointer(store, core, folder)).toBe(20);
    } finally {
      await tearDown();
    }
  }, 600_000);
});
