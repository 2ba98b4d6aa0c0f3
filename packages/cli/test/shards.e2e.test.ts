import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// A refresh sharded across a CI matrix, as separate processes: each shard refreshes its part,
// deploy writes partial pin files, and `pin --merge` writes the one pin file.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const KEYS = Array.from({ length: 40 }, (_, index) => `part/${index}`);

/** 40 components, every fifth local; each logs its refresh. Key 0 to 3 take longer. */
const config = `import { appendFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
export default { components: ${JSON.stringify(KEYS)}.map((key, index) => ({
  key,
  management: index % 5 === 0 ? 'local' : 'versioned',
  refresh: async ({ statePath }) => {
    await sleep(index < 4 ? 400 : 5);
    await appendFile('refreshes.log', key + '\\n');
    await writeFile(statePath, 'state of ' + key);
  },
})) };
`;

const pinFile = () => join(sandbox.project, '.local_defs_state', '.pins.json');

async function deployShards(total: number, runId: string) {
  const env = { DEFSTATE_SHARD_RUN: runId };
  return Promise.all(
    Array.from({ length: total }, (_, index) =>
      run(['deploy', '--shard', `${index + 1}/${total}`, '--json'], env),
    ),
  );
}

describe('refresh and deploy --shard, pin --merge', () => {
  it('refreshes every key once across concurrent shards, and merges their pins into one file', async () => {
    await sandbox.write('defstate.config.mjs', config);
    const shards = await deployShards(3, 'run-1');
    for (const shard of shards) expect(shard.code, shard.stderr).toBe(0);
    const reports = shards.map((shard) => JSON.parse(shard.stdout));
    expect(reports.map((report) => report.shard.index)).toEqual([1, 2, 3]);
    expect(new Set(reports.map((report) => report.shard.plan)).size).toBe(1);
    expect(reports.map((report) => report.pinFile.split('/').pop())).toEqual([
      '.pins.shard-1-of-3.json',
      '.pins.shard-2-of-3.json',
      '.pins.shard-3-of-3.json',
    ]);
    const log = (await readFile(join(sandbox.project, 'refreshes.log'), 'utf8')).trim().split('\n');
    expect(log.sort()).toEqual([...KEYS].sort());
    // No shard wrote a pin file that names only its own keys.
    expect(existsSync(pinFile())).toBe(false);

    const merged = await run(['pin', '--merge']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain('Pinned 40 keys');
    expect(merged.stdout).toContain('merged from the partial pin files of 3 shards');
    const pins = JSON.parse(await readFile(pinFile(), 'utf8'));
    expect(Object.keys(pins.keys).sort()).toEqual([...KEYS].sort());
    expect(pins.shard).toBeUndefined();
    const verify = await run(['verify']);
    expect(verify.code, verify.stderr).toBe(0);

    // The next run knows each key's duration: the four slow keys go to different shards.
    const again = (await deployShards(4, 'run-2')).map((shard) => JSON.parse(shard.stdout));
    expect(again.map((report) => report.shard.balancedBy)).toEqual(Array(4).fill('durations'));
    const slow = again.map(
      (report) =>
        report.results.filter((result: { key: string }) =>
          ['part/0', 'part/1', 'part/2', 'part/3'].includes(result.key),
        ).length,
    );
    expect(slow).toEqual([1, 1, 1, 1]);
  });

  it('refuses to merge when a shard is missing, and writes no pin file', async () => {
    await sandbox.write('defstate.config.mjs', config);
    for (const shard of await deployShards(3, 'run-1')) expect(shard.code).toBe(0);
    const second = join(sandbox.project, '.local_defs_state', '.pins.shard-2-of-3.json');
    await rm(second);
    const merged = await run(['pin', '--merge']);
    expect(merged.code).toBe(1);
    expect(merged.stderr).toContain('Shard 2 of 3 has no partial pin file');
    expect(existsSync(pinFile())).toBe(false);
    const named = await run(['pin', '--merge', second]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('Cannot read the partial pin file');
  });

  it('reads the shard from the CI system with --shard auto, and refuses bad shards', async () => {
    await sandbox.write('defstate.config.mjs', config);
    const gitlab = await run(['refresh', '--shard', 'auto', '--json'], {
      CI_NODE_INDEX: '2',
      CI_NODE_TOTAL: '4',
    });
    expect(gitlab.code, gitlab.stderr).toBe(0);
    expect(JSON.parse(gitlab.stdout).shard).toMatchObject({ index: 2, total: 4, selected: 40 });
    const indexed = await run(['refresh', '--shard', 'auto', '--shard-total', '4', '--json'], {
      JOB_COMPLETION_INDEX: '0',
    });
    expect(JSON.parse(indexed.stdout).shard).toMatchObject({ index: 1, total: 4 });
    for (const [args, message] of [
      [['--shard', '0/3'], 'is not a shard'],
      [['--shard', 'auto'], 'found no shard index'],
      [['--shard-total', '3'], '--shard-total goes with --shard auto'],
    ] as const) {
      const refused = await run(['refresh', ...args]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(message);
    }
  });

  it('describes --shard, --shard-total and pin --merge in --help', async () => {
    const deploy = await run(['deploy', '--help']);
    expect(deploy.stdout).toContain('--shard <i/n>');
    expect(deploy.stdout).toContain('partial pin file');
    expect(deploy.stdout).toContain('--shard-total <n>');
    const refresh = await run(['refresh', '--help']);
    expect(refresh.stdout).toContain('refresh only shard i of n of the selected keys');
    const pin = await run(['pin', '--help']);
    expect(pin.stdout).toContain('--merge [files...]');
  });
});
