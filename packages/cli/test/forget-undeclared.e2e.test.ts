import { existsSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// Keys a project no longer declares: shown as undeclared by status and verify (a warning), moved
// out of the pointer by `forget`, and collected by `prune --undeclared --older-than`.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[]) => runDefstate(args, { cwd: sandbox.project, env: sandbox.env });
const storeFolder = () => join(sandbox.home, 'state', 'defstate', 'storage');

const declare = (keys: string[]) =>
  sandbox.write(
    'defstate.config.mjs',
    configModule(keys.map((key) => [key, 'versioned', `await writeFile(statePath, '${key}');`])),
  );

/** Sets every file of a key's versions and records `days` into the past, as the store sees it. */
async function backdate(key: string, days: number): Promise<void> {
  const then = new Date(Date.now() - days * 86_400_000);
  for (const prefix of ['states', 'published']) {
    const folder = join(storeFolder(), prefix, key);
    for (const name of await readdir(folder)) await utimes(join(folder, name), then, then);
  }
}

async function statusJson() {
  const result = await run(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as {
    keys: Array<{ key: string }>;
    undeclared: Array<{ key: string; version: string }>;
  };
}

describe('undeclared keys, forget and prune --undeclared', () => {
  it('shows keys the project stopped declaring, and forgets them by compare-and-swap', async () => {
    await declare(['kept', 'removed', 'renamed']);
    expect((await run(['refresh'])).code).toBe(0);
    await declare(['kept']);

    const status = await run(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      /undeclared: the store holds 2 keys this project does not declare/,
    );
    expect(status.stdout).toMatch(/^ {2}removed {2}latest \d{8}T/m);
    expect((await statusJson()).undeclared.map(({ key }) => key)).toEqual(['removed', 'renamed']);

    const verify = await run(['verify']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(/! removed: undeclared: the store holds it/);
    expect(verify.stdout).toContain('all good (2 warnings: undeclared keys in the store)');

    // Refused, changing nothing: a declared key, and a key the store does not hold.
    const declared = await run(['forget', 'kept']);
    expect(declared.code).toBe(2);
    expect(declared.stderr).toContain('"kept" is still declared');
    const typo = await run(['forget', 'removd', 'removed']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('"removd" is not in the latest pointer');
    expect(typo.stderr).toContain('Did you mean "removed"?');
    const dry = await run(['forget', 'removed', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would forget "removed"');
    expect((await statusJson()).undeclared).toHaveLength(2);

    const forget = await run(['forget', 'removed', '--json']);
    expect(forget.code, forget.stderr).toBe(0);
    expect(JSON.parse(forget.stdout)).toMatchObject({
      schemaVersion: 1,
      dryRun: false,
      keys: [{ key: 'removed', status: 'forgotten' }],
    });
    expect((await statusJson()).undeclared.map(({ key }) => key)).toEqual(['renamed']);
    // Its versions stay until prune.
    expect(await readdir(join(storeFolder(), 'states', 'removed'))).toHaveLength(1);
  });

  it('prune --undeclared collects keys nothing was stored for within --older-than', async () => {
    await declare(['kept', 'removed', 'renamed']);
    expect((await run(['refresh'])).code).toBe(0);
    await declare(['kept']);
    expect((await run(['forget', 'removed'])).code).toBe(0);

    const noAge = await run(['prune', '--undeclared']);
    expect(noAge.code).toBe(2);
    expect(noAge.stderr).toContain('prune --undeclared needs --older-than');
    const noKeep = await run(['prune']);
    expect(noKeep.code).toBe(2);
    expect(noKeep.stderr).toContain('prune needs --keep <n>');

    // Stored today: still refreshed somewhere, so left alone.
    const young = await run(['prune', '--undeclared', '--older-than', '30d']);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stdout).toContain('deleted 0 versions');

    await backdate('removed', 40);
    await backdate('renamed', 40);
    const dry = await run(['prune', '--undeclared', '--older-than', '30d', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would forget "renamed"');
    expect(dry.stdout).toMatch(/would delete 2 versions .* of 2 undeclared keys/);
    expect((await statusJson()).undeclared).toHaveLength(1);

    const done = await run(['prune', '--undeclared', '--older-than', '30d', '--json']);
    expect(done.code, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as {
      deleted: Array<{ key: string }>;
      forgotten: string[];
    };
    expect(report.forgotten).toEqual(['renamed']);
    expect(report.deleted.map(({ key }) => key).sort()).toEqual(['removed', 'renamed']);
    expect((await statusJson()).undeclared).toEqual([]);
    expect(await readdir(join(storeFolder(), 'states', 'kept'))).toHaveLength(1);
    for (const key of ['removed', 'renamed']) {
      const left = existsSync(join(storeFolder(), 'states', key))
        ? await readdir(join(storeFolder(), 'states', key))
        : [];
      expect(left).toEqual([]);
    }
    expect((await run(['verify'])).stderr).not.toContain('undeclared');
  });

  it('describes forget and prune --undeclared in --help', async () => {
    const forget = await run(['forget', '--help']);
    expect(forget.stdout).toContain(
      'Move keys the project no longer declares out of the latest pointer',
    );
    expect(forget.stdout).toContain('--force');
    const prune = await run(['prune', '--help']);
    expect(prune.stdout).toContain('--undeclared');
    expect(prune.stdout).toContain('required unless --undeclared');
  });
});
