import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  compareStateVersions,
  downloadStateVersion,
  hashFile,
  readStateInfo,
  type StateInfo,
} from '@defstate/core';
import { namespaced } from './blob-store-suite.js';
import type { ConformanceOptions } from './options.js';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Registers core's versioned protocol, raced across processes on the adapter. */
export function protocolSuite(options: ConformanceOptions): void {
  const { test, describe, expect } = options;
  const withStore = namespaced(options);
  const processes = options.processes ?? 4;

  describe(`${options.name}: versioned protocol`, () => {
    test(
      `${processes} processes refreshing their own and shared keys lose no update`,
      () =>
        withStore(async (store, namespace) => {
          const rounds = 3;
          const plans = Array.from({ length: processes }, (_, index) => ({
            keys: [`own-${index}-a`, `own/${index}/b`, 'shared'],
            rounds,
          }));
          const outputs = await Promise.all(
            plans.map((plan) =>
              run(
                process.execPath,
                [WORKER, options.storeModule, namespace, JSON.stringify(plan)],
                {
                  env: process.env,
                  maxBuffer: 16 * 1024 * 1024,
                },
              ),
            ),
          );
          const published = outputs.flatMap(
            ({ stdout }) => (JSON.parse(stdout) as { published: StateInfo[] }).published,
          );
          expect(published.length).toBe(processes * rounds * 3);

          const { document } = await readStateInfo(store);
          const expectedKeys = [...new Set(plans.flatMap((plan) => plan.keys))].sort();
          expect(Object.keys(document.keys).sort()).toEqual(expectedKeys);
          for (const key of expectedKeys) {
            const newest = published
              .filter((info) => info.key === key)
              .sort((a, b) => compareStateVersions(a.version, b.version))
              .at(-1);
            expect(document.keys[key], `pointer of ${key}`).toEqual(newest);
          }

          const folder = await mkdtemp(join(tmpdir(), 'defstate-testkit-'));
          try {
            for (const [index, info] of published.entries()) {
              const target = join(folder, String(index));
              await downloadStateVersion(store, info, target);
              const digest = await hashFile(target);
              expect(digest.sha256, `${info.key} ${info.version}`).toBe(info.sha256);
            }
          } finally {
            await rm(folder, { recursive: true, force: true });
          }
        }),
      300_000,
    );
  });
}
