import type { BlobStore } from '@defstate/core';

/** What the versioned-protocol groups of the kit take beyond the common options. */
export interface ProtocolOptions {
  failures?: {
    /**
     * A store of this adapter behind something that drops conditional headers (a proxy that
     * strips `If-Match`/`If-None-Match`): the protocol must refuse to write to it.
     */
    ignoresConditions?: (namespace: string) => Promise<BlobStore>;
  };
  /**
   * The many-writer group: `processes` child processes each refresh `ownKeys` keys of their own
   * and `sharedKeys` keys that all of them refresh, `rounds` times, all at once. Defaults: 8
   * processes, 10 own keys, 3 shared keys, 2 rounds; CI runs the adapters with 32 × (50 + 5).
   */
  torture?: { processes?: number; ownKeys?: number; sharedKeys?: number; rounds?: number };
}
