import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../errors.js';
import { commitFile, removeFile, temporarySibling } from '../fs/atomic.js';
import { type Digest, DigestStream, digestOf, SMALL_FILE_BYTES } from '../fs/hash-file.js';
import type { StateInfo } from '../model/state-info.js';
import { createStateVersion } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { stateObjectName } from './layout.js';

/**
 * Uploads a finished state file as a new immutable version. Create-only: an existing object is
 * never overwritten. Returns the `StateInfo` the pointer should record.
 */
export async function uploadStateVersion(
  store: BlobStore,
  key: string,
  file: string,
  digest: Digest,
  {
    now = new Date(),
    signal,
    bytes,
  }: {
    now?: Date;
    signal?: AbortSignal;
    /** The file's bytes, already read and hashed to `digest` (`readDigest`): sent as they are. */
    bytes?: Uint8Array;
  } = {},
): Promise<StateInfo> {
  const version = createStateVersion(now);
  await store.put(stateObjectName(key, version), bytes ?? (await uploadBody(key, file, digest)), {
    ifNoneMatch: '*',
    size: digest.size,
    contentType: 'application/octet-stream',
    signal,
  });
  return {
    key,
    management: 'versioned',
    version,
    createdAt: now.toISOString(),
    sha256: digest.sha256,
    size: digest.size,
  };
}

/**
 * What to upload for a staged file. A small one is read whole and checked against its digest, so
 * the bytes the store gets are the bytes that were hashed even if something (a component's leaked
 * write) changed the file since; a large one is streamed, keeping memory flat.
 */
async function uploadBody(key: string, file: string, digest: Digest) {
  if (digest.size > SMALL_FILE_BYTES) return createReadStream(file);
  const bytes = await readFile(file);
  const read = digestOf(bytes);
  if (read.sha256 !== digest.sha256 || read.size !== digest.size) {
    throw new IntegrityError(
      `The staged state of "${key}" changed after it was hashed (sha256 ${digest.sha256}, ${digest.size} bytes; now ${read.sha256}, ${read.size} bytes); nothing was uploaded.`,
      {
        hint: 'Something still writes to statePath after refresh() returned: await every write before returning.',
      },
    );
  }
  return bytes;
}

/**
 * Downloads a version to `target`, streaming through sha256, and moves it into place only when
 * size and sha256 match the recorded info.
 */
export async function downloadStateVersion(
  store: BlobStore,
  info: StateInfo,
  target: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temporary = temporarySibling(target);
  try {
    const { body } = await store.get(stateObjectName(info.key, info.version), { signal });
    const digest = new DigestStream();
    await pipeline(body, digest, createWriteStream(temporary, { flags: 'wx' }), { signal });
    const actual = digest.digest();
    if (actual.sha256 !== info.sha256 || actual.size !== info.size) {
      throw new IntegrityError(
        `State "${info.key}" version ${info.version} in ${store.location} does not match its record: expected sha256 ${info.sha256} (${info.size} bytes), got ${actual.sha256} (${actual.size} bytes).`,
        {
          hint: 'The object was changed or truncated in storage; refresh the key to publish a good version.',
        },
      );
    }
    await commitFile(temporary, target);
  } finally {
    await removeFile(temporary);
  }
}
