import { hash } from 'node:crypto';
import { UsageError } from '../errors.js';

/**
 * Sharding a refresh across a CI matrix: which of the selected keys shard `index` of `total`
 * refreshes. Every key is in exactly one shard, and the partition is:
 * - stable: each key prefers the shards in the order of a rendezvous hash of (key, shard), so
 *   adding or removing a key moves few others, and the same keys keep landing on the same shard;
 * - balanced: each shard takes keys up to a little more than its fair share of the total weight
 *   (each key's last refresh duration where it is known), heaviest keys first; a key whose
 *   preferred shards are full goes to the next one that is not.
 * It is a pure function of the keys, the total and the weights, so shards that are given the same
 * three agree on it without talking to each other.
 */
export interface ShardSpec {
  /** 1-based, as Jest, Playwright and GitLab's CI_NODE_INDEX count. */
  index: number;
  total: number;
}

/** How far above its fair share of the weight a shard may go before keys spill to the next. */
const SLACK = 0.05;

/**
 * The keys of every shard, in the order given: `shards[i]` holds shard `i + 1`'s keys.
 * `weights` are in any unit (ms); a key without one counts as the median of those known.
 */
export function partitionKeys(
  keys: readonly string[],
  total: number,
  weights: ReadonlyMap<string, number> = new Map(),
): string[][] {
  assertTotal(total);
  const unique = [...new Set(keys)];
  const known = unique
    .map((key) => weights.get(key))
    .filter((weight): weight is number => weight !== undefined && weight >= 0)
    .sort((a, b) => a - b);
  const fallback = known.length ? (known[Math.floor(known.length / 2)] as number) : 1;
  // Weights are bucketed (steps of about 19%) so that a key whose refresh took 212 ms in one run
  // and 220 ms in the next does not reorder the placement; a zero weight still counts a little.
  const weightOf = (key: string) => bucket(Math.max(weights.get(key) ?? fallback, 1));
  const items = unique.map((key) => ({ key, weight: weightOf(key), tie: tieBreak(key) }));
  items.sort((a, b) => b.weight - a.weight || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0));
  const capacity = (items.reduce((sum, item) => sum + item.weight, 0) / total) * (1 + SLACK);
  const loads = new Array<number>(total).fill(0);
  const placed = new Map<string, number>();
  for (const item of items) {
    const order = preference(item.key, total);
    let shard = order.find((candidate) => (loads[candidate] as number) + item.weight <= capacity);
    // Every shard is (nearly) full: the least loaded one, ties to the key's own preference.
    shard ??= order.reduce((best, candidate) =>
      (loads[candidate] as number) < (loads[best] as number) ? candidate : best,
    );
    loads[shard] = (loads[shard] as number) + item.weight;
    placed.set(item.key, shard);
  }
  const shards = Array.from({ length: total }, () => [] as string[]);
  for (const key of unique) shards[placed.get(key) as number]?.push(key);
  return shards;
}

/** The shards in the order `key` prefers them: highest rendezvous score first. */
function preference(key: string, total: number): number[] {
  const scores = Array.from({ length: total }, (_, shard) => ({
    shard,
    score: hash('sha256', `${shard}\u0000${key}`, 'buffer').readUIntBE(0, 6),
  }));
  return scores.sort((a, b) => b.score - a.score || a.shard - b.shard).map(({ shard }) => shard);
}

function tieBreak(key: string): string {
  return hash('sha256', key, 'hex');
}

function bucket(weight: number): number {
  return 2 ** (Math.round(Math.log2(weight) * 4) / 4);
}

function assertTotal(total: number): void {
  if (!Number.isInteger(total) || total < 1 || total > 1024) {
    throw new UsageError(`A shard total must be a whole number from 1 to 1024, not ${total}.`, {
      hint: 'e.g. --shard 3/8: the third of eight shards.',
    });
  }
}

/** `3/8` → shard 3 of 8. */
export function parseShardSpec(text: string, origin = '--shard'): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const total = Number(match?.[2]);
  if (!match || !(index >= 1) || !(total >= 1) || index > total || total > 1024) {
    throw new UsageError(
      `${origin} "${text}" is not a shard: expected <index>/<total>, e.g. 3/8.`,
      {
        hint: 'Shards count from 1: 1/8 to 8/8. `--shard auto` reads the index from the CI system.',
      },
    );
  }
  return { index, total };
}

/**
 * The shard a CI system says this job is, for `--shard auto`. Indexes that the system counts from
 * 0 are moved to count from 1. A Kubernetes Indexed Job says only its index: the total comes from
 * `total` (the `--shard-total` flag) or `DEFSTATE_SHARD_TOTAL`, as for any system that lacks one.
 */
export function shardFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  total?: number,
): ShardSpec {
  const fromEnv = (name: string) => {
    const value = env[name]?.trim();
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const givenTotal = total ?? fromEnv('DEFSTATE_SHARD_TOTAL');
  const systems: Array<[index: string, total: string | undefined, base: 0 | 1]> = [
    ['CI_NODE_INDEX', 'CI_NODE_TOTAL', 1], // GitLab `parallel:`
    ['JOB_COMPLETION_INDEX', undefined, 0], // Kubernetes Indexed Job
    ['BUILDKITE_PARALLEL_JOB', 'BUILDKITE_PARALLEL_JOB_COUNT', 0],
    ['CIRCLE_NODE_INDEX', 'CIRCLE_NODE_TOTAL', 0],
  ];
  for (const [indexName, totalName, base] of systems) {
    const index = fromEnv(indexName);
    if (index === undefined) continue;
    const count = givenTotal ?? (totalName ? fromEnv(totalName) : undefined);
    if (count === undefined) {
      throw new UsageError(`--shard auto found ${indexName}=${index} but no shard total.`, {
        hint: 'Pass --shard-total <n> or set DEFSTATE_SHARD_TOTAL to the number of shards (a Kubernetes Indexed Job: its `completions`).',
      });
    }
    return parseShardSpec(`${index + (1 - base)}/${count}`, indexName);
  }
  throw new UsageError('--shard auto found no shard index in the environment.', {
    hint: 'It reads CI_NODE_INDEX/CI_NODE_TOTAL (GitLab parallel), JOB_COMPLETION_INDEX (Kubernetes Indexed Job, with --shard-total or DEFSTATE_SHARD_TOTAL), BUILDKITE_PARALLEL_JOB/_COUNT or CIRCLE_NODE_INDEX/_TOTAL. Elsewhere pass --shard <index>/<total>, e.g. from a GitHub Actions matrix.',
  });
}

/**
 * What identifies one run of a CI pipeline, the same in each of its shards, so that they share
 * one plan (see deploy/shard-plan.ts): `DEFSTATE_SHARD_RUN`, else the CI system's own run id.
 * A re-run of some shards of a run keeps the id, so it gets the same keys as the first attempt.
 */
export function shardRunId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = (name: string | undefined) => (name ? env[name]?.trim() || undefined : undefined);
  const own = value('DEFSTATE_SHARD_RUN');
  if (own) return own;
  const systems: Array<[system: string, run: string, scope?: string]> = [
    ['github', 'GITHUB_RUN_ID', 'GITHUB_REPOSITORY'],
    ['gitlab', 'CI_PIPELINE_ID', 'CI_PROJECT_ID'],
    ['buildkite', 'BUILDKITE_BUILD_ID'],
    ['circleci', 'CIRCLE_WORKFLOW_ID'],
  ];
  for (const [system, run, scope] of systems) {
    const id = value(run);
    if (id) return [system, value(scope), id].filter(Boolean).join(':');
  }
  return undefined;
}
