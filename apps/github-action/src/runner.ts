/**
 * The few pieces of the GitHub Actions runner protocol the action uses: inputs from `INPUT_*`
 * variables, file commands (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`) and workflow
 * commands on stdout (`::add-mask::`, `::error::`). Written here rather than taken from
 * `@actions/core`, whose HTTP and OIDC clients would quadruple the bundle for six functions.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

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
  info(line: string): void;
  appendSummary(markdown: string): void;
}

/** The name the runner gives an input's variable: spaces become `_`, letters upper-case. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** A runner over this process's environment and stdout, as in a workflow step. */
export function processRunner(
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Runner {
  const fileCommand = (variable: string, name: string, value: string) => {
    const file = env[variable];
    if (!file) {
      throw new Error(`${variable} is not set: this must run as a step of a GitHub Actions job.`);
    }
    appendFileSync(file, keyValueMessage(name, value), 'utf8');
  };
  return {
    input: (name) => (env[inputVariable(name)] ?? '').trim(),
    setOutput: (name, value) => fileCommand('GITHUB_OUTPUT', name, value),
    exportVariable: (name, value) => fileCommand('GITHUB_ENV', name, value),
    mask: (value) => {
      if (value.trim()) write(workflowCommand('add-mask', {}, value));
    },
    error: (message, properties = {}) => write(workflowCommand('error', properties, message)),
    warning: (message, properties = {}) => write(workflowCommand('warning', properties, message)),
    info: (line) => write(`${line}${EOL}`),
    appendSummary: (markdown) => {
      const file = env.GITHUB_STEP_SUMMARY;
      if (file) appendFileSync(file, markdown, 'utf8');
    },
  };
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
