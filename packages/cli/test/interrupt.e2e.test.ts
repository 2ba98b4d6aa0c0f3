import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// Ctrl-C and `kill` through the built CLI: an interruption is reported as one, not as a mass
// failure, and the exit code says which signal stopped the run.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

/** Eight keys: two finish at once, the rest wait on their signal until the run is stopped. */
function slowProject(markers: string) {
  return configModule(
    Array.from({ length: 8 }, (_, index) => [
      `key-${index}`,
      index % 2 ? 'versioned' : 'local',
      index < 2
        ? `await writeFile(statePath, 'quick');`
        : `await writeFile(${JSON.stringify(markers)} + '/started-' + ${index}, ''); await new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));`,
    ]),
  );
}

async function interrupt(signal: NodeJS.Signals, args: string[]) {
  await sandbox.write('markers/.keep', '');
  const markers = join(sandbox.project, 'markers');
  await sandbox.write('defstate.config.mjs', slowProject(markers));
  return runDefstate(['refresh', '--concurrency', '2', ...args], {
    cwd: sandbox.project,
    env: sandbox.env,
    onSpawn: (child) => {
      const timer = setInterval(() => {
        // Two keys done and two stuck: the other four have not started.
        if (existsSync(join(markers, 'started-2')) && existsSync(join(markers, 'started-3'))) {
          clearInterval(timer);
          child.kill(signal);
        }
      }, 20);
    },
  });
}

describe('an interrupted refresh', () => {
  it('says "interrupted" on SIGINT, counts no failures and exits 130', async () => {
    const result = await interrupt('SIGINT', []);
    expect(result.code, result.stderr).toBe(130);
    const summary = result.stdout.trim().split('\n').at(-1) ?? '';
    expect(summary).toMatch(/interrupted/);
    expect(summary).toMatch(/2 refreshed/);
    expect(summary).not.toMatch(/failed/);
    expect(result.stdout).not.toMatch(/✗/);
    expect(result.stdout).not.toMatch(/was cancelled/);
    expect(result.stdout).not.toMatch(/keys? failed:/);
  });

  it('exits 143 on SIGTERM, and --json says interrupted with no failed key', async () => {
    const result = await interrupt('SIGTERM', ['--json']);
    expect(result.code, result.stderr).toBe(143);
    const report = JSON.parse(result.stdout);
    expect(report.interrupted).toBe(true);
    expect(report.ok).toBe(false);
    const statuses = report.results.map((entry: { status: string }) => entry.status);
    expect(statuses.filter((status: string) => status === 'refreshed')).toHaveLength(2);
    expect(statuses).not.toContain('failed');
    for (const status of statuses) expect(['refreshed', 'cancelled', 'not-run']).toContain(status);
    for (const entry of report.results) {
      if (entry.status === 'not-run') expect(entry.error).toBeNull();
    }
  });

  it('ends within 2 s of Ctrl-C even when components ignore their signal, keeping what committed', async () => {
    await sandbox.write('markers/.keep', '');
    const markers = join(sandbox.project, 'markers');
    await sandbox.write(
      'defstate.config.mjs',
      configModule([
        ['quick', 'local', `await writeFile(statePath, 'quick');`],
        ...Array.from({ length: 3 }, (_, index): [string, string, string] => [
          `deaf-${index}`,
          'local',
          `await writeFile(${JSON.stringify(markers)} + '/deaf-${index}', ''); await new Promise(() => {});`,
        ]),
      ]),
    );
    let interruptedAt = 0;
    const result = await runDefstate(['refresh', '--concurrency', '4'], {
      cwd: sandbox.project,
      env: sandbox.env,
      onSpawn: (child) => {
        const timer = setInterval(() => {
          if ([0, 1, 2].every((index) => existsSync(join(markers, `deaf-${index}`)))) {
            clearInterval(timer);
            interruptedAt = performance.now();
            child.kill('SIGINT');
          }
        }, 20);
      },
    });
    const afterInterrupt = performance.now() - interruptedAt;
    expect(result.code, result.stderr).toBe(130);
    expect(afterInterrupt).toBeLessThan(2_000);
    expect(existsSync(join(sandbox.project, '.local_defs_state', 'quick', 'state'))).toBe(true);
    expect(result.stdout).toMatch(/3 cancelled/);
  });
});
