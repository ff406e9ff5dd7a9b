/**
 * `createPatch(original, mutated)`: the one RFC 6902 diff at the admission edge
 * (STYLE.md item 2: mutate a private copy, diff once).
 *
 * The patch must apply with evanphx/json-patch v4, which the kube-apiserver uses
 * to apply webhook patches (apiserver `pkg/admission/plugin/webhook/mutating`).
 * That library is strict where RFC 6902 allows it to be: `add` needs an existing
 * parent, `replace` and `remove` need an existing target, an array index may be
 * at most the array length for `add`. So the diff:
 * - adds whole subtrees at the first missing key (never under a missing parent);
 * - replaces or removes only keys present in `original`;
 * - diffs keyed lists by key: lists whose Kubernetes patch metadata names a
 *   merge key (containers, env, volumes, ports, ... from `patch-meta.ts`, found
 *   from the original's GVK) and, for kinds without a schema (custom
 *   resources), lists whose items all carry a distinct string `name`. Items
 *   whose key left the list, and items that moved against the longest run kept
 *   in order, are removed from the highest index down; then the new list is
 *   walked in order, diffing kept items in place and adding the others at their
 *   index. A prepend to a 1,000-entry list is one `add` at `/0`; the cost is
 *   O(n log n). Every other list (or a keyed list with a missing or duplicate
 *   key) is diffed by index, like fast-json-patch `compare`: common indices in
 *   place, surplus items removed from the highest index down, new items
 *   appended in ascending order;
 * - skips subtrees that are the same reference in both (transformers share
 *   what they do not change), so the cost follows the change, not the object;
 * - escapes keys as JSON pointers (RFC 6901: `~` -> `~0`, `/` -> `~1`).
 *
 * Values are JSON as produced by `JSON.parse`. Keys whose value is `undefined`
 * are treated as absent (as `JSON.stringify` does). A `bigint` cannot be sent to
 * the API server in a JSON patch and throws a TypeError.
 */
import { gvkOf, isObject, setOwn } from '../kube/object.js';
import type { JsonObject, JsonValue } from '../kube/object.js';
import { defFields, schemaForGVK } from './patch-meta.js';
import type { FieldMeta, SchemaRef } from './patch-meta.js';

/** One RFC 6902 operation as emitted by `createPatch` (only add, remove, replace). */
export type Operation =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'remove'; path: string };

/** Escapes one reference token of a JSON pointer (RFC 6901 section 3): `~` first, then `/`. */
export function escapePointerToken(token: string): string {
  let out = '';
  let from = 0;
  // One pass without regexes (label and annotation keys often hold a `/`).
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c !== TILDE && c !== SLASH) continue;
    out += `${token.slice(from, i)}${c === TILDE ? '~0' : '~1'}`;
    from = i + 1;
  }
  return from === 0 ? token : out + token.slice(from);
}

const TILDE = 126;
const SLASH = 47;

/**
 * The JSON pointers the diff built lately, as a tree from the root pointer
 * `''`: a node's `kids` are its children by key. A cluster's objects from one
 * template give the same paths, and a path found here is the same string as
 * last time (flat, compared by reference when the answer's patch is compared
 * with the last one, written without flattening a rope). The diff hands each
 * map's node down to its children, so a child's path is one lookup (its key
 * in the parent's `kids`), not two (the parent's pointer, then the key). At
 * most `PATH_MAX_ENTRIES` nodes in all, each path of at most `PATH_MAX_CHARS`
 * characters (so at most ~0.5 MB with the keys), all forgotten when full (a
 * new root; a walk under way keeps its nodes until it ends, and what it adds
 * to them counts against the new root's budget); a longer path is built each
 * time (a node that is not remembered, nor are its children: their paths are
 * longer still).
 */
interface PathNode {
  readonly path: string;
  kids: Map<string, PathNode> | undefined;
}

let pathRoot: PathNode = { path: '', kids: undefined };
let pathEntries = 0;
const PATH_MAX_ENTRIES = 2048;
const PATH_MAX_CHARS = 128;

/** False only inside `createPatchByKey` (the reference: every path built, none remembered). */
let rememberPaths = true;

