// S3 on moto, as the benchmarks' worker processes open it.
import { S3StoreOptionsSchema, storageAdapter } from '../../../packages/storage-s3/dist/index.js';

export async function openStore(namespace) {
  const options = S3StoreOptionsSchema.parse({
    bucket: process.env.BENCH_BUCKET,
    prefix: namespace,
    endpoint: process.env.BENCH_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
  });
  return storageAdapter.create(options, { baseDir: process.cwd(), env: process.env });
}
