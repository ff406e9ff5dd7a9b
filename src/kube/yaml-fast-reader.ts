/**
 * The fast manifest reader: js-yaml 4 with a schema that types every scalar
 * with yaml-scalars.ts, as the reference reader (yaml-reference-reader.ts)
 * does. It gives up (returns undefined), and the reference reader runs, on
 * anything where the two could differ, errors included (see
 * `parseManifestsFast`). Found by differential fuzzing against the reference;
 * test/kube/yaml-fast-path.test.ts holds an example of each case.
 *
 * The state of a read (the value js-yaml is about to construct, the open
 * nodes, ...) lives in a `FastRead` made per call: js-yaml's type and listener
 * callbacks are closures over it, so nothing is shared between calls.
 */
import { Schema, Type, loadAll } from 'js-yaml';
import type { State as JsYamlState } from 'js-yaml';
import { setOwn, type JsonObject, type JsonValue } from './object.js';
import { leadsToEmptyNull, markEmptyNulls } from './empty-nulls.js';
import type { ManifestDoc, ParseOptions } from './manifest-doc.js';
import { CHECKED_TAGS, resolvePlainScalar } from './yaml-scalars.js';
import { REFERENCE_PARSE_OPTIONS, yamlPkg } from './yaml-package.js';

/**
 * A scalar whose value does not print back as its text (`0x1F`, `~`, `True`,
 * `1.50`, `.inf`, `!!int "7"`): js-yaml turns a mapping key into a string with
 * `String(key)`, and go-yaml v3 keeps a key's text, so the key sees the text;
 * `unwrap` replaces the wrapper by the value everywhere else.
 */
class TextScalar {
  constructor(readonly value: JsonValue, readonly text: string) {}
  // Not '[object Object]': js-yaml then calls toString instead of naming the key '[object Object]'.
  get [Symbol.toStringTag](): string {
    return 'TextScalar';
  }
  toString(): string {
    return this.text;
  }
}

/** The state of one `parseManifestsFast` call (js-yaml's callbacks close over it). */
interface FastRead {
  /** The value `resolve` computed, handed to js-yaml by the next `construct`. */
  pending: unknown;
  /** A value was wrapped (`TextScalar`) or an empty node read: `unwrap` must run over the result. */
  wrapped: boolean;
  /** A plain `<<` was read: merge keys are the reference reader's. */
  mergeKey: boolean;
  /** Record empty nulls (see empty-nulls.ts). */
  emptyNulls: boolean;
  /** Start offsets of the nodes js-yaml is composing, innermost last. */
  openNodes: number[];
}

/** Thrown from the js-yaml callbacks to give up the fast path. */
const GIVE_UP = new Error('fast path not applicable');

/** `v` for js-yaml, wrapped when `String(v)` is not the scalar's text. */
function asConstructed(read: FastRead, v: JsonValue, text: string): unknown {
  // With empty nulls recorded, a written null is wrapped: a bare null left in the result is then an empty node.
  if (String(v) === text && !(v === null && read.emptyNulls)) return v;
  read.wrapped = true;
  return new TextScalar(v, text);
}

/** Every plain scalar: `resolvePlainScalar`; a `false` result keeps the text as a string. */
function plainType(read: FastRead): Type {
  // The tag is never matched explicitly: the explicit !!str of `fastSchema` replaces it in the tag map.
  return new Type('tag:yaml.org,2002:str', {
    kind: 'scalar',
    resolve: (data: unknown) => {
      if (typeof data !== 'string') return false;
      if (data === '<<') read.mergeKey = true;
      const v = resolvePlainScalar(data);
      if (v === data) return false;
      read.pending = asConstructed(read, v, data);
      return true;
    },
    construct: () => read.pending,
  });
}

/**
 * The text of an explicitly tagged scalar. js-yaml passes null for an empty node,
 * and a value already resolved when the scalar is on the line after its tag:
 * both go to the reference reader.
 */
function taggedText(data: unknown): string {
  if (typeof data !== 'string') throw GIVE_UP;
  return data;
}

/** `!!null`, `!!bool`, `!!int`, `!!float` as the reference reader reads them (quoted, block or plain text alike). */
function checkedType(read: FastRead, tag: string): Type {
  const check = CHECKED_TAGS[tag];
  return new Type(tag, {
    kind: 'scalar',
    resolve: (data: unknown) => {
      const text = taggedText(data);
      const v = resolvePlainScalar(text);
      if (!check(v)) return false;
      read.pending = asConstructed(read, v, text);
      return true;
    },
    construct: () => read.pending,
  });
}

