import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';
import { runNode as runNodeProcess } from '../../../tools/testing/run-node.mjs';
import type {
  BlobStore,
  Component,
  ManagementType,
  Project,
  RefreshContext,
  RetryRuntime,
  StateInfo,
} from '../src/index.js';
import { createStateVersion, readPointer } from '../src/index.js';

/** A fresh folder under the OS temp dir, removed when the current test finishes. */
export async function useTempDir(label = 'core'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `defstate-${label}-`));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file below `dir`, as `/`-separated relative paths, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) =>
      join(entry.parentPath, entry.name)
        .slice(dir.length + 1)
        .replaceAll('\\', '/'),
    )
    .sort();
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A valid `StateInfo` for `key`; `at` sets both its version time and `createdAt`. */
export function stateInfo(key: string, overrides: Partial<StateInfo> & { at?: Date } = {}) {
  const { at = new Date(), ...rest } = overrides;
  const content = `state of ${key}`;
  return {
    key,
    management: 'versioned',
    version: createStateVersion(at),
    createdAt: at.toISOString(),
    sha256: sha256(content),
    size: Buffer.byteLength(content),
    ...rest,
  } satisfies StateInfo;
}

/** A retry clock that never waits: it records each requested delay and rolls a fixed die. */
export function fakeRuntime(random = 0.5): RetryRuntime & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => random,
  };
}

/** Wraps a store and counts calls per method (and the names it got), passing everything through. */
export function countingStore(store: BlobStore) {
  const calls = { get: 0, head: 0, put: 0, list: 0, delete: 0, gotNames: [] as string[] };
  const counted: BlobStore = {
    adapter: store.adapter,
    location: store.location,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    capabilities: store.capabilities,
    get: (...args) => {
      calls.get++;
      calls.gotNames.push(args[0]);
      return store.get(...args);
    },
    head: (...args) => {
      calls.head++;
      return store.head(...args);
    },
    put: (...args) => {
      calls.put++;
      return store.put(...args);
    },
    list: (...args) => {
      calls.list++;
      return store.list(...args);
    },
    delete: (...args) => {
      calls.delete++;
      return store.delete(...args);
    },
  };
  return { store: counted, calls };
}

/** A component whose refresh writes `content()` to its state path. */
export function component(
  key: string,
  management: ManagementType,
  refresh: string | ((context: RefreshContext) => void | Promise<void>),
): Component {
  return {
    key,
    management,
    refresh:
      typeof refresh === 'string' ? ({ statePath }) => writeFile(statePath, refresh) : refresh,
  };
}

/** An in-memory project rooted at `root`; no config file is read. */
export function project(root: string, components: Component[]): Project {
  return { root, configFile: join(root, 'defstate.config.ts'), components };
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds `dist/` when any source file is newer than it, so that tests which run the built
 * package in child processes never test stale code. Under turbo, `test` depends on `build` and
 * this finds nothing to do.
 */
export async function ensureBuilt(): Promise<void> {
  const built = await stat(join(packageRoot, 'dist', 'index.js')).catch(() => undefined);
  const sources = await readdir(join(packageRoot, 'src'), { recursive: true });
  const newest = Math.max(
    ...(await Promise.all(
      sources.map(async (file) => (await stat(join(packageRoot, 'src', file))).mtimeMs),
    )),
  );
  if (built && built.mtimeMs >= newest) return;
  // The JavaScript only (scripts/bundle.mjs); the declarations do not run.
  await runNode([join(packageRoot, 'scripts', 'bundle.mjs')]);
}

/** Runs `node <args>` in the package folder; resolves with stdout, rejects with stderr. */
export async function runNode(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runNodeProcess(args, { cwd: packageRoot });
  if (code !== 0)
    throw new Error(`node ${args.join(' ')} exited with ${code}:\n${stderr}${stdout}`);
  return stdout;
}

/** The error a promise rejects with; fails the test when it resolves or rejects with a non-error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

/** Every key's latest entry in a store, whatever its pointer layout, as a plain object. */
export async function pointerKeys(store: BlobStore): Promise<Record<string, StateInfo>> {
  return Object.fromEntries((await readPointer(store)).entries);
}
