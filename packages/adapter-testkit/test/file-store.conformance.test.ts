import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdapterConformance } from '@defstate/adapter-testkit';
import { afterAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain ES module fixture, shared with the child processes.
import { openStore } from './fixtures/open-file-store.mjs';

// The embedded file store runs the same conformance suite as every cloud adapter.
const root = mkdtempSync(join(tmpdir(), 'defstate-file-conformance-'));
process.env.DEFSTATE_TESTKIT_FILE_ROOT = root;
afterAll(() => rm(root, { recursive: true, force: true }));

runAdapterConformance({
  name: 'file',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./fixtures/open-file-store.mjs', import.meta.url).href,
  failures: {
    // A root that is an existing file: no folder can be created under it.
    missing: async (namespace) => {
      const { writeFile } = await import('node:fs/promises');
      const blocker = join(root, `${namespace}-not-a-folder`);
      await writeFile(blocker, '');
      return openStore(join(`${namespace}-not-a-folder`, 'store'));
    },
  },
  torture: { processes: 32, ownKeys: 50, sharedKeys: 5, rounds: 2 },
});
