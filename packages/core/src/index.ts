export {
  environmentSecrets,
  findSecrets,
  REDACTED,
  redactSecrets,
  redactUrl,
} from './adapter/redact.js';
export type { RetryOptions, RetryPolicy, RetryRuntime } from './async/retry.js';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  STORE_RETRY_POLICY,
  systemRuntime,
  withRetry,
} from './async/retry.js';
export type { ForgetOptions, ForgottenKey } from './deploy/forget.js';
export { forgetState } from './deploy/forget.js';
export type { HistoryEntry, KeyHistory } from './deploy/history.js';
export { readHistory } from './deploy/history.js';
export type { LastRefreshEntry, LastRefreshRecord } from './deploy/last-refresh.js';
export { freshSince, LAST_REFRESH_FILE, readLastRefresh } from './deploy/last-refresh.js';
export type { MergePinsOptions, MergePinsReport } from './deploy/merge-pins.js';
export { mergePins } from './deploy/merge-pins.js';
export {
  findPartialPinFiles,
  partialPinFileName,
  partialPinFilePath,
  readPartialPinFile,
} from './deploy/partial-pins.js';
export type { PinProjectOptions } from './deploy/pin-project.js';
export { pinProject } from './deploy/pin-project.js';
export {
  PIN_FILE,
  pinFilePath,
  readPinFile,
  readPins,
  writePins,
} from './deploy/pins.js';
export type { PruneCandidate, PruneOptions, PruneReport } from './deploy/prune.js';
export { DEFAULT_ORPHAN_GRACE_MS, pruneState } from './deploy/prune.js';
export type { PullOptions, PullReport } from './deploy/pull.js';
export { pullState } from './deploy/pull.js';
export { PULLED_DIR, pulledStatePath } from './deploy/pulled.js';
export type { RollbackResult } from './deploy/rollback.js';
export { rollbackState } from './deploy/rollback.js';
export type { PlanShardOptions, ShardPlan } from './deploy/shard-plan.js';
export { planShard, SHARD_PLAN_TTL_MS } from './deploy/shard-plan.js';
export type { KeyStatus, ReadStatusOptions, StatusReport } from './deploy/status.js';
export { readStatus } from './deploy/status.js';
export { findUndeclaredKeys, undeclaredEntries } from './deploy/undeclared.js';
export type {
  VerifiedKey,
  VerifyOptions,
  VerifyProblem,
  VerifyProblemCode,
  VerifyReport,
  VerifyWarning,
} from './deploy/verify.js';
export { verifyState } from './deploy/verify.js';
export type { DefstateErrorCode, DefstateErrorOptions } from './errors.js';
export {
  AbortedError,
  AccessDeniedError,
  BlobNotFoundError,
  ConfigError,
  ConflictError,
  DefstateError,
  describeError,
  IntegrityError,
  InvalidKeyError,
  isNetworkFailureCode,
  isTransient,
  LeaseError,
  PreconditionFailedError,
  RefreshFailedError,
  StateNotFoundError,
  StorageError,
  StoreNotFoundError,
  TimeoutError,
  TransientError,
  UsageError,
} from './errors.js';
export type { Digest } from './fs/hash-file.js';
export { hashFile, hashStream } from './fs/hash-file.js';
export { defaultCacheDir, defaultStateHome } from './instance/default-home.js';
export type { ResolveStorageOptions, StorageSelection } from './instance/instance-config.js';
export {
  ADAPTER_PACKAGE_PREFIX,
  adapterForScheme,
  defaultStorageNotice,
  INSTANCE_CONFIG_FILE,
  parseInstanceConfig,
  parseStorageUrl,
  resolveStorage,
  STORAGE_URL_SCHEMES,
} from './instance/instance-config.js';
export type { OpenStoreOptions } from './instance/open-store.js';
export {
  installCommand,
  OFFICIAL_ADAPTER_PACKAGES,
  openStore,
  resolveAdapterOptions,
} from './instance/open-store.js';
export type {
  DevOnlyDependency,
  RuntimeDependencyOptions,
} from './instance/runtime-dependencies.js';
export {
  devOnlyDependencyWarning,
  devOnlyRuntimeDependencies,
} from './instance/runtime-dependencies.js';
export type { StoreOpener, StoreOpenerOptions } from './instance/store-opener.js';
export { createStoreOpener } from './instance/store-opener.js';
export { suggestClosest } from './instance/suggest.js';
export type { DevelopmentRefreshOptions } from './loader/dev-mode.js';
export {
  developmentStorage,
  openDevelopmentStore,
  refreshForDevelopment,
  withDevelopmentLock,
} from './loader/dev-mode.js';
export type { DevelopmentMode } from './loader/dev-switch.js';
export { developmentMode, developmentRefused, inCi } from './loader/dev-switch.js';
export type { LoadedState, LoadStateOptions } from './loader/load-state.js';
export { loadState, loadStates } from './loader/load-state.js';
export { commitLocalState } from './local/local-commit.js';
export type { LocalState, LocalStatePaths } from './local/local-state.js';
export {
  ensureLocalStateRoot,
  LOCAL_STATE_DIR,
  localStatePaths,
  readLocalState,
  readLocalStateInfo,
  readPresentLocalInfo,
} from './local/local-state.js';
export { POINTER_LAYOUT_VERSION, STATE_INFO_SCHEMA_VERSION } from './model/document-checks.js';
export { stateJsonSchemas } from './model/json-schema.js';
export { escapeName, keyToFolder, unescapeName } from './model/key-folder.js';
export type { Lease } from './model/lease.js';
export { LeaseSchema } from './model/lease.js';
export { StateKeySchema, StateVersionSchema } from './model/name-schemas.js';
export type { PartialPinFile, PinFile, PinFileShard } from './model/pin-file.js';
export { PartialPinFileSchema, PinFileSchema } from './model/pin-file.js';
export type {
  ConditionalWriteProof,
  LayoutManifest,
  PointerEntry,
  PointerShard,
} from './model/pointer.js';
export { LayoutManifestSchema, PointerEntrySchema, PointerShardSchema } from './model/pointer.js';
export type { RefreshTimings, ShardPlanDocument } from './model/shard-records.js';
export { RefreshTimingsSchema, ShardPlanDocumentSchema } from './model/shard-records.js';
export type { ManagementType, StateInfo, StateInfoDocument } from './model/state-info.js';
export {
  emptyStateInfoDocument,
  MANAGEMENT_TYPES,
  ManagementTypeSchema,
  StateInfoDocumentSchema,
  StateInfoSchema,
} from './model/state-info.js';
export type { StateKey } from './model/state-key.js';
export { assertStateKey, MAX_KEY_LENGTH } from './model/state-key.js';
export type { StateVersion } from './model/state-version.js';
export {
  compareStateVersions,
  createStateVersion,
  versionCreatedAt,
} from './model/state-version.js';
export type { FormatCauseChainOptions } from './project/cause-chain.js';
export { causeChain, formatCauseChain } from './project/cause-chain.js';
export type {
  Component,
  ProjectConfig,
  ProjectConfigInput,
  RefreshContext,
} from './project/component.js';
export { defineComponent, defineConfig } from './project/component.js';
export { debugEnabled } from './project/debug-namespaces.js';
export type { Project } from './project/load-project.js';
export {
  findProjectConfig,
  loadProject,
  PROJECT_CONFIG_FILES,
  validateProjectConfig,
} from './project/load-project.js';
export { didYouMean, nearestKey } from './project/nearest-key.js';
export { selectComponents } from './project/select-components.js';
export type { ShardSpec } from './project/shard.js';
export {
  parseShardSpec,
  partitionKeys,
  shardFromEnvironment,
  shardRunId,
} from './project/shard.js';
export type { RefreshShardOptions, ShardedRefreshReport } from './refresh/refresh-shard.js';
export { refreshShard } from './refresh/refresh-shard.js';
export type {
  KeyOutcome,
  KeyResult,
  RefreshEvent,
  RefreshReport,
  RefreshStateOptions,
} from './refresh/refresh-state.js';
export { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS, refreshState } from './refresh/refresh-state.js';
export type {
  AdapterContext,
  BlobBody,
  BlobMeta,
  BlobReadResult,
  BlobStore,
  BlobStoreCapabilities,
  ListOptions,
  ListPage,
  OperationOptions,
  PutOptions,
  PutResult,
  StorageAdapter,
} from './store/blob-store.js';
export { defineStorageAdapter, listAll, readText } from './store/blob-store.js';
export type { FileStoreOptions } from './store/file-store.js';
export { FileBlobStore, FileStoreOptionsSchema, fileStorageAdapter } from './store/file-store.js';
export { ObjectPrefixSchema } from './store/object-prefix.js';
export {
  DEFAULT_POINTER_SHARDS,
  LAYOUT_OBJECT,
  LEASE_OBJECT,
  POINTER_PREFIX,
  PUBLISHED_PREFIX,
  pointerShardName,
  publishedRecordName,
  publishedRecordPrefix,
  REFRESH_TIMINGS_OBJECT,
  SHARD_PLANS_PREFIX,
  STATE_INFO_OBJECT,
  STATES_PREFIX,
  shardOf,
  stateObjectName,
  stateObjectPrefix,
} from './versioned/layout.js';
export type {
  MaintenanceLease,
  MaintenanceLeaseOptions,
} from './versioned/lease.js';
export { DEFAULT_LEASE_TTL_MS, withMaintenanceLease } from './versioned/lease.js';
export type { PointerLayout, PointerSnapshot, ReadPointerOptions } from './versioned/pointer.js';
export { readPointer } from './versioned/pointer.js';
export type {
  PointerChange,
  PointerDecision,
  PointerOutcome,
  UpdatePointerOptions,
} from './versioned/pointer-update.js';
export type { PrepareStoreOptions } from './versioned/pointer-writer.js';
export {
  acceptLostUpdatesFor,
  acceptsLostUpdates,
  prepareStoreForWrites,
  updatePointer,
} from './versioned/pointer-writer.js';
export { endpointOf, proveConditionalWrites } from './versioned/probe.js';
export type { StoredObject, StoredRecord, StoredVersions } from './versioned/published.js';
export {
  ORPHAN_GRACE_MS,
  RECORD_GRACE_MS,
  readRecordTime,
  readStoredVersions,
  writePublishedRecords,
} from './versioned/published.js';
export { readRefreshTimings, recordRefreshTimings } from './versioned/refresh-timings.js';
export { downloadStateVersion, uploadStateVersion } from './versioned/transfer.js';
