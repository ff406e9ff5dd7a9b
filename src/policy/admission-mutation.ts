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
 * keeps what only depends on its result: its atomic paths per schema
 * (ApplyConfiguration) or its decoded operations (JSONPatch). Each
 * application still replays the expression's cost and merges or applies the
 * same value, so its result and errors are those of evaluating it again.
 */
import type { CompiledExpression } from '../expr/cel.js';
import { describeValue } from '../expr/vars.js';
import { deepEqual, gvkOf, isObject, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { applyConfigurationChange, findAtomics } from '../patch/apply-configuration.js';
import { applyJson6902, Json6902Error } from '../patch/json6902.js';
import { schemaForGVK, type SchemaRef } from '../patch/patch-meta.js';
import { TransformError } from '../transform/types.js';

/** A compiled mutation (`spec.mutations[i]`). */
export interface Mutation {
  readonly patchType: 'JSONPatch' | 'ApplyConfiguration';
  readonly program: CompiledExpression;
  /** A constant ApplyConfiguration's atomic paths (findAtomics) per schema, found at its first application. */
  readonly atomics?: Map<SchemaRef, readonly string[]>;
  /** A constant JSONPatch's operations, decoded from its kept result at its first application. */
  ops?: { readonly result: unknown; readonly ops: readonly JsonObject[] };
}

/** A mutation of `patchType` with its compiled expression (see Mutation). */
export function compiledMutation(patchType: Mutation['patchType'], program: CompiledExpression): Mutation {
  return { patchType, program, atomics: program.constant && patchType === 'ApplyConfiguration' ? new Map() : undefined };
}

/**
 * The mutation's expression result: a constant's kept JSON (shared: the
 * appliers below copy what they take from it), else an evaluation with the
 * variables `vars()` builds. Throws the expression's ExprError.
 */
export function mutationResult(m: Mutation, vars: () => Record<string, unknown>): unknown {
  return m.program.constant ? m.program.evaluateShared(NO_VARS) : m.program.evaluate(vars());
}

/** No variables: what a constant is evaluated with. */
const NO_VARS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Applies one mutation's result to the object. Returns the new object (the
 * same one when unchanged). Throws TransformError with the API server's
 * words (a result of the wrong type, an atomic field, a failed operation);
 * a failed JSONPatch `test` leaves the object unchanged without error
 * (json_patch.go: jsonpatch.ErrTestFailed).
 */
export function applyMutation(m: Mutation, object: KubeObject, result: unknown): KubeObject {
  return m.patchType === 'ApplyConfiguration' ? applyConfigurationResult(m, object, result) : applyJsonPatchResult(m, object, result);
}

function applyConfigurationResult(m: Mutation, object: KubeObject, result: unknown): KubeObject {
  if (!isObject(result)) throw new TransformError(`unsupported return type from ApplyConfiguration expression: ${describeValue(result)}`);
  const schema = schemaOf(object);
  const merged = applyConfigurationChange(object, result, schema, knownAtomics(m, result, schema));
  return merged.changed ? merged.object : object;
}

function applyJsonPatchResult(m: Mutation, object: KubeObject, result: unknown): KubeObject {
  const ops = jsonPatchOps(m, result);
  // No operation: the object as it is (applyJson6902 would return an equal copy).
  if (ops.length === 0) return object;
  try {
    const patched = applyJson6902(object, ops);
    return setsNewScalars(object, ops) || !deepEqual(patched, object) ? patched : object;
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
 * The atomic paths of a constant ApplyConfiguration under `schema`, found
 * once per schema (its result is the same JSON each time); undefined for
 * any other mutation (applyConfiguration finds them).
 */
function knownAtomics(m: Mutation, config: JsonObject, schema: SchemaRef): readonly string[] | undefined {
  if (m.atomics === undefined) return undefined;
  let found = m.atomics.get(schema);
  if (found === undefined) {
    found = findAtomics(config, schema);
    m.atomics.set(schema, found);
  }
  return found;
}

/**
 * True when the operations (applied without error) certainly changed the
 * object, without comparing it: every one is an `add` or `replace` of a
 * scalar on a map key, at a plain path (a leading `/`, no `~`, canonical
 * in-range list indexes) that no other operation's path contains or
 * extends, and the object held another value there (or none). Then each of
 * those keys ends up holding its new value. False means "compare".
 */
function setsNewScalars(object: KubeObject, ops: readonly JsonObject[]): boolean {
  const paths = new Set<string>();
  for (const op of ops) {
    const path = op.path as string;
    if ((op.op !== 'add' && op.op !== 'replace') || isContainerValue(op.value) || !path.startsWith('/') || path.includes('~')) return false;
    paths.add(path);
  }
  if (paths.size !== ops.length || nested([...paths])) return false;
  // a missing `value` writes null (json6902.ts opValue)
  return ops.every((op) => holdsOther(object, (op.path as string).split('/').slice(1), op.value ?? null));
}

const isContainerValue = (v: unknown): boolean => typeof v === 'object' && v !== null;

/** True when one path extends another (`/a` and `/a/b`). */
function nested(paths: string[]): boolean {
  return paths.some((p) => paths.some((q) => q !== p && q.startsWith(`${p}/`)));
}

/** True when `keys` lead through existing maps and lists to a map whose `last` key is absent or holds a value other than `value`. */
function holdsOther(object: KubeObject, keys: string[], value: unknown): boolean {
  let at: unknown = object;
  for (const key of keys.slice(0, -1)) {
    at = child(at, key);
    if (at === undefined) return false;
  }
  if (!isObject(at)) return false;
  const last = keys[keys.length - 1] as string;
  return !Object.prototype.hasOwnProperty.call(at, last) || at[last] !== value;
}

/** A map's own key or a list's canonical in-range index; undefined otherwise. */
function child(at: unknown, key: string): unknown {
  if (Array.isArray(at)) return /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < at.length ? at[Number(key)] : undefined;
  return isObject(at) && Object.prototype.hasOwnProperty.call(at, key) ? at[key] : undefined;
}

/**
 * The JSONPatch operations of a result (json_patch.go: `op`, `path`, `from`
 * when set, `value` when set); a constant's are decoded once and kept
 * (frozen: applyJson6902 copies the values it writes). Throws TransformError
 * (type mismatch) for a result that is not a list of JSONPatch.
 */
function jsonPatchOps(m: Mutation, result: unknown): readonly JsonObject[] {
  if (m.ops !== undefined && m.ops.result === result) return m.ops.ops;
  if (!Array.isArray(result)) throw new TransformError('type mismatch: JSONPatchType.expression should evaluate to array');
  const ops = result.map((op: unknown): JsonObject => {
    if (!isObject(op)) throw new TransformError('type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch');
    const out: JsonObject = { op: String(op.op ?? ''), path: String(op.path ?? '') };
    if (typeof op.from === 'string' && op.from !== '') out.from = op.from;
    if (op.value !== undefined) out.value = op.value as JsonValue;
    return out;
  });
  if (m.program.constant) m.ops = { result, ops: Object.freeze(ops.map((op) => Object.freeze(op))) };
  return ops;
}
