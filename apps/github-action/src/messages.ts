/**
 * The action's words for what core says. Core's messages are written for the CLI; in a workflow
 * the same advice names the action's inputs, and a Node `require` stack or an error code is noise
 * in an annotation whose title already says what kind of failure it is.
 */
import { ConfigError, DefstateError, UsageError } from '@defstate/core';

// CLI flags and what a step sets instead. Longer forms first, so `--project <dir>` goes whole.
const FLAG_INPUTS: ReadonlyArray<[RegExp, string]> = [
  [/pass --project <dir>/g, 'set the working-directory input'],
  [/--project <dir>/g, 'the working-directory input'],
  [/--project\b/g, 'the working-directory input'],
  [/--storage(?: <url>)?/g, 'the storage-url input'],
  [/--key(?: <key>)?/g, 'the keys input'],
  [/--management-type(?: <type>)?/g, 'the management-types input'],
  [/--concurrency\b/g, 'the concurrency input'],
  [/--retries\b/g, 'the retries input'],
  [/--timeout\b/g, 'the timeout input'],
];

export function inActionWords(text: string): string {
  return FLAG_INPUTS.reduce((result, [flag, input]) => result.replace(flag, input), text);
}

/** A cause's message as far as it helps: Node's "Require stack:" listing is left out. */
function causeMessage(cause: Error): string {
  return cause.message.split(/\r?\nRequire stack:/)[0]?.trim() ?? cause.message;
}

/** The message, and the cause's when it says something the message does not. */
export function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? causeMessage(error.cause) : undefined;
  // An install hint already says what a missing module means.
  const moduleMissing =
    (error.cause as { code?: unknown } | undefined)?.code === 'MODULE_NOT_FOUND';
  const withCause =
    cause && !moduleMissing && !error.message.includes(cause)
      ? `${error.message}\n  cause: ${cause}`
      : error.message;
  return inActionWords(withCause);
}

/** An annotation's title: what kind of failure it is. */
export function failureTitle(error: unknown): string {
  if (error instanceof ConfigError) return 'defstate: configuration error';
  if (error instanceof UsageError) return 'defstate: invalid input';
  if (error instanceof DefstateError) return 'defstate: failed';
  return 'defstate: unexpected error';
}

/** `1 key`, `2 keys`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
