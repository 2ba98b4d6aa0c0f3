import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  devOnlyDependencyWarning,
  devOnlyRuntimeDependencies,
  resolveStorage,
  UsageError,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { warningMessage } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import {
  dockerInstallFiles,
  renderDockerfile,
  renderDockerignore,
  startCommand,
} from '../scaffold/dockerfile.js';
import { exists } from '../scaffold/files.js';
import {
  CLOUD_VARIABLES,
  CLOUDS,
  type Cloud,
  INSTANCE_CONFIG_SECRET,
  type RenderOptions,
  renderWorkflow,
  STATUS_PAGE,
  WORKFLOW_PATH,
} from '../scaffold/github-actions.js';
import { type ProjectFacts, readProjectFacts, relativePath } from '../scaffold/project-facts.js';

export interface ScaffoldCommandOptions {
  project?: string;
  force?: boolean;
  stdout?: boolean;
  /** github-actions: the cloud to log in to by OIDC, or `none`. */
  cloud?: string;
  /** github-actions: the Action's tag or commit SHA. */
  actionRef?: string;
  /** github-actions: put the pinned versioned states into the image. */
  pull?: boolean;
  /** dockerfile: the command the container runs. */
  cmd?: string;
  /** github-actions: refresh in this many shards (a matrix), then merge and build once. */
  shards?: number;
}

export const SCAFFOLD_TARGETS = ['github-actions', 'dockerfile'] as const;

interface GeneratedFile {
  path: string;
  content: string;
}

/**
 * `defstate scaffold <github-actions|dockerfile>`: writes a starting point made for the project
 * (its package manager, Node.js version and components). Never overwrites a file without
 * `--force`; `--stdout` prints instead of writing.
 */
export async function scaffoldCommand(
  what: string,
  options: ScaffoldCommandOptions,
): Promise<number> {
  if (!(SCAFFOLD_TARGETS as readonly string[]).includes(what)) {
    throw new UsageError(`Unknown scaffold "${what}".`, {
      hint: `Choose one of: ${SCAFFOLD_TARGETS.join(', ')}.`,
    });
  }
  const facts = await readProjectFacts(options.project);
  const render = what === 'github-actions' ? await workflowOptions(facts, options) : undefined;
  const files = render ? workflowFiles(facts, render) : await dockerFiles(facts, options.cmd);

  if (options.stdout) {
    const several = files.length > 1;
    for (const file of files) {
      if (several) process.stdout.write(`# ==> ${relative(process.cwd(), file.path)} <==\n`);
      process.stdout.write(file.content);
    }
  } else {
    const existing: string[] = [];
    for (const file of files) if (await exists(file.path)) existing.push(file.path);
    if (existing.length && !options.force) {
      throw new UsageError(
        `${existing.join(' and ')} already ${existing.length === 1 ? 'exists' : 'exist'}; nothing was written.`,
        { hint: 'Pass --force to overwrite, or --stdout to print the new content instead.' },
      );
    }
    for (const file of files) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content);
    }
  }
  await report(facts, what, files, options.stdout === true, render);
  if (what === 'dockerfile') await warnDevOnlyDependencies(facts);
  return ExitCode.ok;
}

const ACTION_REF = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

async function workflowOptions(
  facts: ProjectFacts,
  options: ScaffoldCommandOptions,
): Promise<RenderOptions> {
  if (options.actionRef !== undefined && !ACTION_REF.test(options.actionRef)) {
    throw new UsageError(
      `--action-ref "${options.actionRef}" is not a tag, branch or commit SHA.`,
      {
        hint: 'For example --action-ref v0, or a full 40-character commit SHA.',
      },
    );
  }
  let cloud: Cloud | undefined;
  if (options.cloud !== undefined) {
    if (options.cloud !== 'none' && !(options.cloud in CLOUDS)) {
      throw new UsageError(`Unknown cloud "${options.cloud}".`, {
        hint: 'Use --cloud aws, gcp, azure or none.',
      });
    }
    cloud = options.cloud === 'none' ? undefined : (options.cloud as Cloud);
  } else {
    // The cloud of the one adapter the project depends on; with none or several, the user says.
    const clouds = (Object.keys(CLOUDS) as Cloud[]).filter((name) =>
      facts.adapters.includes(CLOUDS[name]),
    );
    cloud = clouds.length === 1 ? clouds[0] : undefined;
  }
  if (options.shards !== undefined && (options.shards < 2 || options.shards > 256)) {
    throw new UsageError(`--shards ${options.shards}: a matrix needs 2 to 256 shards.`, {
      hint: 'Leave --shards out for one job that refreshes every component.',
    });
  }
  return {
    cloud,
    actionRef: options.actionRef,
    pull: options.pull === true,
    cliVersion: await cliVersion(),
    ...(options.shards ? { shards: options.shards } : {}),
  };
}

