/**
 * Applies a setter at a parsed location (src/kube/location.ts) with
 * Gatekeeper's rules (pkg/mutation/mutators/core/mutation_function.go
 * `Mutate`/`mutateInternal`), copy-on-write: the input is never mutated, the
 * result shares every untouched subtree, and an unchanged object comes back as
 * the same reference.
 *
 * Rules kept from Gatekeeper:
 * - a missing field on the way is created (`{}` or `[]` by the next node),
 *   unless a path test forbids it (MustExist); an existing one is skipped when
 *   a test says MustNotExist;
 * - `[key: value]` walks every element whose `key` equals the value (elements
 *   that are not maps, or lack the key, are skipped); when none does, a new
 *   element `{key: value}` is appended (unless MustExist) and the rest of the
 *   path is created in it;
 * - `[key: *]` walks every element (a non-map element is an error); it never
 *   creates one, and MustNotExist on a glob never holds;
 * - a location ending in `[key: value]` replaces or appends the whole element:
 *   the value must be a map whose `key` equals the selector's value;
 * - a type mismatch (a map where the path says list, ...) is an error; a
 *   JSON null is one too, unless LocationSetter.nullIsMissing makes it missing.
 * `touched` is Gatekeeper's `mutated` flag: true when the setter ran, even if
 * it wrote the same value (the convergence loop reads it).
 */
import { deepEqual, getOwn, isObject, setOwn, type JsonObject, type JsonValue } from './object.js';
import { formatNode, type ListNode, type LocationNode, type PathTester } from './location.js';

/** What happens at the end of the location (core `Setter`). */
export interface LocationSetter {
  /**
   * The new value of `key` in its parent map, given the current value
   * (`undefined` when missing); `undefined` writes nothing. Throws Error to
   * fail the mutation.
   */
  set(current: JsonValue | undefined): JsonValue | undefined;
  /** The element a location ending in a list selector writes; absent: such a location is an error. */
  keyedListValue?: () => JsonObject;
  /**
   * Whether the value at the end may be written, given the current value
   * (`undefined` when missing): false leaves the object untouched, parents
   * on the way included (core.Mutate's `valueTest`, Assign's legacy `assignIf`).
   */
  test?: (current: JsonValue | undefined) => boolean;
  /**
   * A map field holding JSON null counts as missing (the path tests, `test`,
   * `set` and the containers created on the way see it so): what the API
   * server leaves of it before admission, where it drops the nulls of
   * built-in kinds and of CRD fields that are not nullable. For objects read
   * before the API server (`run`); at admission the object is taken as sent
   * (Gatekeeper's rule: a null on the way is a type mismatch). Default false.
   */
  nullIsMissing?: boolean;
}

/** The result of a mutation: the (possibly new) object and whether the setter ran. */
export interface MutateResult<T extends JsonValue> {
  value: T;
  touched: boolean;
}

/** A mutation failure (bad types on the way, a changed list key); `message` never holds object values. */
export class LocationMutateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocationMutateError';
  }
}

/** Go's name for a decoded JSON value's type (Gatekeeper's messages print `%T`). */
export function goType(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/** Key equality of Go's `interface{} ==` over decoded JSON (a number never equals a string). */
function sameKey(a: JsonValue | undefined, b: string | number | bigint | undefined): boolean {
  if (a === b) return true;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    return Number.isInteger(Number(a)) && Number.isInteger(Number(b)) && BigInt(a) === BigInt(b);
  }
  return false;
}

interface State {
  nodes: readonly LocationNode[];
  tester: PathTester;
  setter: LocationSetter;
  nullIsMissing: boolean;
}

const UNTOUCHED = { touched: false } as const;

/**
 * Runs `setter` at `nodes` in `obj`. Throws LocationMutateError on a type
 * mismatch or an invalid keyed-list write; an empty location is an error.
 */
export function mutateAtLocation(obj: JsonObject, nodes: readonly LocationNode[], tester: PathTester, setter: LocationSetter): MutateResult<JsonObject> {
  if (nodes.length === 0) throw new LocationMutateError('attempting to mutate an empty target location');
  const r = walk({ nodes, tester, setter, nullIsMissing: setter.nullIsMissing === true }, obj, 0);
  return { value: r.touched ? (r.value as JsonObject) : obj, touched: r.touched };
}

type Step = { touched: false } | { touched: true; value: JsonValue };

function walk(s: State, current: JsonValue, depth: number): Step {
  const node = s.nodes[depth] as LocationNode;
  if (node.type === 'object') return walkObject(s, current, node.key, depth);
  return walkList(s, current, node, depth);
}

function withKey(obj: JsonObject, key: string, value: JsonValue): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(obj)) setOwn(out, k, obj[k] as JsonValue);
  setOwn(out, key, value);
  return out;
}

