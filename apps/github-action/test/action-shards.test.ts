import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createWorkspace, runAction, type Workspace } from './helpers.js';

// A matrix of three `shard` jobs, each on its own runner (workspace) and all on one store, then
// the job with `merge: true` that gets every shard's .local_defs_state/ (as download-artifact
// with merge-multiple puts them) and writes the pin file.

const KEYS = Array.from({ length: 12 }, (_, index) => `table-${index}`);
const CONFIG = `import { writeFile } from 'node:fs/promises';
export default { components: ${JSON.stringify(KEYS)}.map((key, index) => ({
  key,
  management: index % 4 === 0 ? 'local' : 'versioned',
  refresh: ({ statePath }) => writeFile(statePath, 'state of ' + key),
})) };
`;

const workspaces: Workspace[] = [];
afterEach(async () => {
  await Promise.all(workspaces.splice(0).map((workspace) => workspace.cleanup()));
});

async function workspace(): Promise<Workspace> {
  const created = await createWorkspace({ 'defstate.config.mjs': CONFIG });
  workspaces.push(created);
  return created;
}

describe('shard and merge', () => {
  test('three shards pin their own keys, and merge writes the pin file and verifies it', async () => {
    const shards = await Promise.all([1, 2, 3].map(() => workspace()));
    const storage = `file://${join(shards[0]?.root as string, 'store')}`;
    const env = { GITHUB_RUN_ID: '4242', GITHUB_REPOSITORY: 'acme/app' };
    const runs = await Promise.all(
      shards.map((runner, index) =>
        runAction(
          runner,
          {
            'working-directory': 'app',
            'storage-url': storage,
            shard: `${index + 1}/3`,
            pin: 'true',
            verify: 'true',
          },
          env,
        ),
      ),
    );
    const refreshed: string[] = [];
    for (const [index, run] of runs.entries()) {
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.outputs['pin-file']).toMatch(
        new RegExp(`\\.pins\\.shard-${index + 1}-of-3\\.json$`),
      );
      expect(run.summary).toContain(`defstate refresh (shard ${index + 1} of 3)`);
      expect(run.stdout).toContain(`shard ${index + 1}/3:`);
      refreshed.push(...Object.keys(JSON.parse(run.outputs.versions as string)));
    }
    expect(refreshed.sort()).toEqual([...KEYS].sort());

    const merge = await workspace();
    for (const runner of shards) {
      await cp(
        join(runner.project, '.local_defs_state'),
        join(merge.project, '.local_defs_state'),
        {
          recursive: true,
        },
      );
    }
    const merged = await runAction(merge, {
      'working-directory': 'app',
      'storage-url': storage,
      merge: 'true',
      verify: 'true',
    });
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    expect(merged.outputs['pin-file']).toMatch(/\.local_defs_state\/\.pins\.json$/);
    expect(Object.keys(JSON.parse(merged.outputs.versions as string)).sort()).toEqual(
      [...KEYS].sort(),
    );
    expect(merged.summary).toContain('defstate merge');
    expect(merged.summary).toContain('merged from the partial pin files of 3 shards');
    expect(merged.summary).toContain('12 keys verified');
    const pins = JSON.parse(
      await readFile(join(merge.project, '.local_defs_state', '.pins.json'), 'utf8'),
    );
    expect(Object.keys(pins.keys)).toHaveLength(12);
  });

  test('merge fails, naming the missing shard, when a shard’s pins were not collected', async () => {
    const [one, merge] = [await workspace(), await workspace()];
    const storage = `file://${join(one.root, 'store')}`;
    const run = await runAction(
      one,
      { 'working-directory': 'app', 'storage-url': storage, shard: '1/2', pin: 'true' },
      { GITHUB_RUN_ID: '7' },
    );
    expect(run.code, run.stdout).toBe(0);
    await cp(join(one.project, '.local_defs_state'), join(merge.project, '.local_defs_state'), {
      recursive: true,
    });
    const merged = await runAction(merge, { 'working-directory': 'app', merge: 'true' });
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain('Shard 2 of 2 has no partial pin file');
  });

  test('refuses a shard it cannot read, and merge with what to refresh, naming the input', async () => {
    const runner = await workspace();
    const bad = await runAction(runner, { 'working-directory': 'app', shard: '4/3' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('input shard "4/3" is not a shard');
    const both = await runAction(runner, {
      'working-directory': 'app',
      merge: 'true',
      shard: '1/2',
    });
    expect(both.code).toBe(1);
    expect(both.stdout).toContain(
      'input merge: true refreshes nothing, so it takes no shard input',
    );
  });
});
