import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_CODES_HELP, ExitCode, exitCodesHelp } from './exit-codes.js';

/**
 * The `defstate` command line. This file loads only commander: each command's code, and with it
 * @defstate/core, is imported when that command runs, so `defstate --help` starts fast whatever
 * the commands need.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  // Commander's own errors quote what was typed (`unknown option '--storag=s3://…'`): they wait
  // here until redaction is loaded, which only an error needs.
  let commanderErrors = '';
  const program = new Command('defstate')
    .configureOutput({
      writeErr: (text) => {
        commanderErrors += text;
      },
    })
    .description('Refresh, version and serve the state your definitions are built from.')
    .version(await readVersion(), '-v, --version')
    .option(
      '--verbose',
      'show every error with its cause chain and stack traces, on stderr (also DEFSTATE_DEBUG=cli)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .hook('preAction', async (root, command) => {
      // From here on nothing reaches stdout or stderr unredacted.
      const { protectOutput } = await import('./output/guard.js');
      protectOutput(command.opts().storage);
      const { setVerbose } = await import('./diagnostics.js');
      setVerbose(root.opts().verbose === true);
      // From here on a component's console.log cannot land in the JSON document.
      if (command.opts().json) {
        const { reserveStdoutForJson } = await import('./output/json.js');
        reserveStdoutForJson();
      }
    });

  const refresh = (name: string, description: string, pin: boolean) =>
    withSelection(program.command(name), 'refresh', REFRESH_EXITS)
      .description(description)
      .option(
        '-c, --concurrency <n>',
        'components refreshed at once (default: 2 per CPU core, 2 to 8)',
        positiveInteger,
      )
      .option(
        '-r, --retries <n>',
        'retries of a transient failure, per key (default: 3)',
        nonNegativeInteger,
      )
      .option(
        '-t, --timeout <duration>',
        'longest one refresh attempt may take, e.g. 90s (default: 10m)',
        duration,
      )
      .option(
        '--shard <i/n>',
        pin
          ? 'deploy only shard i of n of the selected keys (a CI matrix), writing a partial pin file for `pin --merge`; `auto` reads the CI system’s index'
          : 'refresh only shard i of n of the selected keys (a CI matrix), balanced by each key’s last refresh duration; `auto` reads the CI system’s index',
      )
      .option(
        '--shard-total <n>',
        'with --shard auto: the number of shards, where the CI system does not say (a Kubernetes Indexed Job; also DEFSTATE_SHARD_TOTAL)',
        positiveInteger,
      )
      .option(
        '--json',
        'print the result as JSON on stdout; progress, logs and anything a component prints go to stderr',
      )
      .action(async (options) => {
        const { refreshCommand } = await import('./commands/refresh.js');
        exitCode = await refreshCommand(pin ? { ...options, pin: true } : options);
      });
  refresh('refresh', 'Refresh the state of the project’s components and store it.', false).option(
    '--pin',
    'then pin every declared key to its current version in .local_defs_state/ (for the artifact)',
  );
  refresh('deploy', 'Refresh and pin, for a deployment: the same as `refresh --pin`.', true);
  program
    .command('dev')
    .description(
      'Refresh the components into the development store, then run the command with development mode on: its loadState() refreshes state that is missing. Never writes to the configured storage; refused when NODE_ENV=production or CI is set.',
    )
    .argument(
      '[command...]',
      'the command to run, after --, e.g. -- node server.js (none: only refresh)',
    )
    .addOption(projectOption())
    .option(
      '-s, --storage <url>',
      'the development store for versioned state (default: the embedded local store, whatever DEFSTATE_HOME says)',
    )
    .addOption(
      new Option('-k, --key <key>', 'refresh only this key first (repeatable)')
        .argParser(collect)
        .default([], 'all'),
    )
    .addOption(
      new Option(
        '-m, --management-type <type>',
        'refresh only this management type first (repeatable)',
      )
        .choices(['local', 'versioned'])
        .argParser(collectChoice(['local', 'versioned']))
        .default([], 'both'),
    )
    .option(
      '-w, --watch',
      'refresh again and restart the command when the project config or a file it imports (a component’s source) changes',
    )
    .addHelpText(
      'after',
      `\nThe command runs with DEFSTATE_DEV=1: loadState()/loadStates() refresh a key whose state is missing (and, with maxAgeMs, older than that) before returning it, once however many processes ask; a component with refreshIfDev: false is never refreshed so.\n\n${exitCodesHelp(
        ['ok', 'failed', 'usage', 'interrupted', 'terminated'],
        {
          ok: 'the command succeeded (or, with no command, every key refreshed)',
          failed: 'with no command: a key failed to refresh; otherwise the command’s own exit code',
          usage: 'a bad option, or NODE_ENV=production or CI is set',
        },
      )}`,
    )
    .action(async (command: string[], options) => {
      const { devCommand } = await import('./commands/dev.js');
      exitCode = await devCommand(command, options);
    });

  withSelection(program.command('status'), 'show', [
    'ok',
    ['failed', 'the state could not be read'],
    'usage',
  ])
    .description('Show the current state of every declared key.')
    .option('--json', 'print the status as JSON on stdout')
    .option('--html <file>', 'also write the status page as one static HTML file')
    .option('--max-age <duration>', 'call state older than this stale, e.g. 7d', duration)
    .action(async (options) => {
      const { statusCommand } = await import('./commands/status.js');
      exitCode = await statusCommand(options);
    });

  withProject(program.command('pin'), [
    'ok',
    [
      'failed',
      'a declared key has no state, the store could not be read, or (--merge) a key is missing or pinned twice',
    ],
    'usage',
  ])
    .description(
      'Pin every declared key at its current state, refreshing nothing (e.g. to ship a rollback). With --merge, combine the partial pin files of a sharded deploy instead.',
    )
    .option(
      '--merge [files...]',
      'write the pin file from the partial pin files of every shard of a `deploy --shard` run (default: .local_defs_state/.pins.shard-*-of-*.json); fails if a key is missing or pinned twice',
    )
    .option('--json', 'print the pins as JSON on stdout')
    .action(async (options) => {
      const { pinCommand } = await import('./commands/pin.js');
      exitCode = await pinCommand(options);
    });

  withSelection(program.command('pull'), 'pull', [
    'ok',
    ['failed', 'a state could not be downloaded or did not match its sha256'],
    'usage',
  ])
    .description(
      'Download the pinned (or latest) versioned states into .local_defs_state/, so the artifact starts with no storage access.',
    )
    .option('--json', 'print the result as JSON on stdout')
    .action(async (options) => {
      const { pullCommand } = await import('./commands/pull.js');
      exitCode = await pullCommand(options);
    });

  withSelection(program.command('verify'), 'check', [
    'ok',
    ['failed', 'a check failed (one line per problem on stderr)'],
    'usage',
  ])
    .description(
      'Check that every declared key has good state (a CI gate): one line per problem, exit 1 on any.',
    )
    .option('--max-age <duration>', 'fail on state older than this, e.g. 24h or 7d', duration)
    .option('--deep', 'also download each versioned state and check its sha256')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (options) => {
      const { verifyCommand } = await import('./commands/verify.js');
      exitCode = await verifyCommand(options);
    });

  withProject(program.command('history'), [
    'ok',
    ['failed', 'the store could not be read'],
    ['usage', 'an unknown or local key, or a bad option'],
  ])
    .description('List the versions of a versioned key, newest first.')
    .argument('<key>', 'the state key')
    .option('-n, --limit <n>', 'show only the newest n versions', positiveInteger)
    .option('--json', 'print the history as JSON on stdout')
    .action(async (key: string, options) => {
      const { historyCommand } = await import('./commands/history.js');
      exitCode = await historyCommand(key, options);
    });

  withProject(program.command('rollback'), [
    'ok',
    ['failed', 'the version is gone, or the store could not be read or written'],
    ['usage', 'an unknown or local key, or a bad option'],
  ])
    .description('Move the latest pointer of a versioned key back to an earlier version.')
    .argument('<key>', 'the state key')
    .requiredOption('--to <version>', 'the version to make latest again (see `defstate history`)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (key: string, options) => {
      const { rollbackCommand } = await import('./commands/rollback.js');
      exitCode = await rollbackCommand(key, options);
    });

  withProject(program.command('forget'), [
    'ok',
    ['failed', 'the store could not be read or written'],
    ['usage', 'a key the store does not hold, a declared key without --force, or a bad option'],
  ])
    .description(
      'Move keys the project no longer declares out of the latest pointer (under the maintenance lease); their versions stay until `prune --undeclared`.',
    )
    .argument('<key...>', 'the state keys to forget')
    .option(
      '--force',
      'also forget a key the project still declares (its next refresh brings it back)',
    )
    .option('--dry-run', 'show what would be forgotten, change nothing')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (keys: string[], options) => {
      const { forgetCommand } = await import('./commands/forget.js');
      exitCode = await forgetCommand(keys, options);
    });

  withSelection(program.command('prune'), 'prune', [
    'ok',
    ['failed', 'the store could not be read or a deletion failed'],
    'usage',
  ])
    .description(
      'Delete old versions of versioned keys; never the latest or a pinned one. Also collects orphans of crashed refreshes. With --undeclared, collects keys the project no longer declares.',
    )
    .option(
      '--keep <n>',
      'published versions to keep per key, newest first (required unless --undeclared)',
      positiveInteger,
    )
    .option(
      '--undeclared',
      'collect the keys in the store that the project does not declare: each one nothing was stored for within --older-than (required) leaves the pointer and loses every version no pin file names',
    )
    .option('--older-than <duration>', 'delete only versions older than this, e.g. 30d', duration)
    .option(
      '--min-age <duration>',
      'never delete a version stored less than this long ago: a refresh may be about to make it latest (default 1h; 0 only when no refresh is running)',
      durationOrZero,
    )
    .addOption(
      new Option(
        '--pins <file>',
        'also keep every version this pin file names (repeatable; the project’s own is always kept)',
      ).argParser(collect),
    )
    .option('--dry-run', 'show what would be deleted, delete nothing')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (options) => {
      const { pruneCommand } = await import('./commands/prune.js');
      exitCode = await pruneCommand(options);
    });

  program
    .command('scaffold')
    .description('Write a CI workflow or a Dockerfile for the project.')
    .argument('<what>', 'github-actions or dockerfile')
    .addOption(projectOption())
    .option('-f, --force', 'overwrite a file that already exists')
    .option('--stdout', 'print the file instead of writing it')
    .option(
      '--cloud <cloud>',
      'github-actions: log in to this cloud by OIDC (aws, gcp or azure; default: the one your adapter needs)',
    )
    .option(
      '--action-ref <ref>',
      'github-actions: the defstate Action’s tag or commit SHA to pin (default: the major tag)',
    )
    .option(
      '--pull',
      'github-actions: also put the pinned versioned states into the image (defstate pull)',
    )
    .option(
      '--shards <n>',
      'github-actions: refresh in a matrix of n jobs, each pinning its shard, then one job that merges the pins and builds the image',
      positiveInteger,
    )
    .option(
      '--cmd <command>',
      'dockerfile: the command the container runs, e.g. "node server.js" (default: from package.json)',
    )
    .addHelpText('after', `\n${exitCodesHelp(['ok', 'usage'])}`)
    .action(async (what: string, options) => {
      const { scaffoldCommand } = await import('./commands/scaffold.js');
      exitCode = await scaffoldCommand(what, options);
    });

  program
    .command('init')
    .description(
      'Start a project: write a starter defstate.config.ts, and with --storage a defstate.yaml.',
    )
    .option('-p, --project <dir>', 'the folder to write it in (default: the current folder)')
    .option(
      '--storage <store>',
      'also write defstate.yaml for this store: file, s3, gcs, azure, or a storage URL such as s3://bucket/prefix',
    )
    .option('-f, --force', 'overwrite files that already exist')
    .addHelpText('after', `\n${exitCodesHelp(['ok', 'usage'])}`)
    .action(async (options) => {
      const { initCommand } = await import('./commands/init.js');
      exitCode = await initCommand(options);
    });

  withProject(program.command('ui'), [
    ['ok', 'the page was served until Ctrl-C or SIGTERM'],
    'usage',
  ])
    .description(
      'Serve a status page for the project’s keys on this machine (read-only by default).',
    )
    .option('--port <n>', 'port to listen on (default: 4777; 0 picks a free one)', port)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--max-age <duration>', 'call state older than this stale, e.g. 7d', duration)
    .option('--allow-writes', 'offer refresh and rollback buttons (each asks for confirmation)')
    .action(async (options) => {
      const { uiCommand } = await import('./commands/ui.js');
      exitCode = await uiCommand(options);
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const { reportError } = await import('./report-error.js');
    return reportError(error);
  } finally {
    if (commanderErrors) {
      const { protectOutput } = await import('./output/guard.js');
      protectOutput();
      process.stderr.write(commanderErrors);
    }
  }
}

type ExitCodeName = keyof typeof ExitCode;
/** A command's exit codes: a code's name, or a name with what it means for that command. */
type ExitCodes = ReadonlyArray<ExitCodeName | readonly [ExitCodeName, string]>;

