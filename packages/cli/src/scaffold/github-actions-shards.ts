import { expression, indented, yamlScalar } from './text.js';

/** What the single-job workflow and the sharded one share (see github-actions.ts). */
export interface ShardedJobsInput {
  shards: number;
  /** The project folder relative to the repository root (`.` at the root). */
  projectDir: string;
  /** Checkout, toolchain and install steps. */
  setup: string[];
  /** The cloud login steps, when versioned state needs one. */
  login: string[];
  /** `defaults.run.working-directory`, for a project in a sub-folder. */
  defaults: string[];
  /** The job permissions the cloud login needs. */
  cloudPermissions: string[];
  /** A step that runs the defstate Action with these `with:` lines. */
  actionStep: (name: string, inputs: string[]) => string[];
  /** The Action's `instance-config` input, when versioned state needs it. */
  instanceConfigInput: string[];
  /** Pull, the status page and the image build, after the pins are written. */
  buildSteps: string[];
}

/** The artifact each shard leaves for the build job: its .local_defs_state/ folder. */
export const SHARD_ARTIFACT_PREFIX = 'defstate-shard-';

/**
 * The jobs of `scaffold github-actions --shards n`:
 * - `check` (pull requests): a matrix of n jobs, each refreshing its shard of the components
 *   into a scratch store on its runner and verifying it;
 * - `refresh`: a matrix of n jobs, each refreshing and pinning its shard (a partial pin file),
 *   then keeping its `.local_defs_state/` as an artifact; `fail-fast: false` lets every shard
 *   finish and commit what it can, so a re-run of the failed ones redoes only their keys;
 * - `build`, after every shard succeeded: collects the shards' folders into one, merges their
 *   pins into the pin file (failing if a key is missing or pinned twice), verifies, and builds
 *   the image once, from the union.
 */
export function shardedJobs(input: ShardedJobsInput): string[] {
  const { shards, projectDir, setup, login, defaults, cloudPermissions, actionStep } = input;
  const matrix = [
    '    strategy:',
    '      # Every shard runs to its end: what it refreshed is committed, and re-running the',
    '      # failed shards of this run refreshes the same keys again (they share one plan).',
    '      fail-fast: false',
    '      matrix:',
    `        shard: [${Array.from({ length: shards }, (_, index) => index + 1).join(', ')}]`,
  ];
  const shard = `${expression('matrix.shard')}/${shards}`;
  const stateFolder = projectDir === '.' ? '.local_defs_state' : `${projectDir}/.local_defs_state`;

  const checkSteps = [
    ...setup,
    ...actionStep(
      `Refresh shard ${expression('matrix.shard')} of ${shards} into a scratch store and verify`,
      [
        '    # A store on the runner, gone with it: nothing is published from a pull request.',
        `    storage-url: file://${expression('runner.temp')}/defstate-scratch`,
        `    shard: ${shard}`,
        '    verify: true',
      ],
    ),
  ];
  const refreshSteps = [
    ...setup,
    ...login,
    ...actionStep(`Refresh and pin shard ${expression('matrix.shard')} of ${shards}`, [
      '    # Each key is in one shard, balanced by its last refresh duration; the shards of',
      '    # this run share one plan through the store. The pins go to a partial pin file.',
      `    shard: ${shard}`,
      '    pin: true',
      ...input.instanceConfigInput,
    ]),
    '',
    '# The shard’s local state and partial pin file, for the build job (git ignores the folder).',
    '- name: Keep this shard’s state for the build',
    '  uses: actions/upload-artifact@v4',
    '  with:',
    `    name: ${SHARD_ARTIFACT_PREFIX}${expression('matrix.shard')}`,
    '    path: |',
    `      ${stateFolder}/`,
    `      !${stateFolder}/.last-refresh.json`,
    '    include-hidden-files: true',
    '    if-no-files-found: error',
    '    retention-days: 1',
  ];
  const buildSteps = [
    ...setup,
    ...login,
    '# Every shard’s .local_defs_state/, merged into the project’s: local state and partial pins.',
    '- name: Collect the shards’ state',
    '  uses: actions/download-artifact@v4',
    '  with:',
    `    pattern: ${SHARD_ARTIFACT_PREFIX}*`,
    '    merge-multiple: true',
    `    path: ${yamlScalar(stateFolder)}`,
    '',
    ...actionStep('Merge the shards’ pins and verify', [
      '    # One pin file from every shard’s partial one; fails if a key is missing or pinned',
      '    # twice, so the image is never built from part of the state.',
      '    merge: true',
      '    verify: true',
      ...input.instanceConfigInput,
    ]),
    '',
    ...input.buildSteps,
  ];
  return [
    '  check:',
    "    if: github.event_name == 'pull_request'",
    '    runs-on: ubuntu-latest',
    ...matrix,
    ...defaults,
    '    steps:',
    ...indented(checkSteps, '      '),
    '',
    '  refresh:',
    "    if: github.event_name != 'pull_request'",
    '    runs-on: ubuntu-latest',
    ...cloudPermissions,
    ...matrix,
    ...defaults,
    '    steps:',
    ...indented(refreshSteps, '      '),
    '',
    '  build:',
    "    if: github.event_name != 'pull_request'",
    '    needs: refresh',
    '    runs-on: ubuntu-latest',
    ...cloudPermissions,
    ...defaults,
    '    steps:',
    ...indented(buildSteps, '      '),
  ];
}
