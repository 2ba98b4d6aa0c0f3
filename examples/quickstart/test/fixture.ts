/** A throwaway copy of the example's sources, so a test can break them without touching the real ones. */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const exampleRoot = fileURLToPath(new URL('..', import.meta.url));

export interface Fixture {
  root: string;
  /** Writes (or overwrites) a file relative to the fixture's root. */
  write: (file: string, text: string) => Promise<void>;
  remove: (file: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

export async function copySources(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'quickstart-test-'));
  await cp(join(exampleRoot, 'sources'), join(root, 'sources'), { recursive: true });
  return {
    root,
    write: async (file, text) => {
      await mkdir(dirname(join(root, file)), { recursive: true });
      await writeFile(join(root, file), text);
    },
    remove: (file) => rm(join(root, file), { recursive: true, force: true }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export const neverAborted: AbortSignal = new AbortController().signal;
