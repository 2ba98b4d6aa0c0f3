/**
 * `@defstate/core/adapter`: what every storage adapter needs and should not write again — the
 * object-name check and prefix mapping, cause-chain walking, the "404: does the bucket exist?"
 * question, a guarded download body, request deadlines, one transient classifier, request
 * tracing and secret redaction. The cloud adapters and the file store use these, so a fix here
 * reaches all of them. docs/adapters.md describes each.
 */
export type {
  AbandonedUploadRemover,
  RemoveAbandonedUploadsOptions,
} from './abandoned-uploads.js';
export { canRemoveAbandonedUploads } from './abandoned-uploads.js';
export { causeChain, findCause, httpStatusOf, systemCodeOf } from './cause-chain.js';
export type { DeadlineOptions } from './deadline.js';
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  progressWatchdog,
  throwIfAborted,
  withDeadline,
} from './deadline.js';
export type { GuardBodyOptions } from './guarded-body.js';
export { DEFAULT_STALL_TIMEOUT_MS, guardBody } from './guarded-body.js';
export type { ObjectNameRules } from './object-names.js';
export { assertObjectName, isObjectName, ObjectKeys, prefixRoot } from './object-names.js';
export { REDACTED, redactSecrets, redactUrl } from './redact.js';
export { StoreExistence } from './store-existence.js';
export type { Tracer, TracerOptions } from './tracer.js';
export { createTracer, DEBUG_VARIABLE, isDebugEnabled } from './tracer.js';
export { isCredentialProviderTimeout, isTransientFailure, transientReason } from './transient.js';
