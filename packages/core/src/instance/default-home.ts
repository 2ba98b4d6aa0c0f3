import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The user-level folder defstate uses when no instance config exists: outside every project, so
 * one machine's versioned state survives a fresh checkout, as the platforms' conventions place
 * application state.
 */
export function defaultStateHome(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string {
  if (platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'defstate');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'defstate');
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'defstate');
}

/** Where downloaded versions are cached, content-addressed by sha256. */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string {
  if (env.DEFSTATE_CACHE_DIR) return env.DEFSTATE_CACHE_DIR;
  if (platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'defstate', 'cache');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'defstate');
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'defstate');
}
