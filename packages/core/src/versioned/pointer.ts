import { createLimit } from '../async/limit.js';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { BlobNotFoundError, StorageError } from '../errors.js';
import { isPointerShard, POINTER_LAYOUT_VERSION } from '../model/document-checks.js';
import { parseJsonDocument } from '../model/json-document.js';
import type { LayoutManifest, LegacyPointerStub, PointerShard } from '../model/pointer.js';
import type { StateInfo, StateInfoDocument } from '../model/state-info.js';
import { type BlobStore, type OperationOptions, readText } from '../store/blob-store.js';
import { LAYOUT_OBJECT, pointerShardName, STATE_INFO_OBJECT, shardOf } from './layout.js';

/**
 * Reading the latest pointer, whichever layout the store has:
 * - `sharded` (layout 2): `layout.json`, then the shard documents of the keys asked for (all of
 *   them for a whole-store read): a bounded number of reads however many keys there are;
 * - `legacy` (layout 1, written by earlier versions): the single `state-info.json`, read as it is
 *   until the first writer of this version upgrades the store;
 * - `empty`: nothing written yet.
 */
export type PointerLayout =
  | { kind: 'empty' }
  | { kind: 'legacy'; document: StateInfoDocument; etag: string }
  | {
      kind: 'sharded';
      shards: number;
      /** `undefined` for the moment between the stub and the manifest being written. */
      manifest: LayoutManifest | undefined;
    };

export interface PointerSnapshot {
  layout: PointerLayout['kind'];
  /** The latest state of each key read; in a sharded store each carries its generation. */
  entries: Map<string, StateInfo>;
}

export interface ReadPointerOptions extends OperationOptions {
  /** Only these keys (only their shards are read); every key when omitted. */
  keys?: readonly string[];
}

/** The manifest is written once, so a process reads it once per store. */
const knownLayouts = new WeakMap<BlobStore, PointerLayout & { kind: 'sharded' }>();

/** Reads the latest pointer entries, retrying transient failures. */
export async function readPointer(
  store: BlobStore,
  options: ReadPointerOptions = {},
): Promise<PointerSnapshot> {
  const { signal } = options;
  const layout = await discoverLayout(store, { signal });
  if (layout.kind === 'empty') return { layout: 'empty', entries: new Map() };
  const wanted = options.keys ? new Set(options.keys) : undefined;
  const entries = new Map<string, StateInfo>();
  if (layout.kind === 'legacy') {
    for (const [key, info] of Object.entries(layout.document.keys)) {
      if (!wanted || wanted.has(key)) entries.set(key, info);
    }
    return { layout: 'legacy', entries };
  }
  // Many keys fall in every shard anyway: then read them all without hashing each key.
  const shards =
    wanted && wanted.size < layout.shards * 2
      ? [...new Set([...wanted].map((key) => shardOf(key, layout.shards)))]
      : Array.from({ length: layout.shards }, (_, shard) => shard);
  const limit = createLimit(16);
  const documents = await Promise.all(
    shards.map((shard) => limit(() => readShard(store, shard, { signal }))),
  );
  for (const { document } of documents) {
    for (const [key, entry] of Object.entries(document.keys)) {
      if (!wanted || wanted.has(key)) entries.set(key, entry);
    }
  }
  return { layout: 'sharded', entries };
}

/** The store's pointer layout. A sharded layout with its manifest is remembered. */
export async function discoverLayout(
  store: BlobStore,
  { signal }: OperationOptions = {},
): Promise<PointerLayout> {
  const known = knownLayouts.get(store);
  if (known) return known;
  const retry = { policy: STORE_RETRY_POLICY, signal };
  const manifestText = await withRetry(() => readOptional(store, LAYOUT_OBJECT, signal), retry);
  if (manifestText) {
    const manifest = await parseLayoutManifest(manifestText.text, store);
    const layout = { kind: 'sharded' as const, shards: manifest.pointer.shards, manifest };
    knownLayouts.set(store, layout);
    return layout;
  }
  const legacy = await withRetry(() => readOptional(store, STATE_INFO_OBJECT, signal), retry);
  if (!legacy) return { kind: 'empty' };
  const parsed = await parseLegacyPointer(legacy.text, `${store.location}/${STATE_INFO_OBJECT}`);
  if ('movedTo' in parsed) return { kind: 'sharded', shards: parsed.shards, manifest: undefined };
  return { kind: 'legacy', document: parsed, etag: legacy.etag };
}

