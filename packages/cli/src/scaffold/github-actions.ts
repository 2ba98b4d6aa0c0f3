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

/** The Action the workflow runs, at its major tag. */
export const DEFSTATE_ACTION = 'defstate/defstate/apps/github-action@v0';
/** The repository secret that holds `defstate.yaml` for versioned state. */
export const INSTANCE_CONFIG_SECRET = 'DEFSTATE_INSTANCE_CONFIG';
/** Where the workflow goes, relative to the repository root. */
export const WORKFLOW_PATH = '.github/workflows/defstate.yml';
/** pnpm's major when the project pins none with `packageManager`. */
const DEFAULT_PNPM_MAJOR = '12';
/** The most components the header comment lists by name. */
const LISTED_COMPONENTS = 40;

export interface RenderOptions {
  /** Render the commented-out blocks as live YAML, so tests can lint them too. */
  examplesActive?: boolean;
}

/**
 * `.github/workflows/defstate.yml`: check out, install, refresh with pin and verify (the Action),
 * then build the Docker image from the refreshed folder. The workflow sits at the repository root
 * (GitHub reads workflows nowhere else) and works in the project's folder. A failed refresh or
 * check fails its step, so the image is never built on stale or missing state.
 */
export function renderWorkflow(facts: ProjectFacts, options: RenderOptions = {}): string {
  const active = options.examplesActive === true;
  const repoRoot = facts.gitRoot ?? facts.root;
  const fromRepo = (path: string) => relativePath(repoRoot, path);
  const projectDir = fromRepo(facts.root);
  const installDir = fromRepo(facts.packageManager.installRoot);
  const versioned = facts.components.filter(({ management }) => management === 'versioned');
  const pm = facts.packageManager;

  const header = [
    '# Refreshes the state of this project’s state-backed components, pins the versions it',
    '# produced into .local_defs_state/ and checks them, then builds the Docker image that carries',
    '# them. A failed refresh or check fails the job before the image is built, so nothing ships',
    '# with stale or missing state.',
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
          '# defstate.yaml (Settings → Secrets and variables → Actions), and let the job log in to',
          '# your cloud below (OIDC: no long-lived keys).',
        ]
      : []),
  ];

  const steps: string[] = [
    '- name: Check out',
    '  uses: actions/checkout@v6',
    '',
    ...toolchainSteps(facts, fromRepo),
    '- name: Install dependencies',
    `  run: ${ciInstall(pm)}`,
    ...(installDir !== projectDir ? [`  working-directory: ${yamlScalar(installDir)}`] : []),
    '',
    ...(versioned.length ? [...cloudLogin(facts.adapters, active), ''] : []),
    '- name: Refresh, pin and verify state',
    `  uses: ${DEFSTATE_ACTION}`,
    '  with:',
    ...(projectDir === '.' ? [] : [`    working-directory: ${yamlScalar(projectDir)}`]),
    '    pin: true',
    '    verify: true',
    ...(versioned.length
      ? [
          '    # defstate.yaml (where versioned state lives). The Action writes it to a private',
          '    # DEFSTATE_HOME for this job only and never prints it.',
          `    instance-config: \${{ secrets.${INSTANCE_CONFIG_SECRET} }}`,
        ]
      : []),
    '',
    ...(versioned.length ? [...pullStep(facts, active), ''] : []),
    '# The image is built from the checked-out folder, not from the Git context: git ignores',
    '# .local_defs_state/, and the image must carry it.',
    '- name: Set up Docker Buildx',
    '  uses: docker/setup-buildx-action@v4',
    '- name: Build the image',
    '  uses: docker/build-push-action@v7',
    '  with:',
    `    context: ${yamlScalar(projectDir)}`,
    '    # To publish it, log in first (docker/login-action) and set push: true with your',
    `    # registry’s tag, e.g. ghcr.io/${expression('github.repository')}:${expression('github.sha')}.`,
    '    push: false',
    `    tags: ${facts.imageName}:\${{ github.sha }}`,
  ];

  const lines = [
    ...header,
    'name: defstate',
    '',
    'on:',
    '  push:',
    `    branches: [${facts.branch}]`,
    '  workflow_dispatch:',
    '  # Refresh on a schedule too, so state stays fresh between pushes:',
    ...optional(['schedule:', "  - cron: '0 5 * * *'"], '  ', active),
    '',
    'permissions:',
    '  contents: read',
    ...(versioned.length
      ? ['  id-token: write # lets the cloud login steps below use OIDC (short-lived credentials)']
      : []),
    '',
    '# One deploy per branch at a time; a newer push waits instead of cancelling a refresh',
    '# half-way.',
    'concurrency:',
    `  group: defstate-\${{ github.ref }}`,
    '  cancel-in-progress: false',
    '',
    'jobs:',
    '  refresh-and-build:',
    '    runs-on: ubuntu-latest',
    ...(projectDir === '.'
      ? []
      : ['    defaults:', '      run:', `        working-directory: ${yamlScalar(projectDir)}`]),
    '    steps:',
    ...indented(steps, '      '),
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

/** OIDC logins, commented out: for the clouds whose adapter the project uses, else all three. */
function cloudLogin(adapters: readonly string[], active: boolean): string[] {
  const clouds = adapters.length ? adapters : ['s3', 'gcs', 'azure'];
  const blocks: Record<string, string[]> = {
    s3: [
      '- name: Log in to AWS',
      '  uses: aws-actions/configure-aws-credentials@v6',
      '  with:',
      '    role-to-assume: arn:aws:iam::123456789012:role/defstate-ci',
      '    aws-region: us-east-1',
    ],
    gcs: [
      '- name: Log in to Google Cloud',
      '  uses: google-github-actions/auth@v3',
      '  with:',
      '    workload_identity_provider: projects/123456789/locations/global/workloadIdentityPools/github/providers/my-repo',
      '    service_account: defstate-ci@my-project.iam.gserviceaccount.com',
    ],
    azure: [
      '- name: Log in to Azure',
      '  uses: azure/login@v3',
      '  with:',
      `    client-id: ${expression('vars.AZURE_CLIENT_ID')}`,
      `    tenant-id: ${expression('vars.AZURE_TENANT_ID')}`,
      `    subscription-id: ${expression('vars.AZURE_SUBSCRIPTION_ID')}`,
    ],
  };
  return [
    '# Versioned state lives in your cloud store. defstate takes credentials from the cloud’s own',
    '# chain, so logging in here is all it needs: uncomment the step for your cloud and put in',
    '# your role or identity (it must be allowed to read and write the bucket or container).',
    ...clouds.flatMap((cloud) => optional(blocks[cloud] ?? [], '', active)),
  ];
}

/** Optional: bake the pinned versioned states into the image, so it needs no store at run time. */
function pullStep(facts: ProjectFacts, active: boolean): string[] {
  return [
    '# To ship the pinned versioned states inside the image (no store access at run time),',
    '# uncomment this step: `defstate pull` downloads them into .local_defs_state/, using the',
    `# DEFSTATE_HOME the Action exported.${facts.hasCli ? '' : ' It needs @defstate/cli in your devDependencies.'}`,
    ...optional(
      [
        '- name: Put the pinned versioned states into the image',
        `  run: ${execDefstate(facts.packageManager)} pull`,
      ],
      '',
      active,
    ),
  ];
}