/** The js-yaml schema of one read (~5 µs to build). */
function fastSchema(read: FastRead): Schema {
  return new Schema({
    implicit: [plainType(read)],
    explicit: [
      new Type('tag:yaml.org,2002:str', { kind: 'scalar', construct: taggedText }),
      ...Object.keys(CHECKED_TAGS).map((tag) => checkedType(read, tag)),
    ],
  });
}

type EventState = JsYamlState & { tag: string | null; anchor: string | null };

function isSpaceOrBreak(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The first character at or after `p` that is not white space or a comment. */
function nextSignificant(input: string, p: number): number {
  for (;;) {
    const c = input.charCodeAt(p);
    if (isSpaceOrBreak(c)) p++;
    else if (c === 0x23) {
      while (p < input.length && input.charCodeAt(p) !== 0x0a) p++;
    } else return c;
  }
}

/** The first character at or after `p` that is not a space or tab (NaN at the end). */
function nextOnLine(input: string, p: number): number {
  let c = input.charCodeAt(p);
  while (c === 0x20 || c === 0x09) c = input.charCodeAt(++p);
  return c;
}

/** The last character before `p` that is not white space (comments are not skipped: a conservative caller gives up on them). */
function previousNonSpace(input: string, p: number): number {
  while (p > 0 && isSpaceOrBreak(input.charCodeAt(p - 1))) p--;
  return p > 0 ? input.charCodeAt(p - 1) : -1;
}

/** A `#` at `p` right after a quoted scalar or a flow collection: js-yaml reads a comment, the reference wants white space first. */
function commentAttached(input: string, p: number): boolean {
  return input.charCodeAt(p) === 0x23 && p > 0 && !isSpaceOrBreak(input.charCodeAt(p - 1));
}

/**
 * js-yaml's node listener for one read: records where nodes open and checks
 * each node as it closes (`checkClosedNode`).
 */
function nodeListener(read: FastRead): (event: string, state: JsYamlState) => void {
  return (event, state) => {
    if (event === 'open') read.openNodes.push(state.position);
    else checkClosedNode(read, state as EventState, read.openNodes.pop() as number);
  };
}

/**
 * An empty node that js-yaml composes and drops at a document marker (`---` or
 * `...` at column 0): after the last pair of a block mapping it probes for one
 * more key there (js-yaml `readBlockMapping`), and an empty document's root
 * starts there too (its value, null, is dropped). Such a node consumes nothing,
 * is no value of the result, and needs no `unwrap`. A node in a flow
 * collection at a marker is an error for js-yaml (the reference reader runs).
 */
function isMarkerProbe(st: EventState, start: number): boolean {
  if (st.position !== start || (start > 0 && st.input.charCodeAt(start - 1) !== 0x0a)) return false;
  const marker = st.input.startsWith('---', start) || st.input.startsWith('...', start);
  const after = st.input.charCodeAt(start + 3);
  // js-yaml ends its input with '\0'.
  return marker && (isSpaceOrBreak(after) || after === 0 || Number.isNaN(after));
}

/** An empty node (no kind): with empty nulls recorded, `unwrap` must run to record it (not for js-yaml's probe at a document marker). */
function noteEmptyNode(read: FastRead, st: EventState, start: number): void {
  if (read.emptyNulls && !read.wrapped && !isMarkerProbe(st, start)) read.wrapped = true;
}

/**
 * Gives up on what js-yaml reads differently from the reference reader: anchors
 * (js-yaml shares the aliased object; the reference makes copies within an alias
 * budget); the non-specific tag `!` (empty: null, not ''); a collection or an
 * empty node used as a key, i.e. followed by `:` or, in a flow mapping, not after
 * a `:` (js-yaml stringifies it; the reference refuses non-scalar keys and reads
 * an empty key as ''); and a `#` right after a node (js-yaml reads a comment,
 * the reference an error).
 */
function checkClosedNode(read: FastRead, st: EventState, start: number): void {
  if (st.anchor !== null || st.tag === '!') throw GIVE_UP;
  if (st.kind === null) noteEmptyNode(read, st, start);
  if (commentAttached(st.input, st.position)) throw GIVE_UP;
  if (st.kind === 'scalar') return;
  const c = nextOnLine(st.input, st.position);
  if (c === 0x3a) throw GIVE_UP;
  if (c === 0x2c || c === 0x7d) checkFlowEntry(read.openNodes, st.input, start);
}

/** A collection or empty node closed by `,` or `}`: an entry of a flow collection; in a mapping, it is a key unless a ':' precedes it. */
function checkFlowEntry(openNodes: number[], input: string, start: number): void {
  const parent = openNodes[openNodes.length - 1];
  const kind = parent === undefined ? -1 : nextSignificant(input, parent);
  if (kind !== 0x5b && !(kind === 0x7b && previousNonSpace(input, start) === 0x3a)) throw GIVE_UP;
}

/** True when some `ch` in `text` has neighbours that `around(before, after)` accepts (char codes; -1 at the ends). */
function someAround(text: string, ch: string, around: (before: number, after: number) => boolean): boolean {
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) {
    if (around(i > 0 ? text.charCodeAt(i - 1) : -1, i + 1 < text.length ? text.charCodeAt(i + 1) : -1)) return true;
  }
  return false;
}

