import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BlobStore,
  ConflictError,
  emptyStateInfoDocument,
  FileBlobStore,
  mergeNewer,
  PreconditionFailedError,
  parseStateInfoDocument,
  readStateInfo,
  readText,
  STATE_INFO_OBJECT,
  StorageError,
  TransientError,
  updateStateInfo,
} from '../src/index.js';
import { countingStore, fakeRuntime, stateInfo, useTempDir } from './helpers.js';

async function newStore() {
  return new FileBlobStore(join(await useTempDir('store'), 'objects'));
}

/** A store whose state-info puts call `beforePut` first (to let a rival writer in). */
function withRival(store: BlobStore, beforePut: (attempt: number) => Promise<void>): BlobStore {
  let attempt = 0;
  return {
    ...countingStore(store).store,
    put: async (name, body, options) => {
      if (name === STATE_INFO_OBJECT) await beforePut(++attempt);
      return store.put(name, body, options);
    },
  };
}

describe('readStateInfo', () => {
  it('reads an empty document from an empty store', async () => {
    const snapshot = await readStateInfo(await newStore());
    expect(snapshot.etag).toBeUndefined();
    expect(snapshot.document.keys).toEqual({});
  });
});

describe('updateStateInfo', () => {
  it('creates the document, then replaces it by etag', async () => {
    const store = await newStore();
    const counted = countingStore(store);
    const a = stateInfo('a');
    const first = await updateStateInfo(counted.store, mergeNewer([a]));
    expect(first.writes).toBe(1);
    const second = await updateStateInfo(counted.store, mergeNewer([stateInfo('b')]));
    expect(second.writes).toBe(1);
    expect(second.etag).not.toBe(first.etag);
    const { document, etag } = await readStateInfo(store);
    expect(etag).toBe(second.etag);
    expect(Object.keys(document.keys)).toEqual(['a', 'b']);
    expect(JSON.parse((await readText(store, STATE_INFO_OBJECT)).text)).toEqual(document);
  });

  it('re-reads and re-applies its change after losing a race', async () => {
    const store = await newStore();
    await updateStateInfo(store, mergeNewer([stateInfo('existing')]));
    const runtime = fakeRuntime();
    const racing = withRival(store, async (attempt) => {
      // Another job moves the pointer between our read and our write, once.
      if (attempt === 1) await updateStateInfo(store, mergeNewer([stateInfo('theirs')]));
    });
    const update = await updateStateInfo(racing, mergeNewer([stateInfo('ours')]), { runtime });
    expect(update.writes).toBe(2);
    expect(runtime.delays).toHaveLength(1);
    expect(Object.keys((await readStateInfo(store)).document.keys).sort()).toEqual([
      'existing',
      'ours',
      'theirs',
    ]);
  });

  it('retries a throttled write, and writes nothing more if the lost answer hid a success', async () => {
    const store = await newStore();
    const runtime = fakeRuntime();
    let puts = 0;
    const flaky: BlobStore = {
      ...countingStore(store).store,
      put: async (name, body, options) => {
        puts++;
        if (puts === 1) throw new TransientError('503 Slow Down');
        if (puts === 2) {
          // The write lands, but its answer is lost on the way back.
          await store.put(name, body, options);
          throw new TransientError('connection reset');
        }
        return store.put(name, body, options);
      },
    };
    const update = await updateStateInfo(flaky, mergeNewer([stateInfo('ours')]), { runtime });
    expect(puts).toBe(2);
    expect(runtime.delays).toHaveLength(2);
    expect(Object.keys(update.document.keys)).toEqual(['ours']);
    expect(Object.keys((await readStateInfo(store)).document.keys)).toEqual(['ours']);
  });

  it('races on the first document too (create-only)', async () => {
    const store = await newStore();
    const racing = withRival(store, async (attempt) => {
      if (attempt === 1) await updateStateInfo(store, mergeNewer([stateInfo('first')]));
    });
    const update = await updateStateInfo(racing, mergeNewer([stateInfo('second')]), {
      runtime: fakeRuntime(),
    });
    expect(update.writes).toBe(2);
    expect(Object.keys((await readStateInfo(store)).document.keys).sort()).toEqual([
      'first',
      'second',
    ]);
  });

  it('gives up with ConflictError after maxAttempts', async () => {
    const store = await newStore();
    const runtime = fakeRuntime();
    const alwaysLosing: BlobStore = {
      ...countingStore(store).store,
      put: async (name) => {
        throw new PreconditionFailedError(name);
      },
    };
    const error = await updateStateInfo(alwaysLosing, mergeNewer([stateInfo('a')]), {
      maxAttempts: 4,
      runtime,
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain('4 attempts');
    expect(runtime.delays).toHaveLength(4);
  });

  it('does not write when the change changes nothing', async () => {
    const store = await newStore();
    const info = stateInfo('a');
    await updateStateInfo(store, mergeNewer([info]));
    const counted = countingStore(store);
    const update = await updateStateInfo(counted.store, mergeNewer([info]));
    expect(update.writes).toBe(0);
    expect(counted.calls.put).toBe(0);
  });

  it('passes other errors through', async () => {
    const store = await newStore();
    const broken = withRival(store, async () => {
      throw new StorageError('disk gone');
    });
    await expect(updateStateInfo(broken, mergeNewer([stateInfo('a')]))).rejects.toThrow(
      'disk gone',
    );
  });
});

describe('mergeNewer', () => {
  it('keeps whichever version of a key is newer', () => {
    const older = stateInfo('k', { at: new Date('2026-01-01T00:00:00Z') });
    const newer = stateInfo('k', { at: new Date('2026-01-02T00:00:00Z') });
    const document = emptyStateInfoDocument();
    mergeNewer([newer])(document);
    mergeNewer([older])(document);
    expect(document.keys.k).toEqual(newer);
    mergeNewer([older, stateInfo('other')])(document);
    expect(document.keys.k).toEqual(newer);
    expect(Object.keys(document.keys)).toEqual(['k', 'other']);
  });
});

describe('parseStateInfoDocument', () => {
  it('reports a document that is not JSON, saying where', () => {
    expect(() => parseStateInfoDocument('{', 's3://b/state-info.json')).toThrow(StorageError);
    expect(() => parseStateInfoDocument('{', 's3://b/state-info.json')).toThrow(
      /s3:\/\/b\/state-info\.json is not valid JSON/,
    );
  });

  it('reports the first field that breaks the schema', () => {
    const document = { ...emptyStateInfoDocument(), keys: { a: { ...stateInfo('a'), size: -1 } } };
    expect(() => parseStateInfoDocument(JSON.stringify(document), 'here')).toThrow(/keys\.a\.size/);
    const future = { ...emptyStateInfoDocument(), schemaVersion: 2 };
    expect(() => parseStateInfoDocument(JSON.stringify(future), 'here')).toThrow(
      /Upgrade defstate/,
    );
  });
});
