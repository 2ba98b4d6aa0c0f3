import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  findProjectConfig,
  loadProject,
  PROJECT_CONFIG_FILES,
  validateProjectConfig,
} from '../src/index.js';
import { ensureBuilt, useTempDir } from './helpers.js';

const refresh = () => {};

async function projectWith(files: Record<string, string>) {
  const root = await useTempDir('project');
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, name), text);
  return root;
}

async function loadError(root: string): Promise<ConfigError> {
  const error = await loadProject(root).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadProject', () => {
  it('lists the file names it looked for when there is no config', async () => {
    const root = await projectWith({});
    const error = await loadError(root);
    expect(error.message).toContain(`No project config found in ${root}`);
    for (const name of PROJECT_CONFIG_FILES) expect(error.message).toContain(name);
    await expect(findProjectConfig(root)).rejects.toBeInstanceOf(ConfigError);
  });

  it('loads a TypeScript config without a build step', async () => {
    const root = await projectWith({
      'defstate.config.ts': `
        import { writeFile } from 'node:fs/promises';
        interface Ctx { statePath: string }
        type Management = 'local' | 'versioned';
        const management: Management = 'versioned';
        export default {
          components: [
            { key: 'catalog', management, description: 'Warehouse catalog',
              refresh: async ({ statePath }: Ctx) => { await writeFile(statePath, 'ts'); } },
          ],
        };
      `,
    });
    const project = await loadProject(root);
    expect(project.root).toBe(root);
    expect(project.configFile).toBe(join(root, 'defstate.config.ts'));
    expect(project.components).toHaveLength(1);
    expect(project.components[0]).toMatchObject({
      key: 'catalog',
      management: 'versioned',
      description: 'Warehouse catalog',
    });
    expect(typeof project.components[0]?.refresh).toBe('function');
  });

  it('keeps one component per shared key, the first declared, and lists every declarer', async () => {
    const root = await projectWith({
      'defstate.config.mjs': `
        export default {
          components: [
            { key: 'shared', management: 'versioned', description: 'first', refresh() {} },
            { key: 'own', management: 'local', refresh() {} },
            { key: 'shared', management: 'versioned', description: 'second', refreshIfDev: false, refresh() {} },
          ],
        };
      `,
    });
    const project = await loadProject(root);
    expect(project.components.map(({ key }) => key)).toEqual(['shared', 'own']);
    expect(project.components[0]).toMatchObject({ description: 'first', refreshIfDev: false });
    expect(project.sharedKeys?.get('shared')?.map(({ description }) => description)).toEqual([
      'first',
      'second',
    ]);
    expect(project.sharedKeys?.has('own')).toBe(false);
  });

  it('loads a .mjs config that exports a function', async () => {
    const root = await projectWith({
      'defstate.config.mjs': `
        export default async () => ({
          components: [
            { key: 'a', management: 'local', refresh() {} },
            { key: 'b', management: 'versioned', refresh() {} },
          ],
        });
      `,
    });
    const project = await loadProject(root);
    expect(project.components.map((component) => component.key)).toEqual(['a', 'b']);
  });

  it('prefers defstate.config.ts over the other names', async () => {
    const config = (key: string) =>
      `export default { components: [{ key: '${key}', management: 'local', refresh() {} }] };`;
    const root = await projectWith({
      'defstate.config.mjs': config('from-mjs'),
      'defstate.config.ts': config('from-ts'),
    });
    expect((await loadProject(root)).components[0]?.key).toBe('from-ts');
  });

  it('loads a config that imports @defstate/core, as users write it', async () => {
    await ensureBuilt();
    const root = await projectWith({
      'defstate.config.ts': `
        import { defineComponent, defineConfig } from '@defstate/core';
        export default defineConfig({
          components: [defineComponent({ key: 'x', management: 'local', refresh: () => {} })],
        });
      `,
    });
    await mkdir(join(root, 'node_modules', '@defstate'), { recursive: true });
    await symlink(
      fileURLToPath(new URL('..', import.meta.url)),
      join(root, 'node_modules', '@defstate', 'core'),
      'dir',
    );
    expect((await loadProject(root)).components[0]?.key).toBe('x');
  });

  it('reports a config that fails to import, naming the file', async () => {
    const root = await projectWith({
      'defstate.config.mjs': `throw new Error('cannot reach the catalog');`,
    });
    const error = await loadError(root);
    expect(error.message).toContain(join(root, 'defstate.config.mjs'));
    expect(error.message).toContain('cannot reach the catalog');
  });

  it('reports a TypeScript syntax error, naming the file', async () => {
    const root = await projectWith({ 'defstate.config.ts': 'export default {{{' });
    const error = await loadError(root);
    expect(error.message).toContain(join(root, 'defstate.config.ts'));
  });

  it('validates what the config exports', async () => {
    const root = await projectWith({
      'defstate.config.mjs': `export default { components: [{ key: 'a', management: 'local', refresh: 'npm run fetch' }] };`,
    });
    const error = await loadError(root);
    expect(error.field).toBe('components.0.refresh');
    expect(error.message).toContain('refresh must be a function');
  });
});

