import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  commitLocalState,
  ensureLocalStateRoot,
  LOCAL_STATE_DIR,
  localStatePaths,
  readLocalStateInfo,
  StateInfoSchema,
  StorageError,
} from '../src/index.js';
import { listFiles, rejection, sha256, useTempDir } from './helpers.js';

const run = promisify(execFile);
const hasGit = await run('git', ['--version']).then(
  () => true,
  () => false,
);

/** Stages `content` the way a refresh does, inside the local state folder. */
async function stage(projectRoot: string, content: string): Promise<string> {
  const folder = join(projectRoot, LOCAL_STATE_DIR, '.staging', 'test');
  await mkdir(folder, { recursive: true });
  const file = join(folder, 'state');
  await writeFile(file, content);
  return file;
}

const digestOf = (content: string) => ({
  sha256: sha256(content),
  size: Buffer.byteLength(content),
});

describe('ensureLocalStateRoot', () => {
  it('creates the folder with a .gitignore that ignores everything', async () => {
    const root = await useTempDir();
    const folder = await ensureLocalStateRoot(root);
    expect(folder).toBe(join(root, LOCAL_STATE_DIR));
    const gitignore = await readFile(join(folder, '.gitignore'), 'utf8');
    const rules = gitignore.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(rules).toEqual(['*']);
    // Idempotent: a second call neither fails nor duplicates anything.
    await ensureLocalStateRoot(root);
    expect(await readdir(folder)).toEqual(['.gitignore']);
  });

  it('repairs an edited .gitignore', async () => {
    const root = await useTempDir();
    await mkdir(join(root, LOCAL_STATE_DIR));
    await writeFile(join(root, LOCAL_STATE_DIR, '.gitignore'), '!state\n');
    await ensureLocalStateRoot(root);
    expect(await readFile(join(root, LOCAL_STATE_DIR, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it.skipIf(!hasGit)('keeps committed state out of git', async () => {
    const root = await useTempDir();
    await run('git', ['init', '--quiet'], { cwd: root });
    await writeFile(join(root, 'README.md'), 'project\n');
    await commitLocalState(root, 'Catalog/Main', await stage(root, 'data'), digestOf('data'));
    const { stdout } = await run('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: root,
    });
    expect(stdout.trim().split('\n')).toEqual(['?? README.md']);
  });
});

describe('commitLocalState / readLocalStateInfo', () => {
  it('moves the staged file into place and records its info', async () => {
    const root = await useTempDir();
    const now = new Date('2026-11-27T10:15:30.123Z');
    const staged = await stage(root, 'catalog v1');
    const info = await commitLocalState(
      root,
      'warehouse/main',
      staged,
      digestOf('catalog v1'),
      now,
    );

    expect(StateInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      key: 'warehouse/main',
      management: 'local',
      createdAt: now.toISOString(),
      sha256: sha256('catalog v1'),
      size: 10,
    });
    expect(info.version.startsWith('20261127T101530123Z-')).toBe(true);

    const paths = localStatePaths(root, 'warehouse/main');
    expect(paths.folder).toBe(join(root, LOCAL_STATE_DIR, 'warehouse~2fmain'));
    expect(await readFile(paths.state, 'utf8')).toBe('catalog v1');
    expect(await readLocalStateInfo(root, 'warehouse/main')).toEqual(info);
    // The staged file was renamed, not copied; nothing else is left beside the state.
    expect(await listFiles(paths.folder)).toEqual(['info.json', 'state']);
    expect(await readdir(join(root, LOCAL_STATE_DIR, '.staging', 'test'))).toEqual([]);
  });

  it('replaces the previous state and info', async () => {
    const root = await useTempDir();
    const first = await commitLocalState(root, 'k', await stage(root, 'one'), digestOf('one'));
    const second = await commitLocalState(root, 'k', await stage(root, 'two!'), digestOf('two!'));
    expect(second.version).not.toBe(first.version);
    expect(await readFile(localStatePaths(root, 'k').state, 'utf8')).toBe('two!');
    expect(await readLocalStateInfo(root, 'k')).toEqual(second);
  });

  it('reads nothing for a key that was never committed', async () => {
    const root = await useTempDir();
    expect(await readLocalStateInfo(root, 'never')).toBeUndefined();
  });

  it('reports a damaged record with the key to refresh', async () => {
    const root = await useTempDir();
    await commitLocalState(root, 'k', await stage(root, 'x'), digestOf('x'));
    const { info } = localStatePaths(root, 'k');
    await writeFile(info, '{ not json');
    await expect(readLocalStateInfo(root, 'k')).rejects.toThrow(StorageError);
    await expect(readLocalStateInfo(root, 'k')).rejects.toThrow(/Refresh "k"/);
  });

  it('rejects a record that names another key', async () => {
    const root = await useTempDir();
    const recorded = await commitLocalState(root, 'k', await stage(root, 'x'), digestOf('x'));
    await writeFile(localStatePaths(root, 'k').info, JSON.stringify({ ...recorded, key: 'other' }));
    await expect(readLocalStateInfo(root, 'k')).rejects.toThrow(/damaged/);
  });
});

describe('the local state folder', () => {
  it('is a configuration error, naming it, when a file stands where it should be', async () => {
    const root = await useTempDir('project');
    await writeFile(join(root, LOCAL_STATE_DIR), 'not a folder');
    const error = await rejection(ensureLocalStateRoot(root));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(join(root, LOCAL_STATE_DIR));
    expect(await readFile(join(root, LOCAL_STATE_DIR), 'utf8')).toBe('not a folder');
  });
});
