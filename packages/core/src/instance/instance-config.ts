import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { redactUrl } from '../adapter/redact.js';
import { ConfigError, describeError } from '../errors.js';
import { defaultStateHome } from './default-home.js';

export const INSTANCE_CONFIG_FILE = 'defstate.yaml';

/** Which storage backend holds versioned state, and with which options. */
export interface StorageSelection {
  adapter: string;
  /** Options from `defstate.yaml`; absent when a URL chose the storage. */
  options?: Record<string, unknown>;
  /** The `--storage` / `DEFSTATE_STORAGE_URL` URL, read by the adapter's `optionsFromUrl`. */
  url?: URL;
  /** Folder relative option values resolve from. */
  baseDir: string;
  /** How it was chosen: `--storage`, `DEFSTATE_STORAGE_URL`, `DEFSTATE_HOME`, or the default. */
  source: 'flag' | 'env-url' | 'instance-config' | 'default';
  /** For messages: the file or URL that chose it. */
  origin: string;
  /**
   * `accept_lost_updates: true` in defstate.yaml: write to the store even if it cannot prove
   * that it honours conditional writes (so concurrent refreshes may overwrite each other).
   */
  acceptLostUpdates?: boolean;
}

const InstanceConfigSchema = z
  .object({
    state_storage: z
      .object({
        adapter: z
          .string()
          .min(1, 'adapter must name an adapter: file, s3, gcs, azure or a package name'),
        options: z.record(z.string(), z.unknown()).default({}),
        accept_lost_updates: z
          .boolean()
          .optional()
          .describe(
            'Write even to a store that cannot prove it honours conditional writes; concurrent refreshes may then lose updates.',
          ),
      })
      .strict(),
  })
  .loose();

export interface ResolveStorageOptions {
  env?: NodeJS.ProcessEnv;
  /** The `--storage` flag. */
  storageUrl?: string;
  cwd?: string;
}

/**
 * Chooses the storage for versioned state, first match wins: the `--storage` URL,
 * `DEFSTATE_STORAGE_URL`, `$DEFSTATE_HOME/defstate.yaml`, then the embedded local default.
 */
export async function resolveStorage({
  env = process.env,
  storageUrl,
  cwd = process.cwd(),
}: ResolveStorageOptions = {}): Promise<StorageSelection> {
  if (storageUrl)
    return {
      ...parseStorageUrl(storageUrl, '--storage'),
      baseDir: cwd,
      source: 'flag',
      origin: '--storage',
    };
  if (env.DEFSTATE_STORAGE_URL) {
    return {
      ...parseStorageUrl(env.DEFSTATE_STORAGE_URL, 'DEFSTATE_STORAGE_URL'),
      baseDir: cwd,
      source: 'env-url',
      origin: 'DEFSTATE_STORAGE_URL',
    };
  }
  if (env.DEFSTATE_HOME) {
    const home = resolve(cwd, env.DEFSTATE_HOME);
    const file = join(home, INSTANCE_CONFIG_FILE);
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(
        error.code === 'ENOENT' ? 'the file does not exist' : `cannot read it (${error.code})`,
        { file },
        { cause: error, hint: 'DEFSTATE_HOME must point at a folder that holds defstate.yaml.' },
      );
    });
    const { adapter, options, accept_lost_updates } = await parseInstanceConfig(text, file, env);
    return {
      adapter,
      options,
      baseDir: home,
      source: 'instance-config',
      origin: file,
      ...(accept_lost_updates ? { acceptLostUpdates: true } : {}),
    };
  }
  const home = defaultStateHome(env);
  const path = join(home, 'storage');
  return { adapter: 'file', options: { path }, baseDir: home, source: 'default', origin: path };
}

/** What to tell someone whose versioned state goes to the embedded default store. */
export function defaultStorageNotice(location: string): string {
  return `DEFSTATE_HOME is not set: versioned state is kept in the embedded local store ${location}\n  → Set DEFSTATE_HOME to a folder with defstate.yaml (or use --storage / DEFSTATE_STORAGE_URL) to keep it in S3, GCS or Azure Blob.`;
}

/**
 * Parses `defstate.yaml`, reporting errors with file, line and field path. The YAML parser is
 * imported here, not at the top, so commands that never read an instance config do not load it.
 */
export async function parseInstanceConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ adapter: string; options: Record<string, unknown>; accept_lost_updates?: boolean }> {
  const { isMap, LineCounter, parseDocument, visit } = await import('yaml');
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const [syntaxError] = document.errors;
  if (syntaxError) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    throw new ConfigError(`invalid YAML: ${syntaxError.message.split('\n')[0]}`, { file, line });
  }
  const lineOf = (path: PropertyKey[]): number | undefined => {
    let node: unknown = document.contents;
    let offset: number | undefined;
    for (const segment of path) {
      if (!isMap(node)) break;
      const pair = node.items.find((item) => (item.key as { value?: unknown })?.value === segment);
      if (!pair) break;
      offset = (pair.key as { range?: [number] }).range?.[0];
      node = pair.value;
    }
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
  let value: unknown;
  try {
    // A bounded alias count: `&a [*b, *b, …]` nested a few times expands to billions of nodes.
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    let line: number | undefined;
    let alias: string | undefined;
    visit(document, {
      Alias(_key, node) {
        if (node.resolve(document) !== undefined) return undefined;
        alias = node.source;
        line = node.range ? lineCounter.linePos(node.range[0]).line : undefined;
        return visit.BREAK;
      },
    });
    if (alias !== undefined) {
      throw new ConfigError(
        `invalid YAML: the alias *${alias} refers to no anchor &${alias} defined before it`,
        { file, line },
        {
          cause: error,
          hint: `Define \`&${alias}\` on a value above this line, or write the value out.`,
        },
      );
    }
    const bomb = /alias count/i.test(describeError(error));
    throw new ConfigError(
      bomb
        ? `invalid YAML: its aliases expand to more than ${MAX_ALIAS_COUNT} times their size`
        : `invalid YAML: ${describeError(error).split('\n')[0]}`,
      { file },
      {
        cause: error,
        hint: bomb ? 'Write the values out instead of nesting aliases of aliases.' : undefined,
      },
    );
  }
  const parsed = InstanceConfigSchema.safeParse(interpolateEnv(value ?? {}, env, file, []));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    throw new ConfigError(
      issue?.message ?? 'invalid instance config',
      {
        file,
        field: path.join('.') || undefined,
        line: lineOf(path),
      },
      {
        hint: 'Expected:\nstate_storage:\n  adapter: file | s3 | gcs | azure | <package>\n  options: { ... }',
      },
    );
  }
  return parsed.data.state_storage;
}

