// Runs the built bundle the way the GitHub runner does: Node 24 on dist/index.js, every input of
// action.yml as an INPUT_* variable (with its default when not given), and the runner's files
// (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, RUNNER_TEMP) in a throwaway folder.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '../../../tools/testing/run-node.mjs';
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
  /** Gets the process, e.g. to stop it part way as a cancelled job is. */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void,
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
  const result = await runBundle(workspaceFolder, onSpawn, {
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

function runBundle(
  cwd: string,
  onSpawn: ((child: import('node:child_process').ChildProcess) => void) | undefined,
  env: NodeJS.ProcessEnv,
) {
  return runNode([BUNDLE], { cwd, env, node: NODE24, onSpawn });
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

// What the runner registers as commands (its command extensions, plus stop-commands).
const REGISTERED = [
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'stop-commands',
  'warning',
];

export interface RunnerCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

/**
 * The commands the runner would obey in this output, in order, read the way it reads them: each
 * line (split at `\n`, `\r\n` or a lone `\r`) is `::name props::data` once leading Unicode white
 * space is trimmed, or, in the legacy form, holds `##[name props]data` anywhere; names are
 * matched without regard to case; after `::stop-commands::token` only `::token::` is obeyed.
 */
export function workflowCommands(output: string): RunnerCommand[] {
  const registered = new Set(REGISTERED);
  const decode = (text: string, property: boolean) => {
    const decoded = text.replace(/%0A/g, '\n').replace(/%0D/g, '\r');
    const withProperty = property ? decoded.replace(/%3A/g, ':').replace(/%2C/g, ',') : decoded;
    return withProperty.replace(/%25/g, '%');
  };
  const parse = (line: string): RunnerCommand | undefined => {
    const trimmed = line.replace(/^\p{White_Space}+/u, '');
    let info: string | undefined;
    let data = '';
    let separator = ',';
    if (trimmed.startsWith('::') && trimmed.indexOf('::', 2) >= 0) {
      const end = trimmed.indexOf('::', 2);
      info = trimmed.slice(2, end);
      data = trimmed.slice(end + 2);
    } else if (line.includes('##[') && line.indexOf(']', line.indexOf('##[')) >= 0) {
      const start = line.indexOf('##[');
      const end = line.indexOf(']', start);
      info = line.slice(start + 3, end);
      data = line.slice(end + 1);
      separator = ';';
    }
    if (info === undefined) return undefined;
    const space = info.indexOf(' ');
    const command = (space < 0 ? info : info.slice(0, space)).toLowerCase();
    if (!registered.has(command)) return undefined;
    const properties: Record<string, string> = {};
    for (const pair of space < 0 ? [] : info.slice(space + 1).split(separator)) {
      const equals = pair.indexOf('=');
      if (equals > 0)
        properties[pair.slice(0, equals).trim()] = decode(pair.slice(equals + 1), true);
    }
    return { command, properties, message: decode(data, false) };
  };
  const obeyed: RunnerCommand[] = [];
  let stopToken: string | undefined;
  for (const line of output.split(/\r\n|\r|\n/)) {
    const command = parse(line);
    if (!command) continue;
    if (stopToken !== undefined) {
      if (command.command !== stopToken) continue;
      registered.delete(stopToken);
      stopToken = undefined;
    } else if (command.command === 'stop-commands') {
      stopToken = command.message.toLowerCase();
      registered.add(stopToken);
    }
    obeyed.push(command);
  }
  return obeyed;
}

/**
 * The log as the runner shows it: every value an obeyed `add-mask` named is `***` from that line
 * on. The `add-mask` lines themselves are not shown.
 */
export function shownLog(output: string): string {
  const masks: string[] = [];
  const shown: string[] = [];
  for (const line of output.split(/\r\n|\r|\n/)) {
    const [command] = workflowCommands(line);
    if (command?.command === 'add-mask') {
      masks.push(command.message);
      masks.sort((a, b) => b.length - a.length);
      continue;
    }
    shown.push(masks.reduce((text, mask) => text.split(mask).join('***'), line));
  }
  return shown.join('\n');
}
