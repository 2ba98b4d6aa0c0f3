import { z } from 'zod';
import { PinFileSchema } from './pin-file.js';
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
      title: 'defstate state info document',
    },
    'pin-file.schema.json': {
      ...z.toJSONSchema(PinFileSchema),
      $id: 'https://defstate.dev/schema/pin-file.schema.json',
      title: 'defstate pin file (.local_defs_state/.pins.json)',
    },
  };
}
