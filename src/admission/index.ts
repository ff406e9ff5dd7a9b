/**
 * The admission core: AdmissionReview types, parsing, `review` (pure),
 * immutable-field handling and warning shaping. Imports no fastify,
 * `node:fs`, logger or Kubernetes client (DESIGN.md layout rule).
 */
export * from './types.js';
export { parseReview } from './parse.js';
export { jsonNestingBound } from './nesting-bound.js';
export { review, errorResponse, withoutManagedFields } from './review.js';
export type { ReviewOptions } from './review.js';
export { revertImmutableFields, IMMUTABLE_FIELDS } from './immutable.js';
export type { ImmutableField, RevertedField } from './immutable.js';
export { normalizeWarnings, WARNING_MAX_CHARS, WARNINGS_TOTAL_CHARS } from './warnings.js';
