// Placeholder: the strategic merge patch implementation lands here (see helper task).
import type { JsonObject } from '../kube/object.js';

/**
 * Applies a strategic merge patch to `base` (not mutated) and returns the result,
 * or null when the patch deletes the whole object (top-level `$patch: delete`).
 */
export function strategicMerge(base: JsonObject, patch: JsonObject): JsonObject | null {
  void base; void patch;
  throw new Error('not implemented');
}
