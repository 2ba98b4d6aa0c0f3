import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, runNode } from './helpers.js';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const { dependencies } = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

describe('the built package', () => {
  it('shares one copy of every module between its entry points', async () => {
    // The entry points are bundled apart (scripts/bundle.mjs); what they have in common must be
    // one module, or an error class, a registry of secrets, a proven store would exist twice.
    await ensureBuilt();
    const script = `
      const entries = ['@defstate/core', '@defstate/core/adapter', '@defstate/core/load'];
      const modules = await Promise.all(entries.map((entry) => import(entry)));
      const shared = [];
      const apart = [];
      for (const [index, module] of modules.entries()) {
        for (const other of modules.slice(index + 1)) {
          for (const name of Object.keys(module)) {
            if (!(name in other)) continue;
            (module[name] === other[name] ? shared : apart).push(name);
          }
        }
      }
      process.stdout.write(JSON.stringify({ shared, apart }));`;
    const { shared, apart } = JSON.parse(await runNode(['--input-type=module', '-e', script])) as {
      shared: string[];
      apart: string[];
    };
    // The one name two different functions answer to: the adapter toolkit's `causeChain` walks
    // SDK errors (`cause` and `error`), the root's lists a chain for printing.
    expect(apart).toEqual(['causeChain']);
    expect(shared).toEqual(expect.arrayContaining(['DefstateError', 'redactSecrets', 'loadState']));
  });

  it('bundles into an app without a warning', async () => {
    // An entry point imports the chunks it needs for their order alone (`import "./chunk.js"`); a
    // bundler told that every file of the package is free of side effects drops those imports and
    // says so, once per import: 70 warnings for an app importing `@defstate/core/load`.
    await ensureBuilt();
    const folder = await mkdtemp(join(tmpdir(), 'defstate-bundle-app-'));
    try {
      // The package installed in the app's node_modules, as an app's bundler finds it.
      await mkdir(join(folder, 'node_modules/@defstate'), { recursive: true });
      await symlink(PACKAGE_ROOT, join(folder, 'node_modules/@defstate/core'));
      for (const entry of ['@defstate/core', '@defstate/core/adapter', '@defstate/core/load']) {
        await writeFile(join(folder, 'app.mjs'), `export * from '${entry}';\n`);
        const result = await build({
          entryPoints: [join(folder, 'app.mjs')],
          outfile: join(folder, 'out.mjs'),
          bundle: true,
          platform: 'node',
          format: 'esm',
          // Core's own dependencies stay outside; core itself is bundled, as an app's bundler would.
          external: Object.keys(dependencies),
          logLevel: 'silent',
        });
        expect(result.warnings.map((warning) => warning.text)).toEqual([]);
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
