// Builds the package's JavaScript: its three entry points (`.`, `./adapter`, `./load`) bundled
// from src/ by esbuild, with the code they share split into dist/chunks/. `tsc` writes the type
// declarations next to them (`pnpm build` runs both).
//
// Why bundled: every `defstate` command imports core, and Node loads an ES module graph file by
// file: the root entry point as 81 modules took ≈ 18 ms longer to import than as 25 files of
// chunks. The chunks are shared, so each module's state (error classes, the stores already
// proven, the secrets to hide) exists once however many entry points a process imports.
// Dependencies (zod, jiti, yaml…) are not bundled: they resolve from the consumer's install.
// package.json lists the chunks under `sideEffects`: an entry point imports some chunks only to keep
// their order (`import "./chunks/…"`), and a bundler told that no file has side effects drops each
// such import with a warning (70 for an app importing `./load`). Chunks hold declarations only, so
// an app's bundler still leaves out what the app does not use.
//
//   node scripts/bundle.mjs
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(PACKAGE_ROOT, 'dist');

/** Removes the JavaScript an earlier build left in dist/ (a module per file); keeps declarations. */
async function removeOldJavaScript() {
  const files = await readdir(DIST, { recursive: true }).catch(() => []);
  await Promise.all(
    files
      .filter((file) => /\.js(\.map)?$/.test(file))
      .map((file) => rm(path.join(DIST, file), { force: true })),
  );
  await rm(path.join(DIST, 'chunks'), { recursive: true, force: true });
}

export async function bundle() {
  await removeOldJavaScript();
  await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: ['src/index.ts', 'src/adapter/index.ts', 'src/load.ts'],
    outdir: 'dist',
    outbase: 'src',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundle();
}
