/** The exit codes of `defstate`, listed in `defstate --help` and the README. */
export const ExitCode = {
  ok: 0,
  /** A refresh or a check failed; some state may be missing or stale. */
  failed: 1,
  /** Bad arguments or configuration; nothing was changed. */
  usage: 2,
  /** Stopped by Ctrl-C / SIGINT. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    a refresh or check failed (every failure is printed with its key and cause)
  2    usage or configuration error (nothing was changed)
  130  interrupted`;
