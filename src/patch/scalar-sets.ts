/**
 * The common case of a JSON patch, applied in one walk: every operation an
 * `add` or `replace` of a scalar on a map key (a MutatingAdmissionPolicy's
 * `[JSONPatch{op: "add", path: "/spec/enableServiceLinks", value: false}]`,
 * a `transformList` of image replacements, the same as a targeted kustomize
 * JSON6902 patch: src/transform/patch.ts). For those, what
 * src/patch/json6902.ts `applyJson6902` (evanphx/json-patch v4, as
 * mutating/patch/json_patch.go applies it) does is known without running it:
 * each key ends up holding its value, in operation order, new keys appended.
 * So the object is copied on the paths that really change only, and whether
 * it changed is known without comparing it (src/policy/admission-mutation.ts
 * compared the patched object with the old one unless every value was new).
 * (Moved from src/policy/admission-json-patch.ts so that transformers may use it.)
 *
 * Anything else (another op, a container value, `~` escapes, paths that
 * nest or repeat, a path that does not lead through existing maps and
 * canonical in-range list indexes to a map) returns undefined, and the
 * caller applies the operations with applyJson6902 as before: its results
 * and its error messages stay the reference.
 */
import { isObject, setOwn, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { OwnedList, type Owned } from './owned.js';

/** One operation of the fast path: `value` (a scalar) set on the map key `keys[keys.length - 1]`. */
export interface ScalarSet {
  /** The path split on `/`: `''` then its reference tokens (`/spec/containers/0/image` -> '', spec, containers, 0, image). */
  readonly keys: readonly string[];
  readonly value: string | number | boolean | null;
}

/**
 * The operations as ScalarSets, or undefined when one is not an `add` or
 * `replace` of a scalar at a plain path (a leading `/`, no `~`), or when two
 * paths are the same or one extends the other. A missing `value` is null, as
 * applyJson6902 writes it. Pure: depends on the operations only (a constant
 * mutation's are computed once).
 */
export function scalarSets(ops: readonly JsonObject[]): readonly ScalarSet[] | undefined {
  const out: ScalarSet[] = [];
  for (const op of ops) {
    const set = scalarSet(op);
    if (set === undefined) return undefined;
    out.push(set);
  }
  return out.length > 1 && overlapping(ops) ? undefined : out;
}

/** One operation as a ScalarSet, or undefined (see scalarSets). */
function scalarSet(op: JsonObject): ScalarSet | undefined {
  const { path } = op;
  const value = op.value ?? null;
  if ((op.op !== 'add' && op.op !== 'replace') || (typeof value === 'object' && value !== null)) return undefined;
  if (typeof path !== 'string' || path.charCodeAt(0) !== SLASH || path.includes('~')) return undefined;
  return { keys: path.split('/'), value: value as ScalarSet['value'] };
}

const SLASH = 47;

/** True when two operations' paths are the same or one extends the other (`/a` and `/a/b`): O(paths x depth). */
function overlapping(ops: readonly JsonObject[]): boolean {
  const paths = new Set<string>();
  for (const op of ops) paths.add(op.path as string);
  if (paths.size !== ops.length) return true;
  for (const p of paths) {
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) if (paths.has(p.slice(0, i))) return true;
  }
  return false;
}

/**
 * Applies ScalarSets to `object` (never mutated): the object itself when
 * every key already holds its value, else a copy sharing every subtree off
 * the changed paths, with the same content (and key order) as applyJson6902.
 * Undefined when a path does not lead through existing maps and canonical
 * in-range list indexes to a map: the caller applies the operations in
 * general (which may fail with evanphx's message).
 * `owned`: containers of `object` the caller made in the same pass,
 * referenced once and seen by nobody else: changed in place instead of
 * copied (then the result may be `object` itself although it changed);
 * every container this call makes is added to it.
 */
export function applyScalarSets(object: KubeObject, sets: readonly ScalarSet[], owned?: Owned): KubeObject | undefined {
  if (sets.length === 1 && owned === undefined) return applyOne(object, sets[0] as ScalarSet);
  for (const s of sets) if (parentOf(object, s.keys) === undefined) return undefined;
  return applyAll(object, sets, owned ?? new OwnedList());
}

/** applyScalarSets once every parent is known to exist: `copies` holds the containers changed in place (the copies made so far). */
function applyAll(object: KubeObject, sets: readonly ScalarSet[], copies: Owned): KubeObject {
  let out = copies.has(object) ? object : undefined;
  for (const s of sets) {
    // distinct paths that do not extend each other (scalarSets): a write never moves another set's parent
    if (holds(parentOf(object, s.keys) as JsonObject, s)) continue;
    if (out === undefined) {
      out = { ...object };
      copies.add(out);
    }
    setOwn(writableParent(out, s.keys, copies), s.keys[s.keys.length - 1] as string, s.value);
  }
  return out ?? object;
}

/** applyScalarSets of one operation: every container on its path copied when it changes (no bookkeeping of copies). */
function applyOne(object: KubeObject, s: ScalarSet): KubeObject | undefined {
  const parent = parentOf(object, s.keys);
  if (parent === undefined) return undefined;
  if (holds(parent, s)) return object;
  const out = { ...object };
  setOwn(writableParent(out, s.keys, undefined), s.keys[s.keys.length - 1] as string, s.value);
  return out;
}

/** True when `parent` (the map of the set's last key) already holds the set's value there. */
function holds(parent: JsonObject, s: ScalarSet): boolean {
  const last = s.keys[s.keys.length - 1] as string;
  return hasOwn(parent, last) && parent[last] === s.value;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The map holding the last key of `keys` (after the leading ''), reached through existing maps and canonical in-range list indexes; undefined otherwise. */
function parentOf(object: KubeObject, keys: readonly string[]): JsonObject | undefined {
  let at: JsonValue = object;
  for (let i = 1; i < keys.length - 1; i++) {
    const next = child(at, keys[i] as string);
    if (next === undefined) return undefined;
    at = next;
  }
  return isObject(at) ? at : undefined;
}

/** A map's own key or a list's canonical in-range index (what applyJson6902 reads there too); undefined otherwise. */
function child(at: JsonValue, key: string): JsonValue | undefined {
  if (Array.isArray(at)) return isIndex(key) && Number(key) < at.length ? at[Number(key)] : undefined;
  return isObject(at) && hasOwn(at, key) ? at[key] : undefined;
}

/** `0` or a decimal without leading zeros (evanphx also reads `-1`, `+1`, `01`: those take the general path). */
function isIndex(key: string): boolean {
  const n = key.length;
  if (n === 0 || n > 15 || (n > 1 && key.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The parent map of `keys` in `root` (a copy already), each container on the
 * way replaced by a copy: once per application when `owned` holds the copies
 * made so far (several operations), always when it is undefined (one).
 */
function writableParent(root: KubeObject, keys: readonly string[], owned: Owned | undefined): JsonObject {
  let at: JsonObject | JsonValue[] = root;
  for (let i = 1; i < keys.length - 1; i++) {
    const key = keys[i] as string;
    const list = Array.isArray(at);
    const next = (list ? (at as JsonValue[])[Number(key)] : (at as JsonObject)[key]) as JsonObject | JsonValue[];
    if (owned?.has(next)) {
      at = next;
      continue;
    }
    const copy = Array.isArray(next) ? next.slice() : { ...next };
    owned?.add(copy);
    if (list) (at as JsonValue[])[Number(key)] = copy;
    else setOwn(at as JsonObject, key, copy);
    at = copy;
  }
  return at as JsonObject;
}
