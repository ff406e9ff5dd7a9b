/**
 * kyaml's field paths over JSON values, as kustomize v5.5's `replacements`
 * walks them (sigs.k8s.io/kustomize/kyaml/yaml: `PathGetter` for a source,
 * `PathMatcher` for a target, fns.go and match.go). A path is the segments
 * `SmarterPathSplitter` gives; each segment is one of
 * - a field of a map (`spec`, `app.kubernetes.io/name`);
 * - a list index (`0`: `strconv.Atoi` reads it and it is not negative);
 * - `[field=value]`, the elements of a list whose `field` matches `value`, or
 *   `[=value]`, the scalar elements that match it;
 * - `*`, every element of a list (targets only: PathGetter refuses it).
 *
 * Matching `[field=value]` differs between the two: PathGetter compares the
 * text exactly, PathMatcher reads `value` as an unanchored Go regular
 * expression (`regexp.MatchString`), so a target's `[name=app]` also selects
 * `sidecar-app` and `[name=a.p]` selects `app`, as in kustomize. Scalars are
 * compared by their text (kyaml compares the element's YAML; a string that
 * YAML would quote differs there, and a map or list element never matches
 * here).
 *
 * Walking a field through a list or a scalar, or a list segment through a
 * map or a scalar, fails with kyaml's "wrong node kind" (without the node's
 * contents, which kyaml prints).
 */
import { isObject, setOwn, type JsonObject, type JsonValue } from './object.js';
import { re2js } from './re2.js';
import { resolvePlainScalar } from './yaml-scalars.js';
import { numberText } from './yaml-print.js';

/** One compiled segment of a field path. */
export type PathSeg =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  /** `[field=value]`; `field` '' matches scalar elements. `test` is exact (PathGetter) or an unanchored RE2 search (PathMatcher). */
  | { kind: 'match'; field: string; value: string; test: (text: string) => boolean }
  | { kind: 'every' };

/** A path that kyaml refuses or cannot walk; the message is kyaml's, with no object contents. */
export class PathError extends Error {}

const REGEX_META = /[\\.+*?()|[\]{}^$]/;

/**
 * Compiles the segments of a field path (already split) for PathGetter
 * (`matcher` false: exact `[field=value]`, `*` refused) or PathMatcher
 * (`matcher` true: `value` an RE2 regular expression, searched unanchored).
 * Throws PathError: a `[...]` segment without `=` (kyaml
 * `SplitIndexNameValue`), a regular expression RE2 refuses (Go's
 * `regexp.Compile`, which kyaml calls at each element), `*` in a PathGetter path.
 */
export function compilePath(segs: readonly string[], matcher: boolean): PathSeg[] {
  return segs.map((seg) => compileSeg(seg, matcher));
}

function compileSeg(seg: string, matcher: boolean): PathSeg {
  if (/^[+-]?[0-9]{1,15}$/.test(seg) && Number(seg) >= 0) return { kind: 'index', index: Number(seg) };
  if (seg.startsWith('[') && seg.endsWith(']')) {
    const body = seg.slice(1, -1);
    const eq = body.indexOf('=');
    if (eq < 0) throw new PathError(`${seg}: list path element must contain fieldName=fieldValue for element to match`);
    const field = body.slice(0, eq);
    const value = body.slice(eq + 1);
    return { kind: 'match', field, value, test: matcher ? searchFn(value) : (s) => s === value };
  }
  if (seg === '*') {
    if (!matcher) throw new PathError('wildcard is not supported in PathGetter');
    return { kind: 'every' };
  }
  return { kind: 'field', name: seg };
}

/** Go's `regexp.MatchString(value, s)`: an unanchored search; a plain literal as a substring test. */
function searchFn(value: string): (s: string) => boolean {
  if (!REGEX_META.test(value)) return (s) => s.includes(value);
  let re;
  try {
    re = re2js().compile(value);
  } catch (e) {
    const message = (e as Error).message;
    throw new PathError(message.startsWith('error parsing regexp') ? message : `error parsing regexp: ${message}`);
  }
  return (s) => re.matcher(s).find();
}

/** The text of a scalar as kyaml compares and copies it (a YAML node's `Value`); undefined for a map or a list. */
export function scalarText(v: JsonValue): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return numberText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  return undefined;
}

/** kyaml's node kind of a value, for its "wrong node kind" errors. */
function nodeKind(v: JsonValue): string {
  if (Array.isArray(v)) return 'SequenceNode';
  return isObject(v) ? 'MappingNode' : 'ScalarNode';
}

function wrongKind(want: string, v: JsonValue): PathError {
  return new PathError(`wrong node kind: expected ${want} but got ${nodeKind(v)}`);
}

/** True when list element `el` is selected by a `[field=value]` segment. */
function elementMatches(el: JsonValue, seg: Extract<PathSeg, { kind: 'match' }>): boolean {
  if (seg.field === '') {
    const text = scalarText(el);
    return text !== undefined && seg.test(text);
  }
  if (!isObject(el) || !Object.prototype.hasOwnProperty.call(el, seg.field)) return false;
  const v = el[seg.field];
  const text = v === null || v === undefined ? undefined : scalarText(v);
  return text !== undefined && seg.test(text);
}

/**
 * kyaml `PathGetter` (`yaml.Lookup`): the value at `path`, the first element
 * a `[field=value]` selects; undefined when a field or element is missing or
 * an index is past the end. Throws PathError where a field meets a list or a
 * scalar other than null.
 */
