import type { KeyStatus, LastRefreshEntry, PinFile, StateInfo } from '@defstate/core';
import { describe, expect, it } from 'vitest';
import { jsonForScript } from '../src/ui/page.js';
import {
  buildStatusView,
  humanDuration,
  redact,
  type StatusViewKey,
} from '../src/ui/status-view.js';

// The rules that turn what core read into each key's health, without a server or a browser.

const now = new Date('2026-11-27T12:00:00.000Z');
const info = (key: string, version: string, createdAt: string): StateInfo => ({
  key,
  management: 'versioned',
  version,
  createdAt,
  sha256: 'a'.repeat(64),
  size: 3,
});
const V1 = '20261127T100000000Z-000000000001';
const V2 = '20261127T110000000Z-000000000002';
const one = (
  status: KeyStatus,
  extra: Omit<Parameters<typeof buildStatusView>[0], 'project' | 'keys'> = {},
) => buildStatusView({ project: '/p', keys: [status], now, ...extra }).keys[0] as StatusViewKey;
const pins = (version: string): PinFile => ({
  schemaVersion: 1,
  pinnedAt: '2026-11-27T10:00:00.000Z',
  store: 'file:///s',
  keys: { k: info('k', version, '2026-11-27T10:00:00.000Z') },
});
const failed = (at: string): LastRefreshEntry => ({
  key: 'k',
  management: 'versioned',
  status: 'failed',
  at,
  version: null,
  error: { code: 'REFRESH_FAILED', message: 'boom at https://u:p@x.example/a?sig=abc' },
});

describe('buildStatusView', () => {
  const current: KeyStatus = {
    key: 'k',
    management: 'versioned',
    info: info('k', V2, '2026-11-27T11:00:00.000Z'),
  };

  it('calls present state up to date, and latest ≠ pinned an update', () => {
    expect(one(current)).toMatchObject({ health: 'up-to-date', pinnedVersion: null });
    expect(one(current, { pins: pins(V2) })).toMatchObject({
      health: 'up-to-date',
      pinnedVersion: V2,
    });
    expect(one(current, { pins: pins(V1) })).toMatchObject({
      health: 'update-available',
      pinnedVersion: V1,
    });
  });

  it('calls state older than the max age stale, and none at all no state', () => {
    expect(one(current, { maxAgeMs: 2 * 3_600_000 }).health).toBe('up-to-date');
    expect(one(current, { maxAgeMs: 30 * 60_000 }).health).toBe('stale');
    expect(one({ key: 'k', management: 'local', info: undefined }).health).toBe('no-state');
  });

  it('reports a failed last refresh until newer state replaces it', () => {
    const after = one(current, {
      lastRefresh: { schemaVersion: 1, keys: { k: failed('2026-11-27T11:30:00.000Z') } },
    });
    expect(after.health).toBe('failed');
    expect(after.reason).toContain('boom');
    const before = one(current, {
      lastRefresh: { schemaVersion: 1, keys: { k: failed('2026-11-27T10:30:00.000Z') } },
    });
    expect(before.health).toBe('up-to-date');
    expect(before.lastRefresh?.status).toBe('failed');
  });

  it('calls a pin newer than latest a rollback, never an update', () => {
    const rolledBack: KeyStatus = {
      key: 'k',
      management: 'versioned',
      info: info('k', V1, '2026-11-27T10:00:00.000Z'),
    };
    // The store recorded V1 before V2 (findRolledBack), whatever the version ids say.
    const view = one(rolledBack, { pins: pins(V2), rolledBack: new Set(['k']) });
    expect(view.health).toBe('rolled-back');
    expect(view.problems).toEqual(['rolled-back']);
    expect(view.reason).toContain(V2);
    expect(view.reason).toContain('defstate pin');
  });

  it('calls a local key whose tree no longer holds its pinned version a pin mismatch', () => {
    const local: KeyStatus = {
      key: 'k',
      management: 'local',
      info: { ...info('k', V2, '2026-11-27T11:00:00.000Z'), management: 'local' },
    };
    const view = one(local, { pins: pins(V1) });
    expect(view.health).toBe('pin-mismatch');
    expect(view.reason).toMatch(/loadState\(\) fails/);
    expect(view.reason).toContain('defstate pin');
    // Older in the tree than the pin is just as broken.
    expect(
      one({ ...local, info: { ...local.info, version: V1 } as StateInfo }, { pins: pins(V2) })
        .health,
    ).toBe('pin-mismatch');
  });

  it('lists every problem of a key, most serious first', () => {
    const view = one(current, {
      maxAgeMs: 30 * 60_000,
      pins: pins(V1),
      lastRefresh: { schemaVersion: 1, keys: { k: failed('2026-11-27T11:30:00.000Z') } },
    });
    expect(view.health).toBe('failed');
    expect(view.problems).toEqual(['failed', 'stale', 'update-available']);
    expect(view.reason).toContain('boom');
    expect(view.reason).toContain('maximum age');
    expect(one(current).problems).toEqual([]);
  });

  it('does not call an interrupted refresh a failure', () => {
    for (const status of ['cancelled', 'not-run']) {
      const entry = { ...failed('2026-11-27T11:30:00.000Z'), status, error: null };
      const view = one(current, {
        lastRefresh: { schemaVersion: 1, keys: { k: entry as unknown as LastRefreshEntry } },
      });
      expect(view.health).toBe('up-to-date');
    }
  });

  it('passes a versioned key’s generation through, null when the store gave none', () => {
    expect(one(current).generation).toBeNull();
    const withGeneration = { ...current, info: { ...current.info, generation: 7 } as StateInfo };
    expect(one(withGeneration).generation).toBe(7);
  });

  it('keeps URL credentials and query strings out of messages', () => {
    const view = one(current, {
      lastRefresh: { schemaVersion: 1, keys: { k: failed('2026-11-27T11:30:00.000Z') } },
    });
    expect(JSON.stringify(view)).not.toMatch(/u:p|sig=abc/);
    expect(redact('GET https://acct.blob.example/c/o?sv=1&sig=SECRET failed')).toBe(
      'GET https://acct.blob.example/c/o?… failed',
    );
    expect(redact('s3://AKIA:secret@bucket/prefix')).toBe('s3://REDACTED@bucket/prefix');
  });

  it('measures staleness from the later of creation and a refresh that confirmed the version', () => {
    const old: KeyStatus = {
      key: 'k',
      management: 'versioned',
      info: info('k', V1, '2026-11-20T12:00:00.000Z'),
    };
    const record = (status: LastRefreshEntry['status'], version: string | null, at: string) => ({
      schemaVersion: 1 as const,
      keys: { k: { ...failed(at), status, version, error: null } },
    });
    const day = 86_400_000;
    expect(one(old, { maxAgeMs: day })).toMatchObject({
      health: 'stale',
      reason: 'Not refreshed within the maximum age (1d).',
    });
    // An hour ago a refresh found the same content: the state is confirmed current.
    const confirmed = record('unchanged', V1, '2026-11-27T11:00:00.000Z');
    expect(one(old, { maxAgeMs: day, lastRefresh: confirmed }).health).toBe('up-to-date');
    expect(
      one(old, { maxAgeMs: day, lastRefresh: record('refreshed', V1, '2026-11-27T11:00:00.000Z') })
        .health,
    ).toBe('up-to-date');
    // A refresh that produced another version (since rolled back) vouches nothing for this one.
    expect(
      one(old, { maxAgeMs: day, lastRefresh: record('refreshed', V2, '2026-11-27T11:00:00.000Z') })
        .health,
    ).toBe('stale');
    // A confirmation older than the limit does not help either.
    expect(
      one(old, { maxAgeMs: day, lastRefresh: record('unchanged', V1, '2026-11-25T11:00:00.000Z') })
        .health,
    ).toBe('stale');
  });

  it('names the maximum age as the CLI takes it', () => {
    expect(humanDuration(7 * 86_400_000)).toBe('7d');
    expect(humanDuration(24 * 3_600_000)).toBe('1d');
    expect(humanDuration(36 * 3_600_000)).toBe('36h');
    expect(humanDuration(90 * 60_000)).toBe('90m');
    expect(humanDuration(2000)).toBe('2s');
    expect(humanDuration(1500)).toBe('1500ms');
    expect(humanDuration(1)).toBe('1ms');
  });

  it('marks the keys of a failed store unknown and carries its error', () => {
    const view = buildStatusView({
      project: '/p',
      keys: [current],
      unreadable: new Set(['k']),
      error: new Error('store down, see https://x.example/?token=t'),
      now,
    });
    expect(view.keys[0]?.health).toBe('unknown');
    expect(view.error).toEqual({ code: 'ERROR', message: 'store down, see https://x.example/?…' });
  });
});

