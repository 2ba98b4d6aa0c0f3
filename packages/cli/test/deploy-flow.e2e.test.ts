import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { describeDeployFlow } from './deploy-flow.js';

// The deploy flow on the file store. The unreachable store is an S3 one on a closed port whose
// adapter this project does not even have: any attempt to open it fails the run.
describeDeployFlow(
  {
    name: 'the file store',
    freshStore: async () => ({
      DEFSTATE_STORAGE_URL: pathToFileURL(
        join(await mkdtemp(join(tmpdir(), 'defstate-deploy-store-')), 'store'),
      ).href,
    }),
    unreachable: { DEFSTATE_STORAGE_URL: 's3://nowhere/state?endpoint=http://127.0.0.1:9' },
  },
  { describe, test, expect },
);
