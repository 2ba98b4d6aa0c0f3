import { spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  developmentRefused,
  developmentStorage,
  type ManagementType,
  UsageError,
  withDevelopmentLock,
} from '@defstate/core';
import { CommandProcess } from '../dev/command-process.js';
import { sourceFiles } from '../dev/source-files.js';
import { ExitCode } from '../exit-codes.js';
import { count, noteMessage, warningMessage } from '../output/messages.js';
import { commandProject } from '../project.js';
import { refreshCommand } from './refresh.js';

export interface DevCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project?: string;
  /** The development store; the embedded local store by default. */
  storage?: string;
  watch?: boolean;
}

/**
 * `defstate dev [-- command…]`: refreshes the project's components (all, or `-k`) into the
 * development store, then runs the command with development mode on, so its `loadState` refreshes
 * whatever state is still missing. Never with NODE_ENV=production or CI set, and never into the
 * configured storage: versioned state goes to `--storage`, else the embedded local store. With
 * `--watch`, a change to the project config or a component's source refreshes again and
 * restarts the command. Returns the command's exit code.
 */
export async function devCommand(command: string[], options: DevCommandOptions): Promise<number> {
  const refused = developmentRefused(process.env);
  if (refused) {
    throw new UsageError(`defstate dev is for development, and ${refused}.`, {
      hint: 'In CI and production, refresh with `defstate refresh` or `defstate deploy`, which use the configured storage.',
    });
  }
  const project = await commandProject(options.project);
  // Unless named with --key, a component that opts out of development refreshes is left alone.
  const optedOut = project.components.filter(({ refreshIfDev }) => refreshIfDev === false);
  if (options.key.length === 0 && optedOut.length > 0) {
    options = {
      ...options,
      key: project.components
        .filter(({ refreshIfDev }) => refreshIfDev !== false)
        .map(({ key }) => key),
    };
    noteMessage(
      `not refreshing ${optedOut.map(({ key }) => `"${key}"`).join(', ')} (refreshIfDev: false); name ${optedOut.length === 1 ? 'it' : 'them'} with --key to refresh ${optedOut.length === 1 ? 'it' : 'them'} anyway.`,
    );
  }
  const storageUrl = developmentStorageUrl(options.storage, project.root);
  // Said once, here: the command's own loadState does not say it again.
  if (!process.env.DEFSTATE_DEV_ANNOUNCED) {
    noteMessage(
      `development mode: versioned state is refreshed into ${storageUrl}, never into the configured storage${process.env.DEFSTATE_HOME ? ` (DEFSTATE_HOME=${process.env.DEFSTATE_HOME})` : ''}.`,
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEFSTATE_DEV: '1',
    DEFSTATE_DEV_STORAGE: storageUrl,
    DEFSTATE_DEV_ANNOUNCED: '1',
  };
  // Every component opted out: there is nothing to refresh first (no --key would mean all).
  const nothingToRefresh = options.key.length === 0 && optedOut.length > 0;
  if (!options.watch) {
    const refreshed = nothingToRefresh
      ? ExitCode.ok
      : await refreshOnce(project.root, options, storageUrl);
    if (command.length === 0) return refreshed;
    if (refreshed !== ExitCode.ok) {
      warningMessage(
        'Some keys failed to refresh; starting the command anyway: their loadState() refreshes them again, or says why it cannot.',
      );
    }
    return runToEnd(new CommandProcess(command, env));
  }
  const refresh = nothingToRefresh
    ? async () => ExitCode.ok
    : () => refreshInChild(options, storageUrl);
  return watchAndRestart(command, project.configFile, refresh, env);
}

/** `--storage` as given, else the embedded local store's folder as a file URL. */
function developmentStorageUrl(storage: string | undefined, projectRoot: string): string {
  if (storage) return storage;
  const selection = developmentStorage({ ...process.env, DEFSTATE_DEV_STORAGE: '' }, projectRoot);
  return pathToFileURL((selection.options as { path: string }).path).href;
}

/** One refresh of the selection into the development store, under the development lock. */
function refreshOnce(
  projectRoot: string,
  options: DevCommandOptions,
  storageUrl: string,
): Promise<number> {
  return withDevelopmentLock(projectRoot, () =>
    refreshCommand({
      key: options.key,
      managementType: options.managementType,
      project: options.project,
      storage: storageUrl,
    }),
  );
}

/** Runs the command to its end, passing SIGINT and SIGTERM on; returns its exit code. */
async function runToEnd(child: CommandProcess): Promise<number> {
  const forward = (signal: NodeJS.Signals) => child.signal(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await child.start();
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * `--watch`: refresh, start the command, and on every change to a watched file (debounced)
 * refresh again — in a new process, so the changed modules are imported afresh — then restart
 * the command. Ends on SIGINT or SIGTERM, stopping the command first.
 */
async function watchAndRestart(
  command: string[],
  configFile: string,
  refresh: () => Promise<number>,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const child = command.length > 0 ? new CommandProcess(command, env) : undefined;
  let watchers: FSWatcher[] = [];
  let files = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let cycle: Promise<void> = Promise.resolve();
  let stopping = false;
  // Set while a change restarts the command, so that its exit is not taken for a crash.
  let restarting = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const rewatch = async () => {
    files = new Set(await sourceFiles(configFile));
    for (const watcher of watchers) watcher.close();
    // Folders, not files: an editor that saves by renaming a new file into place would leave a
    // watch on the file itself watching the old one.
    watchers = [...new Set([...files].map((file) => dirname(file)))].map((folder) =>
      watch(folder, (_event, name) => {
        if (name && files.has(join(folder, name.toString()))) schedule(name.toString());
      }),
    );
  };
  const start = () => {
    if (!child || stopping) return;
    void child.start().then((code) => {
      if (!stopping && !restarting) {
        noteMessage(`the command exited with ${code}; waiting for a change to restart it.`);
      }
    });
  };
  const schedule = (name: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      cycle = cycle.then(async () => {
        if (stopping) return;
        noteMessage(`${basename(name)} changed: refreshing again, then restarting the command.`);
        await refresh();
        await rewatch();
        restarting = true;
        try {
          await child?.stop();
        } finally {
          restarting = false;
        }
        start();
      });
    }, 200);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
    void cycle.then(async () => {
      await child?.stop();
      finish(signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated);
    });
  };

  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await refresh();
    await rewatch();
    noteMessage(
      `watching ${count(files.size, 'file')} (the project config and the components’ sources); Ctrl-C to stop.`,
    );
    start();
    return await finished;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** `defstate dev` without a command, in a new process: a refresh with the config imported afresh. */
function refreshInChild(options: DevCommandOptions, storageUrl: string): Promise<number> {
  const args = [
    ...options.key.flatMap((key) => ['--key', key]),
    ...options.managementType.flatMap((type) => ['--management-type', type]),
    ...(options.project ? ['--project', options.project] : []),
    '--storage',
    storageUrl,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [process.argv[1] as string, 'dev', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEFSTATE_DEV_ANNOUNCED: '1' },
    });
    child.once('error', () => resolve(ExitCode.failed));
    child.once('exit', (code) => resolve(code ?? ExitCode.failed));
  });
}