/** The node of `${parent.path}/${escapePointerToken(key)}`, remembered (see `PathNode`). */
function childNode(parent: PathNode, key: string): PathNode {
  let kids = parent.kids;
  const found = kids?.get(key);
  if (found !== undefined) return found;
  const node: PathNode = { path: `${parent.path}/${escapePointerToken(key)}`, kids: undefined };
  if (node.path.length > PATH_MAX_CHARS || !rememberPaths) return node;
  if (pathEntries >= PATH_MAX_ENTRIES) {
    const wasRoot = parent === pathRoot;
    pathRoot = { path: '', kids: undefined };
    pathEntries = 0;
    if (wasRoot) parent = pathRoot;
    kids = parent.kids;
  }
  if (kids === undefined) parent.kids = kids = new Map();
  kids.set(key, node);
  pathEntries++;
  return node;
}

/** The number of paths remembered and the bounds (for the tests of the bounds). */
export function pathMemo(): { size: number; maxEntries: number; maxChars: number } {
  return { size: pathEntries, maxEntries: PATH_MAX_ENTRIES, maxChars: PATH_MAX_CHARS };
}

/**
 * Where the diff is in the Kubernetes schema: a definition, a map whose values
 * are `valuesOf`, or (`byName`) no schema at all, where lists of named items
 * are keyed by `name`.
 */
interface Schema {
  def?: SchemaRef;
  /** `def`'s fields with metadata (`defFields(def)`), looked up once when the schema is made: `fieldOf` reads them without the table. */
  fields?: Readonly<Record<string, FieldMeta>>;
  valuesOf?: SchemaRef;
  byName?: boolean;
}

const NO_SCHEMA: Schema = {};
const BY_NAME: Schema = { byName: true };

/**
 * The RFC 6902 operations that turn `original` into `mutated`; `[]` when they
 * are equal. Neither input is mutated; the operations' values are deep copies.
 * A change of type at the root (e.g. map to list) is one `replace` of path `''`.
 * Lists are diffed by merge key where the original's kind has one (see the
 * module comment). Throws TypeError for a `bigint` or a non-finite number in
 * `mutated`.
 */
export function createPatch(original: JsonValue, mutated: JsonValue): Operation[] {
  const ops: Operation[] = [];
  diffValue(original, mutated, pathRoot, '', ops, rootSchema(original));
  return ops;
}

/**
 * `createPatch` with every map diffed by key lookups and every path built
 * (none remembered): the reference of the paired-values path of `diffObject`
 * and of the path memo (`PathNode`), for the tests that compare the two. Same
 * contract as `createPatch`.
 */
export function createPatchByKey(original: JsonValue, mutated: JsonValue): Operation[] {
  pairValues = false;
  rememberPaths = false;
  try {
    const ops: Operation[] = [];
    diffValue(original, mutated, { path: '', kids: undefined }, '', ops, rootSchema(original));
    return ops;
  } finally {
    pairValues = true;
    rememberPaths = true;
  }
}

/** False only inside `createPatchByKey`. */
let pairValues = true;

function rootSchema(v: JsonValue): Schema {
  if (!isObject(v) || typeof v.kind !== 'string' || typeof v.apiVersion !== 'string') return BY_NAME;
  const last = lastRoot;
  if (last !== undefined && last.apiVersion === v.apiVersion && last.kind === v.kind) return last.schema;
  const { known, schema } = schemaForGVK(gvkOf(v));
  const root = known ? defSchema(schema) : BY_NAME;
  lastRoot = { apiVersion: v.apiVersion, kind: v.kind, schema: root };
  return root;
}

/** The root schema of the last apiVersion and kind diffed (reviews of one kind come in a row). */
let lastRoot: { apiVersion: string; kind: string; schema: Schema } | undefined;

function fieldOf(schema: Schema, key: string): FieldMeta | undefined {
  if (schema.valuesOf !== undefined) return valuesMeta(schema.valuesOf);
  return schema.fields?.[key];
}

/**
 * The schemas and field metas the diff hands down, one object per definition
 * name, made once: `{def: ref}`, `{valuesOf: ref}` and `{ref}` (a map's
 * values). Definition names come from the generated patch metadata
 * (k8s-patch-meta.generated.ts), so these hold at most one entry per
 * definition.
 */
const defSchemas = new Map<SchemaRef, Schema>();
const valuesSchemas = new Map<SchemaRef, Schema>();
const valuesMetas = new Map<SchemaRef, FieldMeta>();

/** `memo`'s object for `ref`, made by `make` the first time. */
function byRef<T>(memo: Map<SchemaRef, T>, ref: SchemaRef, make: (ref: SchemaRef) => T): T {
  let x = memo.get(ref);
  if (x === undefined) memo.set(ref, (x = make(ref)));
  return x;
}

