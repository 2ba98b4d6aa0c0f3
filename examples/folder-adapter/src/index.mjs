// A third-party storage adapter in one file: objects are files in a folder, and each object's
// etag is a random token kept beside it. It shows the whole contract an adapter owes defstate:
// streamed get/put, head, paged list, delete, conditional puts that hold across processes, typed
// errors, cancellation by AbortSignal, declared capabilities, and options checked by a zod
// schema. The name check, the guarded download body and the cancellation check come from
// `@defstate/core/adapter`, the toolkit every adapter shares.
//
// Every write to a name happens while holding that name's lock, a folder made with mkdir, which
// the file system creates for exactly one caller. Inside the lock, the condition is checked
// against the current etag and the new content is renamed into place. (Stale locks of crashed
// writers are not broken here; a production adapter would.)
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  AbortedError,
  BlobNotFoundError,
  defineStorageAdapter,
  escapeName,
  PreconditionFailedError,
  StorageError,
  unescapeName,
} from '@defstate/core';
import { assertObjectName, guardBody, throwIfAborted } from '@defstate/core/adapter';
import { z } from 'zod';

export class TokenFolderStore {
  adapter = 'token-folder';
  capabilities = { conditionalPut: true, delete: true };

  constructor(root) {
    this.root = resolve(root);
    this.location = `token-folder://${this.root}`;
  }

  // Each `/`-separated segment is escaped, so any name is a safe, case-distinct file name. The
  // common name check first: no empty, `.` or `..` segment can alias a name or leave the root.
  #path(name, suffix) {
    assertObjectName(name);
    return join(this.root, 'objects', ...name.split('/').map(escapeName)) + suffix;
  }

  async #etag(name) {
    return readFile(this.#path(name, '.etag'), 'utf8').catch((error) => {
      if (error.code === 'ENOENT') return undefined;
      throw new StorageError(`Cannot read ${name} in ${this.location}`, { cause: error });
    });
  }

  async head(name, { signal } = {}) {
    throwIfAborted(signal, `head of ${name}`);
    const etag = await this.#etag(name);
    if (etag === undefined) return undefined;
    const size = Number((await readFile(this.#path(name, '.size'), 'utf8').catch(() => '0')) || 0);
    return { name, etag, size };
  }

  async get(name, { signal } = {}) {
    const meta = await this.head(name, { signal });
    if (!meta) throw new BlobNotFoundError(name);
    // The content file is replaced by rename, so this stream reads one whole version; the guard
    // checks its length, and ends it with AbortedError when the caller cancels.
    const body = guardBody(createReadStream(this.#path(name, '.data')), {
      what: `${this.location}/${name}`,
      expectedBytes: meta.size,
      signal,
    });
    return { ...meta, body };
  }

  async put(name, body, options = {}) {
    const data = this.#path(name, '.data');
    throwIfAborted(options.signal, `put of ${name}`);
    await mkdir(dirname(data), { recursive: true });
    const temporary = `${data}.${randomBytes(6).toString('hex')}.tmp`;
    const source =
      typeof body === 'string' || body instanceof Uint8Array ? Readable.from([body]) : body;
    let size = 0;
    try {
      await pipeline(
        source,
        async function* (chunks) {
          for await (const chunk of chunks) {
            size += Buffer.byteLength(chunk);
            yield chunk;
          }
        },
        createWriteStream(temporary),
        { signal: options.signal },
      );
    } catch (error) {
      await rm(temporary, { force: true });
      if (options.signal?.aborted) {
        throw new AbortedError(`put of ${name} was cancelled.`, { cause: error });
      }
      throw new StorageError(`Cannot write ${name} in ${this.location}`, { cause: error });
    }
    try {
      throwIfAborted(options.signal, `put of ${name}`);
      return await this.#locked(name, async () => {
        const current = await this.#etag(name);
        if (options.ifNoneMatch === '*' && current !== undefined)
          throw new PreconditionFailedError(name);
        if (options.ifMatch !== undefined && current !== options.ifMatch)
          throw new PreconditionFailedError(name);
        const etag = randomBytes(8).toString('hex');
        await rename(temporary, data);
        await writeFile(this.#path(name, '.size'), String(size));
        await writeFile(this.#path(name, '.etag'), etag);
        return { etag };
      });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async list(prefix, { cursor, limit = 1000, signal } = {}) {
    throwIfAborted(signal, `list of ${prefix}`);
    const names = [];
    const walk = async (folder, base) => {
      const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.endsWith('.lock')) {
          await walk(join(folder, entry.name), `${base}${unescapeName(entry.name)}/`);
        } else if (entry.name.endsWith('.etag')) {
          names.push(base + unescapeName(entry.name.slice(0, -'.etag'.length)));
        }
      }
    };
    await walk(join(this.root, 'objects'), '');
    const matching = names
      .filter((name) => name.startsWith(prefix) && (cursor === undefined || name > cursor))
      .sort();
    const page = matching.slice(0, limit);
    const items = (await Promise.all(page.map((name) => this.head(name)))).filter(Boolean);
    return matching.length > limit ? { items, cursor: page.at(-1) } : { items };
  }

  async delete(name, { signal } = {}) {
    throwIfAborted(signal, `delete of ${name}`);
    await this.#locked(name, async () => {
      for (const suffix of ['.etag', '.size', '.data'])
        await rm(this.#path(name, suffix), { force: true });
    });
  }

  async #locked(name, action) {
    const lock = this.#path(name, '.lock');
    await mkdir(dirname(lock), { recursive: true });
    for (let waited = 0; ; waited++) {
      try {
        await mkdir(lock);
        break;
      } catch (error) {
        if (error.code !== 'EEXIST')
          throw new StorageError(`Cannot lock ${name} in ${this.location}`, { cause: error });
        if (waited > 5000) throw new StorageError(`Timed out waiting for the lock of ${name}`);
        await delay(1 + Math.random() * 4);
      }
    }
    try {
      return await action();
    } finally {
      await rmdir(lock);
    }
  }
}

/** How defstate.yaml (`adapter: defstate-folder-adapter-example`) or a URL reaches the store. */
export const storageAdapter = defineStorageAdapter({
  name: 'token-folder',
  optionsSchema: z.object({ path: z.string().min(1, 'path must name a folder') }).strict(),
  create: (options, context) => new TokenFolderStore(resolve(context.baseDir, options.path)),
  optionsFromUrl: (url) => ({ path: fileURLToPath(url) }),
});
