import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  causeChain,
  debugEnabled,
  devOnlyRuntimeDependencies,
  didYouMean,
  formatCauseChain,
  loadProject,
  nearestKey,
  RefreshFailedError,
} from '../src/index.js';
import { useTempDir } from './helpers.js';

describe('nearestKey', () => {
  const keys = ['warehouse-catalog', 'services', 'team/flags'];
  it('finds a key one typo away, a swapped pair included', () => {
    expect(nearestKey('warehouse-catalgo', keys)).toBe('warehouse-catalog');
    expect(nearestKey('servics', keys)).toBe('services');
    expect(nearestKey('Team/Flags', keys)).toBe('team/flags');
    expect(didYouMean('team/flag', keys)).toBe('Did you mean "team/flags"?');
  });
  it('suggests nothing for a key far from every one', () => {
    expect(nearestKey('billing', keys)).toBeUndefined();
    expect(nearestKey('x', keys)).toBeUndefined();
    expect(didYouMean('billing', keys)).toBe('');
  });
});

describe('formatCauseChain', () => {
  it('lists each cause with its stack, and stops at a loop', () => {
    const root = new TypeError('boom');
    const outer = new RefreshFailedError('k', 'Refresh of "k" failed: boom', { cause: root });
    expect(causeChain(outer)).toEqual([outer, root]);
    const text = formatCauseChain(outer);
    expect(text).toMatch(/^RefreshFailedError: Refresh of "k" failed: boom\n\s+at /);
    expect(text).toMatch(/\n {2}caused by: TypeError: boom\n\s+at .*project-ux\.test\.ts/);
    expect(formatCauseChain(outer, { stacks: false })).toBe(
      'RefreshFailedError: Refresh of "k" failed: boom\n  caused by: TypeError: boom',
    );
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(b)).toHaveLength(2);
  });
});

describe('debugEnabled', () => {
  it('reads 1, *, and comma lists of namespaces', () => {
    const on = (value: string | undefined, namespace: string) =>
      debugEnabled(namespace, { DEFSTATE_DEBUG: value });
    expect(on('1', 'cli')).toBe(true);
    expect(on('*', 'store:s3')).toBe(true);
    expect(on('store, cli', 'cli')).toBe(true);
    expect(on('store', 'store:gcs')).toBe(true);
    expect(on('store:s3', 'store:gcs')).toBe(false);
    expect(on('store:s3', 'cli')).toBe(false);
    expect(on('', 'cli')).toBe(false);
    expect(on(undefined, 'cli')).toBe(false);
    expect(on('0', 'cli')).toBe(false);
  });
});

describe('loadProject, as users find it', () => {
  it('searches upward when asked, and only then', async () => {
    const root = await useTempDir('upward');
    await writeFile(join(root, 'defstate.config.mjs'), 'export default { components: [] };\n');
    const nested = join(root, 'a', 'b');
    await mkdir(nested, { recursive: true });
    const project = await loadProject(nested, { searchUpward: true });
    expect(project.root).toBe(root);
    await expect(loadProject(nested)).rejects.toBeInstanceOf(ConfigError);
  });

  it('says when a config has no default export, in JavaScript and TypeScript', async () => {
    for (const name of ['defstate.config.mjs', 'defstate.config.ts']) {
      const root = await useTempDir('no-default');
      await writeFile(join(root, name), 'export const components = [];\n');
      const error = await loadProject(root).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('has no default export');
      expect((error as Error).message).toContain(name);
    }
  });
});

describe('devOnlyRuntimeDependencies', () => {
  it('names core and the selected adapter when they are only devDependencies', async () => {
    const root = await useTempDir('deps');
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({
        devDependencies: { '@defstate/core': '1', '@defstate/storage-gcs': '1', other: '1' },
      }),
    );
    const found = await devOnlyRuntimeDependencies(root, { adapter: 'gcs', versioned: true });
    expect(found.map((entry) => [entry.packageName, entry.role])).toEqual([
      ['@defstate/core', 'loader'],
      ['@defstate/storage-gcs', 'adapter'],
    ]);
    expect(found[1]?.fix).toBe('npm install @defstate/storage-gcs');
    expect(
      await devOnlyRuntimeDependencies(root, { adapter: 'gcs', versioned: false }),
    ).toHaveLength(1);
    expect(await devOnlyRuntimeDependencies(join(root, 'none'), { versioned: true })).toEqual([]);
  });
});
