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
 * - on arrays is index-based (like fast-json-patch `compare`): common indices are
 *   diffed in place, surplus items removed from the highest index down, new items
 *   appended in ascending order. Inserting at the head of a list therefore
 *   cascades into replaces (STYLE.md: append injected items);
 * - escapes keys as JSON pointers (RFC 6901: `~` -> `~0`, `/` -> `~1`).
 *
 * Values are JSON as produced by `JSON.parse`. Keys whose value is `undefined`
 * are treated as absent (as `JSON.stringify` does). A `bigint` cannot be sent to
 * the API server in a JSON patch and throws a TypeError.
 */
import type { JsonValue } from '../kube/object.js';

/** One RFC 6902 operation as emitted by `createPatch` (only add, remove, replace). */
export type Operation =
  | { op: 'add'; path: string; value: JsonValue }
  | { op: 'replace'; path: string; value: JsonValue }
  | { op: 'remove'; path: string };

/** Escapes one reference token of a JSON pointer (RFC 6901 section 3): `~` first, then `/`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The RFC 6902 operations that turn `original` into `mutated`; `[]` when they
 * are equal. Neither input is mutated; the operations' values are deep copies.
 * A change of type at the root (e.g. map to list) is one `replace` of path `''`.
 * Throws TypeError for a `bigint` or a non-finite number in `mutated`.
 */
export function createPatch(original: JsonValue, mutated: JsonValue): Operation[] {
  const ops: Operation[] = [];
  diffValue(original, mutated, '', ops);
  return ops;
}

function kindOf(v: JsonValue): 'array' | 'object' | 'scalar' {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' && v !== null ? 'object' : 'scalar';
}

function diffValue(a: JsonValue, b: JsonValue, path: string, ops: Operation[]): void {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'scalar' || ka !== kb) {
    checkScalar(b, path);
    if (ka !== kb || a !== b) ops.push({ op: 'replace', path, value: copyJson(b, path) });
    return;
  }
  if (ka === 'array') diffArray(a as JsonValue[], b as JsonValue[], path, ops);
  else diffObject(a as Record<string, JsonValue>, b as Record<string, JsonValue>, path, ops);
}

function diffObject(a: Record<string, JsonValue>, b: Record<string, JsonValue>, path: string, ops: Operation[]): void {
  for (const key of Object.keys(a)) {
    if (a[key] === undefined) continue;
    const p = `${path}/${escapePointerToken(key)}`;
    if (!Object.prototype.hasOwnProperty.call(b, key) || b[key] === undefined) ops.push({ op: 'remove', path: p });
    else diffValue(a[key], b[key], p, ops);
  }
  for (const key of Object.keys(b)) {
    if (b[key] === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(a, key) && a[key] !== undefined) continue;
    const p = `${path}/${escapePointerToken(key)}`;
    ops.push({ op: 'add', path: p, value: copyJson(b[key], p) });
  }
}

function diffArray(a: JsonValue[], b: JsonValue[], path: string, ops: Operation[]): void {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) diffValue(a[i], b[i], `${path}/${i}`, ops);
  for (let i = a.length - 1; i >= b.length; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
  for (let i = a.length; i < b.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: copyJson(b[i], `${path}/${i}`) });
}

function checkScalar(v: JsonValue, path: string): void {
  if (typeof v === 'bigint') throw new TypeError(`createPatch: bigint at ${path || '/'} cannot be sent as JSON`);
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`createPatch: non-finite number at ${path || '/'}`);
}

/** Deep copy for an operation's value: drops `undefined` keys, maps undefined array items to null (as JSON does). */
function copyJson(v: JsonValue, path: string): JsonValue {
  if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : copyJson(x, `${path}/${i}`)));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = copyJson(x, `${path}/${escapePointerToken(k)}`);
    return out;
  }
  checkScalar(v, path);
  return v;
}
