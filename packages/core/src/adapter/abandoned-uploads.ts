/**
 * An optional store method for stores that keep the parts of unfinished uploads until told
 * otherwise (S3 multipart uploads): a process killed mid-upload leaves parts that cost money and
 * are invisible to `list`. Core calls it on the next run and in prune. Stores that expire
 * uncommitted data by themselves (GCS resumable sessions, Azure uncommitted blocks) need nothing.
 */

export interface RemoveAbandonedUploadsOptions {
  /** Only uploads started longer ago than this, by the store's clock where it has one. */
  olderThanMs: number;
  signal?: AbortSignal;
}

export interface AbandonedUploadRemover {
  /** Aborts unfinished uploads under the store's root; returns how many it aborted. */
  removeAbandonedUploads(options: RemoveAbandonedUploadsOptions): Promise<number>;
}

/** Whether a store offers `removeAbandonedUploads`. */
export function canRemoveAbandonedUploads<T extends object>(
  store: T,
): store is T & AbandonedUploadRemover {
  return typeof (store as Partial<AbandonedUploadRemover>).removeAbandonedUploads === 'function';
}
