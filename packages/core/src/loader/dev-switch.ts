/** Whether development mode is on (see dev-mode.ts for what it does). */
export interface DevelopmentMode {
  on: boolean;
  /** Why `DEFSTATE_DEV` was set but development mode is off. */
  refused?: string;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** Whether `CI` says this runs in CI (set, and not `0` or `false`, as CI tools read it). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** Why development mode may not run here, or `undefined` when it may. */
export function developmentRefused(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_ENV === 'production') return 'NODE_ENV is production';
  if (inCi(env)) return `CI is set (CI=${env.CI})`;
  return undefined;
}

export function developmentMode(env: NodeJS.ProcessEnv = process.env): DevelopmentMode {
  if (!TRUE.has(env.DEFSTATE_DEV?.trim().toLowerCase() ?? '')) return { on: false };
  const refused = developmentRefused(env);
  return refused ? { on: false, refused } : { on: true };
}
