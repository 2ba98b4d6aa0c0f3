import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  INSTANCE_CONFIG_FILE,
  installCommand,
  OFFICIAL_ADAPTER_PACKAGES,
  PROJECT_CONFIG_FILES,
  redactUrl,
  STORAGE_URL_SCHEMES,
  UsageError,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { paint, terminalFor } from '../output/terminal.js';

export interface InitCommandOptions {
  project?: string;
  storage?: string;
  force?: boolean;
}

const ADAPTERS = ['file', 's3', 'gcs', 'azure'] as const;
type Adapter = (typeof ADAPTERS)[number];

/**
 * `defstate init`: a starter `defstate.config.ts` in the project folder and, with `--storage`, a
 * `defstate.yaml` for the store (in DEFSTATE_HOME when it is set, else `./defstate-home/`, the
 * folder the scaffolded Dockerfile mounts). Writes nothing over an existing file without
 * `--force`, and never a second project config beside one of another name.
 */
export async function initCommand(options: InitCommandOptions): Promise<number> {
  const root = resolve(options.project ?? '.');
  const storage = options.storage ? instanceConfigFor(options.storage) : undefined;
  const configFile = join(root, 'defstate.config.ts');
  const other = PROJECT_CONFIG_FILES.map((name) => join(root, name)).find(
    (file) => file !== configFile && existsSync(file),
  );
  if (other) {
    throw new UsageError(`${other} already exists; nothing was written.`, {
      hint: 'A project has one config; add components to it, or remove it first.',
    });
  }
  const home = process.env.DEFSTATE_HOME
    ? resolve(process.env.DEFSTATE_HOME)
    : join(root, 'defstate-home');
  const files = [
    { path: configFile, content: starterConfig(storage !== undefined) },
    ...(storage ? [{ path: join(home, INSTANCE_CONFIG_FILE), content: storage.yaml }] : []),
  ];
  const existing = files.filter((file) => existsSync(file.path)).map((file) => file.path);
  if (existing.length > 0 && !options.force) {
    throw new UsageError(`${existing.join(' and ')} already exists; nothing was written.`, {
      hint: 'Pass --force to overwrite.',
    });
  }
  for (const file of files) {
    await mkdir(resolve(file.path, '..'), { recursive: true });
    await writeFile(file.path, file.content);
  }

  const terminal = terminalFor(process.stdout);
  const shown = (path: string) => relative(process.cwd(), path) || path;
  for (const file of files)
    terminal.line(`${paint(terminal, 'green', '✓')} wrote ${shown(file.path)}`);
  const runtime = ['@defstate/core', ...(storage?.packageName ? [storage.packageName] : [])];
  terminal.line('');
  terminal.line('Next:');
  terminal.line(
    `  ${installCommand(root, runtime.join(' '))}   # run-time dependencies: the app loads its state with them`,
  );
  terminal.line(`  ${devInstallCommand(root, '@defstate/cli')}   # the defstate command, for CI`);
  if (storage && !process.env.DEFSTATE_HOME) {
    terminal.line(`  export DEFSTATE_HOME=${JSON.stringify(home)}   # where defstate.yaml is`);
  }
  terminal.line('  npx defstate refresh && npx defstate status');
  return ExitCode.ok;
}

function devInstallCommand(root: string, packageName: string): string {
  const install = installCommand(root, packageName);
  const [manager] = install.split(' ');
  const flag = { npm: '--save-dev', pnpm: '-D', yarn: '-D', bun: '-d' }[manager ?? 'npm'];
  return install.replace(` ${packageName}`, ` ${flag} ${packageName}`);
}

function starterConfig(versioned: boolean): string {
  return `import { writeFile } from 'node:fs/promises';
import { defineComponent, defineConfig } from '@defstate/core';

// Each component has a stable key, a management type and a refresh that writes its whole state
// to statePath. \`defstate refresh\` runs them (in CI, before the image is built); at start-up the
// app reads the state with loadState(key) from @defstate/core.
export default defineConfig({
  components: [
    defineComponent({
      key: 'example',
      // 'local': kept in .local_defs_state/ and shipped in the image;
      // 'versioned': a new version in the store defstate.yaml names, on each change.
      management: '${versioned ? 'versioned' : 'local'}',
      description: 'An example: replace it with the state your definitions are built from',
      async refresh({ statePath, signal, log }) {
        log('writing the example state');
        // Fetch from your outside system here, passing \`signal\` so a timeout can stop it.
        signal.throwIfAborted();
        await writeFile(statePath, JSON.stringify({ tables: ['orders', 'customers'] }));
      },
    }),
  ],
});
`;
}

