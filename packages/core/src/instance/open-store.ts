import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import type { BlobStore, StorageAdapter } from '../store/blob-store.js';
import { fileStorageAdapter } from '../store/file-store.js';
import type { StorageSelection } from './instance-config.js';

/** Adapter names that map to official packages; any other name is taken as a package name. */
export const OFFICIAL_ADAPTER_PACKAGES: Readonly<Record<string, string>> = {
  s3: '@defstate/storage-s3',
  gcs: '@defstate/storage-gcs',
  azure: '@defstate/storage-azure',
};

const BUILT_IN_ADAPTERS: Readonly<Record<string, StorageAdapter<never>>> = {
  file: fileStorageAdapter as StorageAdapter<never>,
};

export interface OpenStoreOptions {
  /** Adapters are resolved from here (the user's project), not from defstate's own folder. */
  projectRoot: string;
  env?: NodeJS.ProcessEnv;
}

/** Resolves the selected adapter, validates its options and opens the store. */
export async function openStore(
  selection: StorageSelection,
  { projectRoot, env = process.env }: OpenStoreOptions,
): Promise<BlobStore> {
  const adapter =
    BUILT_IN_ADAPTERS[selection.adapter] ?? (await importAdapter(selection.adapter, projectRoot));
  const where = selection.source === 'instance-config' ? { file: selection.origin } : {};
  let rawOptions = selection.options ?? {};
  if (selection.url) {
    if (!adapter.optionsFromUrl) {
      throw new ConfigError(`adapter "${adapter.name}" cannot be chosen by URL`, {
        field: selection.origin,
      });
    }
    rawOptions = adapter.optionsFromUrl(selection.url);
  }
  const parsed = adapter.optionsSchema.safeParse(rawOptions);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ['state_storage', 'options', ...(issue?.path ?? []).map(String)].join('.');
    throw new ConfigError(`${issue?.message ?? 'invalid options'} (adapter "${adapter.name}")`, {
      ...where,
      field: selection.url ? selection.origin : field,
    });
  }
  const store = await adapter.create(parsed.data as never, { baseDir: selection.baseDir, env });
  if (!store.capabilities.conditionalPut) {
    throw new ConfigError(`adapter "${adapter.name}" does not support conditional writes`, where, {
      hint: 'Versioned state needs create-only and replace-if-match writes to never lose an update.',
    });
  }
  return store;
}

async function importAdapter(name: string, projectRoot: string): Promise<StorageAdapter<never>> {
  const packageName = OFFICIAL_ADAPTER_PACKAGES[name] ?? name;
  const require = createRequire(join(projectRoot, 'package.json'));
  let resolved: string;
  try {
    resolved = require.resolve(packageName);
  } catch (error) {
    throw new ConfigError(
      `storage adapter "${name}" is not installed in ${projectRoot}`,
      {},
      {
        cause: error,
        hint: `Install it in the project: ${installCommand(projectRoot, packageName)}`,
      },
    );
  }
  const module = (await import(pathToFileURL(resolved).href)) as {
    storageAdapter?: StorageAdapter<never>;
    default?: StorageAdapter<never>;
  };
  const adapter = module.storageAdapter ?? module.default;
  if (!adapter || typeof adapter.create !== 'function' || !adapter.optionsSchema) {
    throw new ConfigError(
      `package "${packageName}" does not export a storage adapter`,
      {},
      {
        hint: 'An adapter package exports `storageAdapter` made with defineStorageAdapter() from @defstate/core.',
      },
    );
  }
  return adapter;
}

const LOCKFILES: ReadonlyArray<[string, string]> = [
  ['pnpm-lock.yaml', 'pnpm add'],
  ['yarn.lock', 'yarn add'],
  ['bun.lock', 'bun add'],
  ['bun.lockb', 'bun add'],
  ['package-lock.json', 'npm install'],
];

/**
 * The install command for the package manager the project uses, judged by the nearest lockfile
 * in the project or above it (a workspace keeps its lockfile at the top).
 */
export function installCommand(projectRoot: string, packageName: string): string {
  for (let folder = resolve(projectRoot); ; folder = dirname(folder)) {
    const found = LOCKFILES.find(([file]) => existsSync(join(folder, file)));
    if (found) return `${found[1]} ${packageName}`;
    if (dirname(folder) === folder) return `npm install ${packageName}`;
  }
}
