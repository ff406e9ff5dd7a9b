/**
 * The pipeline: runs one policy's chain of compiled transformers over one object.
 *
 * Pure: the input object is never mutated (transformers return new objects and
 * may share unchanged subtrees). The first failing transformer stops the chain;
 * the caller resolves the failure with the policy's failurePolicy.
 */
import type { KubeObject } from '../kube/object.js';
import type { Transformer, TransformContext } from './types.js';

/** The outcome of a chain: the object (null = deleted from the stream), or the failing transformer and its error. */
export type ChainResult =
  | { ok: true; object: KubeObject | null; changedBy: string[] }
  | { ok: false; transformer: string; error: Error };

/**
 * Applies `transformers` in order to `object`. Stops at a deletion (`null`) or
 * at the first thrown error, which is returned, never rethrown. `only`, when
 * given, filters the transformers that run (e.g. validate rules on /validate).
 * `changedBy` names the transformers that returned a new object (transformers
 * return their input unchanged when they do nothing).
 */
export function runChain(
  transformers: readonly Transformer[],
  object: KubeObject,
  ctx: TransformContext,
  only?: (t: Transformer) => boolean,
): ChainResult {
  let current: KubeObject = object;
  const changedBy: string[] = [];
  for (const t of transformers) {
    if (only && !only(t)) continue;
    try {
      const next = t.apply(current, ctx);
      if (next !== current) changedBy.push(t.name);
      if (next === null) return { ok: true, object: null, changedBy };
      current = next;
    } catch (e) {
      return { ok: false, transformer: t.name, error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  return { ok: true, object: current, changedBy };
}