async function cliVersion(): Promise<string> {
  const manifest = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

function workflowFiles(facts: ProjectFacts, render: RenderOptions): GeneratedFile[] {
  return [
    {
      path: join(facts.gitRoot ?? facts.root, WORKFLOW_PATH),
      content: renderWorkflow(facts, render),
    },
  ];
}

async function dockerFiles(facts: ProjectFacts, cmd: string | undefined): Promise<GeneratedFile[]> {
  const installFiles = await dockerInstallFiles(facts);
  if (!installFiles.includes('package.json')) {
    throw new UsageError(`${join(facts.root, 'package.json')} does not exist.`, {
      hint: 'The Dockerfile installs the project’s dependencies from its package.json: add one (npm init), then scaffold again.',
    });
  }
  const command = startCommand(facts, cmd);
  if (!command) {
    throw new UsageError(
      `${join(facts.root, 'package.json')} has neither a "start" script nor "main", so the image would not know how to start the app; nothing was written.`,
      {
        hint: 'Pass the command: defstate scaffold dockerfile --cmd "node server.js" (or add a "start" script).',
      },
    );
  }
  return [
    {
      path: join(facts.root, 'Dockerfile'),
      content: renderDockerfile(facts, installFiles, command),
    },
    { path: join(facts.root, '.dockerignore'), content: renderDockerignore() },
  ];
}

/** The image installs without devDependencies: say so when the app's run-time ones are there. */
async function warnDevOnlyDependencies(facts: ProjectFacts): Promise<void> {
  const versioned = facts.components.some(({ management }) => management === 'versioned');
  const selection = versioned
    ? await resolveStorage({ cwd: facts.root }).catch(() => undefined)
    : undefined;
  // Without an instance config here, the adapter the project depends on is the one it uses.
  const adapter =
    selection && selection.source !== 'default' ? selection.adapter : facts.adapters[0];
  for (const dependency of await devOnlyRuntimeDependencies(facts.root, { adapter, versioned })) {
    warningMessage(devOnlyDependencyWarning(dependency));
  }
}

/** What was detected and what is left to do; on stderr when the file went to stdout. */
async function report(
  facts: ProjectFacts,
  what: string,
  files: GeneratedFile[],
  toStdout: boolean,
  render: RenderOptions | undefined,
): Promise<void> {
  const terminal = terminalFor(toStdout ? process.stderr : process.stdout);
  const pm = facts.packageManager;
  const versioned = facts.components.some(({ management }) => management === 'versioned');
  const lines: string[] = [];
  if (!toStdout) {
    for (const file of files) {
      lines.push(`${paint(terminal, 'green', '✓')} wrote ${relative(process.cwd(), file.path)}`);
    }
  }
  const byWhat = {
    packageManager: 'packageManager in package.json',
    lockfile: `${pm.lockfile ? relativePath(facts.root, pm.lockfile) : 'lockfile'}`,
    default: 'no lockfile or packageManager found',
  }[pm.source];
  lines.push(
    `  package manager: ${pm.name}${pm.version ? ` ${pm.version}` : ''} (${byWhat})`,
    `  components: ${facts.components.length} (${facts.components.filter((c) => c.management === 'local').length} local, ${facts.components.filter((c) => c.management === 'versioned').length} versioned)`,
  );
  if (what === 'github-actions') {
    if (!facts.gitRoot) {
      lines.push(
        `${paint(terminal, 'yellow', 'note')} ${facts.root} is not in a git repository: the workflow went to the project folder. GitHub reads workflows only from .github/workflows/ at the repository root; if the project becomes a sub-folder, scaffold again from there.`,
      );
    } else if (facts.gitRoot !== facts.root) {
      lines.push(
        `  the workflow is at the repository root (GitHub reads it only there) and works in ${relativePath(facts.gitRoot, facts.root)}/`,
      );
    }
    if (versioned) {
      lines.push(
        `Next: add the repository secret ${INSTANCE_CONFIG_SECRET} (your defstate.yaml).`,
        render?.cloud
          ? `  and the repository variables ${CLOUD_VARIABLES[render.cloud].join(', ')} for the ${render.cloud} login (OIDC).`
          : '  No cloud login was written: pass --cloud aws, gcp or azure to add one (the project depends on no single adapter).',
      );
    }
    if (!facts.hasCli) {
      lines.push(
        `  The status page step runs @defstate/cli with npx; add it to devDependencies to pin it with your lockfile (then it writes ${STATUS_PAGE} with your own).`,
      );
    }
    const dockerfile = join(facts.root, 'Dockerfile');
    if (!(await exists(dockerfile))) {
      lines.push(
        `The workflow builds ${relative(process.cwd(), dockerfile)}, which does not exist yet: \`defstate scaffold dockerfile\` writes one.`,
      );
    }
  } else {
    lines.push(`  base image: Node.js ${facts.node.imageTag} (${facts.node.source})`);
    if (versioned) {
      lines.push(
        'At run time, mount your DEFSTATE_HOME folder and set DEFSTATE_HOME (see the comment in the Dockerfile).',
      );
    }
  }
  for (const line of lines) terminal.line(line);
}
