// One job of the pointer-traffic benchmark, in the file store. It prints how many bytes of pointer
// documents (the layout, the shards, the stub, or layout 1's single document) it read and wrote.
//   node protocol-worker.mjs <mode> <store folder> <first key> <count> <total keys> <go file>
// Modes: `refresh`: the real refresh engine, once over its keys; `pointer` and `single-document`:
// only the pointer moves, in 4 batches, through layout 2's shards or as layout 1 did it (one
// document for every key, read, merged and written by compare-and-swap, 20 attempts at most).
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  FileBlobStore,
  PreconditionFailedError,
  readText,
  refreshState,
  updatePointer,
} from '../../packages/core/dist/index.js';

const [mode, folder, first, count, total, go] = process.argv.slice(2);
const raw = new FileBlobStore(folder);
const traffic = { read: 0, written: 0, writes: 0, reads: 0 };
const isPointer = (name) =>
  name.startsWith('pointer/') || name === 'layout.json' || name === 'state-info.json';
const store = {
  adapter: raw.adapter,
  location: raw.location,
  endpoint: raw.endpoint,
  capabilities: raw.capabilities,
  head: (...args) => raw.head(...args),
  list: (...args) => raw.list(...args),
  delete: (...args) => raw.delete(...args),
  async get(name, options) {
    const result = await raw.get(name, options);
    if (!isPointer(name)) return result;
    traffic.reads++;
    const counting = new Transform({
      transform(chunk, _encoding, done) {
        traffic.read += chunk.length;
        done(null, chunk);
      },
    });
    result.body.on('error', (error) => counting.destroy(error));
    return { ...result, body: result.body.pipe(counting) };
  },
  async put(name, body, options) {
    const result = await raw.put(name, body, options);
    if (isPointer(name)) {
      traffic.writes++;
      traffic.written += typeof body === 'string' ? Buffer.byteLength(body) : 0;
    }
    return result;
  },
};
const keys = Array.from(
  { length: Number(count) },
  (_, index) => `source-${(Number(first) + index) % Number(total)}`,
);
const components = keys.map((key) => ({
  key,
  management: 'versioned',
  refresh: ({ statePath }) => writeFile(statePath, `${key} ${Math.random()}`),
}));
const BATCHES = 4;
const infoOf = (key) => ({
  key,
  management: 'versioned',
  version: `20261202T000000000Z-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`,
  createdAt: new Date().toISOString(),
  sha256: 'b'.repeat(64),
  size: 200,
});

/** Layout 1's commit: the whole document read, merged and written back, retried on a lost race. */
async function commitSingleDocument(infos) {
  for (let attempt = 0; attempt < 20; attempt++) {
    let document = { schemaVersion: 1, updatedAt: '', keys: {} };
    let etag;
    try {
      const read = await readText(store, 'state-info.json');
      document = JSON.parse(read.text);
      etag = read.etag;
    } catch (error) {
      if (error.code !== 'BLOB_NOT_FOUND') throw error;
    }
    for (const info of infos) document.keys[info.key] = info;
    document.updatedAt = new Date().toISOString();
    try {
      await store.put('state-info.json', `${JSON.stringify(document, null, 2)}\n`, {
        ...(etag ? { ifMatch: etag } : { ifNoneMatch: '*' }),
      });
      return 0;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      await delay(Math.random() * Math.min(1000, 20 * 2 ** attempt));
    }
  }
  return infos.length;
}

const root = await mkdtemp(join(tmpdir(), 'defstate-bench-job-'));
try {
  while (
    !(await access(go).then(
      () => true,
      () => false,
    ))
  ) {
    await delay(5);
  }
  let failed = 0;
  if (mode === 'refresh') {
    const report = await refreshState({
      project: { root, configFile: join(root, 'defstate.config.mjs'), components },
      openStore: async () => store,
    });
    failed = report.results.filter((result) => result.status === 'failed').length;
  } else {
    const size = Math.ceil(keys.length / BATCHES);
    for (let batch = 0; batch < BATCHES; batch++) {
      const infos = keys.slice(batch * size, (batch + 1) * size).map(infoOf);
      if (mode === 'single-document') {
        failed += await commitSingleDocument(infos);
      } else {
        const settled = await updatePointer(
          store,
          infos.map((info) => ({
            key: info.key,
            decide: () => ({ action: 'set', info, result: 0 }),
          })),
        );
        failed += settled.filter((result) => result.status === 'rejected').length;
      }
    }
  }
  process.stdout.write(JSON.stringify({ ...traffic, failed }));
} finally {
  await rm(root, { recursive: true, force: true });
}
