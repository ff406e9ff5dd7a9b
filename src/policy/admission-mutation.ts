/**
 * One MutatingAdmissionPolicy mutation applied to an object: the result of
 * its expression (an apply configuration or a list of JSONPatch operations)
 * merged or applied as the API server does
 * (k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch/smd.go
 * `ApplyStructuredMergeDiff` and patch/json_patch.go), for
 * src/policy/admission-policy.ts.
 *
 * A constant mutation (an expression that reads no variable:
 * CompiledExpression.constant, evaluated once at load by src/expr/cel.ts)
 * keeps what only depends on its result: per schema its atomic paths and,
 * for a configuration of maps and scalars only, its compiled merge
 * (ApplyConfiguration, src/patch/apply-configuration-fast.ts), or its
 * decoded operations (JSONPatch). Each
 * application still replays the expression's cost and merges or applies the
 * same value, so its result and errors are those of evaluating it again.
 * An evaluation replayed because it read the same values (src/expr/memo.ts)
 * gives its kept result too: a JSONPatch's decoded operations are kept for it
 * the same way.
 * A JSONPatch of scalars set on map keys (the common case) is applied by
 * src/patch/scalar-sets.ts in one walk that knows whether anything changed;
 * any other is applied by applyJson6902 and compared with the object.
 */
import type { CompiledExpression } from '../expr/cel.js';
import { describeValue } from '../expr/vars.js';
import { deepEqual, gvkOf, isObject, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { applyConfigurationChange, findAtomics } from '../patch/apply-configuration.js';
import { applyConfigMerge, compileConfigMerge, fuseConfigMerges, type ConfigMerge } from '../patch/apply-configuration-fast.js';
import { applyJson6902, Json6902Error } from '../patch/json6902.js';
import type { Owned } from '../patch/owned.js';
import { applyScalarSets, scalarSets, type ScalarSet } from '../patch/scalar-sets.js';
import { schemaForGVK, type SchemaRef } from '../patch/patch-meta.js';
import { TransformError } from '../transform/types.js';

/** A compiled mutation (`spec.mutations[i]`). */
export interface Mutation {
  readonly patchType: 'JSONPatch' | 'ApplyConfiguration';
  readonly program: CompiledExpression;
  /** What a constant ApplyConfiguration means per schema (KnownConfig), found at its first application under it. */
  readonly configs?: Map<SchemaRef, KnownConfig>;
  /** The operations of the last kept JSONPatch result (a constant's, or a replayed evaluation's), decoded at its first application. */
  ops?: DecodedOps;
  /** True when the expression reads no variable but `object`, `oldObject` and `params` (which need no request or `variables`). */
  readonly objectOnly: boolean;
}

/**
 * A constant ApplyConfiguration under one schema: its atomic paths
 * (findAtomics: refused when any), and when there are none and it holds no
 * list, its compiled merge (compileConfigMerge: the same result as
 * applyConfiguration, known to be the object itself exactly when unchanged).
 */
interface KnownConfig {
  readonly atomics: readonly string[];
  readonly merge: ConfigMerge | undefined;
}

/** A JSONPatch result's operations (json_patch.go's fields), and the same as ScalarSets when they are (src/patch/scalar-sets.ts). */
interface DecodedOps {
  readonly result: unknown;
  readonly ops: readonly JsonObject[];
  readonly sets: readonly ScalarSet[] | undefined;
}

/** A mutation of `patchType` with its compiled expression (see Mutation). */
export function compiledMutation(patchType: Mutation['patchType'], program: CompiledExpression): Mutation {
  const objectOnly = program.reads.every((v) => v === 'object' || v === 'oldObject' || v === 'params');
  return { patchType, program, configs: program.constant && patchType === 'ApplyConfiguration' ? new Map() : undefined, objectOnly };
}

/**
 * The mutation's expression result: a constant's kept JSON, or a replayed
 * evaluation's (src/expr/memo.ts), both shared and frozen (the appliers
 * below copy what they take from it), else an evaluation with the variables
 * `vars()` builds. Throws the expression's ExprError.
 */
export function mutationResult(m: Mutation, vars: () => Record<string, unknown>): unknown {
  return m.program.evaluateShared(m.program.constant ? NO_VARS : vars());
}

/** No variables: what a constant is evaluated with. */
const NO_VARS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Applies one mutation's result to the object. Returns the new object (the
 * same one when unchanged). Throws TransformError with the API server's
 * words (a result of the wrong type, an atomic field, a failed operation);
 * a failed JSONPatch `test` leaves the object unchanged without error
 * (json_patch.go: jsonpatch.ErrTestFailed), and a throw changes nothing.
 *
 * `owned` (one pass of a policy's mutations over a param,
 * src/policy/admission-policy.ts): the containers of `object` made by the
 * pass's earlier mutations, each referenced once and seen by nobody outside
 * the pass. The fast appliers change those in place instead of copying them
 * again and add the containers they make; so with `owned`, the result may be
 * `object` itself although it changed (the pass compares with its input,
 * which is never owned). Without it, nothing is changed in place.
 */
