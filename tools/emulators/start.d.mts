// Types for start.mjs, so TypeScript tests (NodeNext, strict) can import it.

export type EmulatorKind = 's3' | 'gcs' | 'azure';

export interface StartOptions {
  /** Max wait for the emulator to answer HTTP (default 30000). */
  timeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in stop() (default 5000). */
  stopTimeoutMs?: number;
  /** Fixed port; default is a free port on 127.0.0.1. */
  port?: number;
  /** Extra environment for the emulator process, e.g. { INITIAL_NO_AUTH_ACTION_COUNT: '3' }. */
  env?: Record<string, string>;
  /** Echo the emulator's output to stderr. */
  verbose?: boolean;
}

export interface RunningEmulator {
  kind: EmulatorKind;
  /** e.g. http://127.0.0.1:40123 (no trailing slash, no account/bucket path). */
  endpoint: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const KINDS: readonly EmulatorKind[];
export const AZURITE_ACCOUNT: string;
export const AZURITE_KEY: string;

export function startEmulator(kind: EmulatorKind, opts?: StartOptions): Promise<RunningEmulator>;
export function emulatorEnv(kind: EmulatorKind, endpoint: string): Record<string, string>;
export function freePort(): Promise<number>;
/** moto only: 0 = enforce IAM auth from now on, Infinity = never check (default), N = N free requests. */
export function motoSetAuth(endpoint: string, count: number): Promise<unknown>;
