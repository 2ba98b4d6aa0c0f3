import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Core's folders form layers: a module may import from its own layer or a lower one, never from a
 * higher one, so the folder tree reads as the architecture (docs/architecture.md) and no cycle
 * can form between concepts. `import type` is exempt: a type names a contract and costs nothing
 * at run time.
 */
const LAYERS = [
  'errors.ts',
  'model',
  'async',
  'fs',
  'adapter',
  'store',
  'versioned',
  'local',
  'project',
  'instance',
  'deploy',
  'refresh',
  'loader',
  'index.ts',
  'load.ts',
];

const SRC = new URL('../src/', import.meta.url).pathname;

function layerOf(file: string): number {
  const top = relative(SRC, file).split('/')[0] as string;
  const layer = LAYERS.indexOf(top);
  if (layer < 0) throw new Error(`${top} is in no layer: add it to LAYERS and to the architecture`);
  return layer;
}

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms;
/** Any module a file imports when it is loaded: relative, a package, or Node's own. */
const ANY_RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms;

/** Every module `entry` loads before its code runs (dynamic `import()` is not followed). */
async function staticImports(entry: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.has(file)) continue;
    const text = await readFile(file, 'utf8');
    const specifiers = [...text.matchAll(ANY_RUNTIME_IMPORT)].map(
      ([, specifier]) => specifier as string,
    );
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.'))
        pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return graph;
}

describe('core layering', () => {
  it('never imports from a higher layer', async () => {
    const violations: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const text = await readFile(file, 'utf8');
      for (const [, specifier] of text.matchAll(RUNTIME_IMPORT)) {
        const target = join(dirname(file), (specifier as string).replace(/\.js$/, '.ts'));
        if (layerOf(target) > layerOf(file)) {
          violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('loads state at start-up with nothing but its own modules and Node', async () => {
    // `@defstate/core/load` is what an app imports to start: zod alone costs it about 100 ms, and
    // the refresh engine, config loader and adapters are not what it needs.
    const graph = await staticImports(join(SRC, 'load.ts'));
    const libraries: string[] = [];
    for (const [file, specifiers] of graph) {
      for (const specifier of specifiers) {
        if (!specifier.startsWith('.') && !specifier.startsWith('node:')) {
          libraries.push(`${relative(SRC, file)} imports ${specifier}`);
        }
      }
    }
    expect(libraries).toEqual([]);
    const modules = [...graph.keys()].map((file) => relative(SRC, file));
    expect(modules).toContain('loader/load-state.ts');
    for (const heavy of ['refresh/', 'project/', 'instance/open-store.ts', 'loader/dev-mode.ts']) {
      expect(modules.filter((module) => module.startsWith(heavy))).toEqual([]);
    }
  });

  it('knows every folder', async () => {
    const tops = new Set((await sourceFiles(SRC)).map((file) => relative(SRC, file).split('/')[0]));
    for (const top of tops) expect(LAYERS, `${top}`).toContain(top);
  });
});
