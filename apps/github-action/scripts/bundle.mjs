// Bundles the action into one file, dist/index.js, which is committed: the runner executes it
// straight from the repository with no install step. The same inputs always give the same bytes
// (no timestamps, no absolute paths, no source map), so check-bundle.mjs can compare.
//
//   node scripts/bundle.mjs [outfile]    (default: dist/index.js)
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

// jiti (core loads `.ts` project configs through it) fetches its Babel transform lazily with
// `createRequire(import.meta.url)("../dist/babel.cjs")`, a path relative to jiti's own file that
// does not exist next to the bundle. A plain `require` of the same file lets esbuild bundle it,
// and it stays lazy: esbuild runs a bundled CommonJS module only when it is first required.
const JITI_LAZY_BABEL = 'createRequire(import.meta.url)("../dist/babel.cjs")';
const jitiBabelInBundle = {
  name: 'jiti-babel-in-bundle',
  setup(onBuild) {
    onBuild.onLoad({ filter: /[\\/]jiti[\\/]lib[\\/]jiti\.mjs$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(JITI_LAZY_BABEL)) {
        throw new Error(
          `${args.path} no longer loads Babel with ${JITI_LAZY_BABEL}: update the jiti plugin in scripts/bundle.mjs for this jiti version.`,
        );
      }
      return {
        contents: source.replace(JITI_LAZY_BABEL, 'require("../dist/babel.cjs")'),
        loader: 'js',
        resolveDir: path.dirname(args.path),
      };
    });
  },
};

export async function bundle(outfile = path.join(PACKAGE_ROOT, 'dist', 'index.js')) {
  await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: ['src/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // Bundled CommonJS (jiti, Babel) requires Node built-ins: give the ES module a `require`.
    banner: {
      js: "import { createRequire as __defstateCreateRequire } from 'node:module';\nconst require = __defstateCreateRequire(import.meta.url);",
    },
    // Storage adapters are not bundled: core resolves them from the user's project at run time.
    legalComments: 'eof',
    sourcemap: false,
    metafile: false,
    logLevel: 'warning',
    plugins: [jitiBabelInBundle],
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = await bundle(process.argv[2] && path.resolve(process.argv[2]));
  console.log(`bundled ${path.relative(process.cwd(), outfile)}`);
}