const makeDefSchema = (ref: SchemaRef): Schema => ({ def: ref, fields: defFields(ref) });
const makeValuesSchema = (ref: SchemaRef): Schema => ({ valuesOf: ref });
const makeValuesMeta = (ref: SchemaRef): FieldMeta => ({ ref });

function defSchema(ref: SchemaRef): Schema {
  return byRef(defSchemas, ref, makeDefSchema);
}

function valuesSchema(ref: SchemaRef): Schema {
  return byRef(valuesSchemas, ref, makeValuesSchema);
}

function valuesMeta(ref: SchemaRef): FieldMeta {
  return byRef(valuesMetas, ref, makeValuesMeta);
}

/** The schema of a field's value (maps) given the parent's schema. */
function childSchema(schema: Schema, meta: FieldMeta | undefined): Schema {
  if (schema.byName) return BY_NAME;
  if (!meta) return NO_SCHEMA;
  return meta.values ? valuesSchema(meta.ref) : defSchema(meta.ref);
}

function kindOf(v: JsonValue): 'array' | 'object' | 'scalar' {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' && v !== null ? 'object' : 'scalar';
}

// eslint-disable-next-line max-params -- the admission diff's recursion: path, schema and field meta change at every node, and packing them into an object would allocate per node on the hot path
function diffValue(a: JsonValue, b: JsonValue, node: PathNode | undefined, path: string, ops: Operation[], schema: Schema, meta?: FieldMeta): void {
  if (a === b && typeof a === 'object') return; // a shared subtree (scalars still get checked below)
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'scalar' || ka !== kb) {
    checkScalar(b, path);
    if (ka !== kb || a !== b) ops.push({ op: 'replace', path, value: copyJson(b, path) });
    return;
  }
  // Maps and lists on both sides: `node` is the caller's (undefined only for a scalar list item, never here).
  const at = node ?? { path, kids: undefined };
  if (ka === 'array') diffArray(a as JsonValue[], b as JsonValue[], at, ops, schema, meta);
  else diffObject(a as Record<string, JsonValue>, b as Record<string, JsonValue>, at, ops, schema);
}

/**
 * The diff of two maps: `a`'s keys (removed or diffed), then `b`'s new keys
 * (added). `b`'s own keys are walked with `for...in` (no list made for `b`,
 * its values read through the loop's own key: no keyed load on maps of many
 * shapes) while they are `a`'s keys in order, as in a transformer's copy
 * `{...a}` with values changed and keys added at the end (the common case):
 * each is diffed with `a`'s value at the same index (`Object.values(a)`), then
 * `b`'s keys past `a`'s are added. At the first key out of step, the rest of
 * `a`'s keys are diffed by lookups, then all of `b`'s new keys are added.
 * Both emit the same operations in the same order as key lookups alone
 * (`createPatchByKey`: the tests' reference): the keys diffed in step are
 * `a`'s first keys, in `a`'s order, diffed the same way.
 */
// eslint-disable-next-line max-params, complexity -- the admission diff's recursion: path, schema and field meta change at every node, and packing them into an object would allocate per node on the hot path (one walk over b's keys, kept together)
function diffObject(a: Record<string, JsonValue>, b: Record<string, JsonValue>, node: PathNode, ops: Operation[], schema: Schema): void {
  if (!pairValues) {
    diffObjectByKey(a, b, node, ops, schema);
    return;
  }
  const ka = Object.keys(a);
  const va = Object.values(a);
  const n = ka.length;
  let j = 0; // b's own keys seen, all in step with a's
  let firstUndefined = n; // a's first undefined value among the keys in step
  for (const key in b) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) continue;
    if (j < n && key !== ka[j]) break; // out of step
    const bv = b[key] as JsonValue;
    const av = j < n ? (va[j] as JsonValue) : undefined;
    if (j >= n) {
      // Past a's keys (a has no other own key): first the keys in step that a left undefined.
      if (j === n && firstUndefined < n) addUndefinedInStep(b, ka, va, firstUndefined, node, ops);
      if (bv !== undefined) addKey(key, bv, node, ops);
    } else if (av !== undefined) diffPair(av, bv, key, node, ops, schema);
    else if (j < firstUndefined) firstUndefined = j;
    j++;
  }
  if (j < n) {
    // Out of step at key j (or b ran out): the rest of a's keys, then b's new keys, by lookups.
    diffKeysFrom(a, b, ka, j, node, ops, schema);
    addNewKeys(a, b, Object.keys(b), node, ops);
  } else if (j === n && firstUndefined < n) addUndefinedInStep(b, ka, va, firstUndefined, node, ops);
}

