import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  actionlint,
  FLAVOURS,
  type Flavour,
  flavourFiles,
  makeGitRoot,
  writeFiles,
  writeProject,
} from './fixtures/scaffold/projects.js';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// These tests spawn the built `defstate` in throwaway projects and lint what it writes with the
// pinned actionlint (and shellcheck), as a user's first CI run would find it.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], cwd = sandbox.project) => runDefstate(args, { cwd, env: sandbox.env });

const WORKFLOW = '.github/workflows/defstate.yml';

/** What each package manager's workflow must do to install, and must not do. */
const EXPECTED: Record<Flavour, { present: string[]; absent: string[]; dockerInstall: string }> = {
  pnpm: {
    present: ['uses: pnpm/action-setup@v4', 'cache: pnpm', 'run: pnpm install --frozen-lockfile'],
    absent: ['corepack enable', 'setup-bun'],
    dockerInstall: 'RUN pnpm install --prod --frozen-lockfile',
  },
  npm: {
    present: ['uses: actions/setup-node@v6', 'cache: npm', 'run: npm ci'],
    absent: ['pnpm/action-setup', 'corepack enable', 'setup-bun'],
    dockerInstall: 'RUN npm ci --omit=dev',
  },
  'yarn-classic': {
    present: ['cache: yarn', 'run: yarn install --frozen-lockfile'],
    absent: ['corepack enable', 'pnpm/action-setup', '--immutable'],
    dockerInstall: 'RUN yarn install --production --frozen-lockfile',
  },
  'yarn-berry': {
    present: ['run: corepack enable', 'cache: yarn', 'run: yarn install --immutable'],
    absent: ['pnpm/action-setup', '--frozen-lockfile'],
    dockerInstall: 'RUN yarn workspaces focus --all --production',
  },
  bun: {
    present: ['uses: oven-sh/setup-bun@v2', 'run: bun install --frozen-lockfile'],
    absent: ['actions/setup-node', 'pnpm/action-setup'],
    dockerInstall: 'RUN bun install --production --frozen-lockfile',
  },
};

function indexOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  expect(index, `"${needle}" is not in:\n${text}`).toBeGreaterThanOrEqual(0);
  return index;
}

