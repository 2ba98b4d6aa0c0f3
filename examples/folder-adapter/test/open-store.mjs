// The store as the conformance kit opens it, here and in the child processes it races.
import { join } from 'node:path';
import { TokenFolderStore } from '../src/index.mjs';

export async function openStore(namespace) {
  return new TokenFolderStore(join(process.env.FOLDER_ADAPTER_ROOT, namespace));
}