/** `diffObject` by key lookups alone: the reference of its walk in step (`createPatchByKey`). */
// eslint-disable-next-line max-params -- see diffObject
function diffObjectByKey(a: Record<string, JsonValue>, b: Record<string, JsonValue>, node: PathNode, ops: Operation[], schema: Schema): void {
  diffKeysFrom(a, b, Object.keys(a), 0, node, ops, schema);
  addNewKeys(a, b, Object.keys(b), node, ops);
}

/** One key of `a` (value `av`, not undefined) against `b`'s value `bv` for it: nothing, a removal, or their diff. */
// eslint-disable-next-line max-params -- see diffObject
function diffPair(av: JsonValue, bv: JsonValue, key: string, node: PathNode, ops: Operation[], schema: Schema): void {
  // Shared subtrees and equal strings/booleans need no look (and no pointer).
  if (av === bv && (typeof av === 'object' || typeof av === 'string' || typeof av === 'boolean')) return;
  const child = childNode(node, key);
  if (bv === undefined) ops.push({ op: 'remove', path: child.path });
  else {
    const meta = schema.byName ? undefined : fieldOf(schema, key);
    diffValue(av, bv, child, child.path, ops, childSchema(schema, meta), meta);
  }
}

/** `a`'s keys `ka` from index `from` on, by lookups: removed when `b` has no own value, else diffed. */
// eslint-disable-next-line max-params -- see diffObject
function diffKeysFrom(a: Record<string, JsonValue>, b: Record<string, JsonValue>, ka: readonly string[], from: number, node: PathNode, ops: Operation[], schema: Schema): void {
  for (let i = from; i < ka.length; i++) {
    const key = ka[i] as string;
    const av = a[key];
    if (av === undefined) continue;
    const bv = b[key] as JsonValue;
    diffPair(av, bv === undefined || Object.prototype.hasOwnProperty.call(b, key) ? bv : (undefined as unknown as JsonValue), key, node, ops, schema);
  }
}

/** `b`'s keys `kb` that `a` has no own value for, by lookups: added. */
// eslint-disable-next-line max-params -- see diffObject
function addNewKeys(a: Record<string, JsonValue>, b: Record<string, JsonValue>, kb: readonly string[], node: PathNode, ops: Operation[]): void {
  for (const key of kb) {
    const bv = b[key];
    if (bv === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(a, key) && a[key] !== undefined) continue;
    addKey(key, bv, node, ops);
  }
}

/** The keys in step from `from` on whose value is undefined in `a` and not in `b` (va: `a`'s values by index): added. */
// eslint-disable-next-line max-params -- see diffObject
function addUndefinedInStep(b: Record<string, JsonValue>, ka: readonly string[], va: readonly JsonValue[], from: number, node: PathNode, ops: Operation[]): void {
  for (let i = from; i < ka.length; i++) {
    if (va[i] !== undefined) continue;
    const key = ka[i] as string;
    const bv = b[key];
    if (bv !== undefined) addKey(key, bv, node, ops);
  }
}

/** Adds `b`'s value `bv` (not undefined) of `key` under `node`. */
function addKey(key: string, bv: JsonValue, node: PathNode, ops: Operation[]): void {
  const p = childNode(node, key).path;
  ops.push({ op: 'add', path: p, value: copyJson(bv, p) });
}

/** True when each `a[i]` is `b[i]`, or both are maps with equal values in every key field. */
function samePositions(a: readonly JsonValue[], b: readonly JsonValue[], keys: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (!isObject(x) || !isObject(y)) return false;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j] as string;
      if (x[k] !== y[k]) return false;
    }
  }
  return true;
}

/** The key fields of a list's items, or undefined for a list diffed by index. */
function listKeys(schema: Schema, meta: FieldMeta | undefined): readonly string[] | undefined {
  if (schema.byName) return NAME_KEY;
  if (meta === undefined) return undefined;
  let keys = metaListKeys.get(meta);
  if (keys === undefined) metaListKeys.set(meta, (keys = metaKeys(meta)));
  return keys === NO_KEYS ? undefined : keys;
}

const NAME_KEY: readonly string[] = ['name'];
const NO_KEYS: readonly string[] = [];

