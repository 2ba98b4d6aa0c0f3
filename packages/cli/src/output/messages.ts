import { paint, type Terminal, terminalFor } from './terminal.js';

/**
 * The one style for messages that are not results: `error: …`, `warning: …`, `note: …`, as
 * commander prints its own errors, on stderr. A message's later lines (its hint) keep their
 * indentation.
 */
export function errorMessage(text: string, terminal: Terminal = terminalFor(process.stderr)) {
  terminal.line(`${paint(terminal, 'red', 'error:')} ${text}`);
}

export function warningMessage(text: string, terminal: Terminal = terminalFor(process.stderr)) {
  terminal.line(`${paint(terminal, 'yellow', 'warning:')} ${text}`);
}

export function noteMessage(text: string, terminal: Terminal = terminalFor(process.stderr)) {
  terminal.line(`${paint(terminal, 'cyan', 'note:')} ${text}`);
}

/** `1 key`, `2 keys`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
