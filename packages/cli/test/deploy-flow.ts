import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore, resolveStorage, stateObjectName } from '@defstate/core';
import type { describe as Describe, expect as Expect, test as Test } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';
import { BIN } from './helpers.js';

/**
 * The deploy flow end to end, with the real `defstate` and a real app, on any backend: deploy →
 * the artifact keeps loading its pins while latest moves → pull → the artifact starts with the
 * store unreachable → verify catches each problem it names → rollback beside a concurrent refresh
 * → prune keeps what it must. The storage packages run it against their emulators.
 */
export interface DeployFlowBackend {
  name: string;
  /** Environment that points defstate at a fresh, empty store of this backend. */
  freshStore(): Promise<NodeJS.ProcessEnv>;
  /** Environment under which the store cannot be reached at all. */
  unreachable: NodeJS.ProcessEnv;
  /** Makes the backend's adapter resolvable from a project folder (what `pnpm add` would do). */
  installAdapter?(project: string): Promise<void>;
  /** Per-test timeout, for slow emulators. */
  timeoutMs?: number;
}

interface Vitest {
  describe: typeof Describe;
  test: typeof Test;
  expect: typeof Expect;
}

const CORE_URL = pathToFileURL(join(import.meta.dirname, '../../core/dist/index.js')).href;

// Each component's state is the text of a source file, so "the source changed" is a file write.
const CONFIG = `import { readFile, writeFile } from 'node:fs/promises';
const from = (name) => async ({ statePath }) =>
  writeFile(statePath, await readFile(new URL('./sources/' + name, import.meta.url)));
export default {
  components: [
    { key: 'services', management: 'local', refresh: from('services.txt') },
    { key: 'catalog', management: 'versioned', refresh: from('catalog.txt') },
    { key: 'team/flags', management: 'versioned', refresh: from('flags.txt') },
  ],
};
`;

// The run-time side: what a deployed app does at start-up.
const APP = `import { readFile } from 'node:fs/promises';
import { loadState } from ${JSON.stringify(CORE_URL)};
const loaded = {};
for (const key of ['services', 'catalog', 'team/flags']) {
  const state = await loadState(key, { projectRoot: process.cwd() });
  loaded[key] = await readFile(state.path, 'utf8');
}
console.log(JSON.stringify(loaded));
`;

