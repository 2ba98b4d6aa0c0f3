import { tortureSuite } from '@defstate/adapter-testkit';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { startRateLimitProxy } from '../../../tools/emulators/rate-limit-proxy.mjs';
// @ts-expect-error: a plain ES module, shared with the kit's child processes.
import { openStore } from './fixtures/open-gcs-store.mjs';

/**
 * Real Cloud Storage allows about one write per second to an object; the emulator allows any
 * number. Behind a proxy that refuses a second mutation of an object within a second (429
 * rateLimitExceeded, as GCS answers), many writers at once must still all commit: throttling is
 * contention, answered by backing off, never a failed refresh.
 */
const proxy = await startRateLimitProxy(inject('gcsEndpoint'));
afterAll(() => proxy.stop());
// The kit's child processes import the fixture and inherit process.env.
process.env.DEFSTATE_TEST_GCS_ENDPOINT = proxy.endpoint;
process.env.DEFSTATE_TEST_GCS_BUCKET = inject('gcsBucket');

tortureSuite({
  name: 'gcs behind one mutation per second per object',
  test,
  describe,
  expect,
  openStore,
  storeModule: new URL('./fixtures/open-gcs-store.mjs', import.meta.url).href,
  torture: { processes: 32, ownKeys: 50, sharedKeys: 5, rounds: 2 },
});

test('the proxy did throttle the writers', () => {
  expect(proxy.stats.refused).toBeGreaterThan(0);
  expect(proxy.stats.mutations).toBeGreaterThan(0);
});
