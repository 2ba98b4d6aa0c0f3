import { z } from 'zod';
import { LeaseSchema } from './lease.js';
import { PinFileSchema } from './pin-file.js';
import { LayoutManifestSchema, LegacyPointerStubSchema, PointerShardSchema } from './pointer.js';
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
  };
}
