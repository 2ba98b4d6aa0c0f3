import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionlint, makeGitRoot, writeProject } from './fixtures/scaffold/projects.js';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// The scaffolds as a user would adopt them: a pull-request job that publishes nothing, Docker
// layer caching, the status page as an artefact, a live OIDC login for one cloud, id-token only
// where used, an Action reference that can be a commit SHA, and a CMD that starts this project.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
  await makeGitRoot(sandbox.project);
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[]) => runDefstate(args, { cwd: sandbox.project, env: sandbox.env });

interface Job {
  if?: string;
  permissions?: Record<string, string>;
  steps: Array<{
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
  }>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

async function workflow(args: string[] = []) {
  const result = await run(['scaffold', 'github-actions', ...args]);
  expect(result.code, result.stderr).toBe(0);
  const file = join(sandbox.project, '.github/workflows/defstate.yml');
  const lint = await actionlint(file);
  expect(lint.output).toBe('');
  expect(lint.code).toBe(0);
  const text = await readFile(file, 'utf8');
  return { text, parsed: parse(text) as Workflow, result };
}

const step = (job: Job, pattern: RegExp) =>
  job.steps.find((entry) =>
    pattern.test(`${entry.uses ?? ''} ${entry.run ?? ''} ${entry.name ?? ''}`),
  );

describe('scaffold github-actions', () => {
  it('adds a pull-request job that refreshes into a scratch store and verifies, publishing nothing', async () => {
    await writeProject(sandbox.project, {
      flavour: 'pnpm',
      versioned: true,
      manifest: { dependencies: { '@defstate/core': '0.1.0', '@defstate/storage-s3': '0.1.0' } },
    });
    const { parsed } = await workflow();
    expect(Object.keys(parsed.on)).toContain('pull_request');
    const check = Object.values(parsed.jobs).find((job) => job.if?.includes("== 'pull_request'"));
    const deploy = Object.values(parsed.jobs).find((job) => job.if?.includes("!= 'pull_request'"));
    expect(check && deploy).toBeTruthy();
    const refresh = step(check as Job, /github-action@/);
    expect(refresh?.with?.['storage-url']).toMatch(/^file:\/\/\$\{\{ runner\.temp \}\}\//);
    expect(refresh?.with?.verify).toBe(true);
    expect(refresh?.with).not.toHaveProperty('instance-config');
    expect(refresh?.with).not.toHaveProperty('pin');
    expect(step(check as Job, /docker|configure-aws/)).toBeUndefined();
    // id-token only where the login uses it.
    expect(parsed.permissions).toEqual({ contents: 'read' });
    expect(check?.permissions?.['id-token']).toBeUndefined();
    expect(deploy?.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });

  it('logs in to the cloud of the project’s adapter by OIDC, live, with its values from repository variables', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: true,
      manifest: { dependencies: { '@defstate/storage-s3': '0.1.0' } },
    });
    const { parsed, text, result } = await workflow();
    const deploy = parsed.jobs['refresh-and-build'] as Job;
    const login = step(deploy, /configure-aws-credentials/);
    expect(login?.with).toEqual({
      'role-to-assume': `\${{ vars.AWS_ROLE_ARN }}`,
      'aws-region': `\${{ vars.AWS_REGION }}`,
    });
    expect(text).not.toMatch(/^\s*# .*uses:/m);
    expect(result.stdout).toContain('AWS_ROLE_ARN');
    // The order: log in, then refresh, then build.
    const names = deploy.steps.map((entry) => entry.uses ?? entry.run ?? '');
    const at = (pattern: RegExp) => names.findIndex((name) => pattern.test(name));
    expect(at(/configure-aws/)).toBeLessThan(at(/github-action@/));
    expect(at(/github-action@/)).toBeLessThan(at(/build-push-action/));
  });

  it('--cloud picks the login, and --cloud none leaves it and id-token out', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: true });
    const gcp = await workflow(['--cloud', 'gcp']);
    expect(
      step(gcp.parsed.jobs['refresh-and-build'] as Job, /google-github-actions\/auth/)?.with,
    ).toEqual({
      workload_identity_provider: `\${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}`,
      service_account: `\${{ vars.GCP_SERVICE_ACCOUNT }}`,
    });
    const azure = await workflow(['--cloud', 'azure', '--force']);
    expect(step(azure.parsed.jobs['refresh-and-build'] as Job, /azure\/login/)).toBeTruthy();
    const none = await workflow(['--cloud', 'none', '--force']);
    expect(none.text).not.toContain('id-token');
    expect(none.text).not.toMatch(/configure-aws|google-github-actions|azure\/login/);
    const bad = await run(['scaffold', 'github-actions', '--cloud', 'oracle', '--force']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/aws, gcp, azure or none/);
  });

  it('a project with only local state needs no login and no id-token', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const { text } = await workflow();
    expect(text).not.toContain('id-token');
    expect(text).not.toContain('instance-config');
  });

  it('caches Docker layers, and uploads the status page as an artefact', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const { parsed } = await workflow();
    const deploy = parsed.jobs['refresh-and-build'] as Job;
    const build = step(deploy, /build-push-action/);
    expect(build?.with).toMatchObject({
      'cache-from': 'type=gha',
      'cache-to': 'type=gha,mode=max',
    });
    const status = step(deploy, /status --html defstate-status\.html/);
    expect(status?.if).toBe(`\${{ !cancelled() }}`);
    const upload = step(deploy, /actions\/upload-artifact/);
    expect(upload?.if).toBe(`\${{ !cancelled() }}`);
    expect(upload?.with?.path).toBe('defstate-status.html');
  });

  it('references the Action by --action-ref, a commit SHA included', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const byTag = await workflow();
    expect(byTag.text).toContain('uses: defstate/defstate/apps/github-action@v0');
    expect(byTag.text).toMatch(/--action-ref <commit sha>/);
    const sha = 'a'.repeat(40);
    const bySha = await workflow(['--action-ref', sha, '--force']);
    expect(bySha.text).toContain(`uses: defstate/defstate/apps/github-action@${sha}`);
    const bad = await run([
      'scaffold',
      'github-actions',
      '--action-ref',
      'v1; rm -rf /',
      '--force',
    ]);
    expect(bad.code).toBe(2);
  });

  it('--pull puts the pinned states into the image with a live step', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: true,
      manifest: { devDependencies: { '@defstate/cli': '0.1.0' } },
    });
    const { parsed } = await workflow(['--pull', '--cloud', 'none']);
    const deploy = parsed.jobs['refresh-and-build'] as Job;
    expect(step(deploy, /defstate pull/)?.run).toBe('npx --no-install defstate pull');
  });
});

