import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';

/**
 * The `defstate` command line. This file loads only commander: each command's code, and with it
 * @defstate/core, is imported when that command runs, so `defstate --help` starts fast whatever
 * the commands need.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command('defstate')
    .description('Refresh, version and serve the state your definitions are built from.')
    .version(await readVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  withSelection(program.command('refresh'), 'refresh')
    .description('Refresh the state of the project’s components and store it.')
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
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .action(async (options) => {
      const { refreshCommand } = await import('./commands/refresh.js');
      exitCode = await refreshCommand(options);
    });

  withSelection(program.command('status'), 'show')
    .description('Show the current state of every declared key.')
    .option('--json', 'print the status as JSON on stdout')
    .action(async (options) => {
      const { statusCommand } = await import('./commands/status.js');
      exitCode = await statusCommand(options);
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
  }
}

/** The options every command that works on a project's keys shares. */
function withSelection(command: Command, verb: string): Command {
  return command
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
    )
    .addOption(
      new Option('-p, --project <dir>', 'project folder holding defstate.config.*').default(
        process.cwd(),
        'current folder',
      ),
    )
    .option(
      '-s, --storage <url>',
      'versioned storage URL, overriding DEFSTATE_HOME (e.g. file:///srv/state)',
    )
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `1500ms`, `1h`; a bare number is seconds. Returns milliseconds. */
export function duration(value: string): number {
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number) : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('Expected a duration such as 90s, 10m or 1500ms.');
  return ms;
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  return manifest.version as string;
}
