import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StateInfo, writePins } from '@defstate/core';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { configModule, type RunResult, runDefstate, type Sandbox } from './helpers.js';

// Shared by the UI tests: Debian's Chromium (tools/browser/install.sh), driven by playwright-core,
// and a `defstate ui` started in a sandbox and stopped by its PID.

export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots land here; `artifacts/` is git-ignored. */
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/ui/', import.meta.url));

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash tools/browser/install.sh\` first.`);
  }
  // A fresh profile each time; the flags keep Chromium from reaching out to a network it lacks.
  const profile = await mkdtemp(join(tmpdir(), 'defstate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface RunningUi {
  /** The server's root, `http://127.0.0.1:<port>/`. */
  url: string;
  /** The address printed in the terminal: with --allow-writes it carries `?token=…`. */
  address: string;
  pid: number;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM by PID; resolves with how the process ended. */
  stop(): Promise<RunResult>;
}

/** Starts `defstate ui --port 0 …` in the sandbox and waits for the URL it prints. */
export async function startUi(sandbox: Sandbox, args: string[] = []): Promise<RunningUi> {
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  const done = runDefstate(['ui', '--port', '0', ...args], {
    cwd: sandbox.project,
    env: sandbox.env,
    onSpawn: (spawned) => {
      child = spawned;
      spawned.stdout?.on('data', (chunk) => {
        stdout += chunk;
      });
      spawned.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
    },
  });
  const address = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const check = () => {
      const found = /http:\/\/127\.0\.0\.1:\d+\/(?:\?token=[\w-]+)?(?=\s)/.exec(stdout)?.[0];
      if (found) return resolve(found);
      if (child?.exitCode !== null && child?.exitCode !== undefined) {
        return reject(new Error(`defstate ui exited ${child.exitCode}: ${stderr}`));
      }
      if (Date.now() > deadline) return reject(new Error(`defstate ui printed no URL: ${stderr}`));
      setTimeout(check, 50);
    };
    check();
  });
  const pid = child?.pid as number;
  return {
    url: address.replace(/\?.*$/, ''),
    address,
    pid,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (child?.exitCode === null) process.kill(pid, 'SIGTERM');
      return done;
    },
  };
}

/**
 * Opens the status page and waits until its script has taken over the rows the server drew: a
 * click or a keystroke sent before then would be lost.
 */
export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('html[data-ready]').waitFor();
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Four keys, one in each state the page tells apart. */
export const fourKinds = configModule([
  ['alpha', 'local', `await writeFile(statePath, 'A');`],
  [
    'beta/β',
    'versioned',
    `await writeFile(statePath, await import('node:fs/promises').then((fs) => fs.readFile('source.txt')));`,
  ],
  [
    'gamma',
    'versioned',
    `if (process.env.FAIL_GAMMA) throw new Error('catalog unreachable'); await writeFile(statePath, 'G');`,
  ],
  ['delta', 'local', `await writeFile(statePath, 'D');`],
]);

/**
 * Refreshes and pins everything, then: a new beta/β version (update available), a failed gamma
 * refresh (failed last refresh), delta's state removed (no state); alpha stays up to date.
 */
export async function refreshFourKinds(sandbox: Sandbox, extraArgs: string[] = []) {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runDefstate([...args, ...extraArgs], { cwd: sandbox.project, env: { ...sandbox.env, ...env } });
  const status = async () => {
    const result = await run(['status', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { keys: StatusJsonKey[] };
  };
  await sandbox.write('defstate.config.mjs', fourKinds);
  await sandbox.write('source.txt', 'B1');
  const first = await run(['refresh']);
  expect(first.code, first.stderr).toBe(0);
  // What a deploy pins: every key at its version now.
  await writePins(
    sandbox.project,
    (await status()).keys.map(
      ({ key, management, version, createdAt, sha256, size }) =>
        ({ key, management, version, createdAt, sha256, size }) as StateInfo,
    ),
  );
  await sandbox.write('source.txt', 'B2');
  expect((await run(['refresh', '-k', 'beta/β'])).code).toBe(0);
  expect((await run(['refresh', '-k', 'gamma'], { FAIL_GAMMA: '1' })).code).toBe(1);
  await rm(join(sandbox.project, '.local_defs_state/delta'), { recursive: true });
  return status();
}

export interface StatusJsonKey {
  key: string;
  management: 'local' | 'versioned';
  version: string | null;
  createdAt: string | null;
  sha256: string | null;
  size: number | null;
}
