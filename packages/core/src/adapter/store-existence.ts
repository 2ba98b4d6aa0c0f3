import { BlobNotFoundError, type StoreNotFoundError } from '../errors.js';

/**
 * Object stores answer 404 both for a missing object and for a missing bucket or container (a
 * HEAD has no body to tell them apart). On a 404 a store asks once whether its bucket exists and
 * remembers a yes, so a missing bucket is reported as `StoreNotFoundError` naming it rather than
 * as an object that merely is not there. Concurrent 404s share one check; a no is not remembered,
 * since the bucket may be created in a moment.
 */
export class StoreExistence {
  readonly #check: (signal?: AbortSignal) => Promise<boolean>;
  #seen = false;
  #pending: Promise<boolean> | undefined;

  /** `check` asks the store whether the bucket exists; it throws typed errors. */
  constructor(check: (signal?: AbortSignal) => Promise<boolean>) {
    this.#check = check;
  }

  /** Whether the bucket is known to exist. */
  get seen(): boolean {
    return this.#seen;
  }

  /** Any successful call on the bucket proves it exists. */
  markSeen(): void {
    this.#seen = true;
  }

  async exists(signal?: AbortSignal): Promise<boolean> {
    if (this.#seen) return true;
    this.#pending ??= this.#check(signal).then(
      (exists) => {
        this.#pending = undefined;
        if (exists) this.#seen = true;
        return exists;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  /**
   * The error for a 404 on object `name`: `BlobNotFoundError` when the bucket exists, else the
   * store's `StoreNotFoundError` from `missing`.
   */
  async notFound(
    name: string,
    cause: unknown,
    missing: () => StoreNotFoundError,
    signal?: AbortSignal,
  ): Promise<BlobNotFoundError | StoreNotFoundError> {
    return (await this.exists(signal)) ? new BlobNotFoundError(name, { cause }) : missing();
  }
}
