/**
 * RFC 6902 JSON Patch, applied the way kustomize v5.5 applies it: through
 * evanphx/json-patch v4.12 (api/filters/patchjson6902), leniencies included
 * (conformance findings 9-14), plus kustomize's parsing of a `patches:` text
 * into either JSON6902 operations or strategic-merge documents
 * (api/internal/builtins/PatchTransformer.go `Config` and `jsonPatchFromBytes`).
 *
 * Pure: inputs are never mutated. The document is copied on write: an
 * operation that writes copies (shallowly) only the maps and lists on its
 * path, so untouched subtrees of the result are the input's own (which keeps
 * the admission diff cheap: createPatch skips shared subtrees). Values taken
 * from the patch are copied on every write so a compiled patch can be applied
 * to many objects. Keys such as `__proto__` and `constructor` are ordinary
 * data: reads use own-property checks and writes `setOwn` (src/kube/object.ts).
 */
import type * as YAML from 'yaml';
import { parseManifestsFast, yamlPkg } from '../kube/yaml-stream.js';
import { isAmbiguousInYaml11, YAML_PKG_11_TESTS } from '../kube/yaml-print.js';
import { deepClone, isObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import { parseManifests } from '../kube/yaml-stream.js';

/** One JSON6902 operation as decoded: a map, like evanphx's `Operation` (fields are read lazily, per op). */
export type Json6902Op = JsonObject;

/**
 * A JSON6902 failure. `index` is the 0-based operation index (-1 when parsing
 * the patch text), `path` the operation's `path` (or `from`) as written.
 * Messages follow evanphx/json-patch v4.12 (`testing value /spec/replicas failed: test failed`).
 */
export class Json6902Error extends Error {
  constructor(message: string, readonly index: number, readonly path: string) {
    super(message);
    this.name = 'Json6902Error';
  }
}

/** A patch text that is neither a JSON6902 op list nor strategic-merge documents. */
export class PatchTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchTextError';
  }
}

/** A mutable container reached while walking a path: a map or a list of the working copy. */
type Container = JsonObject | JsonValue[];

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);


/**
 * Decodes a reference token as evanphx's `decodePatchKey` (Go strings.Replacer,
 * one left-to-right pass): `~1` -> `/`, `~0` -> `~`; any other `~x` stays literal
 * (`bad~2key`, conformance 067).
 */
function decodeKey(token: string): string {
  return token.replace(/~[01]/g, (m) => (m === '~1' ? '/' : '~'));
}

/** Go `strconv.Atoi`: optional sign then decimal digits; throws its error text. */
function atoi(key: string): number {
  if (!/^[+-]?\d+$/.test(key)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`);
  const n = Number(key);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(key)}: value out of range`);
  return n;
}

const invalidIndex = (idx: number): Error => new Error(`Unable to access invalid index: ${idx}: invalid index referenced`);

/** Index for get/replace: negative counts from the end (SupportNegativeIndices); must exist. */
function existingIndex(list: JsonValue[], key: string): number {
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -list.length) throw invalidIndex(idx);
    idx += list.length;
  }
  if (idx >= list.length) throw invalidIndex(idx);
  return idx;
}

/** Container get: a missing map key reads as undefined without error (v4: nil node). */
function get(c: Container, key: string): JsonValue | undefined {
  if (Array.isArray(c)) return c[existingIndex(c, key)];
  return hasOwn(c, key) ? c[key] : undefined;
}

/** Container set (replace): the key must exist for lists; maps accept any key (finding 9). */
function set(c: Container, key: string, value: JsonValue): void {
  if (Array.isArray(c)) c[existingIndex(c, key)] = value;
  else setOwn(c, key, value);
}

/** Container add: maps set the key; lists insert at index, `-` appends, negative counts from len+1. */
function add(c: Container, key: string, value: JsonValue): void {
  if (!Array.isArray(c)) {
    setOwn(c, key, value);
    return;
  }
  if (key === '-') {
    c.push(value);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new Error(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size || idx < -size) throw invalidIndex(idx);
  if (idx < 0) idx += size;
  c.splice(idx, 0, value);
}

/** Container remove: a missing map key or list index is an error. */
function remove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!hasOwn(c, key)) throw new Error(`Unable to remove nonexistent key: ${key}: missing value`);
    delete c[key];
    return;
  }
  let idx = atoi(key);
  if (idx >= c.length || idx < -c.length) throw invalidIndex(idx);
  if (idx < 0) idx += c.length;
  c.splice(idx, 1);
}

