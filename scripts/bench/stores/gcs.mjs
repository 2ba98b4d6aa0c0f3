// GCS on fake-gcs-server, as the benchmarks' worker processes open it.
import { createGcsStore } from '../../../packages/storage-gcs/dist/index.js';

export async function openStore(namespace) {
  return createGcsStore({
    bucket: process.env.BENCH_BUCKET,
    prefix: namespace,
    apiEndpoint: process.env.BENCH_ENDPOINT,
    projectId: 'bench',
  });
}
