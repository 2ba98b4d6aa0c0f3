import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installCommand, OFFICIAL_ADAPTER_PACKAGES } from './open-store.js';

/**
 * A deployed app loads its state with @defstate/core and, for versioned state, opens the store
 * with the adapter package: both are run-time dependencies. An image built with
 * `npm ci --omit=dev` (or `pnpm install --prod`) leaves devDependencies out, and the app then
 * fails at start-up. This finds the ones a project declares only as devDependencies.
 */
export interface DevOnlyDependency {
  packageName: string;
  /** What the app needs it for. */
  role: 'loader' | 'adapter';
  /** The package.json that lists it under devDependencies. */
  manifest: string;
  /** How to move it to dependencies with the project's package manager. */
  fix: string;
}

export interface RuntimeDependencyOptions {
  /** The adapter the instance config selects (`file`, `s3`, … or a package name). */
  adapter?: string;
  /** Whether the project declares versioned components (only they need an adapter). */
  versioned: boolean;
}

export async function devOnlyRuntimeDependencies(
  projectRoot: string,
  options: RuntimeDependencyOptions,
): Promise<DevOnlyDependency[]> {
  const manifest = join(projectRoot, 'package.json');
  const text = await readFile(manifest, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A broken package.json is the package manager's to report.
    return [];
  }
  const listed = (field: string) => {
    const value = parsed[field];
    return value && typeof value === 'object' ? Object.keys(value) : [];
  };
  const runtime = new Set([
    ...listed('dependencies'),
    ...listed('optionalDependencies'),
    ...listed('peerDependencies'),
  ]);
  const devOnly = new Set(listed('devDependencies').filter((name) => !runtime.has(name)));
  const needed: Array<[string, DevOnlyDependency['role']]> = [['@defstate/core', 'loader']];
  // The file store is part of core; any other adapter is a package of its own.
  if (options.versioned && options.adapter && options.adapter !== 'file') {
    needed.push([OFFICIAL_ADAPTER_PACKAGES[options.adapter] ?? options.adapter, 'adapter']);
  }
  return needed
    .filter(([packageName]) => devOnly.has(packageName))
    .map(([packageName, role]) => ({
      packageName,
      role,
      manifest,
      fix: installCommand(projectRoot, packageName),
    }));
}

/** The warning for one of them, the same from the CLI and the Action. */
export function devOnlyDependencyWarning(dependency: DevOnlyDependency): string {
  const what =
    dependency.role === 'adapter'
      ? 'cannot open the store that holds its versioned state'
      : 'cannot load its state (loadState comes from it)';
  return `${dependency.packageName} is only a devDependency in ${dependency.manifest}: an app installed without devDependencies (npm ci --omit=dev, pnpm install --prod, as the scaffolded Dockerfile does) ${what}.\n  → Make it a dependency: ${dependency.fix}`;
}
