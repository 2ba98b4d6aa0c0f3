import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { isLastRefreshRecord, LastRefreshRecordSchema } from '../src/deploy/last-refresh.js';
import {
  isDateTime,
  isPinFile,
  isPointerShard,
  isStateInfo,
} from '../src/model/document-checks.js';
import { StateKeySchema } from '../src/model/name-schemas.js';
import { PinFileSchema } from '../src/model/pin-file.js';
import { PointerEntrySchema, PointerShardSchema } from '../src/model/pointer.js';
import { StateInfoSchema } from '../src/model/state-info.js';
import { isStateKey, stateKeyProblem } from '../src/model/state-key.js';
import { ProjectConfigSchema, wellFormedComponents } from '../src/project/load-project.js';
import { trickyPiece, utf16Unit } from './fuzz/arbitraries.js';

// Documents read by the thousand (pointer shards, the refresh record) are checked by hand code
// before the schema, which then runs only when that code says no. The promise that makes this
// safe: the hand code never says yes where the schema fails or would change the value. These
// properties hold it to that, on values near the real ones (where the two could disagree), and
// check that it says yes to what defstate itself writes (or it would save nothing).

const key = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: utf16Unit, maxLength: 6 }),
  fc.array(trickyPiece, { maxLength: 3 }).map((pieces) => pieces.join('')),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'a'.repeat(512),
    'a'.repeat(513),
    'ok/key',
    // Length counts characters: 512 emoji are 1,024 UTF-16 units and still a valid key.
    '🚀'.repeat(512),
    `${'🚀'.repeat(511)}ab`,
    '\ud800'.repeat(300),
  ),
);

const goodVersion = fc
  .tuple(fc.date({ noInvalidDate: true }), fc.stringMatching(/^[0-9a-f]{12}$/))
  .filter(([at]) => at.getUTCFullYear() >= 1000 && at.getUTCFullYear() <= 9999)
  .map(([at, suffix]) => `${at.toISOString().replace(/[-:.]/g, '')}-${suffix}`);

