/**
 * The few pieces of the GitHub Actions runner protocol the action uses: inputs from `INPUT_*`
 * variables, file commands (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`) and workflow
 * commands on stdout (`::add-mask::`, `::error::`). Written here rather than taken from
 * `@actions/core`, whose HTTP and OIDC clients would quadruple the bundle for six functions.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import { redactSecrets } from '@defstate/core';

export interface Runner {
  /** An input as the runner passes it (`INPUT_<NAME>`), trimmed; '' when not set. */
  input(name: string): string;
  setOutput(name: string, value: string): void;
  /** Sets a variable for the job's later steps (not for this process). */
  exportVariable(name: string, value: string): void;
  /** Hides every later occurrence of `value` in the job's logs. */
  mask(value: string): void;
  error(message: string, properties?: { title?: string; file?: string; line?: number }): void;
  warning(message: string, properties?: { title?: string }): void;
  /** An annotation that informs without failing anything (`::notice::`). */
  notice(message: string, properties?: { title?: string }): void;
  /** Shows text in the log; no line of it is read as a workflow command. */
  info(text: string): void;
  /**
   * Shows `lines` folded under `title` (`::group::` … `::endgroup::`), or just the title when
   * there are none. Neither the title nor any line is read as a command.
   */
  group(title: string, lines: readonly string[]): void;
  /** Diagnostics (stack traces) on stderr, shown in the log, never read as commands either. */
  debug(text: string): void;
  appendSummary(markdown: string): void;
}

/** The name the runner gives an input's variable: spaces become `_`, letters upper-case. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** The runner of a workflow step, which also says how it shows any text. */
export interface ProcessRunner extends Runner {
  /** `text` as this runner shows it: secrets redacted, every masked value `***`. */
  shown(text: string): string;
}

/**
 * A runner over this process's environment and stdout, as in a workflow step. Everything it
 * writes (log lines, annotations, outputs, the summary) is `shown`: core's redaction of URL
 * userinfo, credential parameters and connection-string keys, then `***` for every value masked
 * so far. The runner masks the log by itself; the files and this process's own text are its care.
 */
export function processRunner(
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (text) => process.stdout.write(text),
  writeError: (text: string) => void = (text) => process.stderr.write(text),
): ProcessRunner {
  const fileCommand = (variable: string, name: string, value: string) => {
    const file = env[variable];
    if (!file) {
      throw new Error(`${variable} is not set: this must run as a step of a GitHub Actions job.`);
    }
    appendFileSync(file, keyValueMessage(name, value), 'utf8');
  };
  const masked = new Set<string>();
  // Masked values first: redaction could cut one in two, and then neither would hide it.
  const shown = (text: string) => redactSecrets(maskIn(text, masked));
  const annotation = (properties: { title?: string; file?: string; line?: number }) =>
    properties.title === undefined ? properties : { ...properties, title: shown(properties.title) };
  return {
    shown,
    input: (name) => (env[inputVariable(name)] ?? '').trim(),
    setOutput: (name, value) => fileCommand('GITHUB_OUTPUT', name, shown(value)),
    // Values that later steps use, not text to read: DEFSTATE_HOME's path, an emptied variable.
    exportVariable: (name, value) => fileCommand('GITHUB_ENV', name, value),
    mask: (value) => {
      if (!value.trim() || masked.has(value)) return;
      masked.add(value);
      write(workflowCommand('add-mask', {}, value));
    },
    error: (message, properties = {}) =>
      write(workflowCommand('error', annotation(properties), shown(message))),
    warning: (message, properties = {}) =>
      write(workflowCommand('warning', annotation(properties), shown(message))),
    notice: (message, properties = {}) =>
      write(workflowCommand('notice', annotation(properties), shown(message))),
    info: (text) => write(`${inertLines(shown(text))}${EOL}`),
    group: (title, lines) => {
      if (lines.length === 0) {
        write(`${inertLines(shown(title))}${EOL}`);
        return;
      }
      // A title is one line of data: `%`, CR and LF are escaped, so it cannot end the command.
      write(workflowCommand('group', {}, shown(title).replace(/\r\n|\r|\n/g, ' ')));
      write(`${inertLines(shown(lines.join('\n')))}${EOL}`);
      write(`::endgroup::${EOL}`);
    },
    debug: (text) => writeError(`${inertLines(shown(text))}${EOL}`),
    appendSummary: (markdown) => {
      const file = env.GITHUB_STEP_SUMMARY;
      if (file) appendFileSync(file, shown(markdown), 'utf8');
    },
  };
}

// The runner reads a line as a command when it starts with `::` after any Unicode white space
// (`::warning::…`, `::add-mask::…`, `::stop-commands::…`), and, in the legacy form, when it holds
// `##[command]` anywhere. Text it must only show gets a `\` in front of each.
const COMMAND_LINE = /^(\p{White_Space}*)::/u;
const LEGACY_COMMAND = /##\[/g;

/**
 * Text from a component, a store or an error, made inert: each line as the runner splits them
 * (`\n`, `\r\n` or a lone `\r`), with `\::` for a leading `::` and `##\[` for `##[`, so no line
 * of it is a command however it was written.
 */
export function inertLines(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(COMMAND_LINE, '$1\\::').replace(LEGACY_COMMAND, '##\\['))
    .join(EOL);
}

/**
 * `***` for every masked value, longest first, as the runner shows them in the log; a value may
 * also appear HTML-escaped, the way summary cells escape text.
 */
function maskIn(text: string, masked: ReadonlySet<string>): string {
  const forms = [...masked].flatMap((value) => [value, escapeHtml(value)]);
  let result = text;
  for (const form of [...new Set(forms)].sort((a, b) => b.length - a.length)) {
    result = result.split(form).join('***');
  }
  return result;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/`/g, '&#96;');
}

/**
 * `name<<delimiter` … `delimiter`: safe for multi-line values. The delimiter is random, and a
 * value that contains it (it cannot, short of a collision) is refused rather than cut short.
 */
export function keyValueMessage(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`Unexpected input: the value of ${name} contains the delimiter ${delimiter}.`);
  }
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}

/** `::command key=value,…::message`, escaped the way the runner unescapes it. */
export function workflowCommand(
  command: string,
  properties: Record<string, string | number | undefined>,
  message: string,
): string {
  const listed = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${command}${listed ? ` ${listed}` : ''}::${escapeData(message)}${EOL}`;
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
