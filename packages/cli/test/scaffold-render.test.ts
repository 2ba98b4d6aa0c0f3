import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFSTATE_ACTION, renderWorkflow } from '../src/scaffold/github-actions.js';
import { majorForRange } from '../src/scaffold/node-version.js';
import { readProjectFacts } from '../src/scaffold/project-facts.js';
import { yamlScalar } from '../src/scaffold/text.js';
import {
  actionlint,
  FLAVOURS,
  makeGitRoot,
  writeFiles,
  writeProject,
} from './fixtures/scaffold/projects.js';

// Every variant of the workflow is linted: each cloud's login, `defstate pull`, and the
// commented-out schedule rendered switched on, so actionlint checks the lines a user uncomments.

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-scaffold-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function lintText(text: string) {
  const file = join(root, 'workflow.yml');
  await writeFile(file, text);
  return actionlint(file);
}

describe('the generated workflow with its optional steps switched on', () => {
  it.each(
    FLAVOURS.flatMap((flavour) =>
      (['aws', 'gcp', 'azure'] as const).map((cloud) => [flavour, cloud] as const),
    ),
  )('passes actionlint for %s with the %s login and pull', async (flavour, cloud) => {
    const project = join(root, 'repo', 'apps', 'shop');
    await makeGitRoot(join(root, 'repo'));
    await writeProject(project, { flavour, versioned: true });
    const workflow = renderWorkflow(await readProjectFacts(project), {
      cloud,
      pull: true,
      examplesActive: true,
    });
    const login = {
      aws: '        uses: aws-actions/configure-aws-credentials@v6',
      gcp: '        uses: google-github-actions/auth@v3',
      azure: '        uses: azure/login@v3',
    }[cloud];
    for (const live of [
      login,
      '      - name: Put the pinned versioned states into the image',
      '  schedule:',
    ]) {
      expect(workflow).toContain(`${live}\n`);
    }
    const lint = await lintText(workflow);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it('is linted for real: a wrong input name or a shell mistake fails actionlint', async () => {
    const project = join(root, 'project');
    await writeProject(project, { flavour: 'npm', versioned: true });
    const workflow = renderWorkflow(await readProjectFacts(project), {
      cloud: 'aws',
      examplesActive: true,
    });

    const wrongInput = await lintText(workflow.replace('aws-region:', 'aws-regoin:'));
    expect(wrongInput.code).not.toBe(0);
    expect(wrongInput.output).toContain('aws-regoin');

    // shellcheck, through actionlint: an unquoted expansion in a run: script.
    expect(workflow).toContain('run: npm ci\n');
    const unquoted = await lintText(
      workflow.replace('run: npm ci', 'run: npm ci --prefix $RUNNER_TEMP'),
    );
    expect(unquoted.code).not.toBe(0);
    expect(unquoted.output).toMatch(/shellcheck/);
  });
});

describe('the Action step', () => {
  // actionlint checks a local action's inputs against its action.yml: point the step at this
  // repository's apps/github-action, so a renamed or missing input fails here.
  const ACTION_YML = fileURLToPath(
    new URL('../../../apps/github-action/action.yml', import.meta.url),
  );

  async function lintAgainstAction(workflow: string) {
    const repo = join(root, 'action-repo');
    await makeGitRoot(repo);
    await writeFiles(repo, {
      'apps/github-action/action.yml': await readFile(ACTION_YML, 'utf8'),
      // actionlint checks that runs.main exists; only action.yml's inputs matter here.
      'apps/github-action/dist/index.js': '',
      '.github/workflows/defstate.yml': workflow.replaceAll(
        `uses: ${DEFSTATE_ACTION}`,
        'uses: ./apps/github-action',
      ),
    });
    return actionlint(join(repo, '.github/workflows/defstate.yml'));
  }

  it.each([false, true])(
    'uses only inputs the Action declares (versioned: %s)',
    async (versioned) => {
      const project = join(root, 'project');
      await writeProject(project, { flavour: 'pnpm', versioned });
      const workflow = renderWorkflow(await readProjectFacts(project), {
        cloud: 'aws',
        pull: true,
        examplesActive: true,
      });
      expect(workflow).toContain(`uses: ${DEFSTATE_ACTION}\n`);
      const lint = await lintAgainstAction(workflow);
      expect(lint.output).toBe('');
      expect(lint.code).toBe(0);

      const misspelt = await lintAgainstAction(workflow.replace('verify: true', 'verfiy: true'));
      expect(misspelt.code).not.toBe(0);
      expect(misspelt.output).toContain('verfiy');
    },
  );
});

describe('project facts', () => {
  it('finds a workspace’s lockfile above the project but never above the git root', async () => {
    // A lockfile outside the repository belongs to someone else.
    await writeFiles(root, { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" });
    const repo = join(root, 'repo');
    await makeGitRoot(repo);
    const project = join(repo, 'apps', 'shop');
    await writeProject(project, { flavour: 'npm', versioned: false, lockfile: false });
    expect((await readProjectFacts(project)).packageManager).toMatchObject({
      name: 'npm',
      source: 'default',
      installRoot: project,
    });

    await writeFiles(repo, { 'yarn.lock': '# yarn lockfile v1\n' });
    expect((await readProjectFacts(project)).packageManager).toMatchObject({
      name: 'yarn',
      source: 'lockfile',
      yarnBerry: false,
      lockfile: join(repo, 'yarn.lock'),
      installRoot: repo,
    });
  });

  it('prefers packageManager over a lockfile of another manager', async () => {
    await writeProject(root, {
      flavour: 'npm',
      versioned: false,
      manifest: { packageManager: 'pnpm@10.4.1+sha512.abc' },
    });
    expect((await readProjectFacts(root)).packageManager).toMatchObject({
      name: 'pnpm',
      version: '10.4.1',
      source: 'packageManager',
    });
    expect((await readProjectFacts(root)).packageManager.lockfile).toBeUndefined();
  });

  it('lists components with their management type and detects adapters', async () => {
    await writeProject(root, {
      flavour: 'npm',
      versioned: true,
      manifest: { devDependencies: { '@defstate/storage-azure': '1.0.0' } },
    });
    const facts = await readProjectFacts(root);
    expect(facts.components).toEqual([
      { key: 'catalog/tables', management: 'local' },
      { key: 'dbt manifest', management: 'local' },
      { key: 'connectors', management: 'versioned' },
    ]);
    expect(facts.adapters).toEqual(['azure']);
    expect(facts.imageName).toBe('shop-app');
  });
});

describe('helpers', () => {
  it.each([
    ['>=20.19', 24],
    ['>= 20', 24],
    ['^22.12.0', 22],
    ['~20.19.1', 20],
    ['20.x', 20],
    ['20 || 22', 22],
    ['>=18 <23', 18],
    ['>=26', 26],
    ['*', 24],
  ])('majorForRange(%s) is %d', (range, major) => {
    expect(majorForRange(range)).toBe(major);
  });

  it.each([
    ['apps/shop', 'apps/shop'],
    ['.', '.'],
    ['true', '"true"'],
    ['on', '"on"'],
    ['1.5', '"1.5"'],
    ['my app', '"my app"'],
    ['a: b', '"a: b"'],
  ])('yamlScalar(%s) is %s', (value, yaml) => {
    expect(yamlScalar(value)).toBe(yaml);
  });
});
