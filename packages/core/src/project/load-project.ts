import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { ManagementTypeSchema } from '../model/state-info.js';
import { StateKeySchema } from '../model/state-key.js';
import type { Component, ProjectConfig } from './component.js';

export const PROJECT_CONFIG_FILES = [
  'defstate.config.ts',
  'defstate.config.mts',
  'defstate.config.js',
  'defstate.config.mjs',
] as const;

export interface Project {
  root: string;
  configFile: string;
  components: Component[];
}

const ComponentSchema = z.looseObject({
  key: StateKeySchema,
  management: ManagementTypeSchema,
  refresh: z.custom<Component['refresh']>((value) => typeof value === 'function', {
    error: 'refresh must be a function that writes the state to statePath',
  }),
  description: z.string().optional(),
});

const ProjectConfigSchema = z.object({
  components: z.array(ComponentSchema, { error: 'components must be an array of components' }),
});

/** Finds the project config in `root`, or throws a `ConfigError` listing the names looked for. */
export async function findProjectConfig(root: string): Promise<string> {
  for (const name of PROJECT_CONFIG_FILES) {
    const file = join(root, name);
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  throw new ConfigError(
    `No project config found in ${root}.`,
    {},
    {
      hint: `Create one of ${PROJECT_CONFIG_FILES.join(', ')} that exports defineConfig({ components: [...] }), or pass --project <dir>.`,
    },
  );
}

/**
 * Loads `defstate.config.*` from `root`. TypeScript configs load through jiti, so a project needs
 * no build step; jiti is imported only then, so JavaScript configs cost nothing extra.
 */
export async function loadProject(root: string): Promise<Project> {
  const projectRoot = resolve(root);
  const configFile = await findProjectConfig(projectRoot);
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
  const config = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  return { root: projectRoot, configFile, components: validateProjectConfig(config, configFile) };
}

async function importConfig(file: string): Promise<unknown> {
  if (file.endsWith('.ts') || file.endsWith('.mts')) {
    const { createJiti } = await import('jiti');
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    return jiti.import(file, { default: true });
  }
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  return module.default;
}

export function validateProjectConfig(config: unknown, file: string): Component[] {
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
  const seen = new Map<string, number>();
  components.forEach((component, index) => {
    const first = seen.get(component.key);
    if (first !== undefined) {
      throw new ConfigError(
        `components[${first}] and components[${index}] both use the key "${component.key}"${describePair(components[first], component)}.`,
        { file, field: `components.${index}.key` },
        {
          hint: 'Every component needs its own key: two components sharing one would overwrite each other’s state.',
        },
      );
    }
    seen.set(component.key, index);
  });
  return components;
}

function describePair(first: Component | undefined, second: Component): string {
  const names = [first?.description, second.description].filter(Boolean);
  return names.length === 2 ? ` (${names[0]}; ${names[1]})` : '';
}
