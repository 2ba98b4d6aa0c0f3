/**
 * One of the processes the many-writer group races. It opens the adapter's store from the
 * caller's module, waits for the go file so that every process starts at once, then runs core's
 * real refresh engine over its own keys and the shared ones, round after round, each component
 * writing fresh random bytes. It prints every key's result of every round as JSON.
 *
 * argv: <store module> <namespace> <JSON plan: { own: string[], shared: string[], rounds }> <go file>
 */
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type BlobStore, type Component, refreshState } from '@defstate/core';

export interface WorkerResult {
  key: string;
  status: string;
  version: string | null;
  generation: number | null;
  sha256: string | null;
  error: string | null;
}

const [storeModule, namespace, planText, goFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const plan = JSON.parse(planText) as { own: string[]; shared: string[]; rounds: number };
const url = storeModule.startsWith('file:') ? storeModule : pathToFileURL(storeModule).href;
const { openStore } = (await import(url)) as {
  openStore: (namespace: string) => Promise<BlobStore>;
};
const store = await openStore(namespace);
const root = await mkdtemp(join(tmpdir(), 'defstate-testkit-worker-'));
const components = [...plan.own, ...plan.shared].map(
  (key): Component => ({
    key,
    management: 'versioned',
    refresh: ({ statePath }) =>
      writeFile(statePath, randomBytes(512 + Math.floor(Math.random() * 2048))),
  }),
);
const rounds: WorkerResult[][] = [];
try {
  while (
    !(await access(goFile).then(
      () => true,
      () => false,
    ))
  ) {
    await delay(5);
  }
  for (let round = 0; round < plan.rounds; round++) {
    const report = await refreshState({
      project: { root, configFile: join(root, 'defstate.config.ts'), components },
      openStore: async () => store,
    });
    rounds.push(
      report.results.map((result) => ({
        key: result.key,
        status: result.status,
        version: result.info?.version ?? null,
        generation: result.info?.generation ?? null,
        sha256: result.info?.sha256 ?? null,
        error: result.error
          ? `${(result.error as { code?: string }).code ?? 'ERROR'}: ${result.error.message}`
          : null,
      })),
    );
  }
  process.stdout.write(JSON.stringify({ rounds }));
} finally {
  await rm(root, { recursive: true, force: true });
  await store.close?.();
}