/**
 * listKeys of each field meta, made once per meta (the generated table's and
 * valuesMeta's: a bounded set); NO_KEYS for a list diffed by index.
 */
const metaListKeys = new WeakMap<FieldMeta, readonly string[]>();

function metaKeys(meta: FieldMeta): readonly string[] {
  const mk = meta.mergeKey ?? meta.mapKeys?.[0];
  if (!mk) return NO_KEYS;
  const extra = (meta.mapKeys ?? []).filter((k) => k !== mk);
  return [mk, ...extra];
}

/** Keys of every item (`keys` values, type-aware), or undefined when an item is not a map, lacks the first key, or two items share one. */
function itemKeys(list: readonly JsonValue[], keys: readonly string[], byName: boolean): string[] | undefined {
  const out: string[] = new Array<string>(list.length);
  const seen = new Set<string>();
  const idOf = keys.length === 1 ? singleKeyId : compositeKeyId;
  for (let i = 0; i < list.length; i++) {
    const el = list[i];
    if (!isObject(el)) return undefined;
    const id = idOf(el, keys, byName);
    if (id === undefined || seen.has(id)) return undefined;
    seen.add(id);
    out[i] = id;
  }
  return out;
}

/**
 * One key (containers, env, volumes...): string values are their own id
 * (prefixed only in the impossible-looking case of a leading NUL, so ids stay
 * distinct from the `\0n` numeric ones); undefined when the key is missing or
 * of another type.
 */
function singleKeyId(el: JsonObject, keys: readonly string[], byName: boolean): string | undefined {
  const v = el[keys[0] as string];
  if (typeof v === 'string') return v.charCodeAt(0) === 0 ? `\0s${v}` : v;
  if (typeof v === 'number' && !byName) return `\0n${v}`;
  return undefined;
}

/** Several keys (merge key first, then the other map keys): `|s<v>`, `|n<v>` or `|-` per key; undefined when the first is missing or one is of another type. */
function compositeKeyId(el: JsonObject, keys: readonly string[], byName: boolean): string | undefined {
  let id = '';
  for (let j = 0; j < keys.length; j++) {
    const v = el[keys[j] as string];
    if (v === undefined || v === null) {
      if (j === 0) return undefined;
      id += '|-';
    } else if (typeof v === 'string') id += `|s${v}`;
    else if (typeof v === 'number' && !byName) id += `|n${v}`;
    else return undefined;
  }
  return id;
}

// eslint-disable-next-line max-params, complexity -- the admission diff's recursion: path, schema and field meta change at every node, and packing them into an object would allocate per node on the hot path (the positional fast path and the keyed diff, kept together)
function diffArray(a: JsonValue[], b: JsonValue[], node: PathNode, ops: Operation[], schema: Schema, meta: FieldMeta | undefined): void {
  const keys = listKeys(schema, meta);
  const itemSchema: Schema = schema.byName ? BY_NAME : meta?.ref !== undefined ? defSchema(meta.ref) : NO_SCHEMA;
  // When every item of `a` sits at its own index in `b` with the same key
  // (appends, and items changed in place: what transformers and injectors
  // do), the keyed diff keeps them all and adds the rest at their indexes,
  // which is exactly the positional diff below: no key sets to build.
  if (keys && !(a.length <= b.length && samePositions(a, b, keys))) {
    const ka = itemKeys(a, keys, !!schema.byName);
    const kb = ka && itemKeys(b, keys, !!schema.byName);
    if (ka && kb) {
      diffKeyed(a, b, ka, kb, node, ops, itemSchema);
      return;
    }
  }
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) diffItem(a[i], b[i], node, i, ops, itemSchema);
  const path = node.path;
  for (let i = a.length - 1; i >= b.length; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
  for (let i = a.length; i < b.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: copyJson(b[i], `${path}/${i}`) });
}

/**
 * Keyed list diff (see the module comment). `ka`/`kb` are the distinct keys of
 * `a`'s and `b`'s items. Items of `a` kept in place are those whose key is in
 * `b` and that lie on a longest increasing run of their positions in `b`.
 */
