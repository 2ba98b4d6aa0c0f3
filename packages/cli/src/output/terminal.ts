/**
 * How to write to a stream: colour only on a terminal and never with NO_COLOR (FORCE_COLOR turns
 * it on anywhere), control codes only on a terminal. CI logs get plain text.
 */
export interface Terminal {
  stream: NodeJS.WriteStream;
  /** Live redrawing (cursor movement) is allowed. */
  live: boolean;
  color: boolean;
  width: number;
  write(text: string): void;
  line(text?: string): void;
}

export function terminalFor(
  stream: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv = process.env,
): Terminal {
  const tty = stream.isTTY === true && env.TERM !== 'dumb';
  const forced =
    env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const color = env.NO_COLOR ? false : forced || tty;
  return {
    stream,
    live: tty && !env.CI,
    color,
    width: stream.columns || 100,
    write: (text) => stream.write(text),
    line: (text = '') => stream.write(`${text}\n`),
  };
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof CODES;

export function paint(terminal: Pick<Terminal, 'color'>, style: Style, text: string): string {
  if (!terminal.color) return text;
  const [open, close] = CODES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}
