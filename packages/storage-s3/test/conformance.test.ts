import { runAdapterConformance } from '@defstate/adapter-testkit';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { startStripConditionsProxy } from '../../../tools/emulators/strip-conditions-proxy.mjs';
// @ts-expect-error: a plain ES module fixture, shared with the kit's child processes.
import { openStore } from './fixtures/open-s3-store.mjs';

// The kit's child processes inherit process.env, so the emulator is named there.
const endpoint = inject('s3Endpoint');
Object.assign(process.env, {
  DEFSTATE_TEST_S3_ENDPOINT: endpoint,
  DEFSTATE_TEST_S3_BUCKET: inject('s3Bucket'),
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
});
delete process.env.AWS_PROFILE;
// moto behind a proxy that drops If-Match / If-None-Match: writes through it never fail.
const stripping = await startStripConditionsProxy(endpoint);
afterAll(() => stripping.stop());

runAdapterConformance({
  name: 's3 (moto)',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./fixtures/open-s3-store.mjs', import.meta.url).href,
  failures: {
    // The second moto checks credentials: `test`/`test` is not a key it knows (403).
    denied: (namespace: string) => openStore(namespace, { endpoint: inject('s3AuthEndpoint') }),
    missing: (namespace: string) => openStore(namespace, { bucket: 'defstate-no-such-bucket' }),
    ignoresConditions: (namespace: string) =>
      openStore(namespace, { endpoint: stripping.endpoint }),
  },
  torture: { processes: 32, ownKeys: 50, sharedKeys: 5, rounds: 2 },
  // Every operation again through the kit's fault proxy, with short time-outs.
  faults: {
    target: endpoint,
    openStore: (at: string, namespace: string) =>
      openStore(namespace, { endpoint: at, requestTimeoutMs: 1500 }),
    requestTimeoutMs: 1500,
  },
});
