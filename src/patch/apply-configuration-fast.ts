/**
 * A MutatingAdmissionPolicy ApplyConfiguration compiled, for one schema, into
 * what it means when it holds no list at any depth and no atomic map or
 * struct: a deep merge of maps with scalar leaves
 * (`Object{metadata: Object.metadata{labels: {"team": "payments"}}}`,
 * `Object{spec: Object.spec{priorityClassName: "standard"}}`). For such a
 * configuration every decision of ./apply-configuration.ts `mergeMap` /
 * `mergeValue` / `mergeValuesMap` but those about the object's own values
 * depends on the configuration and the schema only (the field metadata of
 * each key, whether a map is empty, whether a field is a `values` map), so it
 * is made once (a constant mutation's configuration is applied to every
 * object of its kind, src/policy/admission-mutation.ts) instead of per key
 * and per application; what depends on the object (a key present, a map
 * there, the same scalar, an empty map) is decided as the general merge
 * decides it, with its own helpers (sameScalar, isEmpty).
 *
 * `applyConfigMerge` gives exactly `applyConfiguration`'s result (content,
 * key order, the object itself when no field changes, unchanged subtrees
 * shared, nothing of the configuration shared): test/patch/apply-configuration-fast.test.ts
 * compares both over a table. A configuration with a list or an atomic field
 * is not compiled (undefined): the general merge handles it, and refuses an
 * atomic field with the API server's words (smd.go `validatePatch`).
 */
import { isObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import { isEmpty, sameScalar } from './apply-configuration.js';
import type { Owned } from './owned.js';
import { fieldMeta, refOf, type SchemaRef } from './patch-meta.js';

/** A scalar leaf of a configuration (what a CEL result holds once converted to JSON). */
type Scalar = string | number | boolean | null;

/**
 * One key of a compiled configuration map, in configuration order:
 * - `scalar`: the value set (the object's own kept when it is the same scalar);
 * - `map`: a map merged into the field (merge.go: a struct or a map field; a
 *   new map where the object has none or another kind of value), or, when
 *   `empty`, the configuration's `{}` (kept as a leaf: the object's map when
 *   it has one, else a new `{}`);
 * - `entry`: a map value of a `values` map (`additionalProperties`), merged
 *   into the entry as mergeValuesMap does (no empty-map rule there).
 */
export type ConfigStep =
  | { readonly kind: 'scalar'; readonly key: string; readonly value: Scalar }
  | { readonly kind: 'map'; readonly key: string; readonly merge: ConfigMerge; readonly empty: boolean }
  | { readonly kind: 'entry'; readonly key: string; readonly merge: ConfigMerge };

/** A compiled configuration map: its keys, in `Object.keys` order (the general merge's for-in order). */
export interface ConfigMerge {
  readonly steps: readonly ConfigStep[];
}

const isScalar = (v: unknown): v is Scalar => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * The merge `config` (an apply configuration's JSON) means under root
 * definition `schema` (undefined: no schema, a custom resource), or
 * undefined when it holds a list, an atomic map or struct (FieldMeta.atomic)
 * or a value that is neither a map nor a JSON scalar, at any depth. Pure;
 * keeps no reference to `config`'s maps (the scalars are copied by value).
 */
export function compileConfigMerge(config: JsonObject, schema: SchemaRef): ConfigMerge | undefined {
  return compileKeys(config, (key, v) => {
    // mergeValue: an atomic map is replaced whole (and refused as atomic); a `values` map merges entry by entry.
    const meta = fieldMeta(schema, key);
    if (meta?.atomic) return undefined;
    const merge = meta?.values ? compileEntries(v, refOf(meta)) : compileConfigMerge(v, refOf(meta));
    return merge && { kind: 'map', key, merge, empty: isEmpty(v) };
  });
}

/** The entries of a `values` map of `ref` values (mergeValuesMap): scalars set, maps merged as maps of `ref`. */
function compileEntries(config: JsonObject, ref: SchemaRef): ConfigMerge | undefined {
  return compileKeys(config, (key, v) => {
    const merge = compileConfigMerge(v, ref);
    return merge && { kind: 'entry', key, merge };
  });
}

/**
 * The steps of a configuration map in `Object.keys` order: a scalar sets
 * itself, a map is compiled by `mapStep`; undefined when a value is neither
 * (a list) or `mapStep` declines.
 */
function compileKeys(config: JsonObject, mapStep: (key: string, v: JsonObject) => ConfigStep | undefined): ConfigMerge | undefined {
  const steps: ConfigStep[] = [];
  for (const key of Object.keys(config)) {
    const v = config[key];
    const step: ConfigStep | undefined = isScalar(v) ? { kind: 'scalar', key, value: v } : isObject(v) ? mapStep(key, v) : undefined;
    if (step === undefined) return undefined;
    steps.push(step);
  }
  return { steps };
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * `applyConfiguration(object, config, schema)` for the configuration `m`
 * was compiled from (under the same schema): `object` itself when no field
 * changes (then the result equals the object: nothing is replaced whole, so
 * the merge's change tracking is exact), else a copy sharing every subtree
 * the configuration does not reach. Never mutates `object`, unless `owned`
 * is given: the maps of `object` in `owned` (copies a caller made in the
 * same pass, referenced once and seen by nobody else) are changed in place
 * instead of copied, and every map this call makes is added to it; then the
 * result may be `object` itself although it changed.
 */
export function applyConfigMerge(object: JsonObject, m: ConfigMerge, owned?: Owned): JsonObject {
  let out = owned?.has(object) === true ? object : undefined;
  for (const s of m.steps) {
    const had = hasOwn(object, s.key);
    const l = had ? (object[s.key] as JsonValue) : undefined;
    const v = stepValue(l, s, owned);
    if (had && v === l) continue;
    // a copy made once, at the first change (the object's keys keep their places; setOwn keeps `__proto__` data)
    if (out === undefined) {
      out = { ...object };
      owned?.add(out);
    }
    setOwn(out, s.key, v);
  }
  return out ?? object;
}

/** The merged value of one step over the object's value `l` (undefined: the object has no such key). */
function stepValue(l: JsonValue | undefined, s: ConfigStep, owned: Owned | undefined): JsonValue {
  if (s.kind === 'scalar') return l !== undefined && sameScalar(l, s.value) ? l : s.value;
  const base = isObject(l) ? l : undefined;
  // mergeValue: empty on both sides, a leaf (merge.go emptyPromoteToLeaf): the object's map, or a new `{}`
  if (s.kind === 'map' && s.empty) return base ?? fresh(owned);
  return applyConfigMerge(base ?? fresh(owned), s.merge, owned);
}

/** A new map (a merge into nothing, an empty leaf), owned (changed in place later) when the caller tracks ownership. */
function fresh(owned: Owned | undefined): JsonObject {
  const m: JsonObject = {};
  owned?.add(m);
  return m;
}

/**
 * One merge doing what applying `a`, then `b`, does (two configurations
 * compiled under the same schema, applied one after the other), or undefined
 * when that is not known to hold: `b`'s keys that `a` does not have are
 * appended to `a`'s steps (the order in which the two merges append new keys),
 * and a key both set is fused when both merge a non-empty map (or a `values`
 * entry) into it (the first leaves a map there, which the second merges
 * into). A key both set otherwise (a scalar, an empty map) declines: the
 * second would overwrite the first, which a single merge could show as
 * unchanged where the two report a change. The same content, key order, and
 * `object` itself exactly when nothing changes, as the two applyConfigMerge
 * calls (test/patch/apply-configuration-fast.test.ts). Pure.
 */
export function fuseConfigMerges(a: ConfigMerge, b: ConfigMerge): ConfigMerge | undefined {
  const steps = [...a.steps];
  for (const s of b.steps) {
    const i = steps.findIndex((x) => x.key === s.key);
    if (i < 0) {
      steps.push(s);
      continue;
    }
    const t = steps[i] as ConfigStep;
    if (t.kind === 'scalar' || s.kind !== t.kind || (t.kind === 'map' && (t.empty || (s as { empty: boolean }).empty))) return undefined;
    const merge = fuseConfigMerges(t.merge, (s as { merge: ConfigMerge }).merge);
    if (merge === undefined) return undefined;
    steps[i] = { ...t, merge };
  }
  return { steps };
}