/** The yaml library's own default, stated: enough for any real config, too few for a bomb. */
const MAX_ALIAS_COUNT = 100;

const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${env:NAME}` in string values; a variable that is not set is an error naming it. */
function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  file: string,
  path: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_match, name: string) => {
      const replacement = env[name];
      if (replacement === undefined) {
        throw new ConfigError(`environment variable ${name} is not set`, {
          file,
          field: path.join('.'),
        });
      }
      return replacement;
    });
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolateEnv(item, env, file, [...path, String(index)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        interpolateEnv(item, env, file, [...path, key]),
      ]),
    );
  }
  return value;
}

/** URL schemes and the adapter each selects. */
export const STORAGE_URL_SCHEMES: Readonly<Record<string, string>> = {
  file: 'file',
  s3: 's3',
  gs: 'gcs',
  azblob: 'azure',
};

/** The package a URL scheme without a built-in adapter selects: `minio://…` → `defstate-storage-minio`. */
export const ADAPTER_PACKAGE_PREFIX = 'defstate-storage-';

// Web schemes are a mistake for a storage URL (a bucket's console or HTTP address), never a
// third-party adapter's: refuse them at once rather than look for `defstate-storage-https`.
const NOT_STORAGE_SCHEMES = new Set([
  'http',
  'https',
  'ws',
  'wss',
  'ftp',
  'data',
  'blob',
  'mailto',
  'javascript',
]);

/**
 * The adapter a storage URL's scheme selects: the built-in ones (`file`, `s3`, `gs`, `azblob`),
 * else the third-party package `defstate-storage-<scheme>`, whose `optionsFromUrl` reads it.
 */
export function adapterForScheme(scheme: string): string | undefined {
  const builtIn = STORAGE_URL_SCHEMES[scheme];
  if (builtIn) return builtIn;
  return NOT_STORAGE_SCHEMES.has(scheme) ? undefined : `${ADAPTER_PACKAGE_PREFIX}${scheme}`;
}

/**
 * Turns a storage URL into an adapter name and the URL. The scheme names the adapter; the
 * adapter's own `optionsFromUrl` reads the rest when the store opens. What every adapter would
 * trip over is refused here, naming `origin`: text that is no URL, a malformed %-escape, a
 * `file://` URL with a host or without a folder. The URL is shown redacted in every message.
 */
export function parseStorageUrl(text: string, origin: string): { adapter: string; url: URL } {
  const shown = redactUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new ConfigError(
      `"${shown}" is not a storage URL`,
      { field: origin },
      {
        cause: error,
        hint: `Use one of: ${Object.keys(STORAGE_URL_SCHEMES)
          .map((scheme) => `${scheme}://…`)
          .join(', ')}.`,
      },
    );
  }
  const scheme = url.protocol.slice(0, -1);
  const adapter = adapterForScheme(scheme);
  if (!adapter) {
    throw new ConfigError(
      `unsupported storage URL scheme "${url.protocol}" in "${shown}"`,
      { field: origin },
      {
        hint: `Supported schemes: ${Object.keys(STORAGE_URL_SCHEMES).join(', ')}, or <name> for an installed ${ADAPTER_PACKAGE_PREFIX}<name> package. Other adapters are chosen in defstate.yaml.`,
      },
    );
  }
  for (const [part, value] of [
    ['userinfo', `${url.username}${url.password}`],
    ['host', url.hostname],
    ['path', url.pathname],
    ['fragment', url.hash],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch (error) {
      throw new ConfigError(
        `the storage URL "${shown}" has a malformed %-escape in its ${part}`,
        { field: origin },
        { cause: error, hint: 'A % must start an escape such as %20; write a literal % as %25.' },
      );
    }
  }
  if (scheme === 'file') checkFileUrl(url, shown, origin);
  return { adapter, url };
}

function checkFileUrl(url: URL, shown: string, origin: string): void {
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new ConfigError(
      `"${shown}": a file:// URL names a folder on this machine, but "${url.hostname}" is read as a host name`,
      { field: origin },
      {
        hint: `Write the absolute path after three slashes: file:///${url.hostname}${url.pathname}`,
      },
    );
  }
  if (url.pathname === '' || url.pathname === '/') {
    throw new ConfigError(
      `"${shown}": a file:// URL must name a folder, and the root folder is never used`,
      { field: origin },
      { hint: 'For example file:///srv/defstate (an absolute path after three slashes).' },
    );
  }
}
