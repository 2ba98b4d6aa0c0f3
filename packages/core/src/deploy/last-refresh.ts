import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic.js';
import { ensureLocalStateRoot, localStateRoot } from '../local/local-state.js';
import { ManagementTypeSchema, type StateInfo } from '../model/state-info.js';

/**
 * The outcome of the latest refresh of each key, in `.local_defs_state/.last-refresh.json`, so a
 * status page can say that a key's last refresh failed and why. Keys a run did not select keep
 * their earlier entry.
 */
export const LAST_REFRESH_FILE = '.last-refresh.json';

const LastRefreshEntrySchema = z.object({
  key: z.string(),
  management: ManagementTypeSchema,
  status: z.enum(['refreshed', 'unchanged', 'failed']),
  at: z.iso.datetime(),
  version: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type LastRefreshEntry = z.infer<typeof LastRefreshEntrySchema>;

const LastRefreshRecordSchema = z.object({
  schemaVersion: z.literal(1),
  keys: z.record(z.string(), LastRefreshEntrySchema),
});
export type LastRefreshRecord = z.infer<typeof LastRefreshRecordSchema>;

function lastRefreshPath(projectRoot: string): string {
  return join(localStateRoot(projectRoot), LAST_REFRESH_FILE);
}

/** The record, or `undefined` when there is none or it cannot be read (it is only a hint). */
export async function readLastRefresh(projectRoot: string): Promise<LastRefreshRecord | undefined> {
  const text = await readFile(lastRefreshPath(projectRoot), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const result = LastRefreshRecordSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

export async function recordLastRefresh(
  projectRoot: string,
  entries: readonly LastRefreshEntry[],
): Promise<void> {
  const record = (await readLastRefresh(projectRoot)) ?? { schemaVersion: 1, keys: {} };
  for (const entry of entries) record.keys[entry.key] = entry;
  await ensureLocalStateRoot(projectRoot);
  await writeFileAtomic(lastRefreshPath(projectRoot), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Since when a state is known to be current, in ms since the epoch: its creation, or the last
 * refresh that found the same content unchanged (its version stays, but it was confirmed).
 */
export function freshSince(info: StateInfo, lastRefresh: LastRefreshEntry | undefined): number {
  const created = Date.parse(info.createdAt);
  if (!lastRefresh || lastRefresh.status === 'failed' || lastRefresh.version !== info.version) {
    return created;
  }
  const confirmed = Date.parse(lastRefresh.at);
  return Number.isNaN(confirmed) ? created : Math.max(created, confirmed);
}
