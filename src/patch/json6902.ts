/**
 * RFC 6902 JSON Patch, applied the way kustomize v5.5 applies it: through
 * evanphx/json-patch v4.12 (api/filters/patchjson6902), leniencies included
 * (conformance findings 9-14). Parsing and classifying a `patches:` text is
 * src/patch/patch-text.ts.
 *
 * Pure: inputs are never mutated. The document is copied on write: an
 * operation that writes copies (shallowly) only the maps and lists on its
 * path, so untouched subtrees of the result are the input's own (which keeps
 * the admission diff cheap: createPatch skips shared subtrees). Values taken
 * from the patch are copied on every write so a compiled patch can be applied
 * to many objects. Keys such as `__proto__` and `constructor` are ordinary
 * data: reads use own-property checks and writes `setOwn` (src/kube/object.ts).
 */
import { deepClone, isObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';

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

/** A mutable container reached while walking a path: a map or a list of the working copy. */
type Container = JsonObject | JsonValue[];

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Decodes a reference token as evanphx's `decodePatchKey` (Go strings.Replacer,
 * one left-to-right pass): `~1` -> `/`, `~0` -> `~`; any other `~x` stays literal
 * (`bad~2key`, conformance 067).
 */
function decodeKey(token: string): string {
  if (!token.includes('~')) return token;
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

const isNumeric = (v: JsonValue): v is number | bigint => typeof v === 'bigint' || typeof v === 'number';

/** A number and a bigint are equal when both are the same integer. */
function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  return Number.isInteger(Number(a)) && Number.isInteger(Number(b)) && BigInt(a) === BigInt(b);
}

