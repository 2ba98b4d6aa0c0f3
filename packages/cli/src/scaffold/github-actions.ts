import { shardedJobs } from './github-actions-shards.js';
import { type ProjectFacts, relativePath } from './project-facts.js';
import {
  ciInstall,
  commentSafe,
  execDefstate,
  expression,
  indented,
  optional,
  yamlScalar,
} from './text.js';

/** The Action the workflow runs, without its ref. */
export const DEFSTATE_ACTION_PATH = 'defstate/defstate/apps/github-action';
/** The ref the workflow uses unless told otherwise: the Action's major tag. */
export const DEFAULT_ACTION_REF = 'v0';
/** The Action at its default ref. */
export const DEFSTATE_ACTION = `${DEFSTATE_ACTION_PATH}@${DEFAULT_ACTION_REF}`;
/** The repository secret that holds `defstate.yaml` for versioned state. */
export const INSTANCE_CONFIG_SECRET = 'DEFSTATE_INSTANCE_CONFIG';
/** Where the workflow goes, relative to the repository root. */
export const WORKFLOW_PATH = '.github/workflows/defstate.yml';
/** The status page the deploy job writes and uploads, in the project folder. */
export const STATUS_PAGE = 'defstate-status.html';
/** pnpm's major when the project pins none with `packageManager`. */
const DEFAULT_PNPM_MAJOR = '12';
/** The most components the header comment lists by name. */
const LISTED_COMPONENTS = 40;

/** Clouds the workflow can log in to by OIDC, and the adapter each serves. */
export const CLOUDS = { aws: 's3', gcp: 'gcs', azure: 'azure' } as const;
export type Cloud = keyof typeof CLOUDS;

export interface RenderOptions {
  /** The cloud to log in to by OIDC; none when absent. */
  cloud?: Cloud;
  /** The Action's tag, branch or commit SHA. */
  actionRef?: string;
  /** Put the pinned versioned states into the image with `defstate pull`. */
  pull?: boolean;
  /** The CLI version to run with npx when the project does not depend on @defstate/cli. */
  cliVersion?: string;
  /** Render the commented-out schedule as live YAML, so tests can lint it too. */
  examplesActive?: boolean;
  /**
   * Refresh in this many shards, a matrix of jobs, and build the image in one job after them that
   * merges the shards' pins. Absent (or 1): one job refreshes everything.
   */
  shards?: number;
}

/** The repository variables each cloud's login reads, for the "next" list. */
export const CLOUD_VARIABLES: Readonly<Record<Cloud, readonly string[]>> = {
  aws: ['AWS_ROLE_ARN', 'AWS_REGION'],
  gcp: ['GCP_WORKLOAD_IDENTITY_PROVIDER', 'GCP_SERVICE_ACCOUNT'],
  azure: ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID'],
};

/**
 * `.github/workflows/defstate.yml`, with two jobs:
 * - on a pull request, `check` refreshes every component into a scratch store on the runner and
 *   verifies, so a broken component fails the pull request; it publishes nothing and needs no
 *   credentials (a fork's pull request has none);
 * - otherwise `refresh-and-build` logs in to the cloud by OIDC when versioned state needs it,
 *   refreshes with pin and verify (the Action), writes the status page as an artefact, and builds
 *   the Docker image from the refreshed folder with layer caching.
 * The workflow sits at the repository root (GitHub reads workflows nowhere else) and works in the
 * project's folder. A failed refresh or check fails its step, so no image is built on stale or
 * missing state.
 */
