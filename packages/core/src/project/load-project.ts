import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeError } from '../errors.js';
import { isManagementType, isRecord } from '../model/document-checks.js';
import { StateKeySchema } from '../model/name-schemas.js';
import { ManagementTypeSchema } from '../model/state-info.js';
import { isStateKey } from '../model/state-key.js';
import type { Component, ProjectConfig } from './component.js';
import { checkSharedKeys, mergeSharedKeys } from './shared-keys.js';

export const PROJECT_CONFIG_FILES = [
  'defstate.config.ts',
  'defstate.config.mts',
  'defstate.config.js',
  'defstate.config.mjs',
] as const;

export interface Project {
  root: string;
  configFile: string;
  /** One component per key: a key several components declare is refreshed once. */
  components: Component[];
  /** Keys that several components declare, with every declaring component (see shared-keys.ts). */
  sharedKeys?: ReadonlyMap<string, readonly Component[]>;
}

const ComponentSchema = z.looseObject({
  key: StateKeySchema,
  management: ManagementTypeSchema,
  refresh: z.custom<Component['refresh']>((value) => typeof value === 'function', {
    error: 'refresh must be a function that writes the state to statePath',
  }),
  description: z.string().optional(),
  refreshIfDev: z.boolean({ error: 'refreshIfDev must be true or false' }).optional(),
});

export const ProjectConfigSchema = z.object({
  components: z.array(ComponentSchema, { error: 'components must be an array of components' }),
});

export interface FindProjectOptions {
  /**
   * Look in `root`, then in each folder above it up to the file system's root, as git and
   * changesets find their files; the first folder with a config is the project. Off by default:
   * a folder named explicitly (`--project`) is the project or an error.
   */
  searchUpward?: boolean;
}

/** Finds the project config in `root`, or throws a `ConfigError` listing the names looked for. */
export async function findProjectConfig(
  root: string,
  options: FindProjectOptions = {},
): Promise<string> {
  const start = resolve(root);
  for (let folder = start; ; folder = dirname(folder)) {
    for (const name of PROJECT_CONFIG_FILES) {
      const file = join(folder, name);
      if (
        await access(file).then(
          () => true,
          () => false,
        )
      )
        return file;
    }
    if (!options.searchUpward || dirname(folder) === folder) break;
  }
  throw new ConfigError(
    `No project config found in ${start}${options.searchUpward ? ' or any folder above it' : ''}.`,
    {},
    {
      hint: `Create one of ${PROJECT_CONFIG_FILES.join(', ')} that exports defineConfig({ components: [...] }) (\`defstate init\` writes a starter), or pass --project <dir>.`,
    },
  );
}

/**
 * Loads `defstate.config.*` from `root` (or, with `searchUpward`, the nearest folder above that
 * has one). TypeScript configs load through jiti, so a project needs no build step; jiti is
 * imported only then, so JavaScript configs cost nothing extra.
 */
export async function loadProject(
  root: string,
  options: FindProjectOptions = {},
): Promise<Project> {
  const configFile = await findProjectConfig(root, options);
  const projectRoot = dirname(configFile);
  let exported: unknown;
  try {
    exported = await importConfig(configFile);
  } catch (error) {
    throw new ConfigError(
      `Could not load the project config: ${(error as Error).message}`,
      { file: configFile },
      {
        cause: error,
        hint: 'Fix the error above; the config must import cleanly with Node.',
      },
    );
  }
  if (exported === NO_DEFAULT_EXPORT) {
    throw new ConfigError(
      'the project config has no default export',
      { file: configFile },
      {
        hint: 'Export the configuration as the default: `export default defineConfig({ components: [...] })`.',
      },
    );
  }
  let config = exported;
  if (typeof exported === 'function') {
    try {
      config = await (exported as () => unknown)();
    } catch (error) {
      // The config's own function failed (it lists components from somewhere that is down, say):
      // a configuration problem of this file, told in its own words.
      throw new ConfigError(
        `the function the project config exports failed: ${describeError(error)}`,
        { file: configFile },
        { cause: error, hint: 'Fix what it reports; run with --verbose to see where it failed.' },
      );
    }
  }
  const { components, sharedKeys } = mergeSharedKeys(validateProjectConfig(config, configFile));
  return {
    root: projectRoot,
    configFile,
    components,
    ...(sharedKeys.size > 0 ? { sharedKeys } : {}),
  };
}

const NO_DEFAULT_EXPORT = Symbol('no default export');

async function importConfig(file: string): Promise<unknown> {
  let module: Record<string, unknown>;
  if (file.endsWith('.ts') || file.endsWith('.mts')) {
    const { createJiti } = await import('jiti');
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    module = (await jiti.import(file)) as Record<string, unknown>;
  } else {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
  // A CommonJS config (`module.exports = …`) arrives as the default export, in both loaders.
  return module && typeof module === 'object' && 'default' in module
    ? module.default
    : NO_DEFAULT_EXPORT;
}

export function validateProjectConfig(config: unknown, file: string): Component[] {
  const byHand = wellFormedComponents(config);
  if (byHand) {
    checkSharedKeys(byHand, file);
    return byHand;
  }
  const result = ProjectConfigSchema.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : undefined;
    throw new ConfigError(
      issue?.message ?? 'invalid project config',
      { file, field },
      { hint: 'The config must `export default defineConfig({ components: [...] })`.' },
    );
  }
  const components = (result.data as ProjectConfig).components;
  checkSharedKeys(components, file);
  return components;
}

/**
 * The components of a config that is right as it stands, checked by plain code: a config that
 * builds 10,000 components in a loop costs the schema more than it costs to build. Each is copied,
 * as the schema copies it. `undefined` when anything at all is off: the schema then says what.
 * Held to the schema by test/trusted-documents.test.ts (never yes where it says no, and the same
 * components it gives back).
 */
export function wellFormedComponents(config: unknown): Component[] | undefined {
  if (!isRecord(config) || !Array.isArray(config.components)) return undefined;
  const listed: unknown[] = config.components;
  const components: Component[] = new Array(listed.length);
  for (let index = 0; index < listed.length; index++) {
    const component = listed[index];
    if (
      !isRecord(component) ||
      !isStateKey(component.key) ||
      !isManagementType(component.management) ||
      typeof component.refresh !== 'function' ||
      (component.description !== undefined && typeof component.description !== 'string') ||
      (component.refreshIfDev !== undefined && typeof component.refreshIfDev !== 'boolean')
    )
      return undefined;
    components[index] = { ...component } as unknown as Component;
  }
  return components;
}
