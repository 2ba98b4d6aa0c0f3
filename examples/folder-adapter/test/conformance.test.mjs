// The whole test file of a third-party adapter: the conformance kit does the rest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdapterConformance } from '@defstate/adapter-testkit';
import { describe, expect, test } from 'vitest';
import { openStore } from './open-store.mjs';

process.env.FOLDER_ADAPTER_ROOT = mkdtempSync(join(tmpdir(), 'folder-adapter-'));

runAdapterConformance({
  name: 'token-folder (example)',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./open-store.mjs', import.meta.url).href,
});