/**
 * evanphx `findObject`: splits on `/`, walks every segment but the first and
 * the last from the root, returns the parent container and the decoded last
 * key, or null when the parent is missing, null or a scalar. A path with no
 * `/` at all is missing; `spec/replicas` walks nothing and targets the ROOT key
 * `replicas` (conformance 180).
 */
function findParent(root: Container, path: string): { con: Container; key: string } | null {
  const split = path.split('/');
  if (split.length < 2) return null;
  let doc: Container = root;
  for (const part of split.slice(1, -1)) {
    let next: JsonValue | undefined;
    try {
      next = get(doc, decodeKey(part));
    } catch {
      return null;
    }
    if (Array.isArray(next) || isObject(next)) doc = next;
    else return null;
  }
  return { con: doc, key: decodeKey(split[split.length - 1]) };
}

/** Structural equality for `test` (strict: same keys, same list order; numbers by value). */
function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    if (typeof a === typeof b) return a === b;
    return Number.isInteger(Number(a)) && Number.isInteger(Number(b)) && BigInt(a) === BigInt(b);
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/** The op's `op`, as evanphx `Kind()`: 'unknown' when absent or not a string. */
function opKind(op: Json6902Op): string {
  const k = hasOwn(op, 'op') ? op.op : undefined;
  return typeof k === 'string' ? k : 'unknown';
}

/** Reads `path` or `from`: absent or null is ErrMissing; a non-string is a decode error. */
function opString(op: Json6902Op, field: 'path' | 'from'): string | undefined {
  const v = hasOwn(op, field) ? op[field] : null;
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type string`);
  return v;
}

/** The op's value as written (a missing `value` writes null, finding 11); copied so patches stay reusable. */
function opValue(op: Json6902Op): JsonValue {
  return hasOwn(op, 'value') ? deepClone(op.value) : null;
}

/**
 * State shared by the op implementations: the working root and the containers
 * this application has copied (and so may write to); every other container is
 * the input's and is copied before its first write (copy-on-write).
 */
interface Work {
  root: Container;
  index: number;
  owned: WeakSet<Container>;
}

/** A shallow copy of a container (own keys, `__proto__` as data). */
function shallowCopy(c: Container): Container {
  if (Array.isArray(c)) return c.slice();
  const out: JsonObject = {};
  for (const k of Object.keys(c)) setOwn(out, k, c[k]);
  return out;
}

/**
 * `findParent` for a write: the same walk and the same answers, but every
 * container on the path, the parent included, is made this application's own
 * copy first (copy-on-write), so the write never reaches the input.
 */
function findParentForWrite(w: Work, path: string): { con: Container; key: string } | null {
  const found = findParent(w.root, path);
  if (!found) return null;
  const split = path.split('/');
  let doc = w.root;
  for (const part of split.slice(1, -1)) {
    const key = Array.isArray(doc) ? existingIndex(doc, decodeKey(part)) : decodeKey(part);
    const next = (doc as Record<string | number, JsonValue>)[key] as Container;
    if (w.owned.has(next)) {
      doc = next;
      continue;
    }
    const copy = shallowCopy(next);
    w.owned.add(copy);
    if (Array.isArray(doc)) doc[key as number] = copy;
    else setOwn(doc, key as string, copy);
    doc = copy;
  }
  return { con: doc, key: found.key };
}

function fail(w: Work, message: string, path: string): never {
  throw new Json6902Error(message, w.index, path);
}

function requirePath(w: Work, op: Json6902Op, field: 'path' | 'from', what: string): string {
  let p: string | undefined;
  try {
    p = opString(op, field);
  } catch (e) {
    fail(w, `${what}: ${(e as Error).message}`, '');
  }
  if (p === undefined) fail(w, `${what}: missing value`, '');
  return p;
}

/** The parent container of `path` to read from (the input's own containers may be returned). */
function parentOf(w: Work, path: string, message: string): { con: Container; key: string } {
  return findParent(w.root, path) ?? fail(w, `${message}: missing value`, path);
}

/** The parent container of `path` to write to: this application's own copy (copy-on-write). */
function writableParentOf(w: Work, path: string, message: string): { con: Container; key: string } {
  return findParentForWrite(w, path) ?? fail(w, `${message}: missing value`, path);
}

/** Runs `f`, wrapping a container error as evanphx's `errors.Wrapf(err, prefix)`. */
function wrap<T>(w: Work, prefix: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Json6902Error) throw e;
    return fail(w, `${prefix}: ${(e as Error).message}`, path);
  }
}

function doAdd(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', 'add operation failed to decode path');
  const { con, key } = writableParentOf(w, path, `add operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
  wrap(w, `error in add for path: '${path}'`, path, () => add(con, key, opValue(op)));
}

