import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';
import { refreshFourKinds } from './ui-browser.js';

// `status` in a terminal and as JSON shows what the page shows: the pinned version, a failed last
// refresh with its time and message, an update available, and every problem a key has at once.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

interface JsonKey {
  key: string;
  version: string | null;
  pinnedVersion: string | null;
  generation: number | null;
  health: string;
  problems: string[];
  reason: string;
  lastRefresh: { status: string; at: string; error: { message: string } | null } | null;
}

describe('defstate status', () => {
  it('--json adds pins, the last refresh, health and generation, keeping schemaVersion 1', async () => {
    await refreshFourKinds(sandbox);
    const result = await run(['status', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.schemaVersion).toBe(1);
    const keys: Record<string, JsonKey> = Object.fromEntries(
      document.keys.map((entry: JsonKey) => [entry.key, entry]),
    );
    expect(keys.alpha).toMatchObject({ health: 'up-to-date', generation: null });
    expect(keys.alpha?.pinnedVersion).toBe(keys.alpha?.version);
    expect(keys['beta/β']?.health).toBe('update-available');
    expect(keys['beta/β']?.pinnedVersion).not.toBe(keys['beta/β']?.version);
    expect(keys.gamma?.health).toBe('failed');
    expect(keys.gamma?.lastRefresh).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('catalog unreachable') },
    });
    expect(keys.delta?.health).toBe('no-state');
    // Every field of the first schema is still there.
    for (const entry of document.keys) {
      expect(Object.keys(entry)).toEqual(
        expect.arrayContaining(['key', 'management', 'version', 'createdAt', 'sha256', 'size']),
      );
    }
  });

  it('the table shows the pin, the failure with its time and message, and the update', async () => {
    await refreshFourKinds(sandbox);
    const result = await run(['status']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/PINNED/);
    const line = (key: string) => lines.find((text) => text.startsWith(`${key} `)) ?? '';
    expect(line('beta/β')).toMatch(/update available/);
    expect(line('gamma')).toMatch(/failed last refresh/);
    expect(line('alpha')).toMatch(/up to date/);
    expect(line('delta')).toMatch(/no state/);
    // The failure's time and message are printed below the table.
    expect(result.stdout).toMatch(
      /gamma: last refresh failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: .*catalog unreachable/,
    );
  });

  it('a key can be failed and stale at once: both are shown', async () => {
    await refreshFourKinds(sandbox);
    // gamma's state is from the first refresh; with a tiny max age it is stale, and it failed since.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const json = JSON.parse((await run(['status', '--json', '--max-age', '10ms'])).stdout);
    const gamma = json.keys.find((entry: JsonKey) => entry.key === 'gamma');
    expect(gamma.health).toBe('failed');
    expect(gamma.problems).toEqual(['failed', 'stale']);
    const table = await run(['status', '--max-age', '10ms']);
    expect(table.stdout.split('\n').find((text) => text.startsWith('gamma '))).toMatch(
      /failed last refresh, stale/,
    );
  });
});