// eslint-disable-next-line complexity -- one case of Gatekeeper's mutateInternal (object node), kept whole so it reads against the source
function walkObject(s: State, current: JsonValue, key: string, depth: number): Step {
  if (!isObject(current)) {
    throw new LocationMutateError(`mismatch between path entry (type: object) and received object (type: ${goType(current)}). Path: ${formatNode(s.nodes[depth] as LocationNode)}`);
  }
  const found = getOwn(current, key);
  const next = found === null && s.nullIsMissing ? undefined : found;
  const exists = next !== undefined;
  if (exists ? !s.tester.existsOkay(depth) : !s.tester.missingOkay(depth)) return UNTOUCHED;
  if (depth === s.nodes.length - 1) {
    if (s.setter.test && !s.setter.test(next)) return UNTOUCHED;
    const value = s.setter.set(next);
    if (value === undefined || (exists && deepEqual(value, next))) return { touched: true, value: current };
    return { touched: true, value: withKey(current, key, value) };
  }
  const child = exists ? next : createMissing(s, depth);
  const r = walk(s, child, depth + 1);
  if (!r.touched) return UNTOUCHED;
  return { touched: true, value: exists && r.value === next ? current : withKey(current, key, r.value) };
}

/** A new container for the node after `depth`; under a list selector, a map holding the selector's key (createMissingElement). */
function createMissing(s: State, depth: number): JsonValue {
  const node = s.nodes[depth] as LocationNode;
  const next = s.nodes[depth + 1] as LocationNode;
  if (node.type === 'object') return next.type === 'object' ? {} : [];
  if (next.type === 'list') throw new LocationMutateError('two consecutive list path entries not allowed');
  if (node.keyValue === undefined) throw new LocationMutateError('list entry has no key value');
  const out: JsonObject = {};
  setOwn(out, node.keyField, node.keyValue as JsonValue);
  return out;
}

// eslint-disable-next-line complexity -- one case of Gatekeeper's mutateInternal (list node: glob, keyed match, creation), kept whole so it reads against the source
function walkList(s: State, current: JsonValue, node: ListNode, depth: number): Step {
  if (!Array.isArray(current)) {
    throw new LocationMutateError(`mismatch between path entry (type: List) and received object (type: ${goType(current)}). Path: ${formatNode(node)}`);
  }
  if (depth === s.nodes.length - 1) return setListElement(s, current, node, depth);
  if (node.glob && !s.tester.existsOkay(depth)) return UNTOUCHED;
  let out: JsonValue[] | undefined;
  let touched = false;
  let found = false;
  for (let i = 0; i < current.length; i++) {
    const el = current[i] as JsonValue;
    if (!node.glob && !(isObject(el) && sameKey(getOwn(el, node.keyField), node.keyValue))) continue;
    if (!node.glob && !s.tester.existsOkay(depth)) return UNTOUCHED;
    found = true;
    const r = walk(s, el, depth + 1);
    if (!r.touched) continue;
    touched = true;
    if (r.value !== el) (out ??= current.slice())[i] = r.value;
  }
  if (!node.glob && !found) {
    if (!s.tester.missingOkay(depth)) return UNTOUCHED;
    const r = walk(s, createMissing(s, depth), depth + 1);
    if (r.touched) {
      touched = true;
      (out ??= current.slice()).push(r.value);
    }
  }
  return touched ? { touched: true, value: out ?? current } : UNTOUCHED;
}

/** A location ending in `[key: value]`: replace the element with that key, or append one (setListElementToValue). */
// eslint-disable-next-line complexity -- Gatekeeper's setListElementToValue, check for check
function setListElement(s: State, current: JsonValue[], node: ListNode, depth: number): Step {
  if (!s.setter.keyedListValue) throw new LocationMutateError('mutator does not understand keyed lists');
  if (node.glob) throw new LocationMutateError('last path entry can not be globbed');
  const value = s.setter.keyedListValue();
  if (node.keyValue === undefined) throw new LocationMutateError('encountered nil key value when setting a new list element');
  for (let i = 0; i < current.length; i++) {
    const el = current[i] as JsonValue;
    if (!isObject(el)) throw new LocationMutateError(`cast error, unable to case ${goType(el)} to map[string]interface{}`);
    if (!sameKey(getOwn(el, node.keyField), node.keyValue)) continue;
    if (!sameKey(getOwn(value, node.keyField), node.keyValue)) throw new LocationMutateError('key value of replaced object must not change');
    if (!s.tester.existsOkay(depth)) return UNTOUCHED;
    if (deepEqual(el, value)) return { touched: true, value: current };
    const out = current.slice();
    out[i] = value;
    return { touched: true, value: out };
  }
  if (!s.tester.missingOkay(depth)) return UNTOUCHED;
  return { touched: true, value: [...current, value] };
}