describe('redact', () => {
  it('removes the whole userinfo, even when the password holds an @', () => {
    expect(redact('GET https://user:p@ss@host.example/x failed')).toBe(
      'GET https://REDACTED@host.example/x failed',
    );
    expect(redact('at https://u:a@b@c@host.example')).toBe('at https://REDACTED@host.example');
    expect(redact('mail me@example.com about https://host.example/a')).toBe(
      'mail me@example.com about https://host.example/a',
    );
  });

  it('removes account keys, SAS tokens and signatures quoted outside a URL', () => {
    const connection =
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc+/def==;EndpointSuffix=core.windows.net';
    expect(redact(`bad connection string "${connection}"`)).toBe(
      'bad connection string "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=REDACTED;EndpointSuffix=core.windows.net"',
    );
    expect(
      redact('BlobEndpoint=https://a.example;SharedAccessSignature=sv=2024&ss=b&sig=S1%2B;x=1'),
    ).toBe('BlobEndpoint=https://a.example;SharedAccessSignature=REDACTED;x=1');
    expect(redact('signed with sig=S2 and se=2026')).toBe('signed with sig=REDACTED and se=2026');
    expect(redact('X-Amz-Signature=abc&X-Amz-Credential=AKIA/x')).toBe(
      'X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED',
    );
    expect(redact("Password='hunter2' rejected")).toBe('Password=REDACTED rejected');
    // Ordinary words that merely end the same way are left alone.
    expect(redact('design=flat; assign=none')).toBe('design=flat; assign=none');
  });
});

describe('jsonForScript', () => {
  it('cannot close the script element it is embedded in', () => {
    const text = jsonForScript({ description: '</script><script>alert(1)</script>' });
    expect(text).not.toContain('</script');
    expect(JSON.parse(text).description).toBe('</script><script>alert(1)</script>');
  });
});
