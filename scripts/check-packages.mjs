// Checks every publishable package the way a consumer will see it, after a build
// (`pnpm check:packages`):
// - publint, for the package.json and its files;
// - are-the-types-wrong under every resolution it knows (node10, node16 from CJS and from ESM,
//   bundler): the strict profile, which includes the others. The packages are ESM only, which
//   Node 20.19+ also loads with require(), so "CJS resolves to ESM" is the one rule left out;
// - what the tarball holds: LICENSE, README, the metadata that links back to the repository, and
//   for every source map, the sources it names (a map that points at files not shipped is noise).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const folders = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name));
let failed = false;

function report(name, check, problems) {
  const ok = problems.length === 0;
  failed ||= !ok;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${check}`);
  for (const problem of problems) console.log(`     ${problem}`);
}

/** The files `npm pack` would put in the tarball, relative to the package folder. */
function packedFiles(folder) {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: folder,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`npm pack failed in ${folder}: ${result.stderr}`);
  return new Set(JSON.parse(result.stdout)[0].files.map((file) => file.path));
}

function contentProblems(folder, manifest) {
  const files = packedFiles(folder);
  const problems = [];
  for (const required of ['LICENSE', 'README.md', 'package.json']) {
    if (!files.has(required)) problems.push(`${required} is not in the tarball`);
  }
  for (const field of ['repository', 'homepage', 'bugs', 'license']) {
    if (!manifest[field]) problems.push(`package.json has no "${field}"`);
  }
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(join(folder, file), 'utf8'));
    map.sources.forEach((source, index) => {
      const shipped = files.has(normalize(join(dirname(file), source)));
      if (!shipped && !map.sourcesContent?.[index]) {
        problems.push(`${file} names ${source}, which is not in the tarball`);
      }
    });
  }
  return problems;
}

for (const folder of folders) {
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  for (const [check, args] of [
    ['publint', ['publint', '--strict']],
    [
      'attw (node10, node16, bundler)',
      ['attw', '--pack', '.', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped'],
    ],
  ]) {
    const result = spawnSync('pnpm', ['exec', ...args], { cwd: folder, encoding: 'utf8' });
    report(manifest.name, check, result.status === 0 ? [] : [result.stdout + result.stderr]);
  }
  report(manifest.name, 'tarball contents', contentProblems(folder, manifest));
}
process.exitCode = failed ? 1 : 0;