export function getPath(v: JsonValue | undefined, path: readonly PathSeg[]): JsonValue | undefined {
  let cur = v;
  for (const seg of path) {
    if (cur === undefined || cur === null) return undefined;
    cur = getStep(cur, seg);
  }
  return cur;
}

function getStep(v: JsonValue, seg: PathSeg): JsonValue | undefined {
  if (seg.kind === 'field') {
    if (!isObject(v)) throw wrongKind('MappingNode', v);
    return Object.prototype.hasOwnProperty.call(v, seg.name) ? v[seg.name] : undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (seg.kind === 'index') return v[seg.index];
  return seg.kind === 'match' ? v.find((x) => elementMatches(x, seg)) : v[0];
}

/**
 * A write along a PathMatcher path: `put` gives the new value of a field the
 * path reaches (`old`: its value; `createdText`: defined when the node was
 * just created, with the text it was created with: '' for a missing field,
 * `value` for a `[=value]` element), `create` whether missing parts are
 * created, `hits` counts the fields put (read it after `matchPath`).
 */
export interface PathWrite {
  put: (old: JsonValue | undefined, createdText: string | undefined) => JsonValue;
  create: boolean;
  hits: number;
}

/** A path being written: its segments and the write. */
interface Walk {
  path: readonly PathSeg[];
  w: PathWrite;
}

/**
 * kyaml `PathMatcher` (with `Create` when `w.create`): puts `w.put(...)` at
 * every field `path` reaches in `v`, copy-on-write (a subtree nothing was put
 * in is returned as it was). A missing field, or a `[field=value]` no element
 * matches, is skipped, or created with `create` (a list where the next
 * segment is an index or `[...]`, else a map; a `[field=value]` element as
 * `{field: value}` with `value` typed as plain YAML, a `[=value]` element as
 * a scalar). An index equal to a list's length appends with `create`; past
 * it, it throws PathError ("index N specified but only M elements found"),
 * with or without `create`. Throws PathError for a wrong node kind.
 */
export function matchPath(v: JsonValue, path: readonly PathSeg[], w: PathWrite): JsonValue {
  return walkFrom(v, { path, w }, 0);
}

function walkFrom(v: JsonValue, walk: Walk, i: number): JsonValue {
  const seg = walk.path[i];
  if (seg === undefined) {
    walk.w.hits++;
    return walk.w.put(v, undefined);
  }
  if (seg.kind === 'field') return walkField(v, seg.name, walk, i);
  if (!Array.isArray(v)) throw wrongKind('SequenceNode', v);
  if (seg.kind === 'index') return walkIndex(v, seg.index, walk, i);
  if (seg.kind === 'every') return eachElement(v, v.map((_x, j) => j), walk, i);
  return walkMatch(v, seg, walk, i);
}

function walkField(v: JsonValue, name: string, walk: Walk, i: number): JsonValue {
  if (!isObject(v)) throw wrongKind('MappingNode', v);
  const child = Object.prototype.hasOwnProperty.call(v, name) ? v[name] : undefined;
  if (child === undefined && !walk.w.create) return v;
  const next = child === undefined ? created(walk, i + 1) : walkFrom(child, walk, i + 1);
  if (next === child) return v;
  const out: JsonObject = { ...v };
  setOwn(out, name, next);
  return out;
}

function walkIndex(v: JsonValue[], index: number, walk: Walk, i: number): JsonValue {
  if (index === v.length && walk.w.create) return [...v, created(walk, i + 1)];
  if (index >= v.length) throw new PathError(`index ${index} specified but only ${v.length} elements found`);
  return eachElement(v, [index], walk, i);
}

function walkMatch(v: JsonValue[], seg: Extract<PathSeg, { kind: 'match' }>, walk: Walk, i: number): JsonValue {
  const hits = v.flatMap((el, j) => (elementMatches(el, seg) ? [j] : []));
  if (hits.length > 0 || !walk.w.create) return eachElement(v, hits, walk, i);
  if (seg.field !== '') return eachElement([...v, { [seg.field]: resolvePlainScalar(seg.value) }], [v.length], walk, i);
  // A new scalar element: the end of the path, or kyaml fails walking into it.
  const after = walk.path[i + 1];
  if (after !== undefined) throw wrongKind(after.kind === 'field' ? 'MappingNode' : 'SequenceNode', seg.value);
  walk.w.hits++;
  return [...v, walk.w.put(undefined, seg.value)];
}

/** The elements `indexes` of `list` walked on from segment `i + 1`; the list copied only when one changed. */
function eachElement(list: JsonValue[], indexes: readonly number[], walk: Walk, i: number): JsonValue {
  let out = list;
  for (const j of indexes) {
    const el = out[j] as JsonValue;
    const next = walkFrom(el, walk, i + 1);
    if (next === el) continue;
    if (out === list) out = [...list];
    out[j] = next;
  }
  return out;
}

/** A node created for the rest of the path from segment `i` (kyaml `getPathPartKind`): the leaf from `put`, else a list or a map walked on. */
function created(walk: Walk, i: number): JsonValue {
  const seg = walk.path[i];
  if (seg === undefined) {
    walk.w.hits++;
    return walk.w.put(undefined, '');
  }
  return walkFrom(seg.kind === 'index' || seg.kind === 'match' ? [] : {}, walk, i);
}
