import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/defstate.js', import.meta.url));

export interface Sandbox {
  /** A project folder to put `defstate.config.mjs` in. */
  project: string;
  /** HOME / XDG folders, so the embedded default store is the sandbox's own. */
  home: string;
  env: NodeJS.ProcessEnv;
  write(relativePath: string, content: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'defstate-cli-'));
  const project = join(root, 'project');
  const home = join(root, 'home');
  await mkdir(project, { recursive: true });
  await mkdir(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
  return {
    project,
    home,
    env,
    async write(relativePath, content) {
      const path = join(project, relativePath);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
      return path;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runDefstate(
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    onSpawn?: (child: ReturnType<typeof spawn>) => void;
  },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

/** A component config as a module: each entry is `[key, management, body of refresh]`. */
export function configModule(
  components: Array<[key: string, management: string, body: string]>,
): string {
  const entries = components
    .map(
      ([key, management, body]) =>
        `  { key: ${JSON.stringify(key)}, management: ${JSON.stringify(management)}, refresh: async ({ statePath, signal, log, attempt }) => { ${body} } },`,
    )
    .join('\n');
  return `import { writeFile, appendFile } from 'node:fs/promises';\nexport default {\n  components: [\n${entries}\n  ],\n};\n`;
}
