/**
 * `@defstate/core/load`: what an application needs to load its state at start-up, and nothing
 * else. The package's main entry brings the whole toolkit (refresh engine, schemas, config
 * loader), which costs an app's start-up about twice what loading pinned state itself does; this
 * one imports no schema library and opens the store only when a key needs it.
 */
export {
  AbortedError,
  DefstateError,
  IntegrityError,
  InvalidKeyError,
  StateNotFoundError,
  StorageError,
  UsageError,
} from './errors.js';
export type { LoadedState, LoadStateOptions } from './loader/load-state.js';
export { loadState, loadStates } from './loader/load-state.js';
