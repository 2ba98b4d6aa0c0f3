import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionlint, makeGitRoot, writeFiles, writeProject } from './fixtures/scaffold/projects.js';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// `scaffold github-actions --shards n`: a matrix of refresh jobs and one job that merges their
// pins and builds the image, linted by the pinned actionlint (and shellcheck) as a user's CI would.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], cwd = sandbox.project) => runDefstate(args, { cwd, env: sandbox.env });
const WORKFLOW = '.github/workflows/defstate.yml';

/** The lines of one job, from its `  name:` line to the next job's. */
function job(workflow: string, name: string): string {
  const start = workflow.indexOf(`\n  ${name}:\n`);
  expect(start, `no job ${name}`).toBeGreaterThanOrEqual(0);
  const next = workflow.slice(start + 1).search(/\n {2}[a-z-]+:\n/);
  return next < 0 ? workflow.slice(start) : workflow.slice(start, start + 1 + next);
}

describe('defstate scaffold github-actions --shards', () => {
  it('writes a matrix of 8 refresh jobs and a merge job that builds the image; actionlint passes', async () => {
    await makeGitRoot(sandbox.project);
    await writeProject(sandbox.project, {
      flavour: 'pnpm',
      versioned: true,
      manifest: { dependencies: { '@defstate/storage-s3': '0.1.0' } },
    });
    const result = await run(['scaffold', 'github-actions', '--shards', '8']);
    expect(result.code, result.stderr).toBe(0);
    const file = join(sandbox.project, WORKFLOW);
    const workflow = await readFile(file, 'utf8');
    const lint = await actionlint(file);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);

    expect(workflow).toContain('sharded across 8 jobs of a matrix');
    const refresh = job(workflow, 'refresh');
    expect(refresh).toContain('shard: [1, 2, 3, 4, 5, 6, 7, 8]');
    expect(refresh).toContain('fail-fast: false');
    expect(refresh).toContain(`shard: \${{ matrix.shard }}/8`);
    expect(refresh).toMatch(/pin: true\n/);
    expect(refresh).toContain(`instance-config: \${{ secrets.DEFSTATE_INSTANCE_CONFIG }}`);
    expect(refresh).toContain('uses: aws-actions/configure-aws-credentials@v6');
    expect(refresh).toContain(`name: defstate-shard-\${{ matrix.shard }}`);
    expect(refresh).toContain('include-hidden-files: true');
    expect(refresh).not.toContain('docker/build-push-action');

    const build = job(workflow, 'build');
    expect(build).toContain('needs: refresh');
    expect(build).not.toContain('matrix');
    const collect = build.indexOf('uses: actions/download-artifact@v4');
    const merge = build.indexOf('merge: true');
    const image = build.indexOf('uses: docker/build-push-action@v7');
    expect(collect).toBeGreaterThan(0);
    expect(collect).toBeLessThan(merge);
    expect(merge).toBeLessThan(image);
    expect(build).toContain('pattern: defstate-shard-*');
    expect(build).toContain('merge-multiple: true');
    expect(build).toMatch(/merge: true\n\s+verify: true/);

    const check = job(workflow, 'check');
    expect(check).toContain('shard: [1, 2, 3, 4, 5, 6, 7, 8]');
    expect(check).toContain(`storage-url: file://\${{ runner.temp }}/defstate-scratch`);
    expect(check).not.toContain('instance-config');
  });

  it('keeps the paths of a project in a sub-folder, for the artifact and the merge', async () => {
    const repo = sandbox.project;
    const project = join(repo, 'apps', 'shop');
    await makeGitRoot(repo);
    await writeFiles(repo, {
      'package.json': '{ "name": "mono", "private": true, "packageManager": "pnpm@10.4.1" }\n',
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
    });
    await writeProject(project, { flavour: 'npm', versioned: false, lockfile: false });
    const result = await run(['scaffold', 'github-actions', '--shards', '3', '--pull'], project);
    expect(result.code, result.stderr).toBe(0);
    const file = join(repo, WORKFLOW);
    const workflow = await readFile(file, 'utf8');
    const lint = await actionlint(file);
    expect(lint.output).toBe('');
    expect(workflow).toContain('      apps/shop/.local_defs_state/\n');
    expect(workflow).toContain('      !apps/shop/.local_defs_state/.last-refresh.json\n');
    expect(workflow).toContain('    path: apps/shop/.local_defs_state\n');
    const build = job(workflow, 'build');
    expect(build).toMatch(
      /working-directory: apps\/shop\n(\s+#.*\n)*\s+merge: true\n\s+verify: true/,
    );
    expect(build).toContain('npx --yes @defstate/cli');

    expect(job(workflow, 'refresh')).toContain('shard: [1, 2, 3]');
  });

  it('refuses a matrix of one, and --help describes --shards', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const one = await run(['scaffold', 'github-actions', '--shards', '1', '--stdout']);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('a matrix needs 2 to 256 shards');
    const help = await run(['scaffold', '--help']);
    expect(help.stdout).toContain('--shards <n>');
  });
});
