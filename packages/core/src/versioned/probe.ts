import { randomBytes } from 'node:crypto';
import { ConfigError, PreconditionFailedError } from '../errors.js';
import type { BlobStore, OperationOptions } from '../store/blob-store.js';
import { readText } from '../store/blob-store.js';
import { PROBE_PREFIX } from './layout.js';

/**
 * Proves, with real writes, that a store honours the two conditions the protocol stands on. A
 * store can claim them and not keep them: an S3-compatible server or a proxy that drops
 * `If-None-Match` / `If-Match` accepts every write, and two refreshes then overwrite each other
 * without a word. So before a process first writes to a store, it writes a probe object and checks
 * that a create-only put over it fails, that a put with its etag succeeds, and that a put with a
 * stale etag fails.
 */
export async function proveConditionalWrites(
  store: BlobStore,
  { signal }: OperationOptions = {},
): Promise<void> {
  const name = `${PROBE_PREFIX}${randomBytes(8).toString('hex')}`;
  const refuse = (what: string) =>
    new ConfigError(
      `The store ${store.location} (requests to ${endpointOf(store)}) ignores ${what}: it accepted a write that had to fail. Two refreshes at once would silently overwrite each other, so defstate will not write to it.`,
      { field: 'state_storage' },
      {
        hint: 'Use a store (or a proxy) that passes If-None-Match and If-Match through. If you accept lost updates, set DEFSTATE_ACCEPT_LOST_UPDATES=1 (or accept_lost_updates: true under state_storage in defstate.yaml).',
      },
    );
  const mustFail = async (write: Promise<unknown>, what: string) => {
    try {
      await write;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return;
      throw error;
    }
    throw refuse(what);
  };
  const { etag: first } = await store.put(name, 'probe: first', { ifNoneMatch: '*', signal });
  try {
    await mustFail(
      store.put(name, 'probe: second', { ifNoneMatch: '*', signal }),
      'create-only writes (If-None-Match: *)',
    );
    let second: string;
    try {
      ({ etag: second } = await store.put(name, 'probe: third', { ifMatch: first, signal }));
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      throw refuse('the etags it returns (a write with the current etag was refused)');
    }
    await mustFail(
      store.put(name, 'probe: fourth', { ifMatch: first, signal }),
      'conditional replaces (If-Match)',
    );
    const { text } = await readText(store, name, { signal });
    if (text !== 'probe: third' || second === first) {
      throw refuse('conditional writes (the object changed although every condition failed)');
    }
  } finally {
    if (store.capabilities.delete) await store.delete(name).catch(() => undefined);
  }
}

/** Where a store's requests go, for messages and for remembering which endpoints were proven. */
export function endpointOf(store: BlobStore): string {
  return store.endpoint ?? store.location;
}
