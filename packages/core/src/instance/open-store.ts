import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redactSecrets, redactUrl } from '../adapter/redact.js';
import { ConfigError, DefstateError, describeError } from '../errors.js';
import type { BlobStore, StorageAdapter } from '../store/blob-store.js';
import { fileStorageAdapter } from '../store/file-store.js';
import { acceptLostUpdatesFor } from '../versioned/pointer-writer.js';
import type { StorageSelection } from './instance-config.js';
import { suggestClosest } from './suggest.js';

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

/**
 * Resolves the selected adapter, validates its options and opens the store. Whatever goes wrong
 * before the store is open (an adapter that cannot read the URL, a bad or unknown option, a
 * `create` that throws) is a `ConfigError` naming the file or variable, with URLs redacted.
 */
export async function openStore(
  selection: StorageSelection,
  { projectRoot, env = process.env }: OpenStoreOptions,
): Promise<BlobStore> {
  const adapter =
    BUILT_IN_ADAPTERS[selection.adapter] ??
    (await importAdapter(selection.adapter, projectRoot, selection.url));
  const where = selection.source === 'instance-config' ? { file: selection.origin } : {};
  const parsed = resolveAdapterOptions(adapter, selection);
  let store: BlobStore;
  try {
    store = await adapter.create(parsed as never, { baseDir: selection.baseDir, env });
  } catch (error) {
    if (error instanceof DefstateError) throw error;
    throw new ConfigError(
      `adapter "${adapter.name}" could not open the store: ${redactSecrets(describeError(error))}`,
      selection.url ? { field: selection.origin } : where,
      { cause: error },
    );
  }
  if (!store.capabilities.conditionalPut) {
    throw new ConfigError(`adapter "${adapter.name}" does not support conditional writes`, where, {
      hint: 'Versioned state needs create-only and replace-if-match writes to never lose an update.',
    });
  }
  if (selection.acceptLostUpdates) acceptLostUpdatesFor(store);
  return store;
}

/**
 * The adapter's options from a selection (defstate.yaml's `options`, or the URL through the
 * adapter's `optionsFromUrl`), validated by its schema. Throws `ConfigError` naming the file or
 * variable, with URLs redacted; never anything else.
 */
export function resolveAdapterOptions(
  adapter: StorageAdapter<never> | StorageAdapter<unknown>,
  selection: StorageSelection,
): unknown {
  const where = selection.source === 'instance-config' ? { file: selection.origin } : {};
  let rawOptions = selection.options ?? {};
  if (selection.url) {
    if (!adapter.optionsFromUrl) {
      throw new ConfigError(`adapter "${adapter.name}" cannot be chosen by URL`, {
        field: selection.origin,
      });
    }
    try {
      rawOptions = adapter.optionsFromUrl(selection.url);
    } catch (error) {
      throw new ConfigError(
        `adapter "${adapter.name}" cannot read the storage URL "${redactUrl(selection.url.href)}": ${redactSecrets(describeError(error))}`,
        { field: selection.origin },
        {
          cause: error,
          hint: 'Check the URL against the adapter’s documentation; a literal % is %25.',
        },
      );
    }
  }
  return parseOptions(adapter, rawOptions, selection, where);
}

interface OptionIssue {
  code?: string;
  path?: PropertyKey[];
  message?: string;
  keys?: string[];
}

/** The adapter's options, or a ConfigError naming the first wrong one (an unknown one first). */
function parseOptions(
  adapter: StorageAdapter<never> | StorageAdapter<unknown>,
  rawOptions: Record<string, unknown>,
  selection: StorageSelection,
  where: { file?: string },
): unknown {
  let result: { success: boolean; data?: unknown; error?: { issues?: OptionIssue[] } };
  try {
    result = adapter.optionsSchema.safeParse(rawOptions);
  } catch (error) {
    throw new ConfigError(
      `adapter "${adapter.name}" could not check its options: ${redactSecrets(describeError(error))}`,
      selection.url ? { field: selection.origin } : where,
      { cause: error },
    );
  }
  if (result.success) return result.data;
  const issues = result.error?.issues ?? [];
  // A misspelt option often also makes the intended one "missing": the typo is what to report.
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys' && issue.keys?.length);
  const issue = unknown ?? issues[0];
  const path = [...(issue?.path ?? []).map(String), ...(unknown?.keys?.slice(0, 1) ?? [])];
  const field = selection.url ? selection.origin : ['state_storage', 'options', ...path].join('.');
  if (unknown?.keys) {
    const [name = ''] = unknown.keys;
    const known = optionNames(adapter.optionsSchema);
    const suggestion = suggestClosest(name, known);
    throw new ConfigError(
      `\`${name}\` is unknown (adapter "${adapter.name}")${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
      { ...where, field },
      { hint: known.length > 0 ? `Its options are: ${known.join(', ')}.` : undefined },
    );
  }
  throw new ConfigError(
    `${redactSecrets(issue?.message ?? 'invalid options')} (adapter "${adapter.name}")`,
    { ...where, field },
  );
}

/** The option names of a zod object schema, through defaults, optionals and pipes. */
function optionNames(schema: unknown): string[] {
  let current = schema as { shape?: unknown; _zod?: { def?: Record<string, unknown> } } | undefined;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current.shape && typeof current.shape === 'object') return Object.keys(current.shape);
    const def = current._zod?.def;
    current = (def?.innerType ?? def?.in ?? def?.schema) as typeof current;
  }
  return [];
}

async function importAdapter(
  name: string,
  projectRoot: string,
  url: URL | undefined,
): Promise<StorageAdapter<never>> {
  const packageName = OFFICIAL_ADAPTER_PACKAGES[name] ?? name;
  const require = createRequire(join(projectRoot, 'package.json'));
  let resolved: string;
  try {
    resolved = require.resolve(packageName);
  } catch (error) {
    const builtIn = Object.values(OFFICIAL_ADAPTER_PACKAGES).includes(packageName);
    throw new ConfigError(
      url && !builtIn
        ? `no built-in adapter reads "${url.protocol}" URLs, and the package ${packageName} that would is not installed in ${projectRoot}`
        : `storage adapter "${name}" is not installed in ${projectRoot}`,
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
