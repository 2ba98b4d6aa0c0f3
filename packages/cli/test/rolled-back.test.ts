import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileBlobStore,
  type PinFile,
  readStatus,
  refreshState,
  rollbackState,
} from '@defstate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { findRolledBack } from '../src/ui/status-view.js';

// "Rolled back" or "update available" is told by when the store recorded each version, not by
// version ids, which carry the clocks of the machines that refreshed.

let root: string;
afterEach(() => rm(root, { recursive: true, force: true }));

describe('a latest version that differs from the pin', () => {
  it('is a rollback when the store recorded it first, whatever its id says', async () => {
    root = await mkdtemp(join(tmpdir(), 'defstate-rolled-back-'));
    const store = new FileBlobStore(join(root, 'store'));
    let content = 'one';
    const project = {
      root,
      configFile: join(root, 'defstate.config.mjs'),
      components: [
        {
          key: 'k',
          management: 'versioned' as const,
          refresh: ({ statePath }: { statePath: string }) => writeFile(statePath, content),
        },
      ],
    };
    const refresh = (now: () => Date) =>
      refreshState({ project, openStore: async () => store, commitDelayMs: 0, now });
    // The first runner's clock is a day ahead: its version id sorts after the second's.
    const first = await refresh(() => new Date(Date.now() + 86_400_000));
    content = 'two';
    const second = await refresh(() => new Date());
    const pinned = second.results[0]?.info;
    const pins = { keys: { k: pinned } } as unknown as PinFile;

    const ahead = await readStatus(project, { openStore: async () => store });
    expect([...(await findRolledBack(store, ahead.keys, pins))]).toEqual([]);

    await rollbackState(store, 'k', first.results[0]?.info?.version as string);
    const back = await readStatus(project, { openStore: async () => store });
    expect([...(await findRolledBack(store, back.keys, pins))]).toEqual(['k']);
  });
});