export function renderWorkflow(facts: ProjectFacts, options: RenderOptions = {}): string {
  const active = options.examplesActive === true;
  const repoRoot = facts.gitRoot ?? facts.root;
  const fromRepo = (path: string) => relativePath(repoRoot, path);
  const projectDir = fromRepo(facts.root);
  const installDir = fromRepo(facts.packageManager.installRoot);
  const versioned = facts.components.filter(({ management }) => management === 'versioned');
  const pm = facts.packageManager;
  const cloud = versioned.length ? options.cloud : undefined;
  const actionRef = options.actionRef ?? DEFAULT_ACTION_REF;
  const defstate = facts.hasCli
    ? execDefstate(pm)
    : `npx --yes @defstate/cli@${options.cliVersion ?? 'latest'}`;

  const header = [
    '# Refreshes the state of this project’s state-backed components, pins the versions it',
    '# produced into .local_defs_state/ and checks them, then builds the Docker image that carries',
    '# them. A failed refresh or check fails the job before the image is built, so nothing ships',
    '# with stale or missing state. On a pull request it only checks that every component',
    '# refreshes, into a scratch store on the runner: nothing is published.',
    ...(options.shards && options.shards > 1
      ? [
          '#',
          `# The refresh is sharded across ${options.shards} jobs of a matrix: each refreshes and pins its part`,
          '# of the components (balanced by their last refresh durations), and the build job merges',
          '# the shards’ pins into one pin file and builds the image once, from the union.',
        ]
      : []),
    '#',
    '# Written by `defstate scaffold github-actions`; edit freely.',
    ...(projectDir === '.'
      ? []
      : [`# GitHub reads workflows only at the repository root: this one runs in ${projectDir}/.`]),
    '#',
    `# Components (${fromRepo(facts.configFile)}):`,
    ...componentLines(facts.components),
    ...(versioned.length
      ? [
          '#',
          `# Versioned state: add the repository secret ${INSTANCE_CONFIG_SECRET} holding your`,
          '# defstate.yaml (Settings → Secrets and variables → Actions).',
          ...(cloud
            ? [
                `# The job logs in to your cloud by OIDC (no long-lived keys) with the repository`,
                `# variables ${CLOUD_VARIABLES[cloud].join(', ')}.`,
              ]
            : []),
        ]
      : []),
  ];

  const setup = [
    '- name: Check out',
    '  uses: actions/checkout@v6',
    '',
    ...toolchainSteps(facts, fromRepo),
    '- name: Install dependencies',
    `  run: ${ciInstall(pm)}`,
    ...(installDir !== projectDir ? [`  working-directory: ${yamlScalar(installDir)}`] : []),
    '',
  ];
  const action = [
    ...(/^[0-9a-f]{40}$/.test(actionRef)
      ? []
      : [
          '# For an immutable reference, pin a commit SHA:',
          '# defstate scaffold github-actions --action-ref <commit sha>',
        ]),
    `  uses: ${DEFSTATE_ACTION_PATH}@${actionRef}`,
    '  with:',
    ...(projectDir === '.' ? [] : [`    working-directory: ${yamlScalar(projectDir)}`]),
  ];
  // The comment lines above `uses:` belong before the step's name: move them up.
  const actionComments = action.filter((line) => line.startsWith('#'));
  const actionStep = (name: string, inputs: string[]) => [
    ...actionComments,
    `- name: ${name}`,
    ...action.filter((line) => !line.startsWith('#')),
    ...inputs,
  ];

  const checkSteps = [
    ...setup,
    ...actionStep('Refresh into a scratch store and verify', [
      '    # A store on the runner, gone with it: nothing is published from a pull request.',
      `    storage-url: file://${expression('runner.temp')}/defstate-scratch`,
      '    verify: true',
    ]),
  ];

  const pullSteps =
    versioned.length && options.pull
      ? [
          '# The pinned versioned states go into the image too: it starts with no store access.',
          '- name: Put the pinned versioned states into the image',
          `  run: ${defstate} pull`,
          '',
        ]
      : [];
  // After the state is pinned: the status page, then the image built from the project folder.
  const buildSteps = [
    ...pullSteps,
    '# The status page as one file, kept with the run (also when a step above failed).',
    '- name: Write the status page',
    `  if: \${{ !cancelled() }}`,
    `  run: ${defstate} status --html ${STATUS_PAGE}`,
    '- name: Upload the status page',
    `  if: \${{ !cancelled() }}`,
    '  uses: actions/upload-artifact@v4',
    '  with:',
    '    name: defstate-status',
    `    path: ${yamlScalar(projectDir === '.' ? STATUS_PAGE : `${projectDir}/${STATUS_PAGE}`)}`,
    '',
    '# The image is built from the checked-out folder, not from the Git context: git ignores',
    '# .local_defs_state/, and the image must carry it. Layers are cached between runs.',
    '- name: Set up Docker Buildx',
    '  uses: docker/setup-buildx-action@v4',
    '- name: Build the image',
    '  uses: docker/build-push-action@v7',
    '  with:',
    `    context: ${yamlScalar(projectDir)}`,
    '    cache-from: type=gha',
    '    cache-to: type=gha,mode=max',
    '    # To publish it, log in first (docker/login-action) and set push: true with your',
    `    # registry’s tag, e.g. ghcr.io/${expression('github.repository')}:${expression('github.sha')}.`,
    '    push: false',
    `    tags: ${facts.imageName}:\${{ github.sha }}`,
  ];
  const instanceConfigInput = versioned.length
    ? [
        '    # defstate.yaml (where versioned state lives). The Action writes it to a private',
        '    # DEFSTATE_HOME for this job and its later steps, and never prints it.',
        `    instance-config: \${{ secrets.${INSTANCE_CONFIG_SECRET} }}`,
      ]
    : [];
  const login = cloud ? [...cloudLogin(cloud), ''] : [];

  const deploySteps = [
    ...setup,
    ...login,
    ...actionStep('Refresh, pin and verify state', [
      '    pin: true',
      '    verify: true',
      ...instanceConfigInput,
    ]),
    '',
    ...buildSteps,
  ];

  const defaults =
    projectDir === '.'
      ? []
      : ['    defaults:', '      run:', `        working-directory: ${yamlScalar(projectDir)}`];
  const cloudPermissions = cloud
    ? [
        '    permissions:',
        '      contents: read',
        '      id-token: write # the cloud login below uses OIDC (short-lived credentials)',
      ]
    : [];
  const lines = [
    ...header,
    'name: defstate',
    '',
    'on:',
    '  push:',
    `    branches: [${facts.branch}]`,
    '  pull_request:',
    '  workflow_dispatch:',
    '  # Refresh on a schedule too, so state stays fresh between pushes:',
    ...optional(['schedule:', "  - cron: '0 5 * * *'"], '  ', active),
    '',
    'permissions:',
    '  contents: read',
    '',
    '# One deploy per branch at a time; a newer push waits instead of cancelling a refresh',
    '# half-way. A pull request’s newer push does cancel its older check.',
    'concurrency:',
    `  group: defstate-\${{ github.ref }}`,
    `  cancel-in-progress: \${{ github.event_name == 'pull_request' }}`,
    '',
    'jobs:',
    ...(options.shards && options.shards > 1
      ? shardedJobs({
          shards: options.shards,
          projectDir,
          setup,
          login,
          defaults,
          cloudPermissions,
          actionStep,
          instanceConfigInput,
          buildSteps,
        })
      : [
          '  check:',
          "    if: github.event_name == 'pull_request'",
          '    runs-on: ubuntu-latest',
          ...defaults,
          '    steps:',
          ...indented(checkSteps, '      '),
          '',
          '  refresh-and-build:',
          "    if: github.event_name != 'pull_request'",
          '    runs-on: ubuntu-latest',
          ...cloudPermissions,
          ...defaults,
          '    steps:',
          ...indented(deploySteps, '      '),
        ]),
  ];
  return `${lines.map((line) => line.trimEnd()).join('\n')}\n`;
}

