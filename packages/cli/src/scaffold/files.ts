import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '@defstate/core';

/** The fields of a package.json that scaffolding reads. */
export interface PackageJson {
  name?: unknown;
  main?: unknown;
  scripts?: Record<string, unknown>;
  engines?: { node?: unknown };
  packageManager?: unknown;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The parsed package.json, `undefined` when there is none; a broken one is an error naming it. */
export async function readPackageJson(file: string): Promise<PackageJson | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `invalid JSON: ${(error as Error).message}`,
      { file },
      { cause: error, hint: 'Fix the file, then scaffold again.' },
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('a package.json must hold a JSON object', { file });
  }
  return parsed as PackageJson;
}

/**
 * The root of the git work tree holding `folder` (where `.git` is, a folder or a worktree's
 * file), or `undefined` when `folder` is not in one.
 */
export async function findGitRoot(folder: string): Promise<string | undefined> {
  let current = folder;
  for (;;) {
    if (await exists(join(current, '.git'))) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
