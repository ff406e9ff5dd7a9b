/**
 * MutatingAdmissionPolicy `patchType: ApplyConfiguration`: an apply
 * configuration (the plain JSON of a CEL `Object{...}`) merged into the object
 * with server-side-apply semantics, as the API server does it
 * (k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch/smd.go
 * `ApplyStructuredMergeDiff`, and sigs.k8s.io/structured-merge-diff
 * typed/merge.go `mergingWalker`):
 *
 * - the configuration is refused when it holds an atomic list, map or struct
 *   (smd.go `validatePatch`: "may not mutate atomic arrays, maps or
 *   structs"): container `args`, `nodeSelector`, `imagePullSecrets` items...;
 * - maps and structs merge field by field (the configuration's value wins for
 *   scalars);
 * - lists with `x-kubernetes-list-type: map` merge by their map keys and
 *   `set` lists by value, in the order of merge.go `visitListItems`: items
 *   shared by both sides follow the configuration's order, items only in the
 *   object keep their place after the shared item they followed, new items
 *   come where the configuration puts them (observed on v1.36:
 *   `[proxy, app]` onto `[app, log]` gives `[proxy, app, log]`);
 * - a list or map empty on both sides is kept as the configuration gives it.
 *
 * The schema is the generated OpenAPI table (patch-meta.ts). Kinds without
 * one (custom resources) merge maps and treat every list as atomic, which the
 * API server would refuse as well only when the CRD says so: the difference is
 * documented in docs/admission-policies.md.
 *
 * Pure: inputs are never mutated; unchanged subtrees of the object are
 * shared, and nothing of the configuration is (a value taken from it is
 * copied), so one configuration can be applied to many objects (a constant
 * mutation's kept result, src/expr/cel.ts `evaluateShared`).
 */
import { deepClone, deepEqual, isObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import { fieldMeta, refOf, type FieldMeta, type SchemaRef } from './patch-meta.js';

/** An ApplyConfiguration that cannot be merged; `message` follows the API server's wording. */
export class ApplyConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApplyConfigurationError';
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Paths (`.spec.containers[0].args`, as smd.go `pathString`) of the atomic
 * lists, maps and structs the configuration sets, under definition `schema`.
 */
// eslint-disable-next-line complexity -- one walk over the field kinds of smd.go findAtomics
export function findAtomics(config: JsonValue, schema: SchemaRef, path = ''): string[] {
  if (!isObject(config) || schema === undefined) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const meta = fieldMeta(schema, key);
    if (!meta) continue;
    const p = `${path}.${key}`;
    if (meta.atomic && (Array.isArray(value) || isObject(value))) out.push(p);
    if (meta.list && Array.isArray(value)) {
      value.forEach((item, i) => {
        if (meta.itemAtomic && isObject(item)) out.push(`${p}[${i}]`);
        out.push(...findAtomics(item, refOf(meta), `${p}[${i}]`));
      });
    } else if (meta.values && isObject(value)) {
      for (const [k, v] of Object.entries(value)) out.push(...findAtomics(v, refOf(meta), `${p}.${k}`));
    } else if (isObject(value)) {
      out.push(...findAtomics(value, refOf(meta), p));
    }
  }
  return out;
}

/**
 * Merges `config` into `object` (both plain JSON objects of the same kind)
 * under root definition `schema` (undefined: no schema, see the module
 * comment). Returns the merged object. Throws ApplyConfigurationError for an
 * atomic field in the configuration or a list item without its map keys.
 * `atomics`: `findAtomics(config, schema)` when the caller already knows it
 * (a constant configuration applied again, src/policy/admission-policy.ts).
 */
export function applyConfiguration(object: JsonObject, config: JsonObject, schema: SchemaRef, atomics: readonly string[] = findAtomics(config, schema)): JsonObject {
  if (atomics.length > 0) {
    throw new ApplyConfigurationError(`error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: ${atomics.join(', ')}`);
  }
  unsure = false;
  return mergeMap(object, config, schema);
}

/**
 * As applyConfiguration, with whether the result differs from `object`
 * (`changed`: exactly `!deepEqual(result, object)`). The merge knows it: it
 * returns `object` itself when no field changes, and a new map, a new list
 * item, a list in another order or a different scalar always differ; only a
 * list or map that the configuration's copy replaces may equal the one it
 * replaces, and then the two objects are compared.
 */
export function applyConfigurationChange(object: JsonObject, config: JsonObject, schema: SchemaRef, atomics?: readonly string[]): { object: JsonObject; changed: boolean } {
  const merged = applyConfiguration(object, config, schema, atomics);
  return { object: merged, changed: merged !== object && (!unsure || !deepEqual(merged, object)) };
}