function componentLines(components: ProjectFacts['components']): string[] {
  if (!components.length) return ['#   (none declared yet)'];
  const shown = components.slice(0, LISTED_COMPONENTS);
  const width = Math.max(...shown.map(({ key }) => commentSafe(key).length));
  const lines = shown.map(
    ({ key, management }) => `#   ${commentSafe(key).padEnd(width)}  ${management}`,
  );
  if (components.length > shown.length) {
    lines.push(`#   … and ${components.length - shown.length} more`);
  }
  return lines;
}

/** The package manager and Node.js, with the dependency cache keyed on the lockfile. */
function toolchainSteps(facts: ProjectFacts, fromRepo: (path: string) => string): string[] {
  const { packageManager: pm, node } = facts;
  const declaredAway =
    pm.declaredIn !== undefined && fromRepo(pm.declaredIn) !== 'package.json'
      ? fromRepo(pm.declaredIn)
      : undefined;
  if (pm.name === 'bun') {
    return [
      '- name: Set up Bun',
      '  uses: oven-sh/setup-bun@v2',
      ...(pm.declaredIn
        ? ['  with:', `    bun-version-file: ${yamlScalar(fromRepo(pm.declaredIn))}`]
        : []),
      '',
    ];
  }
  const steps: string[] = [];
  if (pm.name === 'pnpm') {
    const inputs = [
      ...(declaredAway ? [`    package_json_file: ${yamlScalar(declaredAway)}`] : []),
      ...(pm.version
        ? []
        : [
            '    # Or pin it in package.json: "packageManager": "pnpm@<version>".',
            `    version: ${DEFAULT_PNPM_MAJOR}`,
          ]),
    ];
    steps.push(
      '- name: Set up pnpm',
      '  uses: pnpm/action-setup@v4',
      ...(inputs.length ? ['  with:', ...inputs] : []),
    );
  }
  if (pm.name === 'yarn' && pm.yarnBerry) {
    // Before setup-node: its yarn cache asks `yarn` for the cache folder, and only corepack's
    // yarn honours the project's version.
    steps.push('- name: Enable corepack (Yarn 2+)', '  run: corepack enable');
  }
  const lockfile = pm.lockfile ? fromRepo(pm.lockfile) : undefined;
  steps.push(
    '- name: Set up Node.js',
    '  uses: actions/setup-node@v6',
    '  with:',
    node.file
      ? `    node-version-file: ${yamlScalar(fromRepo(node.file))}`
      : `    node-version: ${node.imageTag}`,
    ...(lockfile
      ? [
          `    cache: ${pm.name}`,
          // setup-node looks for the lockfile at the repository root unless told otherwise.
          ...(lockfile.includes('/') ? [`    cache-dependency-path: ${yamlScalar(lockfile)}`] : []),
        ]
      : ['    package-manager-cache: false # no lockfile to key a cache on']),
    '',
  );
  return steps;
}

