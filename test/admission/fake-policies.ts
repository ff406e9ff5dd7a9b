/**
 * A small fake PolicySet for admission and server tests: adds a label and an
 * annotation (with `/` and `~` in its key, to exercise pointer escaping),
 * idempotently; records every call. Options make it deny, warn, throw or
 * change a given field.
 */
import type { KubeObject, JsonObject } from '../../src/kube/object.js';
import type { Evaluation } from '../../src/policy/evaluate.js';
import type { EvaluationInput, PolicySet } from '../../src/policy/types.js';

export interface FakeOptions {
  deny?: { policy: string; rule: string; message: string }[];
  warnings?: string[];
  throws?: Error;
  /** Extra mutation applied after the label (on a deep copy). */
  mutate?: (obj: KubeObject) => void;
  /** Return the input object unchanged. */
  noop?: boolean;
  /** Return null (a `$patch: delete`). */
  deletes?: boolean;
}

export interface FakePolicySet extends PolicySet {
  calls: { object: KubeObject; input: EvaluationInput }[];
}

export const LABEL = 'postrender.io/seen';
export const ANNOTATION = 'example.com/a~b';

/** The fake's transformation of one object (exported so tests can compute the expected output). */
export function fakeTransform(object: KubeObject, opts: FakeOptions = {}): KubeObject {
  const out = structuredClone(object);
  const md = ((out.metadata ??= {}) as JsonObject);
  md.labels = { ...((md.labels as JsonObject) ?? {}), [LABEL]: 'true' };
  md.annotations = { ...((md.annotations as JsonObject) ?? {}), [ANNOTATION]: 'x' };
  opts.mutate?.(out);
  return out;
}

/** Builds the fake. */
export function fakePolicies(opts: FakeOptions = {}): FakePolicySet {
  const calls: FakePolicySet['calls'] = [];
  return {
    names: ['fake'],
    requirements: [],
    calls,
    evaluate(object: KubeObject, input: EvaluationInput): Evaluation {
      calls.push({ object, input });
      if (opts.throws) throw opts.throws;
      const base = { denials: opts.deny ?? [], warnings: opts.warnings ?? [], errors: [], matchedPolicies: ['fake'], changedBy: [], trace: [], deadlineHit: false };
      if (opts.deletes) return { ...base, object: null, changed: true };
      if (opts.noop || input.validateOnly) return { ...base, object, changed: false };
      const out = fakeTransform(object, opts);
      const changed = JSON.stringify(out) !== JSON.stringify(object);
      return { ...base, object: changed ? out : object, changed };
    },
  };
}