const goodDateTime = fc
  .date({
    min: new Date('1000-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  })
  .map((at) => at.toISOString());

const dateTime = fc.oneof(
  goodDateTime,
  fc.constantFrom(
    '2026-02-29T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-12-02T24:00:00Z',
    '2026-12-02T10:00:00+01:00',
    '2026-12-02T10:00:00',
    '2026-12-02T10:00:00.Z',
    '2026-12-02T10:00:00.123456789Z',
    '2026-12-02 10:00:00Z',
    '',
  ),
  fc.string({ maxLength: 30 }),
);

const entryOf = (filedKey: fc.Arbitrary<string>) =>
  fc.record(
    {
      key: filedKey,
      management: fc.constantFrom('versioned', 'local', 'other', undefined),
      version: fc.oneof(goodVersion, fc.string({ maxLength: 40 })),
      createdAt: dateTime,
      sha256: fc.oneof(
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.constantFrom('A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65)),
      ),
      size: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(2 ** 60)),
      generation: fc.oneof(fc.integer({ min: 1 }), fc.integer(), fc.double(), fc.constant(null)),
      extra: fc.constant('field'),
    },
    { requiredKeys: ['key', 'version', 'createdAt', 'sha256'] },
  );

/** What defstate writes: every field right. */
const goodEntry = fc.record({
  key: key.filter((value) => StateKeySchema.safeParse(value).success),
  management: fc.constantFrom('versioned' as const, 'local' as const),
  version: goodVersion,
  createdAt: goodDateTime,
  sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  size: fc.nat(),
  generation: fc.integer({ min: 1, max: 2 ** 31 }),
});

/** The value through JSON, as a reader gets it (`__proto__` becomes an own field, as it would). */
const asRead = (value: unknown) => JSON.parse(JSON.stringify(value));

/** The hand check said yes: then the schema must succeed and give back an equal value. */
function expectSchemaAgrees(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  expect(result.success).toBe(true);
  expect(result.data).toEqual(value);
}

/**
 * A check by hand of a whole document: never yes where the schema says no or would change the
 * value (on documents `near` the real ones), and yes to every document defstate writes.
 */
function expectHeldToSchema(
  check: (value: unknown) => boolean,
  schema: z.ZodType,
  near: fc.Arbitrary<unknown>,
  written: fc.Arbitrary<unknown>,
) {
  fc.assert(
    fc.property(near.map(asRead), (value) => {
      if (check(value)) expectSchemaAgrees(schema, value);
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(written.map(asRead), (value) => {
      expect(check(value)).toBe(true);
      expectSchemaAgrees(schema, value);
    }),
    { numRuns: 1000 },
  );
}

describe('checks by hand of documents read by the thousand', () => {
  test('a state key: exactly what StateKeySchema accepts', () => {
    fc.assert(
      fc.property(fc.oneof(key, fc.anything()), (value) => {
        expect(isStateKey(value)).toBe(StateKeySchema.safeParse(value).success);
      }),
      { numRuns: 5000 },
    );
  });

  test('a bad state key: the first rule it breaks, in the schema’s words', () => {
    fc.assert(
      fc.property(key, (value) => {
        const result = StateKeySchema.safeParse(value);
        expect(stateKeyProblem(value)).toBe(result.error?.issues[0]?.message);
      }),
      { numRuns: 5000 },
    );
  });

  test('a date-time: exactly what z.iso.datetime() accepts', () => {
    const schema = z.iso.datetime();
    fc.assert(
      fc.property(fc.oneof(dateTime, fc.anything()), (value) => {
        expect(isDateTime(value)).toBe(schema.safeParse(value).success);
      }),
      { numRuns: 5000 },
    );
  });

  test('a state info or pointer entry: never yes where the schema says no', () => {
    fc.assert(
      fc.property(entryOf(key).map(asRead), (value) => {
        if (isStateInfo(value)) expectSchemaAgrees(StateInfoSchema, value);
        if (isStateInfo(value, 'required')) expectSchemaAgrees(PointerEntrySchema, value);
      }),
      { numRuns: 5000 },
    );
  });

  test('a pointer shard: never yes where the schema says no, and yes to what defstate writes', () => {
    const entries = fc.dictionary(key, fc.oneof(goodEntry, entryOf(key)), { maxKeys: 4 });
    const near = fc.record(
      {
        schemaVersion: fc.constantFrom(2, 1, '2'),
        shard: fc.oneof(fc.nat(40), fc.integer(), fc.double()),
        keys: fc.oneof(entries, fc.constant([]), fc.constant(null)),
        extra: fc.constant(1),
      },
      { requiredKeys: ['schemaVersion', 'shard', 'keys'] },
    );
    const written = fc
      .tuple(fc.nat(31), fc.array(goodEntry, { maxLength: 6 }))
      .map(([shard, list]) => ({
        schemaVersion: 2,
        shard,
        keys: Object.fromEntries(list.map((entry) => [entry.key, entry])),
      }));
    expectHeldToSchema(isPointerShard, PointerShardSchema, near, written);
  });

  test('a pin file: never yes where the schema says no, and yes to what defstate writes', () => {
    const entries = fc.dictionary(key, fc.oneof(goodEntry, entryOf(key)), { maxKeys: 4 });
    const near = fc.record(
      {
        schemaVersion: fc.constantFrom(1, 2, '1'),
        pinnedAt: dateTime,
        store: fc.oneof(fc.constant(null), fc.string(), fc.integer()),
        keys: fc.oneof(entries, fc.constant([]), fc.constant(null)),
        extra: fc.constant(1),
      },
      { requiredKeys: ['schemaVersion', 'pinnedAt', 'keys'] },
    );
    const written = fc
      .tuple(goodDateTime, fc.option(fc.string()), fc.array(goodEntry, { maxLength: 6 }))
      .map(([pinnedAt, store, list]) => ({
        schemaVersion: 1,
        pinnedAt,
        store,
        keys: Object.fromEntries(list.map(({ generation: _, ...entry }) => [entry.key, entry])),
      }));
    expectHeldToSchema(isPinFile, PinFileSchema, near, written);
  });

  test('a project config: the components the schema gives back, or no answer', () => {
    const refresh = () => {};
    const component = fc.record(
      {
        key: fc.oneof(key, fc.integer()),
        management: fc.constantFrom('versioned', 'local', 'other', undefined),
        refresh: fc.constantFrom(refresh, 'refresh', undefined),
        description: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)),
        refreshIfDev: fc.constantFrom(true, false, 'yes', undefined),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const near = fc.oneof(
      fc.record(
        {
          components: fc.oneof(
            fc.array(fc.oneof(component, component, fc.anything()), { maxLength: 4 }),
            fc.anything(),
          ),
          other: fc.anything(),
        },
        { requiredKeys: ['components'] },
      ),
      fc.anything(),
    );
    fc.assert(
      fc.property(near, (config) => {
        const byHand = wellFormedComponents(config);
        if (byHand === undefined) return;
        const result = ProjectConfigSchema.safeParse(config);
        expect(result.success).toBe(true);
        expect(byHand).toStrictEqual(result.data?.components);
      }),
      { numRuns: 5000 },
    );
    const written = fc.array(
      fc.record(
        {
          key: key.filter(isStateKey),
          management: fc.constantFrom('versioned' as const, 'local' as const),
          refresh: fc.constant(refresh),
          description: fc.string(),
          refreshIfDev: fc.boolean(),
        },
        { requiredKeys: ['key', 'management', 'refresh'] },
      ),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(written, (components) => {
        const config = { components };
        expect(wellFormedComponents(config)).toStrictEqual(
          ProjectConfigSchema.parse(config).components,
        );
      }),
      { numRuns: 1000 },
    );
  });

  test('the refresh record: never yes where the schema says no, and yes to what defstate writes', () => {
    const goodRecordEntry = fc.record({
      key: fc.string(),
      management: fc.constantFrom('versioned', 'local'),
      status: fc.constantFrom('refreshed', 'unchanged', 'failed'),
      at: goodDateTime,
      version: fc.oneof(fc.constant(null), goodVersion),
      error: fc.oneof(fc.constant(null), fc.record({ code: fc.string(), message: fc.string() })),
    });
    const nearEntry = fc.record(
      {
        key: fc.oneof(fc.string(), fc.integer()),
        management: fc.constantFrom('versioned', 'local', 'other'),
        status: fc.constantFrom('refreshed', 'unchanged', 'failed', 'cancelled'),
        at: dateTime,
        version: fc.oneof(fc.constant(null), fc.string(), fc.integer()),
        error: fc.oneof(
          fc.constant(null),
          fc.record(
            { code: fc.string(), message: fc.oneof(fc.string(), fc.integer()), stack: fc.string() },
            { requiredKeys: [] },
          ),
        ),
        extra: fc.constant(true),
      },
      { requiredKeys: ['key', 'status'] },
    );
    const record = (entry: fc.Arbitrary<unknown>) =>
      fc.record(
        {
          schemaVersion: fc.constantFrom(1, 2),
          keys: fc.oneof(fc.dictionary(key, entry, { maxKeys: 4 }), fc.constant([])),
          extra: fc.constant(1),
        },
        { requiredKeys: ['schemaVersion', 'keys'] },
      );
    fc.assert(
      fc.property(record(fc.oneof(goodRecordEntry, nearEntry)).map(asRead), (value) => {
        if (isLastRefreshRecord(value)) expectSchemaAgrees(LastRefreshRecordSchema, value);
      }),
      { numRuns: 5000 },
    );
    const written = fc
      .array(goodRecordEntry, { maxLength: 6 })
      .map((list) => ({ schemaVersion: 1, keys: Object.fromEntries(list.map((e) => [e.key, e])) }))
      .filter((value) => !Object.hasOwn(value.keys, '__proto__'));
    fc.assert(
      fc.property(written.map(asRead), (value) => {
        expect(isLastRefreshRecord(value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
