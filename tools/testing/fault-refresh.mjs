// The end-to-end check of an adapter under a flaky network: the built `defstate` refreshes a
// throwaway project, many times and several at once, against a store reached through the
// conformance kit's fault proxy. Shared by the three adapters' `faults.e2e.test.ts`.
//
// Nothing here imports a workspace package: the caller passes the proxy and the functions of
// @defstate/core it checks the store with, so this file works from any test folder.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from './run-node.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));

/**
 * A project with `keys` versioned components whose state changes with every run (it names the
 * run from DEFSTATE_E2E_RUN), the adapter package linked into its node_modules, and a
 * DEFSTATE_HOME whose defstate.yaml is `instanceConfig`.
 */
export async function createFaultProject({ keys, adapterPackage, adapterDir, instanceConfig }) {
  const root = await mkdtemp(join(tmpdir(), 'defstate-faults-e2e-'));
  const project = join(root, 'project');
  const home = join(root, 'home');
  await mkdir(project, { recursive: true });
  await mkdir(home, { recursive: true });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'faults-e2e', private: true, type: 'module' }),
  );
  const components = Array.from({ length: keys }, (_, index) => `key-${index}`);
  await writeFile(
    join(project, 'defstate.config.mjs'),
    `import { writeFile } from 'node:fs/promises';
export default {
  components: ${JSON.stringify(components)}.map((key) => ({
    key,
    management: 'versioned',
    refresh: async ({ statePath }) => {
      await writeFile(statePath, \`\${key} of run \${process.env.DEFSTATE_E2E_RUN}\\n\`.repeat(50));
    },
  })),
};
`,
  );
  const target = join(project, 'node_modules', ...adapterPackage.split('/'));
  await mkdir(dirname(target), { recursive: true });
  await symlink(adapterDir, target, 'dir');
  await writeFile(join(home, 'defstate.yaml'), instanceConfig);
  return {
    root,
    project,
    keys: components,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      DEFSTATE_HOME: home,
      XDG_STATE_HOME: join(home, 'state'),
      XDG_CACHE_HOME: join(home, 'cache'),
      NO_COLOR: '1',
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * Runs `defstate refresh` `runs` times, `concurrency` at a time, calling `between` after each
 * batch (to check the store while the runs go on). Resolves with every run's outcome.
 */
export async function refreshRepeatedly(
  project,
  { runs, concurrency, env = {}, between, args = [] },
) {
  const outcomes = [];
  for (let first = 0; first < runs; first += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, runs - first) }, (_, offset) => {
      const run = first + offset;
      const started = Date.now();
      return runNode([BIN, 'refresh', '-m', 'versioned', ...args], {
        cwd: project.project,
        env: { ...project.env, ...env, DEFSTATE_E2E_RUN: String(run) },
      }).then((result) => ({ run, ms: Date.now() - started, ...result }));
    });
    outcomes.push(...(await Promise.all(batch)));
    await between?.(outcomes);
  }
  return outcomes;
}

/** Why a run's outcome is not acceptable, or undefined: exit 0, 1 or 2, never silent, typed. */
export function badOutcome({ code, signal, stdout, stderr }) {
  const output = `${stdout}\n${stderr}`;
  if (signal) return `killed by ${signal}`;
  if (![0, 1, 2].includes(code)) return `exit code ${code}`;
  if (/internal error|This is a bug in defstate|Unhandled|at .*\.js:\d+:\d+/.test(output)) {
    return 'an internal error or a stack trace';
  }
  if (code !== 0 && !/(error|failed)/i.test(output)) return `exit ${code} without a message`;
  return undefined;
}

/**
 * The checks below read the emulator directly, not through the fault proxy, and retry what fails
 * on the way as defstate itself would: between two checks the test's connection sits idle while
 * the runs go on, and an emulator that closes an idle keep-alive socket just as the next check
 * sends on it answers ECONNRESET (Azurite did, once, on a loaded machine). Only transient errors
 * are retried; a check that finds something wrong throws at once.
 */
const CHECK_RETRY_POLICY = { retries: 4, baseDelayMs: 200, maxDelayMs: 2_000 };

/** sha256 of every object in the store, by name: for byte-identity checks. */
export function snapshotStore(store, { listAll, readText, withRetry }) {
  return withRetry(
    async () => {
      const snapshot = {};
      for await (const item of listAll(store, '')) {
        const { text } = await readText(store, item.name);
        snapshot[item.name] = createHash('sha256').update(text).digest('hex');
      }
      return snapshot;
    },
    { policy: CHECK_RETRY_POLICY },
  );
}

/**
 * What the store's pointer names: every key's current version, read through core's public
 * `readPointer`, whichever layout the store has.
 */
export async function pointedVersions(store, { readPointer }) {
  const { entries } = await readPointer(store);
  return [...entries.values()];
}

/**
 * Downloads every version the pointer names and checks it against its recorded sha256 and size
 * (core's `downloadStateVersion` does, and throws when they differ or the object is missing).
 */
export async function checkPointer(store, core, folder) {
  const versions = await core.withRetry(() => pointedVersions(store, core), {
    policy: CHECK_RETRY_POLICY,
  });
  for (const info of versions) {
    const target = join(
      folder,
      createHash('sha256').update(`${info.key} ${info.version}`).digest('hex'),
    );
    await core.withRetry(() => core.downloadStateVersion(store, info, target), {
      policy: CHECK_RETRY_POLICY,
    });
    await rm(target, { force: true });
  }
  return versions.length;
}
