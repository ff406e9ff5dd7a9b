/**
 * Empty nulls: map values written as nothing at all (`volumeMounts:` followed
 * by a line at the same or a lower indentation), as Helm charts often render
 * them, told apart from nulls written as `null` or `~`.
 *
 * Why: kustomize's strategic merge (kyaml `merge2.Merger.VisitMap`, walked by
 * kyaml/yaml/walk `walkMap` over every field of the patched object) keeps a
 * destination null only when its YAML node has text ("preserve explicitly set
 * null in Dest"): an empty null in a walked map is cleared, `null` and `~` stay.
 * The walk covers maps and the elements of associative (merge-keyed) lists,
 * not non-associative lists, and happens only to objects a strategic merge
 * patch is applied to. A JSON6902 patch round-trips the object through JSON
 * (api/filters/patchjson6902: `MarshalJSON`, `UnmarshalJSON`), after which
 * every null is written `null`: explicit.
 *
 * Representation: the reader (`parseManifests` with `emptyNulls: true`, as
 * `run` reads its input) records, on each map, the keys whose value is an
 * empty null, under the symbol `EMPTY_NULLS`; every map on the way down to one
 * carries the symbol too (with no keys of its own), so a merge finds them
 * without walking unmarked subtrees. The symbol is an enumerable own property:
 * object spread and `Object.assign` (the copy-on-write idiom of every
 * transformer) carry it along, while JSON, `Object.keys`, `deepEqual` and the
 * printers never see it. Objects decoded from JSON (admission) have none.
 */
import { isObject, setOwn, type JsonObject, type JsonValue } from './object.js';

/** The marker: a map's own empty-null keys (possibly none, on the maps above one). */
export const EMPTY_NULLS: unique symbol = Symbol('kube-postrender.emptyNulls');

type Marked = JsonObject & { [EMPTY_NULLS]?: readonly string[] };

/** The map's own empty-null keys, or undefined when neither it nor anything below it has one. */
export function emptyNullKeys(m: JsonObject): readonly string[] | undefined {
  return (m as Marked)[EMPTY_NULLS];
}

/** Records the empty-null keys of `m` (may be empty: a map above one). Mutates `m`: for readers building fresh maps. */
export function markEmptyNulls(m: JsonObject, keys: readonly string[]): void {
  (m as Marked)[EMPTY_NULLS] = keys;
}

/**
 * Marks a map a reader has just built (with empty nulls recorded): its own
 * empty-null keys `emptyKeys`, or none when it only leads to one; leaves it
 * unmarked when it neither holds nor leads to one. Mutates `m`.
 */
export function recordEmptyNulls(m: JsonObject, emptyKeys: string[]): void {
  if (emptyKeys.length > 0 || Object.keys(m).some((k) => leadsToEmptyNull(m[k]))) markEmptyNulls(m, emptyKeys);
}

/**
 * True when `v` is a map that holds or leads to an empty null, or a list
 * holding such a map or a null element (kyaml drops null elements of a
 * merge-keyed list it walks).
 */
export function leadsToEmptyNull(v: JsonValue | undefined): boolean {
  if (Array.isArray(v)) return v.some((x) => x === null || leadsToEmptyNull(x));
  return isObject(v) && emptyNullKeys(v) !== undefined;
}

/**
 * The value with every empty null made explicit (markers removed), as
 * kustomize's JSON round trip of a JSON6902 patch leaves it. Copy-on-write:
 * unmarked subtrees are shared, the input is not mutated.
 */
export function explicitNulls<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) {
    if (!v.some((x) => isObject(x) && emptyNullKeys(x) !== undefined)) return v;
    return v.map((x) => explicitNulls(x)) as T;
  }
  if (!isObject(v) || emptyNullKeys(v) === undefined) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) setOwn(out, k, explicitNulls(v[k] as JsonValue));
  return out as T;
}
