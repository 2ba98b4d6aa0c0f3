import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NodeRun, runNode } from '../../../tools/testing/run-node.mjs';

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

export type RunResult = NodeRun;

export function runDefstate(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void },
): Promise<RunResult> {
  return runNode([BIN, ...args], options);
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
