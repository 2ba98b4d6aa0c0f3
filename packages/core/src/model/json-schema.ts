import { z } from 'zod';
import { LeaseSchema } from './lease.js';
import { PartialPinFileSchema, PinFileSchema } from './pin-file.js';
import { LayoutManifestSchema, LegacyPointerStubSchema, PointerShardSchema } from './pointer.js';
import { RefreshTimingsSchema, ShardPlanDocumentSchema } from './shard-records.js';
import { StateInfoDocumentSchema, StateInfoSchema } from './state-info.js';

/**
 * The JSON Schemas published in `schema/`, generated from the zod schemas so they cannot say
 * something the code does not enforce. A test fails when the checked-in files drift.
 */
export function stateJsonSchemas(): Record<string, unknown> {
  return {
    'state-info.schema.json': {
      ...z.toJSONSchema(StateInfoSchema),
      $id: 'https://defstate.dev/schema/state-info.schema.json',
      title: 'defstate state info',
    },
    'state-info-document.schema.json': {
      ...z.toJSONSchema(StateInfoDocumentSchema),
      $id: 'https://defstate.dev/schema/state-info-document.schema.json',
      title: 'defstate state info document (state-info.json, pointer layout 1)',
    },
    'layout.schema.json': {
      ...z.toJSONSchema(LayoutManifestSchema),
      $id: 'https://defstate.dev/schema/layout.schema.json',
      title: 'defstate store layout manifest (layout.json)',
    },
    'pointer-shard.schema.json': {
      ...z.toJSONSchema(PointerShardSchema),
      $id: 'https://defstate.dev/schema/pointer-shard.schema.json',
      title: 'defstate latest-pointer shard (pointer/<shard>.json)',
    },
    'state-info-stub.schema.json': {
      ...z.toJSONSchema(LegacyPointerStubSchema),
      $id: 'https://defstate.dev/schema/state-info-stub.schema.json',
      title: 'defstate state-info.json in a store of pointer layout 2',
    },
    'lease.schema.json': {
      ...z.toJSONSchema(LeaseSchema),
      $id: 'https://defstate.dev/schema/lease.schema.json',
      title: 'defstate maintenance lease (lease/maintenance.json)',
    },
    'pin-file.schema.json': {
      ...z.toJSONSchema(PinFileSchema),
      $id: 'https://defstate.dev/schema/pin-file.schema.json',
      title: 'defstate pin file (.local_defs_state/.pins.json)',
    },
    'partial-pin-file.schema.json': {
      ...z.toJSONSchema(PartialPinFileSchema),
      $id: 'https://defstate.dev/schema/partial-pin-file.schema.json',
      title:
        'defstate partial pin file of one shard (.local_defs_state/.pins.shard-<i>-of-<n>.json)',
    },
    'refresh-timings.schema.json': {
      ...z.toJSONSchema(RefreshTimingsSchema),
      $id: 'https://defstate.dev/schema/refresh-timings.schema.json',
      title: 'defstate refresh durations by key (refresh-timings.json)',
    },
    'shard-plan.schema.json': {
      ...z.toJSONSchema(ShardPlanDocumentSchema),
      $id: 'https://defstate.dev/schema/shard-plan.schema.json',
      title: 'defstate shard plan of one CI run (shard-plans/<id>.json)',
    },
  };
}
