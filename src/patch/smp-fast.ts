/**
 * A strategic merge patch compiled once into what it means when it holds no
 * list, no null and no `$` key: a deep merge of maps with scalar leaves
 * (`spec: {securityContext: {seccompProfile: {type: RuntimeDefault}}}`,
 * `spec: {priorityClassName: standard}`). For such a patch, what
 * `strategicMerge` (./smp.ts) does is known without the schema: no list is
 * merged or replaced, no directive runs, so each patch map is merged into
 * the base map at its key (a copy of it, or a new map where the base has
 * none or null), each scalar set, new keys appended in patch order.
 *
 * `applyMapMerge` copies only the maps on the patch's paths (an empty patch
 * map leaves its base map as it is: shared, not copied) and returns
 * undefined, for the caller to run `strategicMerge` (whose results and
 * errors stay the reference), whenever the merge could do anything more:
 * a base map marked with empty nulls by the YAML reader (the merge clears
 * them, src/kube/empty-nulls.ts), or a base value of another node kind than
 * the patch's (a scalar or list where the patch has a map, a map or list
 * where it has a scalar: `wrong node kind`). Same content and key order as
 * `strategicMerge` (test/patch/smp-fast.test.ts compares both).
 */
import { emptyNullKeys } from '../kube/empty-nulls.js';
import { getOwn, isObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';

/** One key of a compiled map merge: a scalar set on it, or a map merged into it. */
export type MergeField =
  | { readonly key: string; readonly scalar: string | number | boolean; readonly map?: undefined }
  | { readonly key: string; readonly map: MapMerge; readonly scalar?: undefined };

/** A compiled patch map: its keys in patch order. */
export interface MapMerge {
  readonly fields: readonly MergeField[];
}

/**
 * The map merge a patch map means, or undefined when it holds a list, a
 * null, a `$` key (a directive, or a key the merge treats as one) or a value
 * that is not a string, a finite number or a boolean, at any depth. Pure.
 */
export function compileMapMerge(patch: JsonObject): MapMerge | undefined {
  const fields: MergeField[] = [];
  for (const key of Object.keys(patch)) {
    if (key.charCodeAt(0) === 36) return undefined;
    const v = patch[key];
    if (isObject(v)) {
      const map = compileMapMerge(v);
      if (map === undefined) return undefined;
      fields.push({ key, map });
    } else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      fields.push({ key, scalar: v });
    } else {
      return undefined;
    }
  }
  return { fields };
}

/**
 * `strategicMerge(base, patch)` for the patch `m` was compiled from: a copy
 * of `base` (never `base` itself, never mutated) with the maps on the
 * patch's paths copied and merged; or undefined when the general merge must
 * decide (see the module comment).
 */
export function applyMapMerge(base: JsonObject, m: MapMerge): JsonObject | undefined {
  if (emptyNullKeys(base) !== undefined) return undefined;
  const out: JsonObject = { ...base };
  for (const f of m.fields) {
    const bv = getOwn(out, f.key);
    let v: JsonValue | undefined;
    if (f.map === undefined) v = typeof bv === 'object' && bv !== null ? undefined : f.scalar;
    else v = mergeInto(bv, f.map);
    if (v === undefined) return undefined;
    setOwn(out, f.key, v);
  }
  return out;
}

/** A compiled patch map merged into the base value `bv` at its key: new maps where it has none, undefined to decline. */
function mergeInto(bv: JsonValue | undefined, m: MapMerge): JsonValue | undefined {
  if (bv === undefined || bv === null) return build(m);
  if (!isObject(bv)) return undefined;
  return m.fields.length === 0 ? unmerged(bv) : applyMapMerge(bv, m);
}

/**
 * An empty patch map merged into the base map `bv`: `bv` itself, whose copy
 * would hold the same keys and values in the same order (a patch's
 * `metadata: {name: x}` is such a map once the name it restores anyway is
 * left out: `smpDoc` in src/transform/patch.ts); undefined, as applyMapMerge,
 * when `bv` is marked with empty nulls (the merge clears them). Nested maps
 * only: applyMapMerge's own result is always a new map.
 */
function unmerged(bv: JsonObject): JsonObject | undefined {
  return emptyNullKeys(bv) === undefined ? bv : undefined;
}

/** A new map of a compiled patch map (the merge into nothing: new maps, never the patch's own). */
function build(m: MapMerge): JsonObject {
  const out: JsonObject = {};
  for (const f of m.fields) setOwn(out, f.key, f.map === undefined ? f.scalar : build(f.map));
  return out;
}
