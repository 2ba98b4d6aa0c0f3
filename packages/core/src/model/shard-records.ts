import { z } from 'zod';
import { StateKeySchema } from './name-schemas.js';

/**
 * The store's records for refreshes sharded across a CI matrix (see deploy/shard-plan.ts): how
 * long each key's refresh took last, and the plan the shards of one CI run share.
 */

/**
 * `refresh-timings.json`: each key's last refresh duration, in ms. Kept apart from the pointer on
 * purpose: a duration changes with every run, and in the pointer it would make every refresh
 * rewrite every shard (see docs/architecture.md, "Sharding a refresh across a CI matrix").
 */
export const RefreshTimingsSchema = z
  .object({
    schemaVersion: z.literal(1),
    keys: z.record(
      StateKeySchema,
      z.number().nonnegative().describe('How long the key’s refresh took, in ms (every attempt).'),
    ),
  })
  .strict();
export type RefreshTimings = z.infer<typeof RefreshTimingsSchema>;

/**
 * `shard-plans/<id>.json`: which keys each shard of one CI run refreshes. The first shard of the
 * run to start writes it, create-only; every other shard (and any re-run of one) reads it, so all
 * of them use one partition whatever timings were recorded between their starts.
 */
export const ShardPlanDocumentSchema = z
  .object({
    schemaVersion: z.literal(1),
    id: z.string().min(1),
    run: z.string().describe('The CI run the plan belongs to (DEFSTATE_SHARD_RUN or the CI’s id).'),
    total: z.number().int().min(1),
    balancedBy: z
      .enum(['durations', 'count'])
      .describe('durations: by each key’s last refresh duration; count: no duration was known.'),
    createdAt: z.iso.datetime().describe('The planning shard’s clock, for people.'),
    shards: z.array(z.array(StateKeySchema)),
  })
  .strict();
export type ShardPlanDocument = z.infer<typeof ShardPlanDocumentSchema>;