/** Set during one merge when a container replaced a container (see applyConfigurationChange); merges are synchronous. */
let unsure = false;

const isContainer = (v: JsonValue | undefined): boolean => typeof v === 'object' && v !== null;

/**
 * The configuration's value for a field the merge does not descend into:
 * the object's own when it is the same scalar, else a copy (the result
 * shares nothing with the configuration). Notes (`unsure`) a container that
 * replaces a container: the two may be equal.
 */
function replaced(lhs: JsonValue | undefined, rhs: JsonValue): JsonValue {
  if (lhs !== undefined && sameScalar(lhs, rhs)) return lhs;
  if (isContainer(lhs) && isContainer(rhs)) unsure = true;
  return deepClone(rhs);
}

/**
 * Merges two maps field by field: object keys first (in order), then new
 * configuration keys. Returns `lhs` itself when no field changes; else a copy
 * made once, at the first change (the object's keys keep their places).
 */
function mergeMap(lhs: JsonObject, rhs: JsonObject, schema: SchemaRef): JsonObject {
  let out: JsonObject | undefined;
  // for-in visits the own keys in Object.keys order (JSON maps have no inherited enumerable keys; hasOwn skips any)
  for (const key in rhs) {
    if (!hasOwn(rhs, key)) continue;
    const had = hasOwn(lhs, key);
    const l = had ? (lhs[key] as JsonValue) : undefined;
    const v = mergeValue(l, rhs[key] as JsonValue, fieldMeta(schema, key));
    if (had && v === l) continue;
    // Spread defines own data properties (a `__proto__` key stays data); setOwn keeps it so for the merged field.
    out ??= { ...lhs };
    setOwn(out, key, v);
  }
  return out ?? lhs;
}

/** Merges one field's values (lhs undefined: the object does not have it). */
// eslint-disable-next-line complexity -- the value kinds of merge.go doMap/doList in one place
function mergeValue(lhs: JsonValue | undefined, rhs: JsonValue, meta: FieldMeta | undefined): JsonValue {
  if (isObject(rhs)) {
    if (meta?.atomic) return replaced(lhs, rhs);
    const base = isObject(lhs) ? lhs : {};
    // Empty on both sides: a leaf (merge.go emptyPromoteToLeaf), the configuration's value (a new `{}`).
    if (isEmpty(rhs)) return isEmpty(base) ? (isObject(lhs) ? lhs : {}) : base;
    return meta?.values ? mergeValuesMap(base, rhs, refOf(meta)) : mergeMap(base, rhs, refOf(meta));
  }
  if (Array.isArray(rhs) && meta?.list && (meta.listType === 'map' || meta.listType === 'set')) {
    if (Array.isArray(lhs) && (lhs.length > 0 || rhs.length > 0)) return mergeList(lhs, rhs, meta);
    // A keyed list the object lacks is taken as configured, its items' keys checked (the typed conversion of smd.go does).
    index(rhs, meta, 'rhs');
  }
  return replaced(lhs, rhs);
}

/** True for a map without own keys (`Object.keys(m).length === 0`, without listing them). Shared with ./apply-configuration-fast.ts. */
export function isEmpty(m: JsonObject): boolean {
  for (const k in m) if (hasOwn(m, k)) return false;
  return true;
}

/**
 * True when the configuration's value `b` leaves the object's value `a` as it
 * is (the same scalar: equal text and type, so `-0` keeps `0`); the merge
 * then keeps `a`. Shared with ./apply-configuration-fast.ts.
 */
export function sameScalar(a: JsonValue, b: JsonValue): boolean {
  return a === b || (typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b) && typeof a === typeof b);
}

/** A map of `ref` values (`additionalProperties`): entries merged by key; `lhs` itself when no entry changes, else a copy made at the first change. */
function mergeValuesMap(lhs: JsonObject, rhs: JsonObject, ref: SchemaRef): JsonObject {
  let out: JsonObject | undefined;
  for (const k in rhs) {
    if (!hasOwn(rhs, k)) continue;
    const v = rhs[k] as JsonValue;
    const had = hasOwn(lhs, k);
    const l = had ? (lhs[k] as JsonValue) : undefined;
    const merged = isObject(v) ? mergeMap(isObject(l) ? l : {}, v, ref) : replaced(l, v);
    if (had && merged === l) continue;
    out ??= { ...lhs };
    setOwn(out, k, merged);
  }
  return out ?? lhs;
}