export function describeDeployFlow(backend: DeployFlowBackend, { describe, test, expect }: Vitest) {
  describe(`the deploy flow on ${backend.name}`, () => {
    async function setup() {
      const root = await mkdtemp(join(tmpdir(), 'defstate-deploy-'));
      const project = join(root, 'project');
      const home = join(root, 'home');
      await mkdir(join(project, 'sources'), { recursive: true });
      await mkdir(home, { recursive: true });
      await writeFile(join(project, 'package.json'), '{ "name": "deploy-e2e", "private": true }\n');
      await writeFile(join(project, 'defstate.config.mjs'), CONFIG);
      await writeFile(join(project, 'app.mjs'), APP);
      await backend.installAdapter?.(project);
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        XDG_STATE_HOME: join(home, 'state'),
        XDG_CACHE_HOME: join(home, 'cache'),
        ...(await backend.freshStore()),
      };
      const sources = async (values: Record<string, string>) => {
        for (const [name, text] of Object.entries(values))
          await writeFile(join(project, 'sources', `${name}.txt`), text);
      };
      await sources({ services: 'services v1', catalog: 'catalog v1', flags: 'flags v1' });
      const run = async (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
        runNode([BIN, ...args], { cwd: options.cwd ?? project, env: { ...env, ...options.env } });
      const ok = async (args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }) => {
        const result = await run(args, options);
        expect(result.code, `defstate ${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
        return result;
      };
      const json = async <T>(args: string[]) =>
        JSON.parse((await ok([...args, '--json'])).stdout) as T;
      /** Runs the app in `cwd` with a cache of its own; returns what it loaded, or the failure. */
      const app = async (cwd: string, extraEnv: NodeJS.ProcessEnv = {}) => {
        const cache = await mkdtemp(join(root, 'cache-'));
        return runNode([join(cwd, 'app.mjs')], {
          cwd,
          env: { ...env, DEFSTATE_CACHE_DIR: cache, ...extraEnv },
        });
      };
      /** A copy of the project, as `COPY . /app` would take it into an image. */
      const artifact = async (name: string) => {
        const folder = join(root, name);
        await cp(project, folder, { recursive: true, verbatimSymlinks: true });
        return folder;
      };
      const withStore = async <T>(use: (store: Awaited<ReturnType<typeof openStore>>) => T) => {
        const selection = await resolveStorage({ env, cwd: project });
        const store = await openStore(selection, { projectRoot: project, env });
        try {
          return await use(store);
        } finally {
          await store.close?.();
        }
      };
      return { root, project, env, sources, run, ok, json, app, artifact, withStore };
    }
    type Flow = Awaited<ReturnType<typeof setup>>;
    const flowTest = (name: string, body: (flow: Flow) => Promise<void>) =>
      test(
        name,
        async () => {
          const flow = await setup();
          try {
            await body(flow);
          } finally {
            await rm(flow.root, { recursive: true, force: true });
          }
        },
        backend.timeoutMs ?? 60_000,
      );

    interface Pins {
      keys: Record<string, { version: string }>;
    }
    interface History {
      entries: Array<{ version: string; latest: boolean; pinned: boolean }>;
    }

    flowTest(
      'an artifact loads its pins while latest moves, and pulled state needs no store',
      async (f) => {
        await f.ok(['deploy']);
        const shipped = await f.artifact('artifact');
        const pins = JSON.parse(
          await readFile(join(shipped, '.local_defs_state', '.pins.json'), 'utf8'),
        ) as Pins;
        expect(Object.keys(pins.keys).sort()).toEqual(['catalog', 'services', 'team/flags']);

        // Later: sources change and a plain refresh moves latest.
        await f.sources({ catalog: 'catalog v2', flags: 'flags v2' });
        const later = await f.ok(['refresh']);
        expect(later.stdout + later.stderr).toMatch(
          /still pins earlier versions of .*"catalog".*; loadState\(\) loads the pinned version/,
        );
        const status = await f.json<{ keys: Array<{ key: string; version: string }> }>(['status']);
        const latestCatalog = status.keys.find((entry) => entry.key === 'catalog')?.version;
        expect(latestCatalog).not.toBe(pins.keys.catalog?.version);

        const started = await f.app(shipped);
        expect(started.code, started.stderr).toBe(0);
        expect(JSON.parse(started.stdout)).toEqual({
          services: 'services v1',
          catalog: 'catalog v1',
          'team/flags': 'flags v1',
        });
        // Without pulled state the pinned artifact needs the store.
        const cut = await f.app(shipped, backend.unreachable);
        expect(cut.code).not.toBe(0);

        // Deploy again, pull, and ship: the new artifact starts with the store unreachable.
        await f.ok(['deploy']);
        const pulled = await f.json<{ keys: Array<{ key: string; downloaded: boolean }> }>([
          'pull',
        ]);
        expect(pulled.keys.map((entry) => [entry.key, entry.downloaded])).toEqual([
          ['catalog', true],
          ['team/flags', true],
        ]);
        const airGapped = await f.artifact('air-gapped');
        const offline = await f.app(airGapped, backend.unreachable);
        expect(offline.code, offline.stderr).toBe(0);
        expect(JSON.parse(offline.stdout)).toEqual({
          services: 'services v1',
          catalog: 'catalog v2',
          'team/flags': 'flags v2',
        });
        const verified = await f.ok(['verify']);
        expect(verified.stdout).toContain('all good');
      },
    );

    flowTest('verify catches each problem it names', async (f) => {
      const problems = async (args: string[] = []) => {
        const result = await f.run(['verify', '--json', ...args]);
        const report = JSON.parse(result.stdout) as {
          ok: boolean;
          problems: Array<{ key: string; code: string }>;
        };
        expect(result.code).toBe(report.ok ? 0 : 1);
        return report.problems.map((problem) => `${problem.key}:${problem.code}`);
      };
      expect(await problems()).toEqual([
        'catalog:no-state',
        'services:no-state',
        'team/flags:no-state',
      ]);
      const { stdout } = await f.ok(['deploy', '--json']);
      const deployed = JSON.parse(stdout) as {
        results: Array<{ key: string; version: string }>;
      };
      expect(await problems()).toEqual([]);
      expect(await problems(['--max-age', '1ms'])).toEqual([
        'catalog:stale',
        'services:stale',
        'team/flags:stale',
      ]);

      // Human output: one line per problem on stderr, exit 1.
      const services = join(f.project, '.local_defs_state', 'services', 'state');
      await writeFile(services, 'services vX');
      const human = await f.run(['verify']);
      expect(human.code).toBe(1);
      expect(human.stderr.trim().split('\n')).toHaveLength(1);
      expect(human.stderr).toMatch(/services: sha256-mismatch: .*state has sha256/);
      await rm(services);
      expect(await problems()).toEqual(['services:local-missing']);

      const catalog = deployed.results.find((result) => result.key === 'catalog');
      await f.withStore((store) =>
        store.delete(stateObjectName('catalog', catalog?.version as string)),
      );
      expect(await problems()).toEqual([
        'catalog:pinned-version-missing',
        'services:local-missing',
      ]);
    });

    flowTest('rollback beside a concurrent refresh of another key loses nothing', async (f) => {
      await f.ok(['refresh']);
      await f.sources({ catalog: 'catalog v2' });
      await f.ok(['refresh', '-k', 'catalog']);
      const history = await f.json<History>(['history', 'catalog']);
      const [newest, oldest] = history.entries.map((entry) => entry.version) as [string, string];
      for (let round = 1; round <= 3; round++) {
        await f.sources({ flags: `flags during rollback ${round}` });
        const [back, flags] = await Promise.all([
          f.run(['rollback', 'catalog', '--to', round % 2 ? oldest : newest]),
          f.run(['refresh', '-k', 'team/flags']),
        ]);
        expect(back.code, back.stderr).toBe(0);
        expect(flags.code, flags.stderr).toBe(0);
        const status = await f.json<{ keys: Array<{ key: string; version: string }> }>(['status']);
        const versions = Object.fromEntries(status.keys.map((entry) => [entry.key, entry.version]));
        expect(versions.catalog).toBe(round % 2 ? oldest : newest);
        const flagsHistory = await f.json<History>(['history', 'team/flags']);
        expect(versions['team/flags']).toBe(flagsHistory.entries[0]?.version);
        expect(flagsHistory.entries).toHaveLength(round + 1);
      }
      const unknown = await f.run([
        'rollback',
        'catalog',
        '--to',
        '20200101T000000000Z-000000000000',
      ]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('has no version 20200101T000000000Z-000000000000');
    });

    flowTest('a rollback ships by pinning, without a refresh', async (f) => {
      await f.ok(['deploy']);
      const first = await f.json<Pins>(['pin']);
      await f.sources({ catalog: 'catalog v2' });
      await f.ok(['deploy']);
      const back = await f.ok([
        'rollback',
        'catalog',
        '--to',
        first.keys.catalog?.version as string,
      ]);
      expect(back.stderr).toContain('run `defstate pin` (not `deploy`');
      const pinned = await f.ok(['pin']);
      expect(pinned.stdout).toContain('nothing was refreshed');
      const started = await f.app(f.project);
      expect(started.code, started.stderr).toBe(0);
      expect(JSON.parse(started.stdout).catalog).toBe('catalog v1');
    });

    flowTest(
      'prune keeps the latest, the pinned and the newest, and deletes the rest',
      async (f) => {
        await f.ok(['deploy']);
        const shipped = await f.artifact('artifact');
        const pinned = JSON.parse(
          await readFile(join(shipped, '.local_defs_state', '.pins.json'), 'utf8'),
        ) as Pins;
        for (const round of [2, 3, 4]) {
          await f.sources({ catalog: `catalog v${round}` });
          await f.ok(['refresh', '-k', 'catalog']);
        }
        // The project's own pins are newer now; the artifact's pins are passed explicitly.
        await f.ok(['deploy']);
        const before = await f.json<History>(['history', 'catalog']);
        expect(before.entries).toHaveLength(4);
        const pinFile = join(shipped, '.local_defs_state', '.pins.json');
        // Versions stored in the last hour are spared by default: a refresh may be committing one.
        const young = await f.json<{ deleted: unknown[] }>([
          'prune',
          '--keep',
          '1',
          '--pins',
          pinFile,
        ]);
        expect(young.deleted).toEqual([]);
        const plan = await f.json<{ deleted: Array<{ version: string }> }>([
          'prune',
          '--keep',
          '1',
          '--min-age',
          '0',
          '--pins',
          pinFile,
          '--dry-run',
        ]);
        const oldPin = pinned.keys.catalog?.version as string;
        const [v4, v3, v2] = before.entries.map((entry) => entry.version);
        expect(plan.deleted.map((entry) => entry.version).sort()).toEqual([v2, v3].sort());
        expect((await f.json<History>(['history', 'catalog'])).entries).toHaveLength(4);

        const human = await f.ok(['prune', '--keep', '1', '--min-age', '0', '--pins', pinFile]);
        expect(human.stdout).toContain('deleted 2 versions');
        const after = await f.json<History>(['history', 'catalog']);
        expect(after.entries.map((entry) => entry.version)).toEqual([v4, oldPin]);
        // The artifact still starts.
        const started = await f.app(shipped);
        expect(started.code, started.stderr).toBe(0);
        expect(JSON.parse(started.stdout).catalog).toBe('catalog v1');
      },
    );
  });
}
