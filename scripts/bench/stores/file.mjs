// The file store as the benchmarks' worker processes open it.
import { join } from 'node:path';
import { FileBlobStore } from '../../../packages/core/dist/index.js';

export async function openStore(namespace) {
  return new FileBlobStore(join(process.env.BENCH_FILE_ROOT, namespace));
}
