/**
 * One of the processes the protocol group races. It opens the adapter's store from the caller's
 * module and, for each round and key, publishes a new version and moves the pointer by
 * compare-and-swap, exactly as core's refresh does. It prints what it published as JSON.
 *
 * argv: <store module> <namespace> <JSON: { keys: string[], rounds: number, seed: number }>
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type BlobStore,
  hashFile,
  mergeNewer,
  type StateInfo,
  updateStateInfo,
  uploadStateVersion,
} from '@defstate/core';

const [storeModule, namespace, plan] = process.argv.slice(2) as [string, string, string];
const { keys, rounds } = JSON.parse(plan) as { keys: string[]; rounds: number };
const url = storeModule.startsWith('file:') ? storeModule : pathToFileURL(storeModule).href;
const { openStore } = (await import(url)) as {
  openStore: (namespace: string) => Promise<BlobStore>;
};
const store = await openStore(namespace);
const folder = await mkdtemp(join(tmpdir(), 'defstate-testkit-'));
const published: StateInfo[] = [];
let writes = 0;
try {
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      keys.map(async (key, index) => {
        const file = join(folder, `${round}-${index}`);
        await writeFile(file, randomBytes(1024 + Math.floor(Math.random() * 4096)));
        const info = await uploadStateVersion(store, key, file, await hashFile(file));
        const update = await updateStateInfo(store, mergeNewer([info]));
        writes += update.writes;
        published.push(info);
      }),
    );
  }
  process.stdout.write(JSON.stringify({ published, writes }));
} finally {
  await rm(folder, { recursive: true, force: true });
  await store.close?.();
}
