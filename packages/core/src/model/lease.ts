import { z } from 'zod';

/**
 * The store-wide maintenance lease (`lease/maintenance.json`): who holds it and for how long a
 * silence means they are gone. It is never deleted: a holder releases it by writing
 * `released: true`, and the next holder takes it by compare-and-swap on that document.
 */
export const LeaseSchema = z
  .object({
    schemaVersion: z.literal(1),
    /** Random per acquisition: only the holder knows it. */
    owner: z.string().min(1),
    operation: z.string().describe('What the holder is doing: prune, rollback, upgrade…'),
    holder: z
      .object({
        host: z.string(),
        pid: z.number().int(),
        boot: z.string().optional(),
        start: z.string().optional(),
      })
      .strict(),
    /** A holder whose document has not changed for this long is taken to be gone. */
    ttlMs: z.number().int().positive(),
    /** The holder's clock, for people; no decision reads it. */
    acquiredAt: z.iso.datetime(),
    heartbeatAt: z.iso.datetime(),
    released: z.boolean(),
  })
  .strict();
export type Lease = z.infer<typeof LeaseSchema>;
