/** The exit codes of `defstate`, listed in `defstate --help`, each command's help and the README. */
export const ExitCode = {
  ok: 0,
  /** A refresh or a check failed; some state may be missing or stale. */
  failed: 1,
  /** Bad arguments or configuration; nothing was changed. */
  usage: 2,
  /** Stopped by Ctrl-C / SIGINT (128 + 2, as a shell reports it). */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15): a CI job cancelled, a container stopped. */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const MEANINGS = {
  ok: 'success',
  failed: 'a refresh or check failed (every failure is printed with its key and cause)',
  usage: 'usage or configuration error (nothing was changed)',
  interrupted: 'interrupted by Ctrl-C (SIGINT); keys that finished are committed',
  terminated: 'stopped by SIGTERM; keys that finished are committed',
} as const;

/** The exit-code table for a command that can end only in `codes`. */
export function exitCodesHelp(
  codes: ReadonlyArray<keyof typeof ExitCode>,
  meanings: Partial<Record<keyof typeof ExitCode, string>> = {},
): string {
  const lines = codes.map(
    (name) => `  ${String(ExitCode[name]).padEnd(4)} ${meanings[name] ?? MEANINGS[name]}`,
  );
  return `Exit codes:\n${lines.join('\n')}`;
}

/** Every code, for `defstate --help`. */
export const EXIT_CODES_HELP = exitCodesHelp([
  'ok',
  'failed',
  'usage',
  'interrupted',
  'terminated',
]);
