import { dirname, join } from 'node:path';
import { exists } from './files.js';
import type { PackageManager } from './package-manager.js';
import { type ProjectFacts, relativePath } from './project-facts.js';

/** Files beside package.json that the dependency install needs, when the project has them. */
const INSTALL_FILES = ['.npmrc', 'pnpm-workspace.yaml', '.yarnrc.yml', '.yarn', 'bunfig.toml'];

/** The project-level files the install copies first (so the install layer is cached). */
export async function dockerInstallFiles(facts: ProjectFacts): Promise<string[]> {
  const candidates = [
    'package.json',
    ...(facts.packageManager.lockfile && dirname(facts.packageManager.lockfile) === facts.root
      ? [relativePath(facts.root, facts.packageManager.lockfile)]
      : []),
    ...INSTALL_FILES,
  ];
  const present: string[] = [];
  for (const name of candidates) if (await exists(join(facts.root, name))) present.push(name);
  return present;
}

/**
 * A two-stage Dockerfile: production dependencies installed with the project's package manager,
 * then the project copied whole, `.local_defs_state/` included, since that is the refreshed and
 * pinned state the image must start with. The instance config (DEFSTATE_HOME) is never baked in:
 * it is mounted when the container runs.
 */
export function renderDockerfile(
  facts: ProjectFacts,
  installFiles: readonly string[],
  command: readonly string[],
): string {
  const pm = facts.packageManager;
  const lockfileInContext = pm.lockfile !== undefined && dirname(pm.lockfile) === facts.root;
  const versioned = facts.components.some(({ management }) => management === 'versioned');
  const bun = pm.name === 'bun';
  const image = bun ? `oven/bun:${pm.version ?? '1'}-slim` : `node:${facts.node.imageTag}-slim`;
  const user = bun ? 'bun' : 'node';
  const copyInstallFiles = installFiles.filter((name) => name !== '.yarn');

  const lines = [
    '# Written by `defstate scaffold dockerfile`; edit freely.',
    '#',
    '# The image carries the project with its state: run `defstate deploy` (refresh and pin)',
    '# before `docker build`, as the CI workflow does, and build from this folder (not from a git',
    '# URL: git ignores .local_defs_state/).',
    bun
      ? `# Base image: Bun ${pm.version ?? '1'} (${pm.version ? 'packageManager' : 'no version pinned'}).`
      : `# Base image: Node.js ${facts.node.imageTag} (${facts.node.source}).`,
    '',
    `FROM ${image} AS dependencies`,
    'WORKDIR /app',
    ...packageManagerSetup(pm, facts.node.major),
    ...(lockfileInContext || !pm.lockfile
      ? []
      : [
          `# The lockfile, ${relativePath(facts.root, pm.lockfile)}, is outside this folder, so this install`,
          '# cannot be frozen to it. For a reproducible image, build from a self-contained copy of',
          `# the project${pm.name === 'pnpm' ? ' (`pnpm deploy --filter <name> --prod <dir>`)' : ''}, with .local_defs_state/ copied in.`,
        ]),
    '# @defstate/core and the storage adapter are run-time dependencies (the app loads its',
    '# state with them): list them under "dependencies", as this installs no devDependencies.',
    `COPY ${copyInstallFiles.join(' ')} ./`,
    ...(installFiles.includes('.yarn') ? ['COPY .yarn ./.yarn'] : []),
    `RUN ${productionInstall(pm, lockfileInContext)}`,
    '',
    `FROM ${image}`,
    'WORKDIR /app',
    'ENV NODE_ENV=production',
    'COPY --from=dependencies /app/node_modules ./node_modules',
    '# The project, .local_defs_state/ included: the state refreshed and pinned before this build.',
    '# .dockerignore must not exclude it.',
    'COPY . .',
    ...(versioned
      ? [
          '# Versioned state is read at start-up from the store that $DEFSTATE_HOME/defstate.yaml',
          '# names. Mount that folder when the container runs; never bake it into the image.',
          '# Credentials come from the cloud’s own chain (an instance role, workload identity, env):',
          '#   docker run -v "$PWD/defstate-home:/etc/defstate:ro" -e DEFSTATE_HOME=/etc/defstate <image>',
          '# States put in the tree by `defstate pull` before the build need no store at all.',
        ]
      : [
          '# Every component is local, so its state is in the image: no DEFSTATE_HOME at run time.',
        ]),
    `USER ${user}`,
    `CMD ${execForm(command)}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function renderDockerignore(): string {
  return [
    '# Written by `defstate scaffold dockerfile`. Never add .local_defs_state/ here: the image',
    '# must carry the refreshed state. Only its scratch folder stays out, and the record of the',
    '# last refresh: status pages on the build machine read it, the app never does, and a failed',
    "# component's error message in it may quote more than an image should hold.",
    '.local_defs_state/.staging',
    '.local_defs_state/.last-refresh.json',
    'node_modules',
    '.git',
    '.github',
    'Dockerfile',
    '.dockerignore',
    'npm-debug.log*',
    'yarn-error.log',
    '.env',
    '.env.*',
    '',
  ].join('\n');
}

function packageManagerSetup(pm: PackageManager, nodeMajor: number): string[] {
  if (pm.name === 'npm' || pm.name === 'bun') return [];
  // corepack ships with Node.js up to 24 and installs the version `packageManager` names.
  return nodeMajor <= 24
    ? ['RUN corepack enable']
    : ['RUN npm install --global corepack && corepack enable'];
}

function productionInstall(pm: PackageManager, frozen: boolean): string {
  switch (pm.name) {
    case 'pnpm':
      return frozen ? 'pnpm install --prod --frozen-lockfile' : 'pnpm install --prod';
    case 'yarn':
      if (pm.yarnBerry) return 'yarn workspaces focus --all --production';
      return frozen ? 'yarn install --production --frozen-lockfile' : 'yarn install --production';
    case 'bun':
      return frozen ? 'bun install --production --frozen-lockfile' : 'bun install --production';
    default:
      return frozen ? 'npm ci --omit=dev' : 'npm install --omit=dev';
  }
}

/** A Dockerfile exec form: `["node", "app.mjs"]`. */
function execForm(args: readonly string[]): string {
  return `[${args.map((arg) => JSON.stringify(arg)).join(', ')}]`;
}

/**
 * How the container starts the app: `--cmd` when given; else the `start` script, run directly when
 * it is a plain command (so the app, not npm, gets the container's signals) or through the package
 * manager when it uses the shell; else `main`. `undefined` when the project says nothing.
 */
export function startCommand(
  facts: ProjectFacts,
  cmd: string | undefined,
): readonly string[] | undefined {
  const bun = facts.packageManager.name === 'bun';
  if (cmd !== undefined) return splitCommand(cmd) ?? ['sh', '-c', cmd];
  if (facts.start && 'script' in facts.start) {
    const direct = splitCommand(facts.start.script);
    if (direct && ['node', 'bun'].includes(direct[0] as string)) return direct;
    return bun ? ['bun', 'run', 'start'] : ['npm', 'start'];
  }
  if (facts.start && 'main' in facts.start) return [bun ? 'bun' : 'node', facts.start.main];
  return undefined;
}

/** A command line split into words, or `undefined` when it needs a shell (quotes, `&&`, `$`…). */
function splitCommand(line: string): string[] | undefined {
  if (/["'`$&|;<>()\\*?~\n]/.test(line)) return undefined;
  const words = line.trim().split(/\s+/).filter(Boolean);
  return words.length ? words : undefined;
}