/** The OIDC login for one cloud; its values come from repository variables. */
function cloudLogin(cloud: Cloud): string[] {
  const vars = (name: string) => expression(`vars.${name}`);
  const blocks: Record<Cloud, string[]> = {
    aws: [
      '- name: Log in to AWS',
      '  uses: aws-actions/configure-aws-credentials@v6',
      '  with:',
      `    role-to-assume: ${vars('AWS_ROLE_ARN')}`,
      `    aws-region: ${vars('AWS_REGION')}`,
    ],
    gcp: [
      '- name: Log in to Google Cloud',
      '  uses: google-github-actions/auth@v3',
      '  with:',
      `    workload_identity_provider: ${vars('GCP_WORKLOAD_IDENTITY_PROVIDER')}`,
      `    service_account: ${vars('GCP_SERVICE_ACCOUNT')}`,
    ],
    azure: [
      '- name: Log in to Azure',
      '  uses: azure/login@v3',
      '  with:',
      `    client-id: ${vars('AZURE_CLIENT_ID')}`,
      `    tenant-id: ${vars('AZURE_TENANT_ID')}`,
      `    subscription-id: ${vars('AZURE_SUBSCRIPTION_ID')}`,
    ],
  };
  return [
    '# Versioned state lives in your cloud store, and defstate takes credentials from the cloud’s',
    '# own chain: this login is all it needs. The role or identity must be allowed to read and',
    '# write the bucket or container.',
    ...blocks[cloud],
  ];
}