/** `defstate.yaml` for a store given by adapter name (a template) or storage URL (its values). */
function instanceConfigFor(store: string): { yaml: string; packageName?: string } {
  let adapter: Adapter;
  let options: Array<[string, string | boolean]>;
  if (store.includes('://')) {
    let url: URL;
    try {
      url = new URL(store);
    } catch (error) {
      throw new UsageError(`"${redactUrl(store)}" is not a storage URL.`, {
        cause: error,
        hint: CHOICES,
      });
    }
    if (redactUrl(store) !== store) {
      // defstate.yaml is copied, mounted and kept in CI secrets' neighbours; a credential written
      // into it would travel with it.
      throw new UsageError(
        `"${redactUrl(store)}" carries credentials (userinfo or a token); defstate.yaml never holds them, so nothing was written.`,
        {
          hint: 'Give the URL without them, and the credentials the cloud’s own way: environment variables, a profile, OIDC or workload identity.',
        },
      );
    }
    const scheme = url.protocol.slice(0, -1);
    const named = STORAGE_URL_SCHEMES[scheme];
    if (!named || !(ADAPTERS as readonly string[]).includes(named)) {
      throw new UsageError(`Unknown storage URL scheme "${scheme}://".`, { hint: CHOICES });
    }
    adapter = named as Adapter;
    options = optionsFromUrl(adapter, url);
  } else if ((ADAPTERS as readonly string[]).includes(store)) {
    adapter = store as Adapter;
    options = TEMPLATES[adapter];
  } else {
    throw new UsageError(`Unknown store "${store}".`, { hint: CHOICES });
  }
  const lines = [
    '# Where versioned state lives (read from $DEFSTATE_HOME/defstate.yaml).',
    '# Credentials never go here: each cloud’s own chain provides them (OIDC, env, workload identity).',
    'state_storage:',
    `  adapter: ${adapter}`,
    '  options:',
    ...options.map(([name, value]) => `    ${name}: ${JSON.stringify(value)}`),
    '',
  ];
  return { yaml: lines.join('\n'), packageName: OFFICIAL_ADAPTER_PACKAGES[adapter] };
}

const CHOICES =
  'Use one of file, s3, gcs, azure, or a URL: s3://bucket/prefix?region=…, gs://bucket/prefix, azblob://account/container/prefix, file:///path.';

const TEMPLATES: Readonly<Record<Adapter, Array<[string, string | boolean]>>> = {
  file: [['path', './state-store']],
  s3: [
    ['bucket', 'my-company-defstate'],
    ['prefix', 'my-app/prod'],
    ['region', 'us-east-1'],
  ],
  gcs: [
    ['bucket', 'my-company-defstate'],
    ['prefix', 'my-app/prod'],
  ],
  azure: [
    ['accountUrl', 'https://myaccount.blob.core.windows.net'],
    ['container', 'defstate'],
    ['prefix', 'my-app/prod'],
  ],
};

function optionsFromUrl(adapter: Adapter, url: URL): Array<[string, string | boolean]> {
  const segments = decodeURIComponent(url.pathname).split('/').filter(Boolean);
  const query = [...url.searchParams].map(([name, value]): [string, string | boolean] => [
    name,
    value === 'true' ? true : value === 'false' ? false : value,
  ]);
  const prefix = (parts: string[]) =>
    parts.length ? [['prefix', parts.join('/')] as [string, string]] : [];
  switch (adapter) {
    case 'file':
      return [['path', decodeURIComponent(url.pathname)]];
    case 'azure': {
      const [container = 'defstate', ...rest] = segments;
      return [
        ['accountUrl', `https://${url.hostname}.blob.core.windows.net`],
        ['container', container],
        ...prefix(rest),
        ...query,
      ];
    }
    default:
      return [['bucket', url.hostname], ...prefix(segments), ...query];
  }
}
