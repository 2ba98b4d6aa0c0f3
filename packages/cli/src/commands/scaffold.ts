import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { UsageError } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { paint, terminalFor } from '../output/terminal.js';
import {
  dockerInstallFiles,
  renderDockerfile,
  renderDockerignore,
} from '../scaffold/dockerfile.js';
import { exists } from '../scaffold/files.js';
import {
  INSTANCE_CONFIG_SECRET,
  renderWorkflow,
  WORKFLOW_PATH,
} from '../scaffold/github-actions.js';
import { type ProjectFacts, readProjectFacts, relativePath } from '../scaffold/project-facts.js';

export interface ScaffoldCommandOptions {
  project?: string;
  force?: boolean;
  stdout?: boolean;
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
  const files = what === 'github-actions' ? workflowFiles(facts) : await dockerFiles(facts);

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
  await report(facts, what, files, options.stdout === true);
  return ExitCode.ok;
}

function workflowFiles(facts: ProjectFacts): GeneratedFile[] {
  return [
    {
      path: join(facts.gitRoot ?? facts.root, WORKFLOW_PATH),
      content: renderWorkflow(facts),
    },
  ];
}

async function dockerFiles(facts: ProjectFacts): Promise<GeneratedFile[]> {
  const installFiles = await dockerInstallFiles(facts);
  if (!installFiles.includes('package.json')) {
    throw new UsageError(`${join(facts.root, 'package.json')} does not exist.`, {
      hint: 'The Dockerfile installs the project’s dependencies from its package.json: add one (npm init), then scaffold again.',
    });
  }
  return [
    { path: join(facts.root, 'Dockerfile'), content: renderDockerfile(facts, installFiles) },
    { path: join(facts.root, '.dockerignore'), content: renderDockerignore() },
  ];
}

/** What was detected and what is left to do; on stderr when the file went to stdout. */
async function report(
  facts: ProjectFacts,
  what: string,
  files: GeneratedFile[],
  toStdout: boolean,
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
        `Next: add the repository secret ${INSTANCE_CONFIG_SECRET} (your defstate.yaml), and uncomment the cloud login step for your store.`,
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