/** Structural equality for `test` (strict: same keys, same list order; numbers by value). */
function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (isNumeric(a) && isNumeric(b)) return numbersEqual(a, b);
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
 * the input's and is copied before its first write (copy-on-write). `owned` is
 * a plain Set: it lives for one application (a WeakSet's ephemerons cost GC).
 */
interface Work {
  root: Container;
  index: number;
  owned: Set<Container>;
}

/**
 * A shallow copy of a container. Object spread defines each own enumerable key
 * as a data property (CopyDataProperties), so `__proto__` stays data.
 */
function shallowCopy(c: Container): Container {
  return Array.isArray(c) ? c.slice() : { ...c };
}

/**
 * `findParent` for a write: the same walk and the same answers, but every
 * container on the path, the parent included, is made this application's own
 * copy as the walk reaches it (copy-on-write), so the write never reaches the
 * input. When the walk fails (null), the copies made so far are discarded with
 * the failing application.
 */
function findParentForWrite(w: Work, path: string): { con: Container; key: string } | null {
  const split = path.split('/');
  if (split.length < 2) return null;
  let doc = w.root;
  for (let i = 1; i < split.length - 1; i++) {
    const key = containerKey(doc, decodeKey(split[i]));
    const next = key === undefined ? undefined : (doc as Record<string | number, JsonValue>)[key];
    if (!(Array.isArray(next) || isObject(next))) return null;
    doc = w.owned.has(next) ? next : ownCopy(w, doc, key as string | number, next);
  }
  return { con: doc, key: decodeKey(split[split.length - 1]) };
}

/** The index (lists: must exist) or own key (maps) that `get` reads; undefined when it reads nothing. */
function containerKey(c: Container, key: string): string | number | undefined {
  if (!Array.isArray(c)) return hasOwn(c, key) ? key : undefined;
  try {
    return existingIndex(c, key);
  } catch {
    return undefined;
  }
}

/** Replaces `doc[key]` (a container not yet owned) by this application's own shallow copy, and returns it. */
function ownCopy(w: Work, doc: Container, key: string | number, next: Container): Container {
  const copy = shallowCopy(next);
  w.owned.add(copy);
  if (Array.isArray(doc)) doc[key as number] = copy;
  else setOwn(doc, key as string, copy);
  return copy;
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

/** The parent container of `path` to read from (the input's own containers may be returned). `message` is built only on failure. */
function parentOf(w: Work, path: string, message: () => string): { con: Container; key: string } {
  return findParent(w.root, path) ?? fail(w, `${message()}: missing value`, path);
}

/** The parent container of `path` to write to: this application's own copy (copy-on-write). `message` is built only on failure. */
function writableParentOf(w: Work, path: string, message: () => string): { con: Container; key: string } {
  return findParentForWrite(w, path) ?? fail(w, `${message()}: missing value`, path);
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

/**
 * evanphx's decode errors of `path` and `from` per op (each message then gets
 * `: missing value` or the JSON type error): a patch with one of these
 * fails on every document, so `checkJson6902Ops` refuses it at load.
 */
const DECODE = {
  add: { path: 'add operation failed to decode path' },
  remove: { path: 'remove operation failed to decode path' },
  replace: { path: 'replace operation failed to decode path: operation missing path field' },
  move: { from: 'move operation failed to decode from: operation, missing from field', path: 'move operation failed to decode path: operation missing path field' },
  copy: { from: 'copy operation failed to decode from: operation, missing from field', path: 'copy operation failed to decode path' },
  test: { path: 'test operation failed to decode path: operation missing path field' },
} as const satisfies Record<string, { from?: string; path: string }>;

function doAdd(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', DECODE.add.path);
  const { con, key } = writableParentOf(w, path, () => `add operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
  wrap(w, `error in add for path: '${path}'`, path, () => add(con, key, opValue(op)));
}

function doRemove(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', DECODE.remove.path);
  const { con, key } = writableParentOf(w, path, () => `remove operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
  wrap(w, `error in remove for path: '${path}'`, path, () => remove(con, key));
}

function doReplace(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', DECODE.replace.path);
  const { con, key } = writableParentOf(w, path, () => `replace operation does not apply: doc is missing path: ${path}`);
  // v4: a missing MAP key is no error (reads as nil), so replace adds it (finding 9); a bad list index is.
  wrap(w, `replace operation does not apply: doc is missing key: ${path}`, path, () => get(con, key));
  set(con, key, opValue(op));
}

function doMove(w: Work, op: Json6902Op): void {
  const from = requirePath(w, op, 'from', DECODE.move.from);
  const src = writableParentOf(w, from, () => `move operation does not apply: doc is missing from path: ${from}`);
  const val = wrap(w, `error in move for path: '${src.key}'`, from, () => get(src.con, src.key));
  // Remove before resolving the destination, as evanphx does (finding 10: a missing source fails here).
  wrap(w, `error in move for path: '${src.key}'`, from, () => remove(src.con, src.key));
  const path = requirePath(w, op, 'path', DECODE.move.path);
  const dst = writableParentOf(w, path, () => `move operation does not apply: doc is missing destination path: ${path}`);
  wrap(w, `error in move for path: '${path}'`, path, () => add(dst.con, dst.key, val ?? null));
}

function doCopy(w: Work, op: Json6902Op): void {
  const from = requirePath(w, op, 'from', DECODE.copy.from);
  const src = parentOf(w, from, () => `copy operation does not apply: doc is missing from path: ${from}`);
  // A missing map key reads as nil: copy writes null (finding 10, conformance 066).
  const val = wrap(w, `error in copy for from: '${from}'`, from, () => get(src.con, src.key));
  const path = requirePath(w, op, 'path', DECODE.copy.path);
  const dst = writableParentOf(w, path, () => `copy operation does not apply: doc is missing destination path: ${path}`);
  const copy = val === undefined ? null : deepClone(val);
  wrap(w, 'error while adding value during copy', path, () => add(dst.con, dst.key, copy));
}

function doTest(w: Work, op: Json6902Op): void {
  const path = requirePath(w, op, 'path', DECODE.test.path);
  const { con, key } = parentOf(w, path, () => `test operation does not apply: is missing path: ${path}`);
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
 * Throws the Json6902Error that every application of `ops` would throw
 * whatever the document, if there is one: an op evanphx does not know
 * (`Unexpected kind: X`), or a `path` (and for `move`/`copy` a `from`) that
 * is missing or not a string, with the message `applyJson6902` gives. Ops
 * run in order, so such an op fails every application (an earlier op may
 * fail first, with another message). For the loaders: a patch that cannot
 * apply to anything is refused at load.
 */
export function checkJson6902Ops(ops: readonly Json6902Op[]): void {
  const w: Work = { root: {}, index: 0, owned: new Set() };
  ops.forEach((op, i) => {
    w.index = i;
    const kind = opKind(op);
    if (!hasOwn(DECODE, kind)) fail(w, `Unexpected kind: ${kind}`, typeof op.path === 'string' ? op.path : '');
    const decode: { from?: string; path: string } = DECODE[kind as keyof typeof DECODE];
    if (decode.from !== undefined) requirePath(w, op, 'from', decode.from);
    requirePath(w, op, 'path', decode.path);
  });
}

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
  const w: Work = { root, index: 0, owned: new Set([root]) };
  ops.forEach((op, i) => {
    w.index = i;
    const kind = opKind(op);
    const run = hasOwn(OPS, kind) ? OPS[kind] : undefined;
    if (!run) fail(w, `Unexpected kind: ${kind}`, typeof op.path === 'string' ? op.path : '');
    run(w, op);
  });
  return w.root;
}
