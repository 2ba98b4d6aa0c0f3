import { runAdapterConformance } from '@defstate/adapter-testkit';
import { createGcsStore } from '@defstate/storage-gcs';
import { describe, expect, inject, test } from 'vitest';
// @ts-expect-error: a plain ES module, shared with the kit's child processes.
import { openStore } from './fixtures/open-gcs-store.mjs';

const endpoint = inject('gcsEndpoint');
// The kit's child processes import the fixture and inherit process.env.
process.env.DEFSTATE_TEST_GCS_ENDPOINT = endpoint;
process.env.DEFSTATE_TEST_GCS_BUCKET = inject('gcsBucket');

runAdapterConformance({
  name: 'gcs (fake-gcs-server)',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./fixtures/open-gcs-store.mjs', import.meta.url).href,
  failures: {
    missing: (namespace) =>
      createGcsStore({
        bucket: 'no-such-bucket-defstate',
        prefix: namespace,
        apiEndpoint: endpoint,
      }),
    // No `denied`: fake-gcs-server has no authentication at all, so no emulator store can refuse
    // credentials. errors.test.ts checks the 401/403 → AccessDeniedError mapping through the fault
    // proxy, and a refused credential exchange, instead.
  },
  torture: { processes: 32, ownKeys: 50, sharedKeys: 5, rounds: 2 },
  // Every operation again through the kit's fault proxy, with short time-outs.
  faults: {
    target: endpoint,
    openStore: (at, namespace) =>
      createGcsStore({
        bucket: inject('gcsBucket'),
        prefix: `conformance/${namespace}`,
        apiEndpoint: at,
        projectId: 'test-project',
        requestTimeoutMs: 1500,
      }),
    requestTimeoutMs: 1500,
  },
});