describe('validateProjectConfig', () => {
  const FILE = '/p/defstate.config.ts';

  function invalid(config: unknown): ConfigError {
    try {
      validateProjectConfig(config, FILE);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('returns the components of a valid config', () => {
    const components = [
      { key: 'a', management: 'local', refresh },
      { key: 'b', management: 'versioned', refresh, description: 'B' },
    ];
    expect(validateProjectConfig({ components }, FILE)).toEqual(components);
  });

  it('names both components that share a key but not its management type', () => {
    const error = invalid({
      components: [
        { key: 'shared', management: 'local', refresh, description: 'orders' },
        { key: 'other', management: 'local', refresh },
        { key: 'shared', management: 'versioned', refresh, description: 'order lines' },
      ],
    });
    expect(error.message).toContain('components[0] and components[2] both use the key "shared"');
    expect(error.message).toContain('one is local and the other versioned (orders; order lines)');
    expect(error.field).toBe('components.2.management');
    expect(error.message).toContain(FILE);
  });

  it('lets components that agree on the management type share a key', () => {
    const components = [
      { key: 'shared', management: 'versioned', refresh },
      { key: 'shared', management: 'versioned', refresh, refreshIfDev: false },
    ];
    expect(validateProjectConfig({ components }, FILE)).toEqual(components);
  });

  it('names a refreshIfDev that is not a boolean', () => {
    const error = invalid({
      components: [{ key: 'a', management: 'local', refresh, refreshIfDev: 'no' }],
    });
    expect(error.field).toBe('components.0.refreshIfDev');
    expect(error.message).toContain('refreshIfDev must be true or false');
  });

  it('names a refresh that is not a function', () => {
    const error = invalid({ components: [{ key: 'a', management: 'local', refresh: 42 }] });
    expect(error.field).toBe('components.0.refresh');
    expect(error.message).toContain(`${FILE} at components.0.refresh`);
  });

  it.each([
    ['a missing components array', {}, 'components'],
    ['components that is not an array', { components: {} }, 'components'],
    [
      'a bad management type',
      { components: [{ key: 'a', management: 'cloud', refresh }] },
      'components.0.management',
    ],
    [
      'an invalid key',
      { components: [{ key: '', management: 'local', refresh }] },
      'components.0.key',
    ],
    [
      'a key with a control character',
      { components: [{ key: 'a\u0007', management: 'local', refresh }] },
      'components.0.key',
    ],
  ])('names the field for %s', (_name, config, field) => {
    expect(invalid(config).field).toBe(field);
  });

  it('rejects a config that is not an object', () => {
    expect(invalid(undefined).message).toContain('defineConfig');
  });
});
