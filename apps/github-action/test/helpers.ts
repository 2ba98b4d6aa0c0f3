// Runs the built bundle the way the GitHub runner does: Node 24 on dist/index.js, every input of
// action.yml as an INPUT_* variable (with its default when not given), and the runner's files
// (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, RUNNER_TEMP) in a throwaway folder.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputVariable } from '../src/runner.js';

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = join(PACKAGE_ROOT, 'dist', 'index.js');
/** The Node 24 the `node` npm package provides: what `runs.using: node24` runs. */
export const NODE24 = join(PACKAGE_ROOT, 'node_modules', '.bin', 'node');

const requireHere = createRequire(join(PACKAGE_ROOT, 'package.json'));
/** Where a package of this workspace lives, to "install" it into a test project by symlink. */
export const packageFolder = (name: string) => dirname(requireHere.resolve(`${name}/package.json`));

/** action.yml's inputs and their defaults, read with the YAML parser core already depends on. */
async function actionInputs(): Promise<Record<string, { default?: string }>> {
  const requireFromCore = createRequire(join(packageFolder('@defstate/core'), 'package.json'));
  const { parse } = (await import(requireFromCore.resolve('yaml'))) as {
    parse: (text: string) => { inputs: Record<string, { default?: string }> };
  };
  return parse(await readFile(join(PACKAGE_ROOT, 'action.yml'), 'utf8')).inputs;
}

export interface Workspace {
  root: string;
  /** The project the action runs in (`working-directory` is relative to the workspace). */
  project: string;
  runnerTemp: string;
  files: { output: string; summary: string; env: string };
  cleanup: () => Promise<void>;
}

export async function createWorkspace(files: Record<string, string>): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), 'defstate-action-'));
  const project = join(root, 'workspace', 'app');
  const runnerTemp = join(root, 'runner-temp');
  const runnerFiles = join(root, 'runner-files');
  await Promise.all([
    mkdir(project, { recursive: true }),
    mkdir(runnerTemp, { recursive: true }),
    mkdir(runnerFiles, { recursive: true }),
    mkdir(join(root, 'home'), { recursive: true }),
  ]);
  await writeFile(
    join(project, 'package.json'),
    '{ "name": "action-test-app", "private": true }\n',
  );
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(project, name)), { recursive: true });
    await writeFile(join(project, name), content);
  }
  const output = join(runnerFiles, 'output');
  const summary = join(runnerFiles, 'summary.md');
  const env = join(runnerFiles, 'env');
  // The runner creates these files empty before each step.
  await Promise.all([output, summary, env].map((file) => writeFile(file, '')));
  return {
    root,
    project,
    runnerTemp,
    files: { output, summary, env },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** What `pnpm add @defstate/core @defstate/storage-s3` leaves in the project. */
export async function installPackages(workspace: Workspace, names: string[]): Promise<void> {
  await mkdir(join(workspace.project, 'node_modules', '@defstate'), { recursive: true });
  for (const name of names) {
    await symlink(packageFolder(name), join(workspace.project, 'node_modules', name), 'dir');
  }
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  exported: Record<string, string>;
  summary: string;
}

export async function runAction(
  workspace: Workspace,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run the build first.`);
  const declared = await actionInputs();
  for (const name of Object.keys(inputs)) {
    if (!(name in declared)) throw new Error(`action.yml declares no input "${name}"`);
  }
  const inputEnv = Object.fromEntries(
    Object.entries(declared).map(([name, spec]) => [
      inputVariable(name),
      inputs[name] ?? spec.default ?? '',
    ]),
  );
  const workspaceFolder = dirname(workspace.project);
  const result = await runBundle(workspaceFolder, {
    PATH: process.env.PATH,
    HOME: join(workspace.root, 'home'),
    XDG_STATE_HOME: join(workspace.root, 'home', 'state'),
    XDG_CACHE_HOME: join(workspace.root, 'home', 'cache'),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_WORKSPACE: workspaceFolder,
    RUNNER_TEMP: workspace.runnerTemp,
    GITHUB_OUTPUT: workspace.files.output,
    GITHUB_STEP_SUMMARY: workspace.files.summary,
    GITHUB_ENV: workspace.files.env,
    ...inputEnv,
    ...env,
  });
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: parseFileCommands(await readFile(workspace.files.output, 'utf8')),
    exported: parseFileCommands(await readFile(workspace.files.env, 'utf8')),
    summary: await readFile(workspace.files.summary, 'utf8'),
  };
}

function runBundle(cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(NODE24, [BUNDLE], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Reads `name<<delimiter` … `delimiter` entries the way the runner does. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (!line) continue;
    const heredoc = /^([^<=]+)<<(.+)$/.exec(line);
    if (!heredoc) throw new Error(`not a name<<delimiter line: ${JSON.stringify(line)}`);
    const [, name = '', delimiter] = heredoc;
    const body: string[] = [];
    for (index++; lines[index] !== delimiter; index++) {
      if (index >= lines.length) throw new Error(`no closing ${delimiter} for ${name}`);
      body.push(lines[index] ?? '');
    }
    values[name] = body.join('\n');
  }
  return values;
}

/** Every `::command props::message` line printed, unescaped. */
export function workflowCommands(stdout: string) {
  const unescapeCommand = (text: string) =>
    text
      .replace(/%0A/g, '\n')
      .replace(/%0D/g, '\r')
      .replace(/%3A/g, ':')
      .replace(/%2C/g, ',')
      .replace(/%25/g, '%');
  return stdout
    .split('\n')
    .map((line) => /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, command = '', props = '', message = '']) => ({
      command,
      properties: Object.fromEntries(
        props
          .split(',')
          .filter(Boolean)
          .map((pair) => {
            const [name = '', value = ''] = pair.split('=');
            return [name, unescapeCommand(value)];
          }),
      ) as Record<string, string>,
      message: unescapeCommand(message),
    }));
}
