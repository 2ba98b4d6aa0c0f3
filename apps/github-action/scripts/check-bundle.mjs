// Fails when the committed dist/index.js is not what the sources build: the runner executes the
// committed file, so a stale one would ship old code whatever the sources say.
//
//   node apps/github-action/scripts/check-bundle.mjs
//
// It builds the workspace packages the bundle is made of (core) with turbo, bundles to a temporary folder
// and compares bytes with dist/index.js; in a git checkout it also fails when dist/index.js
// differs from the committed one, so it catches a stale commit even after a build rewrote the
// file in place.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.mjs';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = path.resolve(PACKAGE_ROOT, '../..');
const COMMITTED = path.join(PACKAGE_ROOT, 'dist', 'index.js');
const REBUILD = 'pnpm --filter @defstate/github-action build';

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return result;
}

// Only what the bundle is made of: the workspace packages in `dependencies` (devDependencies such
// as the S3 adapter are for the tests and stay out of the bundle).
const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'));
const bundled = Object.entries(manifest.dependencies ?? {})
  .filter(([, range]) => String(range).startsWith('workspace:'))
  .map(([name]) => `--filter=${name}`);
const dependencies = run(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', ...bundled, '--output-logs=errors-only'],
  REPO_ROOT,
);
if (dependencies.status !== 0) {
  console.error(dependencies.stdout + dependencies.stderr);
  console.error('check-bundle: building the action’s dependencies failed.');
  process.exit(1);
}

const folder = mkdtempSync(path.join(tmpdir(), 'defstate-action-bundle-'));
const problems = [];
try {
  const fresh = readFileSync(await bundle(path.join(folder, 'index.js')));
  let current;
  try {
    current = readFileSync(COMMITTED);
  } catch {
    problems.push(`${path.relative(REPO_ROOT, COMMITTED)} is missing.`);
  }
  if (current && !fresh.equals(current)) {
    problems.push(
      `${path.relative(REPO_ROOT, COMMITTED)} is stale: it is not what the sources build (${current.length} bytes, a fresh build is ${fresh.length}).`,
    );
  }
  const git = run('git', ['diff', '--quiet', 'HEAD', '--', COMMITTED], REPO_ROOT);
  if (git.status === 1) {
    problems.push(
      `${path.relative(REPO_ROOT, COMMITTED)} differs from the committed file: commit the rebuilt bundle.`,
    );
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`check-bundle: ${problem}`);
  console.error(`  → Run \`${REBUILD}\` and commit apps/github-action/dist/index.js.`);
  process.exit(1);
}
console.log('check-bundle: apps/github-action/dist/index.js matches its sources.');