export function applyMutation(m: Mutation, object: KubeObject, result: unknown, owned?: Owned): KubeObject {
  return m.patchType === 'ApplyConfiguration' ? applyConfigurationResult(m, object, result, owned) : applyJsonPatchResult(m, object, result, owned);
}

/**
 * `owned` (see applyMutation): kept by the compiled merge; emptied by the
 * general merge, whose result may share a container of the object in two
 * places (nothing made before is then known to be referenced once).
 */
function applyConfigurationResult(m: Mutation, object: KubeObject, result: unknown, owned: Owned | undefined): KubeObject {
  if (!isObject(result)) throw new TransformError(`unsupported return type from ApplyConfiguration expression: ${describeValue(result)}`);
  const schema = schemaOf(object);
  const known = knownConfig(m, result, schema);
  // A compiled merge returns the object itself exactly when nothing changes (no comparison needed).
  if (known?.merge !== undefined) return applyConfigMerge(object, known.merge, owned);
  owned?.clear();
  const merged = applyConfigurationChange(object, result, schema, known?.atomics);
  return merged.changed ? merged.object : object;
}

/** `owned` (see applyMutation): kept by ScalarSets, emptied by applyJson6902 (a `copy` or `move` may share a container). */
function applyJsonPatchResult(m: Mutation, object: KubeObject, result: unknown, owned: Owned | undefined): KubeObject {
  const { ops, sets } = jsonPatchOps(m, result);
  // No operation: the object as it is (applyJson6902 would return an equal copy).
  if (ops.length === 0) return object;
  const fast = sets === undefined ? undefined : applyScalarSets(object, sets, owned);
  if (fast !== undefined) return fast;
  owned?.clear();
  try {
    const patched = applyJson6902(object, ops);
    return deepEqual(patched, object) ? object : patched;
  } catch (e) {
    if (e instanceof Json6902Error && /test failed/.test(e.message)) return object;
    throw new TransformError(`JSONPath: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The last schema looked up (objects of one kind come in a row: every mutation of a policy sees the same kind). */
let lastSchema: { apiVersion: unknown; kind: unknown; schema: SchemaRef } | undefined;

/** `schemaForGVK(gvkOf(object)).schema`, which depends on `apiVersion` and `kind` only. */
function schemaOf(object: KubeObject): SchemaRef {
  const { apiVersion, kind } = object;
  if (lastSchema !== undefined && lastSchema.apiVersion === apiVersion && lastSchema.kind === kind) return lastSchema.schema;
  const schema = schemaForGVK(gvkOf(object)).schema;
  lastSchema = { apiVersion, kind, schema };
  return schema;
}

/**
 * What a constant ApplyConfiguration means under `schema` (KnownConfig),
 * found once per schema (its result is the same JSON each time); undefined
 * for any other mutation (applyConfiguration finds the atomic paths).
 */
function knownConfig(m: Mutation, config: JsonObject, schema: SchemaRef): KnownConfig | undefined {
  if (m.configs === undefined) return undefined;
  let found = m.configs.get(schema);
  if (found === undefined) {
    const atomics = findAtomics(config, schema);
    found = { atomics, merge: atomics.length === 0 ? compileConfigMerge(config, schema) : undefined };
    m.configs.set(schema, found);
  }
  return found;
}

/**
 * The JSONPatch operations of a result (json_patch.go: `op`, `path`, `from`
 * when set, `value` when set); a kept result's (a constant's, or a replayed
 * evaluation's: the same frozen JSON each time) are decoded once and kept
 * until another result comes (frozen: applyJson6902 copies the values it
 * writes). Throws TransformError
 * (type mismatch) for a result that is not a list of JSONPatch.
 */
function jsonPatchOps(m: Mutation, result: unknown): DecodedOps {
  if (m.ops !== undefined && m.ops.result === result) return m.ops;
  if (!Array.isArray(result)) throw new TransformError('type mismatch: JSONPatchType.expression should evaluate to array');
  const ops = result.map((op: unknown): JsonObject => {
    if (!isObject(op)) throw new TransformError('type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch');
    const out: JsonObject = { op: String(op.op ?? ''), path: String(op.path ?? '') };
    if (typeof op.from === 'string' && op.from !== '') out.from = op.from;
    if (op.value !== undefined) out.value = op.value as JsonValue;
    return out;
  });
  // a result that is not kept JSON (frozen: a constant's, or a replayed evaluation's) is decoded each time
  if (!Object.isFrozen(result)) return { result, ops, sets: scalarSets(ops) };
  const frozen = Object.freeze(ops.map((op) => Object.freeze(op)));
  m.ops = { result, ops: frozen, sets: scalarSets(frozen) };
  return m.ops;
}

// ---------------------------------------------------------------------------
// Runs of constant mutations applied as one

/**
 * Two or more consecutive constant mutations (folded at load:
 * CompiledExpression.constant) of one patchType, which a pass may apply as
 * one (applyRun) once each has been evaluated: the API server applies them
 * one after the other, and the object after the last is what one fused
 * merge, or one set of scalar writes, gives. Only the application is fused:
 * every member is still evaluated, in order, with its own charges and
 * errors (src/policy/admission-policy.ts).
 */
export interface MutationRun {
  readonly members: readonly Mutation[];
  /**
   * When every member's charges may be charged at once
   * (CompiledExpression.atOnce): their sum, and the members' results (the
   * kept JSON each evaluation gives); the pass charges the sum
   * (chargeAllWithinBounds) instead of evaluating each, or evaluates them
   * one by one when it does not fit.
   */
  readonly atOnce?: { readonly total: number; readonly results: readonly unknown[] };
  /** What the members' kept results mean together, found at the first application where all were evaluated (RunPlan); null: their results are not kept JSON (applied one by one from then on). */
  plan?: RunPlan | null;
}

/**
 * The members' kept results (the frozen JSON of a constant, the same each
 * time) and what they mean together: per schema the fused merge of
 * ApplyConfigurations (null: they do not fuse under it), or the JSONPatches'
 * operations as one list of ScalarSets (null: they are not all such sets, or
 * their paths repeat or nest).
 */
interface RunPlan {
  readonly results: readonly unknown[];
  readonly merges: Map<SchemaRef, ConfigMerge | null>;
  readonly sets: readonly ScalarSet[] | null;
}

let fusing = true;

/**
 * Turns the fusion of constant mutations on or off for the policies compiled
 * from now on (default on) and returns the previous setting. For tests, which
 * compare fused and one-by-one passes: the objects and errors must agree.
 */
export function setMutationFusion(on: boolean): boolean {
  const previous = fusing;
  fusing = on;
  return previous;
}

/**
 * The mutations in order, with every stretch of two or more consecutive
 * constant mutations of one patchType (an ApplyConfiguration's whose
 * per-schema forms are kept: Mutation.configs) grouped into a MutationRun.
 */
export function mutationRuns(mutations: readonly Mutation[]): (Mutation | MutationRun)[] {
  const out: (Mutation | MutationRun)[] = [];
  const fusable = (m: Mutation): boolean => fusing && m.program.constant && (m.patchType === 'JSONPatch' || m.configs !== undefined);
  for (let i = 0; i < mutations.length; ) {
    let j = i + 1;
    const first = mutations[i] as Mutation;
    if (fusable(first)) while (j < mutations.length && fusable(mutations[j] as Mutation) && (mutations[j] as Mutation).patchType === first.patchType) j++;
    out.push(j - i > 1 ? runOf(mutations.slice(i, j)) : first);
    i = j;
  }
  return out;
}

/** A MutationRun of `members`, with their charges at once when each may be (MutationRun.atOnce). */
function runOf(members: readonly Mutation[]): MutationRun {
  let total = 0;
  const results: unknown[] = [];
  for (const m of members) {
    const a = m.program.atOnce;
    if (a === undefined) return { members };
    total += a.total;
    results.push(a.json);
  }
  return { members, atOnce: { total, results } };
}

/** True for a MutationRun (a Mutation has a program). */
export function isMutationRun(m: Mutation | MutationRun): m is MutationRun {
  return (m as MutationRun).members !== undefined;
}

/**
 * The object after every member of `run` applied in order to `object`, the
 * members' `results` (evaluated, none failed), as applyMutation one after the
 * other gives it (content, key order; `object` itself when nothing changed,
 * or with `owned` maybe although it changed), or undefined when that is not
 * known without applying them one by one: results other than the kept ones,
 * members whose forms do not fuse under the object's schema, a
 * configuration that sets `apiVersion` or `kind` (the next member's schema),
 * a JSONPatch whose paths do not all lead to existing maps (the general
 * path, with its errors). Changes nothing when it returns undefined.
 */
export function applyRun(run: MutationRun, object: KubeObject, results: readonly unknown[], owned?: Owned): KubeObject | undefined {
  if (run.plan === undefined) run.plan = planOf(run, results) ?? null;
  const plan = run.plan;
  if (plan === null || !sameResults(results, plan.results)) return undefined;
  if (run.members[0]?.patchType === 'JSONPatch') return plan.sets === null ? undefined : applyScalarSets(object, plan.sets, owned);
  const schema = schemaOf(object);
  let merge = plan.merges.get(schema);
  if (merge === undefined) {
    merge = fusedMerge(run, results, schema);
    plan.merges.set(schema, merge);
  }
  return merge === null ? undefined : applyConfigMerge(object, merge, owned);
}

/** True when every result is the kept one (the same object). */
function sameResults(results: readonly unknown[], kept: readonly unknown[]): boolean {
  for (let i = 0; i < results.length; i++) if (results[i] !== kept[i]) return false;
  return true;
}

/** A run's plan for its members' results when every one is kept JSON (frozen); undefined otherwise (applied one by one from then on). */
function planOf(run: MutationRun, results: readonly unknown[]): RunPlan | undefined {
  if (!results.every((r) => typeof r === 'object' && r !== null && Object.isFrozen(r))) return undefined;
  return { results: [...results], merges: new Map(), sets: run.members[0]?.patchType === 'JSONPatch' ? fusedSets(run, results) : null };
}

/** The JSONPatch members' operations as one list of ScalarSets, or null (see RunPlan). Throws nothing: a result that does not decode declines. */
function fusedSets(run: MutationRun, results: readonly unknown[]): readonly ScalarSet[] | null {
  const ops: JsonObject[] = [];
  try {
    run.members.forEach((m, i) => ops.push(...jsonPatchOps(m, results[i]).ops));
  } catch {
    return null;
  }
  return scalarSets(ops) ?? null;
}

/** The ApplyConfiguration members' merges under `schema` fused into one, or null (see fuseConfigMerges). */
function fusedMerge(run: MutationRun, results: readonly unknown[], schema: SchemaRef): ConfigMerge | null {
  let fused: ConfigMerge | undefined;
  for (let i = 0; i < run.members.length; i++) {
    const config = results[i];
    if (!isObject(config) || 'apiVersion' in config || 'kind' in config) return null;
    const merge = knownConfig(run.members[i] as Mutation, config, schema)?.merge;
    if (merge === undefined) return null;
    fused = fused === undefined ? merge : fuseConfigMerges(fused, merge);
    if (fused === undefined) return null;
  }
  return fused ?? null;
}
