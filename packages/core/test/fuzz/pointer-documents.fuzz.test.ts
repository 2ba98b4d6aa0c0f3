import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BlobNotFoundError,
  type BlobStore,
  LAYOUT_OBJECT,
  pointerShardName,
  readPointer,
  STATE_INFO_OBJECT,
} from '../../src/index.js';
import {
  parseLayoutManifest,
  parseLegacyPointer,
  parseShard,
} from '../../src/versioned/pointer.js';
import { expectOnlyDefstateErrorsAsync, hostileText } from './arbitraries.js';

// Pointer documents come from a store that anything else may have written to: a damaged or
// hand-edited document is a `DefstateError` naming it, never a crash.

const entry = fc.record({
  key: fc.string({ maxLength: 12 }),
  management: fc.constantFrom('versioned', 'local', 'other'),
  version: fc.oneof(fc.constant('20261202T000000000Z-0123456789ab'), fc.string({ maxLength: 40 })),
  createdAt: fc.oneof(fc.constant('2026-12-02T00:00:00.000Z'), fc.string({ maxLength: 30 })),
  sha256: fc.oneof(fc.constant('a'.repeat(64)), fc.string({ maxLength: 70 })),
  size: fc.oneof(fc.nat(), fc.integer(), fc.double()),
  generation: fc.oneof(fc.integer({ min: 1 }), fc.integer(), fc.constant(undefined)),
});

/** Documents near the real ones, so the schema checks get exercised, not only JSON.parse. */
const nearDocument = fc.oneof(
  fc.record({
    schemaVersion: fc.oneof(fc.constant(2), fc.integer()),
    shard: fc.oneof(fc.constant(3), fc.integer()),
    keys: fc.dictionary(fc.string({ maxLength: 12 }), entry, { maxKeys: 4 }),
  }),
  fc.record({
    schemaVersion: fc.oneof(fc.constant(2), fc.integer({ min: 1, max: 5 })),
    pointer: fc.record({ shards: fc.integer({ min: -2, max: 5000 }), hash: fc.string() }),
    createdAt: fc.string({ maxLength: 30 }),
    conditionalWrites: fc.anything(),
  }),
  fc.record({
    schemaVersion: fc.oneof(fc.constant(1), fc.constant(2)),
    updatedAt: fc.string(),
    movedTo: fc.constantFrom('layout.json', 'elsewhere'),
    shards: fc.integer(),
    note: fc.string(),
    keys: fc.dictionary(fc.string({ maxLength: 12 }), entry, { maxKeys: 3 }),
  }),
);

const documentText = fc.oneof(
  hostileText,
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  nearDocument.map((value) => JSON.stringify(value)),
);

/** A store holding one text under each pointer name: nothing else, read-only. */
function storeOf(texts: Record<string, string>): BlobStore {
  return {
    adapter: 'memory',
    location: 'memory://fuzz',
    capabilities: { conditionalPut: true, delete: true },
    async get(name) {
      const text = texts[name];
      if (text === undefined) throw new BlobNotFoundError(name);
      return { name, size: text.length, etag: '"e"', body: Readable.from([Buffer.from(text)]) };
    },
    async head() {
      return undefined;
    },
    async put() {
      throw new Error('read-only');
    },
    async list() {
      return { items: [] };
    },
    async delete() {},
  };
}

describe('pointer documents, fuzzed', () => {
  test('each parser answers with a document or a DefstateError', async () => {
    await fc.assert(
      fc.asyncProperty(documentText, fc.nat({ max: 40 }), async (text, shard) => {
        await expectOnlyDefstateErrorsAsync(() => parseShard(text, 'memory://fuzz/pointer', shard));
        await expectOnlyDefstateErrorsAsync(() =>
          parseLegacyPointer(text, 'memory://fuzz/state-info.json'),
        );
        await expectOnlyDefstateErrorsAsync(() =>
          parseLayoutManifest(text, { location: 'memory://fuzz' }),
        );
      }),
      { numRuns: 20_000 },
    );
    // 20,000 inputs take about 25 s on two shared cores: room for a busy machine.
  }, 120_000);

  test('reading the pointer of a store holding any of them answers, or fails typed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(documentText, { nil: undefined }),
        fc.option(documentText, { nil: undefined }),
        documentText,
        async (layout, legacy, shard) => {
          const texts: Record<string, string> = {};
          if (layout !== undefined) texts[LAYOUT_OBJECT] = layout;
          if (legacy !== undefined) texts[STATE_INFO_OBJECT] = legacy;
          for (let index = 0; index < 4; index++) texts[pointerShardName(index)] = shard;
          const result = await expectOnlyDefstateErrorsAsync(() => readPointer(storeOf(texts)));
          if (result && !(result instanceof Error)) {
            expect((result as { entries: Map<string, unknown> }).entries).toBeInstanceOf(Map);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
