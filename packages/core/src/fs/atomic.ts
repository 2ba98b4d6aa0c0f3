import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A unique sibling name for a temporary file: same folder, so a rename is atomic. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Removes a file if it is there. `rm(path, { force: true })` does the same through a `lstat` and
 * Node's general removal code, which costs several times more when it runs for every key.
 */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Flushes a file or folder to disk, so a rename survives a power cut. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a folder; the rename is still atomic there.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Moves a finished file into place: fsync it, rename it over the target, fsync the folder. Readers
 * see the old file or the new one, never part of either.
 */
export async function commitFile(temporaryPath: string, targetPath: string): Promise<void> {
  await syncPath(temporaryPath);
  await rename(temporaryPath, targetPath);
  await syncPath(dirname(targetPath));
}

/** Writes `data` to `path` atomically through a temporary sibling. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporarySibling(path);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    await commitFile(temporary, path);
  } catch (error) {
    await removeFile(temporary);
    throw error;
  }
}

/** Writes all of `bytes`: one `write` may take fewer than it was given. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}
