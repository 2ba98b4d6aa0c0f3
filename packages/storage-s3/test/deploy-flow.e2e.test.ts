import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, onTestFinished, test } from 'vitest';
import { describeDeployFlow } from '../../cli/test/deploy-flow.js';

// The CLI's deploy flow end to end against moto: each test gets a prefix of its own.
const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const credentials = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
// The flow also opens the store in this process (to delete a pinned version behind defstate's
// back), and the SDK reads credentials from the process environment.
Object.assign(process.env, credentials);

describeDeployFlow(
  {
    name: 's3 (moto)',
    // The instance config as Kubernetes would mount it from a ConfigMap: a folder holding
    // defstate.yaml, named by DEFSTATE_HOME; credentials come from the environment.
    freshStore: async () => {
      const home = await mkdtemp(join(tmpdir(), 'defstate-instance-'));
      onTestFinished(() => rm(home, { recursive: true, force: true }));
      await writeFile(
        join(home, 'defstate.yaml'),
        [
          'state_storage:',
          '  adapter: s3',
          '  options:',
          `    bucket: ${bucket}`,
          `    prefix: deploy/${randomBytes(6).toString('hex')}`,
          '    region: us-east-1',
          `    endpoint: ${endpoint}`,
          '    forcePathStyle: true',
          '',
        ].join('\n'),
      );
      return { ...credentials, DEFSTATE_HOME: home };
    },
    // A closed port: every request fails to connect.
    unreachable: {
      DEFSTATE_STORAGE_URL: `s3://${bucket}/deploy?endpoint=http://127.0.0.1:9&forcePathStyle=true&region=us-east-1`,
    },
    installAdapter: async (project) => {
      await mkdir(join(project, 'node_modules', '@defstate'), { recursive: true });
      await symlink(PACKAGE_ROOT, join(project, 'node_modules', '@defstate', 'storage-s3'), 'dir');
    },
    timeoutMs: 120_000,
  },
  { describe, test, expect },
);
