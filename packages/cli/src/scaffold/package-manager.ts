import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '@defstate/core';
import { exists, readPackageJson } from './files.js';

export type PackageManagerName = 'pnpm' | 'npm' | 'yarn' | 'bun';

/** How the project installs its dependencies, as the generated files do it. */
export interface PackageManager {
  name: PackageManagerName;
  /** The exact version from a `packageManager` field (`pnpm@10.4.1` → `10.4.1`). */
  version?: string;
  /** The package.json that declares `packageManager`, if one does. */
  declaredIn?: string;
  /** The lockfile of `name`, nearest the project (a workspace's sits at its root). */
  lockfile?: string;
  /** Where `<pm> install` runs: the lockfile's folder, else the project's. */
  installRoot: string;
  /** Yarn 2 or later (`yarn install --immutable`, corepack), as opposed to Yarn 1. */
  yarnBerry: boolean;
  /** What decided it, for the message after scaffolding. */
  source: 'packageManager' | 'lockfile' | 'default';
}

/** Lockfiles by the package manager that writes them, in the order they are looked for. */
const LOCKFILES: ReadonlyArray<[file: string, manager: PackageManagerName]> = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

const NAMES: readonly string[] = ['pnpm', 'npm', 'yarn', 'bun'];

/**
 * Finds the project's package manager: the `packageManager` field of the nearest package.json
 * that has one, else the nearest lockfile, else npm. Looks in `projectRoot` and its parents up
 * to `topRoot` (the git repository's root), so a project inside a workspace finds the
 * workspace's lockfile; never above `topRoot`, where files belong to someone else.
 */
export async function detectPackageManager(
  projectRoot: string,
  topRoot: string,
): Promise<PackageManager> {
  const folders = foldersUpTo(projectRoot, topRoot);
  let declared: { name: PackageManagerName; version?: string; file: string } | undefined;
  for (const folder of folders) {
    const file = join(folder, 'package.json');
    const field = (await readPackageJson(file))?.packageManager;
    if (field === undefined) continue;
    declared = { ...parsePackageManagerField(field, file), file };
    break;
  }
  let lockfile: { path: string; name: PackageManagerName } | undefined;
  for (const folder of folders) {
    for (const [file, name] of LOCKFILES) {
      if (declared && declared.name !== name) continue;
      if (await exists(join(folder, file))) {
        lockfile = { path: join(folder, file), name };
        break;
      }
    }
    if (lockfile) break;
  }
  const name = declared?.name ?? lockfile?.name ?? 'npm';
  const installRoot = lockfile
    ? dirname(lockfile.path)
    : declared
      ? dirname(declared.file)
      : projectRoot;
  return {
    name,
    ...(declared?.version ? { version: declared.version } : {}),
    ...(declared ? { declaredIn: declared.file } : {}),
    ...(lockfile ? { lockfile: lockfile.path } : {}),
    installRoot,
    yarnBerry:
      name === 'yarn' && (await isYarnBerry(declared?.version, installRoot, lockfile?.path)),
    source: declared ? 'packageManager' : lockfile ? 'lockfile' : 'default',
  };
}

/** `pnpm@10.4.1+sha512.…` → `{ name: 'pnpm', version: '10.4.1' }`; anything else is an error. */
export function parsePackageManagerField(
  field: unknown,
  file: string,
): { name: PackageManagerName; version?: string } {
  const match = typeof field === 'string' ? /^([a-z]+)(?:@([^+\s]+))?/.exec(field) : null;
  if (!match || !NAMES.includes(match[1] as string)) {
    throw new UsageError(
      `${file}: "packageManager" is ${JSON.stringify(field)}, which names no package manager defstate can scaffold for.`,
      { hint: 'Use pnpm@<version>, npm@<version>, yarn@<version> or bun@<version>.' },
    );
  }
  return { name: match[1] as PackageManagerName, ...(match[2] ? { version: match[2] } : {}) };
}

async function isYarnBerry(
  version: string | undefined,
  installRoot: string,
  lockfile: string | undefined,
): Promise<boolean> {
  if (version) return Number.parseInt(version, 10) >= 2;
  if (await exists(join(installRoot, '.yarnrc.yml'))) return true;
  // Yarn 2+ lockfiles are YAML with a `__metadata` entry; Yarn 1's are not.
  return lockfile ? (await readFile(lockfile, 'utf8')).includes('__metadata:') : false;
}

/** `from`, its parent, … up to and including `top` (just `from` when `top` is not above it). */
export function foldersUpTo(from: string, top: string): string[] {
  const folders = [from];
  let folder = from;
  while (folder !== top) {
    const parent = dirname(folder);
    if (parent === folder) return [from];
    folders.push(parent);
    folder = parent;
  }
  return folders;
}