describe('scaffold dockerfile', () => {
  it('starts the app as its start script does, or as --cmd says', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: false,
      manifest: { scripts: { start: 'node dist/server.js --port 8080' } },
    });
    const start = await run(['scaffold', 'dockerfile', '--stdout']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toContain('CMD ["node", "dist/server.js", "--port", "8080"]');

    const cmd = await run(['scaffold', 'dockerfile', '--stdout', '--cmd', 'node app.mjs serve']);
    expect(cmd.stdout).toContain('CMD ["node", "app.mjs", "serve"]');
  });

  it('asks for --cmd when the project says nothing about how it starts', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const result = await run(['scaffold', 'dockerfile']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--cmd');
    expect(result.stderr).toMatch(/"main"|"start"/);
  });

  it('warns when @defstate/core or the adapter is only a devDependency, which this image leaves out', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: true,
      manifest: {
        main: 'server.mjs',
        devDependencies: { '@defstate/core': '0.1.0', '@defstate/storage-s3': '0.1.0' },
      },
    });
    const result = await run(['scaffold', 'dockerfile', '--stdout']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: @defstate\/core is only a devDependency/);
    expect(result.stderr).toMatch(/warning: @defstate\/storage-s3 is only a devDependency/);
    expect(result.stdout).toMatch(
      /@defstate\/core and the storage adapter are run-time dependencies/,
    );
  });
});