/**
 * Defaults of list-map key fields, which structured-merge-diff uses for a
 * key an item omits (typed/helpers.go `keyedAssociativeListItemToPathElement`,
 * `getAssociativeKeyDefault`): the built-in lists keyed by `protocol`
 * (Container and EphemeralContainer `ports`, Service `spec.ports`), whose
 * field carries `+default="TCP"` (kubernetes/kubernetes#98576). So
 * `{containerPort: 8080}` is the same item as `{containerPort: 8080,
 * protocol: TCP}`.
 */
const KEY_DEFAULTS: Readonly<Record<string, string>> = { protocol: 'TCP' };

/**
 * The identity of a list item: its map keys (list-type map; a key it omits
 * takes its default, KEY_DEFAULTS; one without a default is an error) or its
 * value (set).
 */
function itemKey(item: JsonValue, meta: FieldMeta, side: string, index: number): string {
  if (meta.listType === 'set') return JSON.stringify(item);
  if (!isObject(item)) throw new ApplyConfigurationError(`error applying patch: ${side}: element ${index}: expected a map`);
  const keys = meta.mapKeys ?? (meta.mergeKey ? [meta.mergeKey] : []);
  return keys
    .map((k) => {
      if (hasOwn(item, k)) return JSON.stringify(item[k]);
      const def = KEY_DEFAULTS[k];
      if (def !== undefined) return JSON.stringify(def);
      throw new ApplyConfigurationError(`error applying patch: ${side}: element ${index}: associative list with keys has an element that omits key field "${k}" (and doesn't have default value)`);
    })
    .join(',');
}

/**
 * Indexes a list by item key: `order` has each item's key (aligned with the
 * list), `items` each key's item. Duplicates are an error in the
 * configuration (merge.go reports them); in the object (`allowDuplicates`)
 * they are allowed, as structured-merge-diff v4.4+ allows them
 * (kubernetes/kubernetes#121575: a Pod may have two env entries of one
 * name): a duplicated key's item is undefined, so the configuration's item
 * for that key replaces every occurrence, and occurrences of a key the
 * configuration does not name stay as they are.
 */
function index(list: JsonValue[], meta: FieldMeta, side: string, allowDuplicates = false): { order: string[]; items: Map<string, JsonValue | undefined> } {
  const order: string[] = [];
  const items = new Map<string, JsonValue | undefined>();
  list.forEach((item, i) => {
    const k = itemKey(item, meta, side, i);
    if (items.has(k) && !allowDuplicates) throw new ApplyConfigurationError(`error applying patch: ${side}: duplicate entries for key ${k}`);
    items.set(k, items.has(k) ? undefined : item);
    order.push(k);
  });
  return { order, items };
}

/**
 * Merges an associative or set list in merge.go `visitListItems` order (see
 * the module comment). Items present on both sides are merged field by field.
 */
// eslint-disable-next-line complexity -- merge.go visitListItems ordering, kept as one loop to match it step by step
function mergeList(lhs: JsonValue[], rhs: JsonValue[], meta: FieldMeta): JsonValue[] {
  const l = index(lhs, meta, 'lhs', true);
  const r = index(rhs, meta, 'rhs');
  const shared = r.order.filter((k) => l.items.has(k));
  let next = 0;
  const out: JsonValue[] = [];
  const merge = (k: string): JsonValue => {
    const a = l.items.get(k);
    const b = r.items.get(k) as JsonValue;
    return a === undefined ? mergeItem(undefined, b, meta) : mergeItem(a, b, meta);
  };
  let li = 0;
  let ri = 0;
  while (li < l.order.length || ri < r.order.length) {
    const lk = l.order[li];
    const rk = r.order[ri];
    if (lk !== undefined && rk !== undefined) {
      if (lk === rk) {
        out.push(merge(lk));
        li++;
        ri++;
        next++;
        continue;
      }
      if (r.items.has(lk) && next < shared.length && shared[next] !== lk) {
        li++; // a shared item the configuration places later
        continue;
      }
    }
    if (lk !== undefined && !r.items.has(lk)) {
      out.push(lhs[li] as JsonValue); // this occurrence (a duplicated key's too)
      li++;
      continue;
    }
    if (rk !== undefined) {
      out.push(merge(rk));
      ri++;
      if (next < shared.length && shared[next] === rk) next++;
      continue;
    }
    li++; // only shared items the configuration already placed remain
  }
  return out.length === lhs.length && out.every((v, i) => v === lhs[i]) ? lhs : out;
}

function mergeItem(lhs: JsonValue | undefined, rhs: JsonValue, meta: FieldMeta): JsonValue {
  if (meta.listType === 'set' || !isObject(rhs)) return lhs ?? deepClone(rhs);
  return mergeMap(isObject(lhs) ? lhs : {}, rhs, refOf(meta));
}
