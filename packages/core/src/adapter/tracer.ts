import { DefstateError } from '../errors.js';
import { redactSecrets } from './redact.js';

/**
 * Request tracing a user turns on without a code change: `DEFSTATE_DEBUG=store:s3` traces every
 * request the S3 store makes, `DEFSTATE_DEBUG=store` every store's, `1` or `*` everything. Lines go
 * to stderr, one per operation, and pass through `redactSecrets`, so a trace never shows a
 * signature, a token or an Authorization header. Namespaces are `:`-separated; naming one turns on
 * everything below it (`store` covers `store:s3`), and `store:*` means the same.
 */

export const DEBUG_VARIABLE = 'DEFSTATE_DEBUG';

/** Whether `DEFSTATE_DEBUG` turns on tracing for `namespace`. */
export function isDebugEnabled(
  namespace: string,
  env: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const setting = env[DEBUG_VARIABLE]?.trim();
  if (!setting) return false;
  if (setting === '1' || setting === '*' || setting.toLowerCase() === 'true') return true;
  return setting
    .split(',')
    .map((entry) => entry.trim().replace(/:\*$/, ''))
    .some((entry) => entry !== '' && (namespace === entry || namespace.startsWith(`${entry}:`)));
}

export interface TracerOptions {
  env?: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  /** Milliseconds clock, for durations. */
  now?: () => number;
}

export interface Tracer {
  readonly namespace: string;
  /** Whether lines are written; callers skip building costly messages when not. */
  readonly enabled: boolean;
  /** Writes one line (redacted) when enabled. */
  trace(message: string): void;
  /** A tracer for a namespace below this one: `store` → `store:s3`. */
  child(name: string): Tracer;
  /**
   * Runs one operation and traces it: `get gs://b/p/x → ok 120 B (8 ms)` or
   * `→ TRANSIENT: … (8 ms)`. `summary` describes a result in a few words.
   */
  operation<T>(
    operation: string,
    target: string,
    run: () => Promise<T>,
    summary?: (result: T) => string | undefined,
  ): Promise<T>;
}

export function createTracer(namespace: string, options: TracerOptions = {}): Tracer {
  const env = options.env ?? process.env;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => performance.now());
  const enabled = isDebugEnabled(namespace, env);
  const trace = (message: string) => {
    if (enabled) write(redactSecrets(`defstate:${namespace} ${message}`));
  };
  return {
    namespace,
    enabled,
    trace,
    child: (name) => createTracer(`${namespace}:${name}`, { ...options, env }),
    async operation(operation, target, run, summary) {
      if (!enabled) return run();
      const started = now();
      const took = () => `(${Math.round(now() - started)} ms)`;
      try {
        const result = await run();
        const described = summary?.(result);
        trace(`${operation} ${target} → ok${described ? ` ${described}` : ''} ${took()}`);
        return result;
      } catch (error) {
        const code = error instanceof DefstateError ? error.code : ((error as Error)?.name ?? '');
        const message = (error as Error)?.message?.split('\n')[0] ?? String(error);
        trace(`${operation} ${target} → ${code}: ${message} ${took()}`);
        throw error;
      }
    },
  };
}
