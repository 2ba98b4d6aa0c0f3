import { randomBytes } from 'node:crypto';

/**
 * A version id is `<UTC time to the millisecond>-<12 random hex digits>`, for example
 * `20261127T101530123Z-3f9a1c0b7d2e`. Sorting ids as strings sorts them by creation time, and the
 * random part makes two versions created in the same millisecond (by two CI jobs) distinct.
 */
export const VERSION_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{12}$/;

/** A state version id (`StateVersionSchema`, in name-schemas.ts, is its zod form). */
export type StateVersion = string;

/** Whether `value` is a state version id: plain code, what `StateVersionSchema` accepts. */
export function isStateVersion(value: unknown): value is StateVersion {
  return typeof value === 'string' && VERSION_PATTERN.test(value);
}

export function createStateVersion(now: Date = new Date()): StateVersion {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(6).toString('hex')}`;
}

/** Orders versions from oldest to newest. */
export function compareStateVersions(a: StateVersion, b: StateVersion): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * When a version was created, as an ISO time: its id starts with that instant, and a version's
 * `createdAt` is the same instant.
 */
export function versionCreatedAt(version: StateVersion): string {
  const [, y, mo, d, h, mi, s, ms] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(
    version,
  ) as unknown as string[];
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
}
