import {
  MANAGEMENT_TYPES,
  type ManagementType,
  parseShardSpec,
  type ShardSpec,
  UsageError,
} from '@defstate/core';
import type { Runner } from './runner.js';

/** The action's inputs, parsed and checked; see action.yml for what each one means. */
export interface ActionInputs {
  workingDirectory: string;
  keys: string[];
  management: ManagementType[];
  storageUrl?: string;
  /** The YAML content of `defstate.yaml`. */
  instanceConfig?: string;
  concurrency?: number;
  retries?: number;
  /** Longest one refresh attempt may take, in ms. */
  timeoutMs?: number;
  pin: boolean;
  verify: boolean;
  /** Only this shard of the selected keys; `auto` reads the CI system's index. */
  shard?: ShardSpec | 'auto';
  /** Merge the partial pin files of every shard instead of refreshing. */
  merge: boolean;
}

/** Reads every input; a value that cannot work is a `UsageError` naming the input. */
export function readInputs(runner: Runner): ActionInputs {
  const text = (name: string) => runner.input(name) || undefined;
  return {
    workingDirectory: runner.input('working-directory') || '.',
    // One key per line: a key may contain commas and spaces, never a line break.
    keys: lines(runner.input('keys')),
    management: managementTypes(runner.input('management-types')),
    storageUrl: text('storage-url'),
    instanceConfig: text('instance-config'),
    concurrency: wholeNumber(runner, 'concurrency', 1),
    retries: wholeNumber(runner, 'retries', 0),
    timeoutMs: duration(runner, 'timeout'),
    pin: booleanInput(runner, 'pin', false),
    verify: booleanInput(runner, 'verify', false),
    ...shardInput(runner),
    merge: mergeInput(runner),
  };
}

function shardInput(runner: Runner): { shard?: ShardSpec | 'auto' } {
  const value = runner.input('shard');
  if (!value) return {};
  return { shard: value === 'auto' ? 'auto' : parseShardSpec(value, 'input shard') };
}

/** `merge: true` refreshes nothing, so it takes no input that says what to refresh. */
function mergeInput(runner: Runner): boolean {
  const merge = booleanInput(runner, 'merge', false);
  if (!merge) return false;
  const conflicting = ['shard', 'keys', 'management-types'].filter((name) => runner.input(name));
  if (conflicting.length > 0) {
    throw new UsageError(
      `input merge: true refreshes nothing, so it takes no ${conflicting.join(' or ')} input.`,
      {
        hint: 'Use merge in the job after the matrix: it combines the partial pin files every shard wrote into .local_defs_state/.pins.json.',
      },
    );
  }
  return true;
}

function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

function managementTypes(value: string): ManagementType[] {
  const names = value
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(MANAGEMENT_TYPES as readonly string[]).includes(name)) {
      throw new UsageError(`input management-types: unknown management type "${name}".`, {
        hint: `Use ${MANAGEMENT_TYPES.join(' and/or ')}, separated by commas or new lines.`,
      });
    }
  }
  return [...new Set(names)] as ManagementType[];
}

function wholeNumber(runner: Runner, name: string, minimum: number): number | undefined {
  const value = runner.input(name);
  if (!value) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < minimum) {
    throw new UsageError(
      `input ${name}: "${value}" is not a whole number ≥ ${minimum}.`,
      name === 'concurrency'
        ? { hint: 'concurrency is how many components refresh at once, e.g. 4.' }
        : { hint: 'retries is how many times a transient failure is retried per key, e.g. 3.' },
    );
  }
  return Number(value);
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `1h`, `1500ms`; a bare number is seconds, as the CLI's `--timeout` reads it. */
function duration(runner: Runner, name: string): number | undefined {
  const value = runner.input(name);
  if (!value) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number) : Number.NaN;
  if (!(ms > 0)) {
    throw new UsageError(`input ${name}: "${value}" is not a duration.`, {
      hint: `${name} is how long one refresh attempt may take, e.g. 90s, 10m or 1h.`,
    });
  }
  return ms;
}

// The YAML 1.2 core schema's booleans, as the runner's own toolkit accepts them.
const TRUE_WORDS = ['true', 'True', 'TRUE'];
const FALSE_WORDS = ['false', 'False', 'FALSE'];

function booleanInput(runner: Runner, name: string, fallback: boolean): boolean {
  const value = runner.input(name);
  if (!value) return fallback;
  if (TRUE_WORDS.includes(value)) return true;
  if (FALSE_WORDS.includes(value)) return false;
  throw new UsageError(`input ${name}: "${value}" is not a boolean.`, {
    hint: 'Use true or false.',
  });
}