/** Forgets what this process knows of a store's layout (after it wrote the manifest itself). */
export function rememberLayout(store: BlobStore, manifest: LayoutManifest): void {
  knownLayouts.set(store, { kind: 'sharded', shards: manifest.pointer.shards, manifest });
}

export interface ShardSnapshot {
  document: PointerShard;
  /** `undefined` when the shard has no document yet. */
  etag: string | undefined;
}

export async function readShard(
  store: BlobStore,
  shard: number,
  { signal }: OperationOptions = {},
): Promise<ShardSnapshot> {
  const name = pointerShardName(shard);
  const found = await withRetry(() => readOptional(store, name, signal), {
    policy: STORE_RETRY_POLICY,
    signal,
  });
  if (!found) return { document: emptyShard(shard), etag: undefined };
  return {
    document: await parseShard(found.text, `${store.location}/${name}`, shard),
    etag: found.etag,
  };
}

export function emptyShard(shard: number): PointerShard {
  return { schemaVersion: POINTER_LAYOUT_VERSION, shard, keys: {} };
}

// Imported when a schema runs: for a shard, only to say what is wrong with a damaged one (see
// document-checks.ts). The layout manifest, read once per store, has no check by hand and always
// runs its schema.
const pointerSchemas = () => import('../model/pointer.js');

export async function parseShard(
  text: string,
  where: string,
  shard: number,
): Promise<PointerShard> {
  const document = await parseJsonDocument(
    text,
    async () => (await pointerSchemas()).PointerShardSchema,
    {
      isValid: isPointerShard,
      name: `The pointer shard ${where}`,
      mismatch: `does not match pointer layout ${POINTER_LAYOUT_VERSION}`,
      badJsonHint:
        'It was changed by something other than defstate; restore it from the store’s object versioning, or delete it and refresh the keys it held.',
      mismatchHint: 'Upgrade defstate if a newer version wrote it.',
    },
  );
  if (document.shard !== shard) {
    throw new StorageError(`The pointer shard ${where} says it is shard ${document.shard}.`, {
      hint: 'It was copied or renamed by something other than defstate; restore it from the store’s object versioning.',
    });
  }
  return document;
}

export async function parseLayoutManifest(
  text: string,
  store: Pick<BlobStore, 'location'>,
): Promise<LayoutManifest> {
  const where = `${store.location}/${LAYOUT_OBJECT}`;
  const version = (safeJson(text) as { schemaVersion?: unknown } | undefined)?.schemaVersion;
  if (typeof version === 'number' && version > POINTER_LAYOUT_VERSION) {
    throw new StorageError(
      `The store ${store.location} uses pointer layout ${version}, newer than this defstate knows (${POINTER_LAYOUT_VERSION}).`,
      { hint: 'Upgrade defstate (@defstate/core and the CLI or Action) to read and write it.' },
    );
  }
  return parseJsonDocument(text, async () => (await pointerSchemas()).LayoutManifestSchema, {
    name: `The layout manifest ${where}`,
    mismatch: `does not match pointer layout ${POINTER_LAYOUT_VERSION}`,
    badJsonHint:
      'It was changed by something other than defstate; restore it from the store’s object versioning.',
    mismatchHint: 'Upgrade defstate if a newer version wrote it.',
  });
}

/** The first layout's pointer document, or the stub that replaced it. */
export async function parseLegacyPointer(
  text: string,
  where: string,
): Promise<StateInfoDocument | LegacyPointerStub> {
  const version = (safeJson(text) as { schemaVersion?: unknown } | undefined)?.schemaVersion;
  if (version === POINTER_LAYOUT_VERSION) {
    return parseJsonDocument(text, async () => (await pointerSchemas()).LegacyPointerStubSchema, {
      name: `The state info document ${where}`,
      mismatch: 'is not a pointer stub',
      badJsonHint: 'Restore it from the store’s object versioning.',
      mismatchHint: 'Upgrade defstate if a newer version wrote it.',
    });
  }
  return parseJsonDocument(
    text,
    async () => (await import('../model/state-info.js')).StateInfoDocumentSchema,
    {
      name: `The state info document ${where}`,
      mismatch: 'does not match schema version 1',
      badJsonHint:
        'It was changed by something other than defstate; restore it from the store’s object versioning or delete it and refresh every versioned key.',
      mismatchHint: 'Upgrade defstate if another version wrote it.',
    },
  );
}

async function readOptional(
  store: BlobStore,
  name: string,
  signal: AbortSignal | undefined,
): Promise<{ text: string; etag: string } | undefined> {
  try {
    return await readText(store, name, { signal });
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
