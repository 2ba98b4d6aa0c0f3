import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashStream, readPointer, type StateInfo, stateObjectName } from '@defstate/core';
import { namespaced } from '../blob-store-suite.js';
import type { ConformanceOptions } from '../options.js';
import type { WorkerResult } from '../worker.js';
import type { ProtocolOptions } from './options.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('../worker.js', import.meta.url));

/**
 * Many writers at once, each a real process running the refresh engine: every process refreshes
 * its own keys and the keys all of them share, for several rounds, all starting together. Then:
 * no key failed (no lost compare-and-swap became an error), no update was lost (each key's
 * generation equals the number of refreshes that reported `refreshed` for it, and latest is the
 * one that got the last generation), and every pointer entry hashes to its object.
 */
export function tortureSuite(options: ConformanceOptions & ProtocolOptions): void {
  const { test, describe, expect } = options;
  const withStore = namespaced(options);
  const { processes = 8, ownKeys = 10, sharedKeys = 3, rounds = 2 } = options.torture ?? {};

  describe(`${options.name}: many writers`, () => {
    test(
      `${processes} processes × (${ownKeys} own + ${sharedKeys} shared keys) × ${rounds} rounds lose no update`,
      () =>
        withStore(async (store, namespace) => {
          const folder = await mkdtemp(join(tmpdir(), 'defstate-testkit-torture-'));
          const go = join(folder, 'go');
          const shared = Array.from({ length: sharedKeys }, (_, index) => `shared/${index}`);
          const plans = Array.from({ length: processes }, (_, index) => ({
            own: Array.from({ length: ownKeys }, (_, key) => `own/${index}/${key}`),
            shared,
            rounds,
          }));
          try {
            const started = performance.now();
            const running = plans.map((plan) =>
              run(
                process.execPath,
                [WORKER, options.storeModule, namespace, JSON.stringify(plan), go],
                {
                  env: process.env,
                  maxBuffer: 64 * 1024 * 1024,
                },
              ),
            );
            await writeFile(go, '');
            const outputs = await Promise.all(running);
            const seconds = ((performance.now() - started) / 1000).toFixed(1);
            const results = outputs.map(
              ({ stdout }) => (JSON.parse(stdout) as { rounds: WorkerResult[][] }).rounds,
            );

            const failed = results.flat(2).filter(({ status }) => status !== 'refreshed');
            expect(
              failed
                .slice(0, 5)
                .map(({ key, status, error }) => `${key}: ${status} ${error ?? ''}`),
              `results that were not refreshed (of ${results.flat(2).length}, in ${seconds} s)`,
            ).toEqual([]);

            const keys = [...shared, ...plans.flatMap((plan) => plan.own)];
            const { entries } = await readPointer(store, { keys });
            for (const [index, plan] of plans.entries()) {
              const last = results[index]?.at(-1) ?? [];
              for (const key of plan.own) {
                const mine = last.find((result) => result.key === key);
                expect(entries.get(key)?.version, key).toBe(mine?.version);
                expect(entries.get(key)?.generation, key).toBe(rounds);
              }
            }
            for (const key of shared) {
              const refreshed = results.flat(2).filter((result) => result.key === key);
              const generations = refreshed
                .map(({ generation }) => generation)
                .sort((a, b) => (a ?? 0) - (b ?? 0));
              expect(generations, `${key}: one generation per commit`).toEqual(
                Array.from({ length: refreshed.length }, (_, index) => index + 1),
              );
              const lastCommit = refreshed.find(
                ({ generation }) => generation === refreshed.length,
              );
              expect(entries.get(key)?.version, key).toBe(lastCommit?.version);
              expect(entries.get(key)?.generation, key).toBe(processes * rounds);
            }
            for (const key of keys) {
              const entry = entries.get(key) as StateInfo;
              const { body } = await store.get(stateObjectName(key, entry.version));
              expect((await hashStream(body)).sha256, `${key} ${entry.version}`).toBe(entry.sha256);
            }
          } finally {
            await rm(folder, { recursive: true, force: true });
          }
        }),
      1_800_000,
    );
  });
}