describe('defstate scaffold github-actions', () => {
  describe.each(
    FLAVOURS.flatMap((flavour) => [false, true].map((versioned) => ({ flavour, versioned }))),
  )('$flavour, versioned: $versioned', ({ flavour, versioned }) => {
    it('writes a workflow that passes actionlint: install, refresh with pin and verify, build', async () => {
      await makeGitRoot(sandbox.project);
      await writeProject(sandbox.project, { flavour, versioned });

      const result = await run(['scaffold', 'github-actions']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`wrote ${WORKFLOW}`);
      const file = join(sandbox.project, WORKFLOW);
      const workflow = await readFile(file, 'utf8');

      const lint = await actionlint(file);
      expect(lint.output).toBe('');
      expect(lint.code).toBe(0);

      for (const text of EXPECTED[flavour].present) expect(workflow).toContain(text);
      for (const text of EXPECTED[flavour].absent) expect(workflow).not.toContain(text);
      // The steps run in this order, and the refresh gates the build.
      const checkout = indexOf(workflow, 'uses: actions/checkout@v6');
      // The deploy job: its own checkout and install, then the refresh, then the build.
      const deployJob = indexOf(workflow, '  refresh-and-build:');
      const install = workflow.indexOf('- name: Install dependencies', deployJob);
      const refresh = workflow.indexOf('uses: defstate/defstate/apps/github-action@v0', deployJob);
      const build = indexOf(workflow, 'uses: docker/build-push-action@v7');
      expect(checkout).toBeLessThan(deployJob);
      expect(deployJob).toBeLessThan(install);
      expect(install).toBeLessThan(refresh);
      expect(refresh).toBeLessThan(build);
      expect(workflow.slice(refresh, build)).toMatch(/pin: true\n\s+verify: true/);
      expect(workflow).toMatch(/context: \.\n/);
      expect(workflow).toContain(`tags: shop-app:\${{ github.sha }}`);
      // The components are listed by key, with their management type.
      expect(workflow).toMatch(/#\s+catalog\/tables\s+local/);
      expect(workflow).toMatch(/#\s+dbt manifest\s+local/);

      if (versioned) {
        expect(workflow).toMatch(/#\s+connectors\s+versioned/);
        expect(workflow).toContain(`instance-config: \${{ secrets.DEFSTATE_INSTANCE_CONFIG }}`);
        // No adapter in the dependencies, so no cloud to log in to: --cloud says which.
        expect(workflow).not.toContain('id-token');
        expect(workflow).not.toContain('Log in to');
        expect(result.stdout).toContain('DEFSTATE_INSTANCE_CONFIG');
        expect(result.stdout).toContain('--cloud aws, gcp or azure');
      } else {
        expect(workflow).not.toContain('instance-config');
        expect(workflow).not.toContain('id-token');
        expect(workflow).not.toContain('Log in to');
      }
    });

    it('writes a Dockerfile that installs production dependencies and keeps .local_defs_state/', async () => {
      await writeProject(sandbox.project, {
        flavour,
        versioned,
        manifest: { main: 'src/server.mjs' },
      });
      const result = await run(['scaffold', 'dockerfile']);
      expect(result.code, result.stderr).toBe(0);
      const dockerfile = await readFile(join(sandbox.project, 'Dockerfile'), 'utf8');
      const dockerignore = await readFile(join(sandbox.project, '.dockerignore'), 'utf8');

      expect(dockerfile).toContain(EXPECTED[flavour].dockerInstall);
      expect(dockerfile).toMatch(/^COPY \. \.$/m);
      expect(dockerfile).toContain('COPY --from=dependencies /app/node_modules ./node_modules');
      const [lockfile] = flavourFiles(flavour).lockfile;
      expect(dockerfile.split('\n')).toContain(
        `COPY package.json ${lockfile}${flavour === 'yarn-berry' ? ' .yarnrc.yml' : ''} ./`,
      );
      if (flavour === 'bun') {
        expect(dockerfile).toMatch(/^FROM oven\/bun:1-slim AS dependencies$/m);
        expect(dockerfile).toContain('CMD ["bun", "src/server.mjs"]');
      } else {
        expect(dockerfile).toMatch(/^FROM node:24-slim AS dependencies$/m);
        expect(dockerfile).toContain('CMD ["node", "src/server.mjs"]');
      }
      expect(dockerfile.includes('RUN corepack enable')).toBe(
        flavour.startsWith('yarn') || flavour === 'pnpm',
      );
      // DEFSTATE_HOME is mounted at run time, never copied or set in the image.
      expect(dockerfile).not.toMatch(/^(ENV|ARG|COPY)[^\n]*DEFSTATE_HOME/m);
      if (versioned) {
        expect(dockerfile).toContain('-e DEFSTATE_HOME=/etc/defstate');
      } else {
        expect(dockerfile).toContain('no DEFSTATE_HOME at run time');
      }

      const ignored = dockerignore.split('\n').filter((line) => line && !line.startsWith('#'));
      expect(ignored).toContain('node_modules');
      // The state goes in; the scratch folder and the last refresh's error messages stay out.
      expect(ignored.filter((line) => line.includes('.local_defs_state'))).toEqual([
        '.local_defs_state/.staging',
        '.local_defs_state/.last-refresh.json',
      ]);
    });
  });

  it('puts the workflow at the repository root for a project in a sub-folder', async () => {
    const repo = sandbox.project;
    const project = join(repo, 'apps', 'shop');
    await makeGitRoot(repo);
    // A pnpm workspace: the lockfile and packageManager at the root, the Node.js version in the app.
    await writeFiles(repo, {
      'package.json': '{ "name": "mono", "private": true, "packageManager": "pnpm@10.4.1" }\n',
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
    });
    await writeProject(project, {
      flavour: 'npm',
      versioned: true,
      lockfile: false,
      manifest: {
        name: 'shop',
        main: 'server.mjs',
        dependencies: { '@defstate/storage-gcs': '0.1.0' },
      },
    });
    await writeFiles(project, { '.nvmrc': 'v22.12.0\n' });

    const result = await run(['scaffold', 'github-actions'], project);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(project, '.github'))).toBe(false);
    expect(result.stdout).toContain('works in apps/shop/');
    const file = join(repo, WORKFLOW);
    const workflow = await readFile(file, 'utf8');
    const lint = await actionlint(file);
    expect(lint.output).toBe('');

    expect(workflow).toMatch(/defaults:\n\s+run:\n\s+working-directory: apps\/shop\n/);
    expect(workflow).toMatch(/run: pnpm install --frozen-lockfile\n\s+working-directory: \.\n/);
    expect(workflow).toContain('node-version-file: apps/shop/.nvmrc');
    expect(workflow).not.toContain('cache-dependency-path'); // the lockfile is at the root
    expect(workflow).toMatch(/github-action@v0\n\s+with:\n\s+working-directory: apps\/shop\n/);
    expect(workflow).toContain('context: apps/shop');
    expect(workflow).toContain(`tags: shop:\${{ github.sha }}`);
    // The project depends on the GCS adapter: that login is written, live.
    expect(workflow).toContain('        uses: google-github-actions/auth@v3\n');
    expect(workflow).not.toContain('aws-actions');
    expect(workflow).not.toContain('azure/login');

    // The Dockerfile cannot freeze the install to a lockfile outside its build context, and says so.
    const docker = await run(['scaffold', 'dockerfile', '--stdout'], project);
    expect(docker.code, docker.stderr).toBe(0);
    expect(docker.stdout).toContain('FROM node:22.12.0-slim AS dependencies');
    expect(docker.stdout).toContain('RUN pnpm install --prod\n');
    expect(docker.stdout).toContain('The lockfile, ../../pnpm-lock.yaml, is outside this folder');
  });

  it('keys the dependency cache on a lockfile that is not at the repository root', async () => {
    await makeGitRoot(sandbox.project, 'master');
    const project = join(sandbox.project, 'services', 'api');
    await writeProject(project, {
      flavour: 'npm',
      versioned: false,
      manifest: { engines: { node: '>=20.19' } },
    });
    const result = await run(['scaffold', 'github-actions', '--project', project]);
    expect(result.code, result.stderr).toBe(0);
    const file = join(sandbox.project, WORKFLOW);
    const workflow = await readFile(file, 'utf8');
    expect((await actionlint(file)).output).toBe('');
    expect(workflow).toContain('cache-dependency-path: services/api/package-lock.json');
    expect(workflow).toContain('node-version-file: services/api/package.json');
    expect(workflow).toContain('branches: [master]');
    // The install runs where the lockfile is: the project folder, the job's default.
    expect(workflow).not.toMatch(/run: npm ci\n\s+working-directory/);
  });

  it('writes into the project folder, and says so, when there is no git repository', async () => {
    await writeProject(sandbox.project, { flavour: 'npm', versioned: false });
    const result = await run(['scaffold', 'github-actions']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('is not in a git repository');
    expect(existsSync(join(sandbox.project, WORKFLOW))).toBe(true);
  });

  it('refuses to overwrite an existing workflow without --force, and overwrites with it', async () => {
    await makeGitRoot(sandbox.project);
    await writeProject(sandbox.project, { flavour: 'pnpm', versioned: true });
    const file = join(sandbox.project, WORKFLOW);
    await writeFiles(sandbox.project, { [WORKFLOW]: 'name: mine\n' });

    const refused = await run(['scaffold', 'github-actions']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${file} already exists; nothing was written`);
    expect(refused.stderr).toContain('--force');
    expect(await readFile(file, 'utf8')).toBe('name: mine\n');

    const forced = await run(['scaffold', 'github-actions', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(file, 'utf8')).toContain('uses: defstate/defstate/apps/github-action@v0');
  });

  it('--stdout prints the workflow, writes nothing, and prints the same as it would write', async () => {
    await makeGitRoot(sandbox.project);
    await writeProject(sandbox.project, { flavour: 'yarn-berry', versioned: true });
    const printed = await run(['scaffold', 'github-actions', '--stdout']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(existsSync(join(sandbox.project, '.github'))).toBe(false);
    expect(printed.stderr).toContain(
      'package manager: yarn 4.5.3 (packageManager in package.json)',
    );

    expect((await run(['scaffold', 'github-actions'])).code).toBe(0);
    expect(printed.stdout).toBe(await readFile(join(sandbox.project, WORKFLOW), 'utf8'));
  });

  it('rejects an unknown target and a folder with no project config, with exit code 2', async () => {
    const unknown = await run(['scaffold', 'circleci']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown scaffold "circleci"');
    expect(unknown.stderr).toContain('github-actions, dockerfile');

    const noConfig = await run(['scaffold', 'github-actions']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain(`No project config found in ${sandbox.project}`);
    expect(existsSync(join(sandbox.project, '.github'))).toBe(false);
  });

  it('names the package.json whose packageManager field it cannot use', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: false,
      manifest: { packageManager: 'deno@2' },
    });
    const result = await run(['scaffold', 'github-actions']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(sandbox.project, 'package.json')}: "packageManager" is "deno@2"`,
    );
  });
});

describe('defstate scaffold dockerfile', () => {
  it('refuses when either file exists, naming it, and writes both with --force', async () => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: false,
      manifest: { main: 'server.mjs' },
    });
    await writeFiles(sandbox.project, { '.dockerignore': 'mine\n' });

    const refused = await run(['scaffold', 'dockerfile']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${join(sandbox.project, '.dockerignore')} already exists`);
    expect(existsSync(join(sandbox.project, 'Dockerfile'))).toBe(false);
    expect(await readFile(join(sandbox.project, '.dockerignore'), 'utf8')).toBe('mine\n');

    const forced = await run(['scaffold', 'dockerfile', '-f']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(sandbox.project, 'Dockerfile'), 'utf8')).toContain('COPY . .');
    expect(await readFile(join(sandbox.project, '.dockerignore'), 'utf8')).not.toBe('mine\n');
  });

  it('--stdout prints both files under headers and writes neither', async () => {
    await writeProject(sandbox.project, {
      flavour: 'pnpm',
      versioned: true,
      manifest: { main: 'server.mjs' },
    });
    const result = await run(['scaffold', 'dockerfile', '--stdout']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^# ==> Dockerfile <==\n/);
    expect(result.stdout).toContain('\n# ==> .dockerignore <==\n');
    expect(existsSync(join(sandbox.project, 'Dockerfile'))).toBe(false);
    expect(existsSync(join(sandbox.project, '.dockerignore'))).toBe(false);
  });

  it.each([
    [{ '.nvmrc': '20.19.0\n' }, {}, 'node:20.19.0-slim', 'from .nvmrc: 20.19.0'],
    [{ '.node-version': 'lts/*\n' }, {}, 'node:24-slim', '.node-version says lts/*'],
    [{}, { engines: { node: '^22.12.0' } }, 'node:22-slim', 'fits engines.node ^22.12.0'],
    [{}, { engines: { node: '>=26' } }, 'node:26-slim', 'fits engines.node >=26'],
    [{}, {}, 'node:24-slim', 'the active LTS'],
  ])('picks the Node.js base image from %j %j', async (files, manifest, image, source) => {
    await writeProject(sandbox.project, {
      flavour: 'npm',
      versioned: false,
      manifest: { main: 'server.mjs', ...manifest },
    });
    await writeFiles(sandbox.project, files);
    const result = await run(['scaffold', 'dockerfile', '--stdout']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`FROM ${image} AS dependencies\n`);
    expect(result.stdout).toContain(`\nFROM ${image}\n`);
    expect(result.stdout).toContain(source);
    // Node.js 25 and later ship without corepack; npm is enough for npm.
    expect(result.stdout).not.toContain('corepack');
  });

  it('installs corepack itself on Node.js 25 and later, and starts as the start script does', async () => {
    await writeProject(sandbox.project, {
      flavour: 'pnpm',
      versioned: false,
      manifest: { engines: { node: '>=26' }, scripts: { start: 'node server.mjs' } },
    });
    const result = await run(['scaffold', 'dockerfile', '--stdout']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('RUN npm install --global corepack && corepack enable');
    expect(result.stdout).toContain('CMD ["node", "server.mjs"]');
  });

  it('needs a package.json, and says which', async () => {
    await writeFiles(sandbox.project, {
      'defstate.config.mjs': 'export default { components: [] };\n',
    });
    const result = await run(['scaffold', 'dockerfile']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(sandbox.project, 'package.json')} does not exist`);
  });
});
