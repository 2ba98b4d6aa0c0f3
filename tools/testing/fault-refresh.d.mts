// Types for fault-refresh.mjs.
import type { NodeRun } from './run-node.mjs';

export interface FaultProject {
  root: string;
  project: string;
  keys: string[];
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export interface RefreshOutcome extends NodeRun {
  run: number;
  ms: number;
}

export function createFaultProject(options: {
  keys: number;
  adapterPackage: string;
  adapterDir: string;
  instanceConfig: string;
}): Promise<FaultProject>;

export function refreshRepeatedly(
  project: FaultProject,
  options: {
    runs: number;
    concurrency: number;
    env?: NodeJS.ProcessEnv;
    args?: string[];
    between?: (outcomes: RefreshOutcome[]) => Promise<void>;
  },
): Promise<RefreshOutcome[]>;

export function badOutcome(outcome: NodeRun): string | undefined;

export function snapshotStore(
  store: unknown,
  core: {
    listAll: (store: never, prefix: string) => AsyncIterable<{ name: string }>;
    readText: (store: never, name: string) => Promise<{ text: string }>;
    withRetry: Retrying;
  },
): Promise<Record<string, string>>;

/** core's `withRetry`, as the checks call it. */
type Retrying = <T>(
  operation: () => Promise<T>,
  options: { policy: { retries: number; baseDelayMs: number; maxDelayMs: number } },
) => Promise<T>;

export interface PointedVersion {
  key: string;
  version: string;
  sha256: string;
  size: number;
}

export function pointedVersions(
  store: unknown,
  core: {
    readPointer: (store: never) => Promise<{ entries: Map<string, unknown> }>;
  },
): Promise<PointedVersion[]>;

export function checkPointer(
  store: unknown,
  core: {
    readPointer: (store: never) => Promise<{ entries: Map<string, unknown> }>;
    downloadStateVersion: (store: never, info: never, target: string) => Promise<void>;
    withRetry: Retrying;
  },
  folder: string,
): Promise<number>;
