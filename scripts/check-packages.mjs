// Checks every publishable package the way a consumer will see it: publint for the package.json
// and files, are-the-types-wrong for the types under Node's and bundlers' resolution. Run after a
// build: `pnpm check:packages`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const folders = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name));
let failed = false;
for (const folder of folders) {
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  for (const [command, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'esm-only', '--format', 'table-flipped']],
  ]) {
    const result = spawnSync('pnpm', ['exec', command, ...args], { cwd: folder, encoding: 'utf8' });
    const ok = result.status === 0;
    failed ||= !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${manifest.name}: ${command}`);
    if (!ok) console.log(result.stdout + result.stderr);
  }
}
process.exitCode = failed ? 1 : 0;
