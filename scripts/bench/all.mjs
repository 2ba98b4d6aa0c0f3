// `pnpm bench`: every benchmark in turn, each printing its own table. Pass names to run some:
// `node scripts/bench/all.mjs cli backends` (cli, deploy, backends, protocol, shards, guards,
// scale, memory, s3, gcs, azure).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPTS = {
  cli: 'run.mjs',
  deploy: 'deploy.mjs',
  backends: 'backends.mjs',
  protocol: 'protocol.mjs',
  shards: 'shards.mjs',
  guards: 'guards.mjs',
  scale: 'scale.mjs',
  memory: 'memory.mjs',
  s3: 's3.mjs',
  gcs: 'gcs.mjs',
  azure: 'azure.mjs',
};
const chosen = process.argv.slice(2);
let failed = false;
for (const [name, file] of Object.entries(SCRIPTS)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  console.log(`\n== ${name} (scripts/bench/${file})`);
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], {
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  failed ||= result.status !== 0;
}
process.exitCode = failed ? 1 : 0;
