// Azure Blob Storage on Azurite, as the benchmarks' worker processes open it.
import { storageAdapter } from '../../../packages/storage-azure/dist/index.js';

export async function openStore(namespace) {
  const options = storageAdapter.optionsSchema.parse({
    container: process.env.BENCH_BUCKET,
    prefix: namespace,
    connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING,
  });
  return storageAdapter.create(options, { baseDir: process.cwd(), env: process.env });
}
