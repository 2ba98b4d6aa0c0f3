import { z } from 'zod';
import { entriesNameTheirKeys, StateInfoSchema } from './state-info.js';
import { StateKeySchema } from './state-key.js';

/**
 * The pin file's shape: the exact version of every declared key that a deployment uses (see
 * `deploy/pins.ts` for where it lives and who writes it).
 */
export const PIN_FILE_SCHEMA_VERSION = 1;

export const PinFileSchema = z
  .object({
    schemaVersion: z.literal(PIN_FILE_SCHEMA_VERSION),
    pinnedAt: z.iso.datetime().describe('When the pins were written (ISO 8601, UTC).'),
    store: z
      .string()
      .nullable()
      .describe('The store the versioned pins are in (its location, never a secret).'),
    keys: z.record(StateKeySchema, StateInfoSchema),
  })
  .strict()
  .superRefine(entriesNameTheirKeys);
export type PinFile = z.infer<typeof PinFileSchema>;