/** White space, a flow indicator, or an end of the text (-1). */
function isSeparator(c: number): boolean {
  return c === -1 || isSpaceOrBreak(c) || c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d;
}

/** The reference reader refuses an implicit key whose `:` is more than 1024 characters away: lines that long go there. */
const MAX_FAST_LINE = 1024;

function hasLongLine(text: string): boolean {
  if (text.length <= MAX_FAST_LINE) return false;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if ((nl < 0 ? text.length : nl) - start > MAX_FAST_LINE) return true;
    if (nl < 0) return false;
    start = nl + 1;
  }
}

/**
 * The text the fast path leaves to the reference reader, each test naming what
 * js-yaml and the reference read differently. Conservative (a match may be
 * inside a scalar: that only costs the fast path). `last` is the text's last
 * line.
 */
const REFERENCE_ONLY: readonly ((text: string, last: string) => boolean)[] = [
  // A BOM: the reference refuses `- ` right after a leading one; js-yaml reads a later one as content.
  (text) => text.includes('\ufeff'),
  // `%` directives; verbatim tags `!<...>`.
  (text) => text.startsWith('%') || text.includes('\n%') || text.includes('!<'),
  // Explicit keys `? ` (js-yaml turns a collection key into a string, an empty one into 'null').
  (text) => someAround(text, '?', (b, a) => isSeparator(b) && isSeparator(a)),
  // Content on a `---` or `...` line (the reference refuses a block collection there), `---#`.
  (text) => /^(?:---|\.\.\.)(?:[^\s]|[ \t]+[^\s#])/m.test(text),
  // Tabs in indentation, also after `- ` (the reference refuses some that js-yaml takes).
  (text) => text.includes('\t') && /^[ -]*\t/m.test(text),
  // Block scalar indentation indicators (read one column apart at the top level, and for blank lines).
  (text) => /(?<![^ \t\n])[|>][-+]?[0-9]/.test(text),
  // A comment right after `[`, `{` or `,` (js-yaml takes it; the reference wants white space before `#`).
  (text) => /[[{,]#/.test(text),
  // An empty `-` entry, then a line starting with `-` (js-yaml continues the inner list even when less indented).
  (text) => /(?<![^\s])-[ \t]*(?:#[^\n]*)?\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*-/.test(text),
  // A CR that does not end a CRLF: a line break for js-yaml only.
  (text) => text.includes('\r') && /\r(?!\n)/.test(text),
  // A tag or anchor alone on a line at column 0: js-yaml loses it when nothing follows.
  (text) => (/^[!&]/.test(text) || text.includes('\n!') || text.includes('\n&')) && /^[!&][^\s]*(?:[ \t]+[!&][^\s]*)*[ \t]*(?:#[^\n]*)?\r?$/m.test(text),
  // `key: !tag k: v`: js-yaml reads a nested mapping the reference refuses on one line.
  (text) => /:[ \t]+(?:[!&][^\s]*[ \t]+)+[^\n]*?:(?:[ \t]|\r?$)/m.test(text),
  // An explicit value `:` at column 0.
  (text) => text.startsWith(':') || text.includes('\n:'),
  // A last line without a line break that is blank or a marker (js-yaml appends the break).
  (_text, last) => /^(?:[ \t]+$|---|\.\.\.)/.test(last),
  // An escaped line break followed by a blank line in a double-quoted scalar (folded differently).
  (text) => text.includes('\\') && /\\\r?\n[ \t]*\r?\n/.test(text),
  hasLongLine,
];

/** True when the text holds something of `REFERENCE_ONLY`. */
function needsReferenceReader(text: string): boolean {
  const last = text.slice(text.lastIndexOf('\n') + 1);
  return REFERENCE_ONLY.some((needs) => needs(text, last));
}

/**
 * Replaces `TextScalar`s by their values, in place. With empty nulls recorded,
 * a bare null map value is an empty node (written nulls are wrapped): marked.
 */
function unwrap(v: unknown, emptyNulls: boolean): JsonValue {
  if (typeof v !== 'object' || v === null) return v as JsonValue;
  if (v instanceof TextScalar) return v.value;
  if (!Array.isArray(v)) return unwrapMap(v as JsonObject, emptyNulls);
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x === 'object' && x !== null) v[i] = unwrap(x, emptyNulls);
  }
  return v as JsonValue[];
}

/** Unwraps `obj[key]` (an object) in place; true when empty nulls are recorded and it leads to one. */
function unwrapValue(obj: JsonObject, key: string, emptyNulls: boolean): boolean {
  const x = obj[key];
  const u = unwrap(x, emptyNulls);
  if (u !== x) setOwn(obj, key, u);
  return emptyNulls && leadsToEmptyNull(u);
}

/**
 * `unwrap` of a map; with empty nulls recorded, marks it as `recordEmptyNulls`
 * does (its empty-null keys, or none when a value below leads to one), in the
 * same pass over its keys.
 */
function unwrapMap(obj: JsonObject, emptyNulls: boolean): JsonObject {
  let empty: string[] | undefined;
  let leads = false;
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const x = obj[keys[i]];
    if (x === null) (empty ??= []).push(keys[i]);
    else if (typeof x === 'object') leads = unwrapValue(obj, keys[i], emptyNulls) || leads;
  }
  if (emptyNulls && (empty !== undefined || leads)) markEmptyNulls(obj, empty ?? []);
  return obj;
}

/** `source` of each document as the reference reader gives it, computed on first access (nothing in the pipeline reads it). */
function addLazySource(doc: ManifestDoc, text: string, ranges: { all?: (ManifestDoc['source'])[] }): ManifestDoc {
  Object.defineProperty(doc, 'source', {
    enumerable: true,
    configurable: true,
    get(this: ManifestDoc) {
      ranges.all ??= yamlPkg().parseAllDocuments(text, REFERENCE_PARSE_OPTIONS)
        .map((d) => (d.contents?.range ? { start: d.contents.range[0], end: d.contents.range[1] } : undefined));
      const source = ranges.all[this.docNumber - 1];
      Object.defineProperty(this, 'source', { value: source, enumerable: true, writable: true, configurable: true });
      return source;
    },
  });
  return doc;
}

/** js-yaml's documents for one read, or undefined on any error or warning (every error message is then the reference's). */
function loadWithJsYaml(text: string, read: FastRead): unknown[] | undefined {
  try {
    return loadAll(text, null, {
      schema: fastSchema(read),
      listener: nodeListener(read),
      onWarning: () => {
        throw GIVE_UP;
      },
    });
  } catch {
    return undefined;
  }
}

/**
 * `parseManifests` with js-yaml, or undefined when the result could differ from
 * the reference reader's (`parseManifestsSlow`), which the caller then runs.
 * Internal: exported for the differential tests. Never throws.
 *
 * Gives up on: any js-yaml error or warning (so every error message is the
 * reference's), anchors and aliases, plain `<<` (merge keys), tags other than
 * `!!str !!null !!bool !!int !!float` (js-yaml refuses them), the `!` tag, an
 * explicitly tagged node that is empty or on the next line, collections or empty
 * nodes as keys, nesting deeper than js-yaml's 100 levels (`checkClosedNode`), and
 * the text `REFERENCE_ONLY` lists (directives, `? ` keys, a BOM, tabs in
 * indentation, indentation indicators, lines over 1024 characters, ...).
 */
export function parseManifestsFast(text: string, opts: ParseOptions = {}): ManifestDoc[] | undefined {
  if (needsReferenceReader(text)) return undefined;
  const emptyNulls = opts.emptyNulls === true;
  const read: FastRead = {
    pending: undefined,
    // js-yaml pushes an empty `-` entry without composing a node (no event): `unwrap` must run to see it.
    wrapped: emptyNulls && /(?<![^\s])-[ \t]*(?:#[^\n]*)?$/m.test(text),
    mergeKey: false,
    emptyNulls,
    openNodes: [],
  };
  const docs = loadWithJsYaml(text, read);
  if (docs === undefined || read.mergeKey) return undefined;
  const ranges: { all?: (ManifestDoc['source'])[] } = {};
  const out: ManifestDoc[] = [];
  docs.forEach((d, i) => {
    const value = read.wrapped ? unwrap(d, emptyNulls) : (d as JsonValue);
    if (value !== null && value !== undefined) out.push(addLazySource({ value, docNumber: i + 1 }, text, ranges));
  });
  return out;
}
