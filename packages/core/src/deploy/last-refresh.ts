import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic.js';
import { ensureLocalStateRoot, localStateRoot } from '../local/local-state.js';
import { everyEntry, isDateTime, isRecord } from '../model/document-checks.js';
import { ManagementTypeSchema, type StateInfo } from '../model/state-info.js';

/**
 * The outcome of the latest refresh of each key, in `.local_defs_state/.last-refresh.json`, so a
 * status page can say that a key's last refresh failed and why. Keys a run did not select keep
 * their earlier entry.
 */
export const LAST_REFRESH_FILE = '.last-refresh.json';

export const LastRefreshEntrySchema = z.object({
  key: z.string(),
  management: ManagementTypeSchema,
  status: z.enum(['refreshed', 'unchanged', 'failed']),
  at: z.iso.datetime(),
  version: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type LastRefreshEntry = z.infer<typeof LastRefreshEntrySchema>;

export const LastRefreshRecordSchema = z.object({
  schemaVersion: z.literal(1),
  keys: z.record(z.string(), LastRefreshEntrySchema),
});
export type LastRefreshRecord = z.infer<typeof LastRefreshRecordSchema>;

function lastRefreshPath(projectRoot: string): string {
  return join(localStateRoot(projectRoot), LAST_REFRESH_FILE);
}

/**
 * `LastRefreshRecordSchema` as plain code, for a project of thousands of keys: true only where the
 * schema succeeds and returns the value unchanged (no field it would strip).
 */
export function isLastRefreshRecord(value: unknown): value is LastRefreshRecord {
  if (!isRecord(value) || Object.keys(value).length !== 2 || value.schemaVersion !== 1) {
    return false;
  }
  return (
    isRecord(value.keys) &&
    // The schema drops an entry named `__proto__`; this check leaves that to it.
    everyEntry(value.keys, (key, entry) => key !== '__proto__' && isLastRefreshEntry(entry))
  );
}

function isLastRefreshEntry(entry: unknown): boolean {
  if (!isRecord(entry) || Object.keys(entry).length !== 6) return false;
  const { error } = entry;
  return (
    typeof entry.key === 'string' &&
    (entry.management === 'versioned' || entry.management === 'local') &&
    (entry.status === 'refreshed' || entry.status === 'unchanged' || entry.status === 'failed') &&
    isDateTime(entry.at) &&
    (entry.version === null || typeof entry.version === 'string') &&
    (error === null ||
      (isRecord(error) &&
        Object.keys(error).length === 2 &&
        typeof error.code === 'string' &&
        typeof error.message === 'string'))
  );
}

/** The record, or `undefined` when there is none or it cannot be read (it is only a hint). */
export async function readLastRefresh(projectRoot: string): Promise<LastRefreshRecord | undefined> {
  const text = await readFile(lastRefreshPath(projectRoot), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const json: unknown = JSON.parse(text);
    if (isLastRefreshRecord(json)) return json;
    const result = LastRefreshRecordSchema.safeParse(json);
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
