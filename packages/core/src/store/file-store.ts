import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { throwIfAborted } from '../adapter/deadline.js';
import { assertObjectName as assertName } from '../adapter/object-names.js';
import { createTracer, type Tracer } from '../adapter/tracer.js';
import {
  AbortedError,
  AccessDeniedError,
  BlobNotFoundError,
  DefstateError,
  PreconditionFailedError,
  StorageError,
  StoreNotFoundError,
  TransientError,
} from '../errors.js';
import { removeFile, syncPath, writeAll } from '../fs/atomic.js';
import { currentProcess, isGoneHere } from '../fs/process-identity.js';
import {
  type BlobBody,
  type BlobMeta,
  type BlobReadResult,
  type BlobStore,
  defineStorageAdapter,
  type ListOptions,
  type ListPage,
  type OperationOptions,
  type PutOptions,
  type PutResult,
} from './blob-store.js';
import { withFileLock } from './file-lock.js';
import {
  currentNaming,
  legacyNaming,
  NAMING_MARKER,
  NAMING_VERSION,
  type ObjectNaming,
} from './file-names.js';

/**
 * A `BlobStore` in a local folder, with the same conditional semantics as a cloud store and safe
 * across processes:
 * - create-only puts `link()` a finished temporary file to the target name, which fails
 *   atomically when the name exists;
 * - replace-if-match compares the etag and renames under a per-object lock (`file-lock.ts`), so
 *   no writer can slip in between the comparison and the rename;
 * - the etag a put returns is that of the file it wrote, taken before the file is moved into
 *   place, never a later look at the name (which another writer may have replaced by then);
 * - readers never take the lock: a rename swaps whole files, so a reader sees the old object or
 *   the new one.
 * Names map to files through `file-names.ts`: a store created now uses the current naming, one
 * created before it keeps the naming its files were written with. `.tmp`, `.locks` and the naming
 * marker cannot collide with an object because no object's file name starts with a dot.
 */
export class FileBlobStore implements BlobStore {
  readonly adapter = 'file';
  readonly capabilities = { conditionalPut: true, delete: true } as const;
  readonly location: string;
  readonly endpoint: string;
  readonly #root: string;
  #namingFound: Promise<ObjectNaming> | undefined;
  #markerWritten = false;
  /** Folders this store has made or found (see `#inFolder`). */
  readonly #folders = new Set<string>();
  /** `DEFSTATE_DEBUG=store:file` traces every operation to stderr. */
  readonly #tracer: Tracer;

  constructor(root: string, { env = process.env }: { env?: NodeJS.ProcessEnv } = {}) {
    this.#root = resolve(root);
    this.location = `file://${this.#root}`;
    this.endpoint = `file://${hostname()}${this.#root}`;
    this.#tracer = createTracer('store:file', { env });
  }

  get root(): string {
    return this.#root;
  }