const REFRESH_EXITS: ExitCodes = ['ok', 'failed', 'usage', 'interrupted', 'terminated'];

/** The options every command that works on a project's keys shares. */
function withSelection(command: Command, verb: string, exits: ExitCodes): Command {
  return withProject(command, exits)
    .addOption(
      new Option('-k, --key <key>', `${verb} only this key (repeatable)`)
        .argParser(collect)
        .default([], 'all'),
    )
    .addOption(
      new Option('-m, --management-type <type>', `${verb} only this management type (repeatable)`)
        .choices(['local', 'versioned'])
        .argParser(collectChoice(['local', 'versioned']))
        .default([], 'both'),
    );
}

/** The options of a command that works on one project and its store. */
function withProject(command: Command, exits: ExitCodes): Command {
  const names = exits.map((entry) => (typeof entry === 'string' ? entry : entry[0]));
  const meanings = Object.fromEntries(exits.filter((entry) => typeof entry !== 'string'));
  return command
    .addOption(projectOption())
    .option(
      '-s, --storage <url>',
      'versioned storage URL, overriding DEFSTATE_HOME (e.g. file:///srv/state)',
    )
    .addHelpText('after', `\n${exitCodesHelp(names, meanings)}`);
}

function projectOption(): Option {
  return new Option(
    '-p, --project <dir>',
    'project folder holding defstate.config.* (default: the nearest one from the current folder up)',
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectChoice(choices: readonly string[]) {
  return (value: string, previous: string[]): string[] => {
    if (!choices.includes(value)) {
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    }
    return [...previous, value];
  };
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError('Expected a whole number ≥ 1.');
  return number;
}

function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new InvalidArgumentError('Expected a whole number ≥ 0.');
  return number;
}

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535)
    throw new InvalidArgumentError('Expected a port number from 0 to 65535.');
  return number;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `10m`, `1500ms`, `1h`, `7d`, `2w`; a bare number is seconds. Returns milliseconds. */
export function duration(value: string): number {
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number) : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('Expected a duration such as 90s, 10m, 24h or 7d.');
  return ms;
}

/** A duration that may be 0 (`0`, `0s`). */
export function durationOrZero(value: string): number {
  return /^\s*0+\s*[smhd]?\s*$/.test(value) ? 0 : duration(value);
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  return manifest.version as string;
}
