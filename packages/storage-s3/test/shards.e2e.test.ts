import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';

// A deploy sharded across a CI matrix against moto: 8 shards of 500 keys each, as 8 concurrent
// processes, each in its own copy of the project (as each runner of a matrix has its own). Their
// partial pin files are collected into one project and merged; every key must be pinned exactly
// once, and `verify` must find every pinned version in the store.

const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../../cli/bin/defstate.js', import.meta.url));
const SHARDS = 8;
const PER_SHARD = 500;
const KEYS = Array.from({ length: SHARDS * PER_SHARD }, (_, index) => `catalog/table-${index}`);

const CONFIG = `import { appendFile, writeFile } from 'node:fs/promises';
export default { components: ${JSON.stringify(KEYS)}.map((key) => ({
  key,
  management: 'versioned',
  refresh: async ({ statePath }) => {
    await appendFile('refreshed.log', key + '\\n');
    await writeFile(statePath, 'state of ' + key);
  },
})) };
`;

let root: string;
let env: NodeJS.ProcessEnv;

async function projectCopy(name: string): Promise<string> {
  const project = join(root, name);
  await mkdir(join(project, 'node_modules', '@defstate'), { recursive: true });
  await symlink(PACKAGE_ROOT, join(project, 'node_modules', '@defstate', 'storage-s3'), 'dir');
  await writeFile(join(project, 'defstate.config.mjs'), CONFIG);
  return project;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-s3-shards-'));
  env = {
    PATH: process.env.PATH,
    HOME: root,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    DEFSTATE_STORAGE_URL: `s3://${bucket}/shards/${randomBytes(6).toString('hex')}?endpoint=${endpoint}&forcePathStyle=true&region=us-east-1`,
    // One id for the 8 shards of this run, as GITHUB_RUN_ID is for a matrix.
    DEFSTATE_SHARD_RUN: `test-${randomBytes(6).toString('hex')}`,
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('deploy sharded 8 × 500 keys against moto', () => {
  it(
    'pins every key exactly once across 8 concurrent shards, and verify passes',
    async () => {
      const shards = await Promise.all(
        Array.from({ length: SHARDS }, (_, index) => projectCopy(`shard-${index + 1}`)),
      );
      const runs = await Promise.all(
        shards.map((cwd, index) =>
          runNode([BIN, 'deploy', '--shard', `${index + 1}/${SHARDS}`, '--json'], { cwd, env }),
        ),
      );
      const reports = runs.map((run, index) => {
        expect(run.code, `shard ${index + 1}: ${run.stderr.slice(-2000)}`).toBe(0);
        return JSON.parse(run.stdout) as {
          shard: { index: number; keys: number; plan: string };
          pinFile: string;
          results: Array<{ key: string; status: string }>;
        };
      });
      // One plan for all 8, and each shard near its share of the 4,000 keys.
      expect(new Set(reports.map((report) => report.shard.plan)).size).toBe(1);
      for (const report of reports) {
        expect(report.shard.keys).toBeGreaterThan(PER_SHARD * 0.8);
        expect(report.shard.keys).toBeLessThanOrEqual(Math.ceil(PER_SHARD * 1.05));
        expect(report.results.every((result) => result.status === 'refreshed')).toBe(true);
      }
      // Each component ran once, in one shard.
      const logs = await Promise.all(
        shards.map(async (cwd) =>
          (await readFile(join(cwd, 'refreshed.log'), 'utf8')).trim().split('\n'),
        ),
      );
      expect(logs.flat()).toHaveLength(KEYS.length);
      expect(new Set(logs.flat()).size).toBe(KEYS.length);

      // The merge job: every shard's partial pin file, collected into one checkout.
      const merge = await projectCopy('merge');
      await mkdir(join(merge, '.local_defs_state'), { recursive: true });
      const files = await Promise.all(
        reports.map(async (report) => {
          const name = report.pinFile.split('/').pop() as string;
          const target = join(merge, '.local_defs_state', name);
          await copyFile(report.pinFile, target);
          return target;
        }),
      );
      const partial = await Promise.all(
        files.map(async (file) => Object.keys(JSON.parse(await readFile(file, 'utf8')).keys)),
      );
      expect(partial.flat()).toHaveLength(KEYS.length);

      const merged = await runNode([BIN, 'pin', '--merge', '--json'], { cwd: merge, env });
      expect(merged.code, merged.stderr).toBe(0);
      const pins = JSON.parse(
        await readFile(join(merge, '.local_defs_state', '.pins.json'), 'utf8'),
      ) as { keys: Record<string, { key: string }>; store: string };
      expect(Object.keys(pins.keys).sort()).toEqual([...KEYS].sort());
      expect(pins.store).toMatch(/^s3:\/\//);

      const verify = await runNode([BIN, 'verify'], { cwd: merge, env });
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toContain(`${KEYS.length} keys checked`);
    },
    15 * 60_000,
  );
});