// eslint-disable-next-line max-params -- the admission diff's recursion: path, schema and field meta change at every node, and packing them into an object would allocate per node on the hot path
function diffKeyed(a: JsonValue[], b: JsonValue[], ka: string[], kb: string[], node: PathNode, ops: Operation[], itemSchema: Schema): void {
  const path = node.path;
  const posInB = new Map<string, number>();
  for (let i = 0; i < kb.length; i++) posInB.set(kb[i] as string, i);
  // Positions in b of a's surviving items, in a's order.
  const survivors: number[] = [];
  const survivorPos: number[] = [];
  for (let i = 0; i < ka.length; i++) {
    const p = posInB.get(ka[i] as string);
    if (p !== undefined) {
      survivors.push(i);
      survivorPos.push(p);
    }
  }
  const inRun = longestIncreasingRun(survivorPos);
  const keptAt = new Map<number, number>(); // b index -> a index of the item kept for it
  const keep = new Uint8Array(a.length);
  for (let j = 0; j < survivors.length; j++) {
    if (!inRun[j]) continue;
    keep[survivors[j] as number] = 1;
    keptAt.set(survivorPos[j] as number, survivors[j] as number);
  }
  for (let i = a.length - 1; i >= 0; i--) if (!keep[i]) ops.push({ op: 'remove', path: `${path}/${i}` });
  for (let i = 0; i < b.length; i++) {
    const from = keptAt.get(i);
    if (from === undefined) addItem(b, i, path, ops);
    else diffItem(a[from] as JsonValue, b[i] as JsonValue, node, i, ops, itemSchema);
  }
}

/** Adds `list[i]` at its index under `path`. */
function addItem(list: readonly JsonValue[], i: number, path: string, ops: Operation[]): void {
  const p = `${path}/${i}`;
  ops.push({ op: 'add', path: p, value: copyJson(list[i] as JsonValue, p) });
}

/**
 * `diffValue` of the items at index `i` of two lists under `path`, without
 * building their path when there is nothing to do: one shared subtree, or the
 * same string or boolean (an equal number still goes there: a non-finite one throws).
 * Items that are maps or lists on both sides get a remembered path (`childNode`); scalar
 * items (args) are leaves, and a long list of them would only churn the memo.
 */
// eslint-disable-next-line max-params -- the admission diff's recursion (see diffValue)
function diffItem(a: JsonValue, b: JsonValue, list: PathNode, i: number, ops: Operation[], itemSchema: Schema): void {
  if (a === b && (typeof a === 'object' || typeof a === 'string' || typeof a === 'boolean')) return;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const child = childNode(list, String(i));
    diffValue(a, b, child, child.path, ops, itemSchema);
  } else diffValue(a, b, undefined, `${list.path}/${i}`, ops, itemSchema);
}

/** Marks one longest strictly increasing subsequence of `xs` (patience sorting, O(n log n)). */
function longestIncreasingRun(xs: readonly number[]): Uint8Array {
  const n = xs.length;
  const marks = new Uint8Array(n);
  if (n === 0) return marks;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = (xs[i] as number) > (xs[i - 1] as number);
  if (sorted) return marks.fill(1);
  const tails: number[] = []; // index into xs of the smallest tail of a run of each length
  const prev = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const x = xs[i] as number;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((xs[tails[mid] as number] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1] as number;
    tails[lo] = i;
  }
  for (let i = tails[tails.length - 1] as number; i >= 0; i = prev[i] as number) marks[i] = 1;
  return marks;
}

function checkScalar(v: JsonValue, path: string): void {
  if (typeof v === 'bigint') throw new TypeError(`createPatch: bigint at ${path || '/'} cannot be sent as JSON`);
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`createPatch: non-finite number at ${path || '/'}`);
}

/**
 * Deep copy for an operation's value: drops `undefined` keys, maps undefined
 * array items to null (as JSON does). Pointer paths are only built when a value
 * cannot be sent (then the copy is redone with paths, for the error message).
 */
function copyJson(v: JsonValue, path: string): JsonValue {
  try {
    return copyFast(v);
  } catch {
    return copyWithPaths(v, path);
  }
}

function copyFast(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : copyFast(x)));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, JsonValue> = {};
    // Own keys in Object.keys order (for...in visits them first, then inherited ones: left out), without their list.
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      const x = v[k];
      if (x !== undefined) setOwn(out, k, copyFast(x));
    }
    return out;
  }
  if (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) throw new TypeError('not JSON');
  return v;
}

function copyWithPaths(v: JsonValue, path: string): JsonValue {
  if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : copyWithPaths(x, `${path}/${i}`)));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) setOwn(out, k, copyWithPaths(x, `${path}/${escapePointerToken(k)}`));
    return out;
  }
  checkScalar(v, path);
  return v;
}
