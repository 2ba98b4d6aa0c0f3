import { runAdapterConformance } from '@defstate/adapter-testkit';
import { describe, expect, test } from 'vitest';
import {
  blobEndpoint,
  connectionString,
  container,
  endpoint,
  env,
  open,
  wrongKeyConnectionString,
} from './azurite.js';
import { openStore } from './fixtures/open-azure-store.mjs';

// The conformance kit's child processes import the fixture and inherit this env.
Object.assign(process.env, env, { DEFSTATE_TEST_AZURE_CONTAINER: container });

runAdapterConformance({
  name: 'azure (Azurite)',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./fixtures/open-azure-store.mjs', import.meta.url).href,
  failures: {
    // Azurite verifies SharedKey signatures: a wrong AccountKey gets 403 AuthorizationFailure.
    denied: (namespace) => open({ prefix: namespace, connectionString: wrongKeyConnectionString }),
    missing: (namespace) =>
      open({
        container: 'no-such-container',
        prefix: namespace,
        accountUrl: blobEndpoint,
        connectionString,
      }),
  },
  torture: { processes: 32, ownKeys: 50, sharedKeys: 5, rounds: 2 },
  // Every operation again through the kit's fault proxy, with short time-outs.
  faults: {
    target: endpoint,
    openStore: (at, namespace) =>
      open({
        prefix: `conformance/${namespace}`,
        accountUrl: blobEndpoint.replace(endpoint, at),
        connectionString,
        requestTimeoutMs: 1500,
      }),
    requestTimeoutMs: 1500,
  },
});
