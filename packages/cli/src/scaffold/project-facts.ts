import { readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { loadProject, type ManagementType, OFFICIAL_ADAPTER_PACKAGES } from '@defstate/core';
import { findGitRoot, readPackageJson } from './files.js';
import { detectNodeVersion, type NodeVersion } from './node-version.js';
import { detectPackageManager, foldersUpTo, type PackageManager } from './package-manager.js';

/** Everything the generated files depend on, read once from the user's project. */
export interface ProjectFacts {
  /** The project folder (holds `defstate.config.*`). */
  root: string;
  configFile: string;
  /** The git work tree's root, where `.github/workflows/` must live; undefined outside git. */
  gitRoot?: string;
  components: Array<{ key: string; management: ManagementType }>;
  packageManager: PackageManager;
  node: NodeVersion;
  /** Official storage adapters the project (or its workspace) depends on: `s3`, `gcs`, `azure`. */
  adapters: string[];
  /** Whether `@defstate/cli` is a dependency, so `<pm> exec defstate` works in CI. */
  hasCli: boolean;
  /** A Docker image name derived from the package name or the folder. */
  imageName: string;
  /** How the app starts: package.json `scripts.start` (preferred) or `main`. */
  start?: { main: string } | { script: string };
  /** The branch the workflow runs on: the checked-out branch when it is main or master. */
  branch: string;
}

export async function readProjectFacts(projectDir: string | undefined): Promise<ProjectFacts> {
  const project = await loadProject(projectDir ?? process.cwd(), {
    searchUpward: projectDir === undefined,
  });
  const gitRoot = await findGitRoot(project.root);
  const topRoot = gitRoot ?? project.root;
  const manifest = await readPackageJson(join(project.root, 'package.json'));
  const adapters = new Set<string>();
  let hasCli = false;
  for (const folder of foldersUpTo(project.root, topRoot)) {
    const folderManifest = await readPackageJson(join(folder, 'package.json'));
    const dependencies = { ...folderManifest?.dependencies, ...folderManifest?.devDependencies };
    for (const [adapter, name] of Object.entries(OFFICIAL_ADAPTER_PACKAGES)) {
      if (name in dependencies) adapters.add(adapter);
    }
    if ('@defstate/cli' in dependencies) hasCli = true;
  }
  const start =
    typeof manifest?.scripts?.start === 'string' && manifest.scripts.start.trim()
      ? { script: manifest.scripts.start }
      : typeof manifest?.main === 'string' && manifest.main
        ? { main: manifest.main }
        : undefined;
  return {
    root: project.root,
    configFile: project.configFile,
    ...(gitRoot ? { gitRoot } : {}),
    components: project.components.map(({ key, management }) => ({ key, management })),
    packageManager: await detectPackageManager(project.root, topRoot),
    node: await detectNodeVersion(project.root, topRoot),
    adapters: Object.keys(OFFICIAL_ADAPTER_PACKAGES).filter((adapter) => adapters.has(adapter)),
    hasCli,
    imageName: imageName(
      typeof manifest?.name === 'string' ? manifest.name : basename(project.root),
    ),
    ...(start ? { start } : {}),
    branch: gitRoot ? await currentBranch(gitRoot) : 'main',
  };
}

/** `@acme/Web App` → `web-app`: a valid Docker repository name. */
export function imageName(name: string): string {
  const cleaned = name
    .replace(/^@[^/]+\//, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned || 'app';
}

async function currentBranch(gitRoot: string): Promise<string> {
  const head = await readFile(join(gitRoot, '.git', 'HEAD'), 'utf8').catch(() => '');
  return /^ref: refs\/heads\/master\s*$/.test(head) ? 'master' : 'main';
}

/** `path` relative to `from` with forward slashes, `.` for `from` itself. */
export function relativePath(from: string, path: string): string {
  const result = relative(from, path).split(sep).join('/');
  return result === '' ? '.' : result;
}