  get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    return this.#tracer.operation('get', this.#target(name), () => this.#get(name, options));
  }

  head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    return this.#tracer.operation('head', this.#target(name), () => this.#head(name, options));
  }

  put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    const conditions = options.ifNoneMatch
      ? ' (create-only)'
      : options.ifMatch
        ? ` (if-match ${options.ifMatch})`
        : '';
    return this.#tracer.operation(
      'put',
      `${this.#target(name)}${conditions}`,
      () => this.#put(name, body, options),
      (result) => `etag ${result.etag}`,
    );
  }

  list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.#tracer.operation(
      'list',
      this.#target(prefix),
      () => this.#list(prefix, options),
      (page) => `${page.items.length} items`,
    );
  }

  delete(name: string, options: OperationOptions = {}): Promise<void> {
    return this.#tracer.operation('delete', this.#target(name), () => this.#delete(name, options));
  }

  #target(name: string): string {
    return `${this.location}/${name}`;
  }

  async #get(name: string, options: OperationOptions): Promise<BlobReadResult> {
    throwIfAborted(options.signal, `Reading ${name}`);
    const path = await this.#pathOf(name);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw this.#translate(error, name);
    }
    const stats = await handle.stat({ bigint: true }).catch(async (error: unknown) => {
      await handle.close();
      throw this.#translate(error, name);
    });
    // A folder holds other objects (`a/b` makes `a` a folder); it is not an object itself.
    if (!stats.isFile()) {
      await handle.close();
      throw new BlobNotFoundError(name);
    }
    const body = handle.createReadStream();
    const { signal } = options;
    if (signal) {
      // The caller gave up on the read: the body ends with the same typed error as elsewhere.
      const stop = () =>
        body.destroy(new AbortedError(`Reading ${name} was cancelled.`, { cause: signal.reason }));
      signal.addEventListener('abort', stop, { once: true });
      body.once('close', () => signal.removeEventListener('abort', stop));
    }
    return { body, ...metaOf(name, stats) };
  }

  async #head(name: string, options: OperationOptions): Promise<BlobMeta | undefined> {
    throwIfAborted(options.signal, `Looking up ${name}`);
    try {
      const stats = await stat(await this.#pathOf(name), { bigint: true });
      return stats.isFile() ? metaOf(name, stats) : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.#translate(error, name);
    }
  }

  async #put(name: string, body: BlobBody, options: PutOptions): Promise<PutResult> {
    if (options.signal?.aborted && isStream(body)) body.resume();
    throwIfAborted(options.signal, `Writing ${name}`);
    const target = await this.#pathOf(name);
    // A replace whose condition already fails fails before the body is written and flushed:
    // under contention most compare-and-swaps lose, and each loss then costs one stat. The
    // condition is checked again where it counts, under the lock. (A create-only put is checked
    // by its link alone: new names are the rule there, and a stat would only add a syscall.)
    if (options.ifMatch !== undefined) {
      const current = await stat(target, { bigint: true }).catch(() => undefined);
      if (!current?.isFile() || metaOf(name, current).etag !== options.ifMatch) {
        if (isStream(body)) body.resume();
        throw new PreconditionFailedError(name);
      }
    }
    await this.#writeMarker();
    const temporary = await this.#writeTemporary(body, options.signal);
    try {
      let written: BlobMeta;
      if (options.ifNoneMatch === '*') {
        written = metaOf(name, temporary.stats);
        await this.#inFolder(target, async () => {
          try {
            await link(temporary.path, target);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
              throw new PreconditionFailedError(name, { cause: error });
            }
            throw error;
          }
        });
      } else {
        written = await withFileLock(
          this.#lockPathOf(name),
          async () => {
            const current = await stat(target, { bigint: true }).catch(() => undefined);
            if (options.ifMatch !== undefined) {
              const etag = current?.isFile() ? metaOf(name, current).etag : undefined;
              if (etag !== options.ifMatch) throw new PreconditionFailedError(name);
            }
            const meta = current
              ? metaOf(name, await ensureNewerMtime(temporary, current.mtimeNs))
              : metaOf(name, temporary.stats);
            await this.#inFolder(target, () => rename(temporary.path, target));
            return meta;
          },
          {
            signal: options.signal,
            // While another writer holds the lock, it may well change the object: a
            // compare-and-swap that can no longer succeed stops waiting.
            giveUp: async () => {
              if (options.ifMatch === undefined) return undefined;
              const now = await stat(target, { bigint: true }).catch(() => undefined);
              const etag = now?.isFile() ? metaOf(name, now).etag : undefined;
              return etag === options.ifMatch ? undefined : new PreconditionFailedError(name);
            },
          },
        );
      }
      await syncPath(dirname(target));
      return { etag: written.etag };
    } catch (error) {
      throw this.#translate(error, name);
    } finally {
      // After a link the temporary name is a second name of the object; after a rename, gone.
      await removeFile(temporary.path);
    }
  }

  /**
   * Runs `write` (which puts a file at `target`) once the folder it goes in exists. Folders this
   * store made are remembered, so a run that writes many objects makes each folder once; one that
   * disappeared since (prune removes empty ones) is made again.
   */
  async #inFolder(target: string, write: () => Promise<void>): Promise<void> {
    const folder = dirname(target);
    if (!this.#folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.#rememberFolder(folder);
      return write();
    }
    try {
      await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#folders.delete(folder);
      await mkdir(folder, { recursive: true });
      this.#rememberFolder(folder);
      await write();
    }
  }

  #rememberFolder(folder: string): void {
    // A bound keeps memory flat over a run of any size; forgetting costs only a mkdir.
    if (this.#folders.size >= 4096) this.#folders.clear();
    this.#folders.add(folder);
  }

  async #list(prefix: string, options: ListOptions): Promise<ListPage> {
    throwIfAborted(options.signal, `Listing ${prefix}`);
    const limit = options.limit ?? 1000;
    const naming = await this.#naming();
    // Walk only the folder the prefix's complete segments name; its last, partial segment filters.
    const folders = prefix.split('/').slice(0, -1);
    const names: string[] = [];
    const folder = folders.length > 0 ? await this.#pathOf(folders.join('/')) : this.#root;
    await this.#walk(folder, folders.join('/'), names, naming);
    const matching = names
      .filter(
        (name) =>
          name.startsWith(prefix) && (options.cursor === undefined || name > options.cursor),
      )
      .sort();
    const page = matching.slice(0, limit);
    const items = await Promise.all(
      page.map(async (name) => (await this.#head(name, {})) ?? { name, size: 0, etag: '' }),
    );
    const last = page.at(-1);
    return matching.length > limit && last !== undefined ? { items, cursor: last } : { items };
  }

  async #delete(name: string, options: OperationOptions): Promise<void> {
    throwIfAborted(options.signal, `Deleting ${name}`);
    try {
      const path = await this.#pathOf(name);
      await withFileLock(
        this.#lockPathOf(name),
        async () => {
          // Deleting a folder name is deleting an object that does not exist: nothing to do.
          if ((await stat(path).catch(() => undefined))?.isDirectory()) return;
          await rm(path, { force: true });
        },
        { signal: options.signal },
      );
    } catch (error) {
      throw this.#translate(error, name);
    }
  }

  /**
   * Removes temporary files of uploads that never finished: those of a process on this machine
   * that is gone, and any older than `olderThanMs` (a writer on another machine sharing the
   * folder). Returns how many it removed.
   */
  async removeAbandonedUploads({ olderThanMs }: { olderThanMs: number }): Promise<number> {
    const folder = join(this.#root, TEMPORARY_DIR);
    const entries = await readdir(folder).catch(() => [] as string[]);
    let removed = 0;
    for (const entry of entries) {
      const [host, pid] = entry.split('-');
      const gone =
        host === hostTag() && isGoneHere({ host: hostname(), pid: Number.parseInt(pid ?? '', 10) });
      const stats = await stat(join(folder, entry)).catch(() => undefined);
      if (!stats) continue;
      if (gone || Date.now() - stats.mtimeMs > olderThanMs) {
        await rm(join(folder, entry), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async #walk(
    directory: string,
    namePrefix: string,
    into: string[],
    naming: ObjectNaming,
  ): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.#translate(error, namePrefix);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const segment = naming.fromFile(entry.name);
      const name = namePrefix ? `${namePrefix}/${segment}` : segment;
      if (entry.isDirectory()) await this.#walk(join(directory, entry.name), name, into, naming);
      else if (entry.isFile()) into.push(name);
    }
  }

  /**
   * Writes the body to a new temporary file and flushes it. Returns its path and its stats, taken
   * from the open file (an object's etag is that of the file it was written to).
   */
  async #writeTemporary(
    body: BlobBody,
    signal: AbortSignal | undefined,
  ): Promise<{ path: string; stats: import('node:fs').BigIntStats }> {
    const folder = join(this.#root, TEMPORARY_DIR);
    // Named after its host and process, so that an abandoned one can be told from a live one.
    const path = join(folder, `${hostTag()}-${process.pid}-${temporarySuffix()}`);
    let handle: FileHandle | undefined;
    try {
      try {
        handle = await open(path, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await mkdir(folder, { recursive: true });
        handle = await open(path, 'wx');
      }
      if (typeof body === 'string' || body instanceof Uint8Array) {
        throwIfAborted(signal, 'Writing');
        await handle.writeFile(body, { signal });
      } else {
        if (signal) addAbortSignal(signal, body);
        for await (const chunk of body) {
          // A stream may carry strings (`Readable.from(['…'])`): written as UTF-8, as a body is.
          await writeAll(handle, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        }
      }
      await handle.sync();
      const stats = await handle.stat({ bigint: true });
      await handle.close();
      handle = undefined;
      return { path, stats };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await removeFile(path);
      throw this.#translate(error, path);
    }
  }

  /** The naming this store's files use (see `file-names.ts`), found once. */
  #naming(): Promise<ObjectNaming> {
    this.#namingFound ??= (async () => {
      const marker = await readFile(join(this.#root, NAMING_MARKER), 'utf8').catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
          throw this.#translate(error, NAMING_MARKER);
        },
      );
      if (marker !== undefined) {
        const names = (parseJson(marker) as { names?: unknown } | undefined)?.names;
        if (names === NAMING_VERSION) return currentNaming;
        throw new StorageError(
          `The state folder ${this.#root} was written by a newer defstate (file naming ${JSON.stringify(names)}).`,
          { hint: 'Upgrade defstate to read and write it.' },
        );
      }
      const entries = await readdir(this.#root).catch(() => [] as string[]);
      return entries.some((entry) => !entry.startsWith('.')) ? legacyNaming : currentNaming;
    })();
    this.#namingFound.catch(() => {
      this.#namingFound = undefined;
    });
    return this.#namingFound;
  }

  /** A store started with the current naming says so before its first object is written. */
  async #writeMarker(): Promise<void> {
    if (this.#markerWritten) return;
    const naming = await this.#naming();
    if (naming.version === NAMING_VERSION) {
      try {
        await mkdir(this.#root, { recursive: true });
        await writeFile(
          join(this.#root, NAMING_MARKER),
          `${JSON.stringify({ names: NAMING_VERSION })}\n`,
          { flag: 'wx' },
        );
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw this.#translate(error, NAMING_MARKER);
      }
    }
    this.#markerWritten = true;
  }

  /** The file that holds the object `name` (whether or not it exists). */
  pathOf(name: string): Promise<string> {
    return this.#pathOf(name);
  }

  async #pathOf(name: string): Promise<string> {
    assertObjectName(name);
    const naming = await this.#naming();
    return join(this.#root, ...name.split('/').map((segment) => naming.toFile(segment)));
  }

  #lockPathOf(name: string): string {
    const digest = createHash('sha256').update(name).digest('hex').slice(0, 32);
    return join(this.#root, '.locks', `${digest}.lock`);
  }

  #translate(error: unknown, name: string): Error {
    if (error instanceof DefstateError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (isBlocked(this.#root)) {
        return new StoreNotFoundError(
          `The state folder ${this.#root} does not exist and cannot be created.`,
          {
            cause: error,
            hint: 'Part of its path is a file; point the file adapter’s path (or DEFSTATE_HOME) at a folder.',
          },
        );
      }
      return new BlobNotFoundError(name, { cause: error });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new AccessDeniedError(`Cannot write to the state folder ${this.#root} (${code}).`, {
        cause: error,
        hint: 'Check the folder permissions, or point DEFSTATE_HOME at a writable folder.',
      });
    }
    if (code === 'EBUSY' || code === 'EAGAIN' || code === 'EMFILE') {
      return new TransientError(`The file system is busy (${code}) at ${this.#root}.`, {
        cause: error,
      });
    }
    if ((error as Error).name === 'AbortError') {
      return new AbortedError(`The file store's work on "${name}" was cancelled.`, {
        cause: error,
      });
    }
    return new StorageError(
      `File store at ${this.#root} failed on "${name}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Etags are inode + mtime + size, and the inode a replacement frees is reused by the very next
 * file. File times come from a coarse clock (a few ms), so three quick same-size writes could give
 * the third the first one's etag, and a compare-and-swap holding that etag would overwrite the
 * second (ABA). Under the object's lock, each replacement therefore gets an mtime later than the
 * one it replaces, so no etag of a name ever repeats. (+2 ms: a time set through a double in
 * seconds is only exact to about a microsecond.)
 */
async function ensureNewerMtime(
  temporary: { path: string; stats: import('node:fs').BigIntStats },
  replacedMtimeNs: bigint,
): Promise<import('node:fs').BigIntStats> {
  if (temporary.stats.mtimeNs > replacedMtimeNs) return temporary.stats;
  const mtime = new Date(Number(replacedMtimeNs / 1_000_000n) + 2);
  await utimes(temporary.path, new Date(Number(temporary.stats.atimeMs)), mtime);
  return stat(temporary.path, { bigint: true });
}

function metaOf(name: string, stats: import('node:fs').BigIntStats): BlobMeta {
  // A rename gives the object a new inode and mtime, so this changes with every replacement.
  const etag = `${stats.ino.toString(36)}-${stats.mtimeNs.toString(36)}-${stats.size.toString(36)}`;
  return {
    name,
    size: Number(stats.size),
    etag: `"${etag}"`,
    lastModified: new Date(Number(stats.mtimeMs)),
  };
}

const TEMPORARY_DIR = '.tmp';

function isStream(body: BlobBody): body is Readable {
  return typeof body === 'object' && body !== null && 'pipe' in body;
}

/** A short, file-name-safe tag of this machine, for temporary file names. */
function hostTag(): string {
  cachedHostTag ??= createHash('sha256').update(currentProcess().host).digest('hex').slice(0, 8);
  return cachedHostTag;
}
let cachedHostTag: string | undefined;

/**
 * Unique within this process: random once, then counted, since drawing random bytes for every
 * write costs more than the rest of naming it. (Host and pid in the name set processes apart.)
 */
function temporarySuffix(): string {
  temporaryCount++;
  return `${temporaryNonce}${temporaryCount.toString(36)}`;
}
const temporaryNonce = randomBytes(6).toString('hex');
let temporaryCount = 0;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Whether a folder can never exist at `path` because its nearest existing ancestor is a file. A
 * root that merely does not exist yet is fine: the store creates it on the first write.
 */
function isBlocked(path: string): boolean {
  for (let current = path; ; current = dirname(current)) {
    try {
      return !statSync(current).isDirectory();
    } catch {
      if (dirname(current) === current) return false;
    }
  }
}

/** Object names are `/`-separated, well-formed Unicode, with no empty, `.` or `..` segment. */
export function assertObjectName(name: string): void {
  assertName(name);
}

export const FileStoreOptionsSchema = z
  .object({
    path: z
      .string()
      .min(1, 'path must name a folder')
      .describe('Folder that holds the state objects.'),
  })
  .strict();
export type FileStoreOptions = z.infer<typeof FileStoreOptionsSchema>;

export const fileStorageAdapter = defineStorageAdapter<FileStoreOptions>({
  name: 'file',
  optionsSchema: FileStoreOptionsSchema,
  create: (options, context) => new FileBlobStore(resolve(context.baseDir, options.path)),
  optionsFromUrl: (url) => ({ path: fileURLToPath(url) }),
});
