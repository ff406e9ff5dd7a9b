/**
 * Test helper (not a test file): compiles Gatekeeper mutator documents from
 * YAML text and checks the transformer laws over a whole chain: the frozen
 * input is untouched, a second pass changes nothing, and the JSON patch of
 * the change re-applied to the input gives the output.
 */
import type { Test } from 'tap';
import fjp from 'fast-json-patch';
import { deepEqual, type KubeObject } from '../../src/kube/object.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { mergeGatekeeperPolicies } from '../../src/policy/gatekeeper.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { createPolicySet } from '../../src/policy/evaluate.js';
import type { PolicySet } from '../../src/policy/types.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { makeContext, type TransformContext, type Transformer } from '../../src/transform/types.js';
import { deepFreeze } from '../transform/kustomize-cases.js';

/** The one Gatekeeper set policy of `yaml` (all its mutators). Throws PolicyError. */
export function gatekeeperPolicy(yaml: string): CompiledPolicy {
  const ps = mergeGatekeeperPolicies(compilePolicyText(yaml, 'mutators.yaml', { registry: builtinRegistry() }));
  if (ps.length !== 1) throw new Error(`expected one policy, got ${ps.length}`);
  return ps[0] as CompiledPolicy;
}

/** Applies `ts` in order (the chain of one policy); throws the first error; null once a transformer deletes the object. */
function runChain(ts: readonly Transformer[], object: KubeObject, ctx: TransformContext): { ok: true; object: KubeObject | null } {
  let current: KubeObject | null = object;
  for (const t of ts) {
    if (current === null) break;
    current = t.apply(current, ctx);
  }
  return { ok: true, object: current };
}

/** Runs a chain over a deep-frozen copy of `input`; throws the chain's error. */
export function runTransformers(ts: readonly Transformer[], input: KubeObject, namespace = 'default'): KubeObject {
  const r = runChain(ts, deepFreeze(structuredClone(input)), makeContext({ namespace }));
  return r.object as KubeObject;
}

/** Asserts the laws of `ts` on `input` and returns the output. */
export function checkLaws(t: Test, name: string, ts: readonly Transformer[], input: KubeObject, namespace = 'default'): KubeObject {
  const frozen = deepFreeze(structuredClone(input));
  const r = runChain(ts, frozen, makeContext({ namespace }));
  const out = r.object as KubeObject;
  t.ok(deepEqual(frozen, input), `${name}: input untouched`);
  t.ok(deepEqual(runTransformers(ts, out, namespace), out), `${name}: idempotent`);
  const patched = fjp.applyPatch(structuredClone(input), createPatch(input, out) as fjp.Operation[], true, false).newDocument;
  t.same(patched, out, `${name}: createPatch re-applied == output`);
  if (deepEqual(input, out)) t.equal(out, frozen, `${name}: same reference when unchanged`);
  return out;
}

/** A PolicySet of the Gatekeeper mutators in `yaml` (one merged set), as `run` and `serve` load it. Throws PolicyError. */
export function gatekeeperSet(yaml: string): PolicySet {
  return createPolicySet(mergeGatekeeperPolicies(compilePolicyText(yaml, 'mutators.yaml', { registry: builtinRegistry() })));
}

/**
 * One table row of the Gatekeeper tests: mutator YAML, an input object, and
 * the object both front doors must return (`want`) or the error they must
 * raise (`error`).
 */
export interface Row {
  name: string;
  yaml: string;
  input: KubeObject;
  want?: KubeObject;
  error?: RegExp;
  /** Namespace labels the API server would send (and `run --namespace-labels`). */
  namespaceLabels?: Record<string, string>;
}