function doRemove(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', 'remove operation failed to decode path');
  const { con, key } = writableParentOf(w, path, `remove operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
  wrap(w, `error in remove for path: '${path}'`, path, () => remove(con, key));
}

function doReplace(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', 'replace operation failed to decode path: operation missing path field');
  const { con, key } = writableParentOf(w, path, `replace operation does not apply: doc is missing path: ${path}`);
  // v4: a missing MAP key is no error (reads as nil), so replace adds it (finding 9); a bad list index is.
  wrap(w, `replace operation does not apply: doc is missing key: ${path}`, path, () => get(con, key));
  set(con, key, opValue(op));
}

function doMove(w: Work, op: Json6902Op): void {
  const from = requirePath(w, op, 'from', 'move operation failed to decode from: operation, missing from field');
  const src = writableParentOf(w, from, `move operation does not apply: doc is missing from path: ${from}`);
  const val = wrap(w, `error in move for path: '${src.key}'`, from, () => get(src.con, src.key));
  // Remove before resolving the destination, as evanphx does (finding 10: a missing source fails here).
  wrap(w, `error in move for path: '${src.key}'`, from, () => remove(src.con, src.key));
  const path = requirePath(w, op, 'path', 'move operation failed to decode path: operation missing path field');
  const dst = writableParentOf(w, path, `move operation does not apply: doc is missing destination path: ${path}`);
  wrap(w, `error in move for path: '${path}'`, path, () => add(dst.con, dst.key, val ?? null));
}

function doCopy(w: Work, op: Json6902Op): void {
  const from = requirePath(w, op, 'from', 'copy operation failed to decode from: operation, missing from field');
  const src = parentOf(w, from, `copy operation does not apply: doc is missing from path: ${from}`);
  // A missing map key reads as nil: copy writes null (finding 10, conformance 066).
  const val = wrap(w, `error in copy for from: '${from}'`, from, () => get(src.con, src.key));
  const path = requirePath(w, op, 'path', 'copy operation failed to decode path');
  const dst = writableParentOf(w, path, `copy operation does not apply: doc is missing destination path: ${path}`);
  const copy = val === undefined ? null : deepClone(val);
  wrap(w, 'error while adding value during copy', path, () => add(dst.con, dst.key, copy));
}

function doTest(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', 'test operation failed to decode path: operation missing path field');
  const { con, key } = parentOf(w, path, `test operation does not apply: is missing path: ${path}`);
  const val = wrap(w, `error in test for path: '${path}'`, path, () => get(con, key));
  const failed = (): never => fail(w, `testing value ${path} failed: test failed`, path);
  const hasValue = hasOwn(op, 'value');
  // A missing or null document value passes only against an explicit `value: null` (v4 nil node).
  if (val === undefined || val === null) {
    if (hasValue && op.value === null) return;
    failed();
  }
  if (!hasValue || !jsonEqual(val as JsonValue, op.value)) failed();
}

const OPS: Record<string, (w: Work, op: Json6902Op) => void> = {
  add: doAdd,
  remove: doRemove,
  replace: doReplace,
  move: doMove,
  copy: doCopy,
  test: doTest,
};

/**
 * Applies JSON6902 `ops` to `doc` and returns the result; `doc` is not mutated.
 *
 * Semantics of evanphx/json-patch v4.12 `Patch.Apply` as kustomize v5.5 runs it
 * (findings 9-14): `replace` of a missing map key adds it; `copy` from a missing
 * key writes null; `move` from or `test` on a missing path fails; `add` without
 * `value` writes null; `~2` stays literal; a path without leading `/` treats its
 * first segment as the root; `-` appends; list indexes may be negative
 * (counted from the end); removing every element leaves `[]`/`{}`.
 *
 * Throws Json6902Error (op index and path) on the first failing operation, or
 * `Unexpected kind: X` for an unknown op.
 */
export function applyJson6902(doc: JsonObject, ops: readonly Json6902Op[]): JsonObject;
export function applyJson6902(doc: JsonValue[], ops: readonly Json6902Op[]): JsonValue[];
export function applyJson6902(doc: Container, ops: readonly Json6902Op[]): Container {
  const root = shallowCopy(doc);
  const w: Work = { root, index: 0, owned: new WeakSet([root]) };
  ops.forEach((op, i) => {
    w.index = i;
    const kind = opKind(op);
    const run = hasOwn(OPS, kind) ? OPS[kind] : undefined;
    if (!run) fail(w, `Unexpected kind: ${kind}`, typeof op.path === 'string' ? op.path : '');
    run(w, op);
  });
  return w.root;
}

// ---------------------------------------------------------------------------
// Patch text parsing (kustomize PatchTransformer.Config)

/**
 * YAML options reading like go-yaml v2 / sigs.k8s.io/yaml `YAMLToJSON`, used by
 * kustomize for JSON6902 text: YAML 1.1 scalars (`yes` -> true, `0755` -> 493)
 * but no sexagesimal numbers or timestamps (they stay strings).
 */
const YAML11: YAML.DocumentOptions & YAML.SchemaOptions = {
  version: '1.1',
  customTags: (tags) => (tags as YAML.ScalarTag[]).filter((t) => t.format !== 'TIME' && t.tag !== 'tag:yaml.org,2002:timestamp'),
};

/**
 * Parses every document of `text` with YAML11 (the `yaml` package, loaded on
 * first use); throws PatchTextError on a YAML error. Empty documents are
 * skipped. Internal: exported for the fast path's differential test.
 */
export function yaml11Docs(text: string): JsonValue[] {
  const out: JsonValue[] = [];
  for (const d of yamlPkg().parseAllDocuments(text, YAML11)) {
    if (d.errors.length > 0) throw new PatchTextError(d.errors[0].message);
    if (d.contents === null) continue;
    try {
      out.push(d.toJS({ maxAliasCount: 1000 }) as JsonValue);
    } catch (e) {
      // toJS throws plain Errors (a `<<` merge of a scalar, the alias cap): a patch text error like any other.
      throw new PatchTextError((e as Error).message.split('\n')[0]);
    }
  }
  return out;
}

/** A string YAML 1.1 reads as itself when written plain: no 1.1 word, number, date or special (both the `yaml` package's and go-yaml v2's). */
function plainInYaml11(s: string): boolean {
  return !isAmbiguousInYaml11(s) && !YAML_PKG_11_TESTS.some((re) => re.test(s));
}

/** True when every key and string of `v` reads the same in YAML 1.1, and `v` holds no number (their spellings differ: `0o17`, `e5`, 2^53+). */
function sameInYaml11(v: JsonValue): boolean {
  if (typeof v === 'string') return plainInYaml11(v);
  if (typeof v === 'number' || typeof v === 'bigint') return false;
  if (Array.isArray(v)) return v.every(sameInYaml11);
  if (isObject(v)) return Object.keys(v).every((k) => plainInYaml11(k) && sameInYaml11(v[k]));
  return true; // null, true, false: spelled alike in both
}

/**
 * The first document of a YAML op list read by the go-yaml v3 fast reader
 * (src/kube/yaml-stream.ts), when YAML 1.1 provably reads the same; undefined
 * otherwise (the caller then loads the `yaml` package). The two readers differ
 * only on plain scalars that 1.1 types and v3 keeps as strings (`yes`, `off`,
 * `e5`, dates, ...) or spells as other numbers (`0o17`, huge ints): so every
 * key and string must be plain in 1.1 (a quoted `"yes"` also falls back:
 * needless but safe), no number may occur, and the first document must be the
 * stream's first (empty or `null` documents are skipped differently). A
 * document that is not a list is returned as read (it is refused either way). Internal:
 * exported for the differential test.
 */
export function fastOpList(text: string): JsonValue | undefined {
  let docs;
  try {
    docs = parseManifestsFast(text);
  } catch {
    return undefined;
  }
  const first = docs?.[0];
  if (first === undefined || first.docNumber !== 1) return undefined;
  // Both readers build the same structure: a document that is not a list is
  // refused alike, whatever its scalars (a strategic-merge text tried as JSON6902).
  if (!Array.isArray(first.value)) return first.value;
  return sameInYaml11(first.value) ? first.value : undefined;
}

/**
 * Parses a JSON6902 op list as kustomize `jsonPatchFromBytes`: text starting
 * with `[` is strict JSON; otherwise the first YAML document (YAML 1.1, as
 * go-yaml v2) is converted. `null` (an empty document) is an empty list.
 * Returns the ops; throws PatchTextError when the text is not a list of maps.
 */
export function parseJson6902(text: string): Json6902Op[] {
  let value: JsonValue | undefined;
  if (text.startsWith('[')) {
    try {
      value = JSON.parse(text) as JsonValue;
    } catch (e) {
      throw new PatchTextError((e as Error).message);
    }
  } else {
    value = fastOpList(text) ?? yaml11Docs(text)[0];
  }
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PatchTextError('a JSON6902 patch must be a list of operations');
  return value.map((op, i) => {
    if (!isObject(op)) throw new PatchTextError(`operation ${i} is not a map`);
    return op;
  });
}

/**
 * Parses strategic-merge documents as kustomize `ResmapFactory.SliceFromBytes`
 * (kyaml: read exactly like manifests, `parseManifests`): every non-empty document must be a map
 * with a non-empty `kind` and `metadata.name` (measured with kustomize v5.5: a
 * patch without either is "unable to parse"). `apiVersion` is optional.
 * Throws PatchTextError.
 */
export function parseStrategicMergeDocs(text: string): JsonObject[] {
  let docs: JsonValue[];
  try {
    docs = parseManifests(text).map((d) => d.value);
  } catch (e) {
    throw new PatchTextError((e as Error).message);
  }
  return docs.map((d, i) => {
    if (!isObject(d)) throw new PatchTextError(`document ${i} is not a map`);
    const name = isObject(d.metadata) ? d.metadata.name : undefined;
    if (typeof d.kind !== 'string' || d.kind === '' || typeof name !== 'string' || name === '') {
      throw new PatchTextError(`document ${i} lacks kind or metadata.name`);
    }
    return d;
  });
}

/** A parsed patch text: JSON6902 operations or strategic-merge documents. */
export type ParsedPatch = { type: 'json6902'; ops: Json6902Op[] } | { type: 'strategicMerge'; docs: JsonObject[] };

/**
 * Classifies and parses a patch text as kustomize PatchTransformer.Config: the
 * text is tried both as strategic-merge documents and as a JSON6902 op list;
 * exactly one must succeed. A list is JSON6902; maps with kind and name are
 * SMP; a single op written as a map is neither (conformance 222); invalid YAML
 * is neither (212); text that is both (only `---`) is an error. The caller
 * rejects the empty text before (220). Throws PatchTextError.
 */
export function parsePatchText(text: string): ParsedPatch {
  let docs: JsonObject[] | undefined;
  let ops: Json6902Op[] | undefined;
  try {
    docs = parseStrategicMergeDocs(text);
  } catch {
    docs = undefined;
  }
  try {
    ops = text === '' ? undefined : parseJson6902(text);
  } catch {
    ops = undefined;
  }
  if (docs && ops) throw new PatchTextError(`illegally qualifies as both an SM and JSON patch: [${text}]`);
  if (ops) return { type: 'json6902', ops };
  if (docs) return { type: 'strategicMerge', docs };
  throw new PatchTextError(`unable to parse SM or JSON patch from [patch: ${JSON.stringify(text)}]`);
}
