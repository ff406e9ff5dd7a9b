/**
 * The transformer laws' helpers, once for every test (STYLE.md "Habits"):
 * `deepFreeze` (the input must stay untouched) and `reapply` (a generated
 * RFC 6902 patch, applied to the input as the API server applies it, must give
 * the output: fast-json-patch with validation, as strict as evanphx/json-patch).
 */
import fjp from 'fast-json-patch';

/** Freezes `v` and everything under it; returns `v`. */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v as object)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** `ops` applied to a copy of `input` (validated: a bad op throws). */
export function reapply<T>(input: T, ops: readonly unknown[]): T {
  return fjp.applyPatch(structuredClone(input), ops as fjp.Operation[], true, false).newDocument as T;
}
