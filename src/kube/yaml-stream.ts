/**
 * The manifest stream: multi-document YAML in, plain JSON values out, and back.
 *
 * Reading follows kustomize v5.5, which decodes every resource with go-yaml v3
 * (kyaml `RNode.MarshalJSON` -> `yaml.Unmarshal` into `interface{}`): YAML 1.2
 * core booleans and nulls (`yes`/`on` stay strings), but go's `strconv.ParseInt`
 * with base 0 for integers, so legacy octal `0755`, `0x1F`, `0o17`, `0b11` and
 * `1_000` are integers (go-yaml v3 resolve.go). The reference reader is the `yaml`
 * package: it tokenises (failsafe schema: every scalar arrives as text) and this
 * module resolves the scalars itself, expands aliases and `<<` merge keys, and
 * rejects duplicate keys (`parseManifestsSlow`). Most streams take a fast path,
 * js-yaml with a schema that resolves scalars with the very same function
 * (`parseManifestsFast`); it gives up, and the reference reader runs, on anything
 * where the two could differ (see `parseManifestsFast`), errors included.
 *
 * Printing follows what kustomize's output reader needs: Helm and kubectl read
 * manifests with go-yaml v2 and PyYAML (YAML 1.1), so every string that a 1.1
 * reader would take for something else (`"on"`, `"0755"`, `"1:20"`, `"="`,
 * `"2024-01-01"`, ...) is double-quoted, as go-yaml v2's encoder does. The
 * reference printer is the `yaml` package's (`printManifestsSlow`); yaml-print.ts
 * prints the same text without it.
 *
 * The `yaml` package is loaded only when the reference reader or printer runs.
 */
import { createRequire } from 'node:module';
import { Schema, Type, loadAll } from 'js-yaml';
import type { State as JsYamlState } from 'js-yaml';
import type { Alias, LineCounter, Node as YamlNode, Pair, Scalar, ScalarTag, Tags } from 'yaml';
import { isObject, metadataOf, setOwn, type JsonObject, type JsonValue } from './object.js';
import { leadsToEmptyNull, markEmptyNulls } from './empty-nulls.js';
import { BLANK_LINE, NEEDS_ESCAPES, doubleQuote, emitDocument, isAmbiguousInYaml11 } from './yaml-print.js';

export { doubleQuote, isAmbiguousInYaml11 } from './yaml-print.js';

type YamlPackage = typeof import('yaml');
let yamlPackage: YamlPackage | undefined;
/**
 * The `yaml` package, required on first use (`run` on a plain stream never
 * needs it: loading it is ~70 files and 13-19 ms). Also the loader of
 * patch/patch-text.ts's YAML 1.1 reader.
 */
export function yamlPkg(): YamlPackage {
  return (yamlPackage ??= createRequire(import.meta.url)('yaml') as YamlPackage);
}

/** One document of a manifest stream. */
export interface ManifestDoc {
  /** The document's value: usually an object; scalars and lists pass through as they are. */
  value: JsonValue;
  /** 1-based position of the document in the stream, counting dropped empty documents. */
  docNumber: number;
  /**
   * Offsets `[start, end)` of the document's content in the parsed text, so an
   * unchanged document can be printed as its original text. The original text is
   * only equivalent for a YAML 1.1 reader if it quotes what 1.1 would re-type
   * (`on: yes` is two strings here, two booleans for Helm). Computed on first
   * access when the fast path read the stream.
   */
  source?: { start: number; end: number };
}

/**
 * A malformed manifest stream. `message` is one line:
 * `document 2, line 7, column 3: <reason>`; line and column are 1-based and
 * count from the start of the whole stream.
 */
export class ManifestParseError extends Error {
  constructor(
    readonly docNumber: number,
    readonly line: number,
    readonly col: number,
    readonly reason: string,
  ) {
    super(`document ${docNumber}, line ${line}, column ${col}: ${reason}`);
    this.name = 'ManifestParseError';
  }
}

/**
 * Upper bound on the nodes that alias expansion may materialise in one stream,
 * beyond 10x the nodes actually written (billion-laughs guard; go-yaml v3 has a
 * similar ratio check, "document contains excessive aliasing").
 */
const ALIAS_BUDGET_FLOOR = 100_000;

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Map([
  ['true', true], ['True', true], ['TRUE', true],
  ['false', false], ['False', false], ['FALSE', false],
]);
const SPECIAL_FLOATS = new Map<string, number>([
  ['.nan', NaN], ['.NaN', NaN], ['.NAN', NaN],
  ['.inf', Infinity], ['.Inf', Infinity], ['.INF', Infinity],
  ['+.inf', Infinity], ['+.Inf', Infinity], ['+.INF', Infinity],
  ['-.inf', -Infinity], ['-.Inf', -Infinity], ['-.INF', -Infinity],
]);
/** go-yaml v3 `yamlStyleFloat`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Go's `strconv.ParseInt(s, 0, 64)` syntax (then `ParseUint` for the positive
 * range up to 2^64-1): optional sign, `0x`/`0o`/`0b` prefixes, a leading `0`
 * meaning octal. Returns undefined when go would fail (syntax or range).
 */
export function parseGoInt(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  let v: bigint;
  if (/^0[oO]/.test(body)) v = BigInt('0o' + body.slice(2));
  else if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
  else v = BigInt(body.toLowerCase());
  if (m[1] === '-') v = -v;
  if (v >= INT64_MIN && v <= INT64_MAX) return v;
  // ParseUint takes no sign.
  return m[1] === '' && v <= UINT64_MAX ? v : undefined;
}

/** A bigint as a number when that is exact, else the bigint (JsonValue keeps huge ints). */
function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * The value of an untagged plain scalar, as go-yaml v3 `resolve("", s)` decodes
 * it into `interface{}`: null, bool, int (number, or bigint beyond 2^53), float,
 * or the string itself. Timestamps stay strings (v3 keeps them as strings when
 * decoding into `interface{}`). `.inf`/`.nan` give Infinity/NaN.
 */
export function resolvePlainScalar(s: string): JsonValue {
  const c0 = s.charCodeAt(0);
  // Only '', '~', n/N (null), t/T/f/F (bool), '.', '+', '-' and digits can be anything but a string.
  if (c0 > 0x39 && c0 !== 0x7e && c0 !== 0x6e && c0 !== 0x4e && c0 !== 0x74 && c0 !== 0x54 && c0 !== 0x66 && c0 !== 0x46) return s;
  if (NULLS.has(s)) return null;
  const b = BOOLS.get(s);
  if (b !== undefined) return b;
  const f = SPECIAL_FLOATS.get(s);
  if (f !== undefined) return f;
  const c = s[0];
  if (c === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? finiteOrString(s) : s;
  if (!/^[-+0-9]$/.test(c)) return s;
  const plain = s.replace(/_/g, '');
  const i = parseGoInt(plain);
  if (i !== undefined) return intValue(i);
  if (YAML_STYLE_FLOAT.test(plain)) return finiteOrString(plain);
  return s;
}

/** Go's ParseFloat fails (ErrRange) on overflow: the scalar then stays a string. */
function finiteOrString(s: string): JsonValue {
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

const STR_TAGS = new Set(['tag:yaml.org,2002:str', '!']);
const CHECKED_TAGS: Record<string, (v: JsonValue) => boolean> = {
  'tag:yaml.org,2002:null': (v) => v === null,
  'tag:yaml.org,2002:bool': (v) => typeof v === 'boolean',
  'tag:yaml.org,2002:int': (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)),
  'tag:yaml.org,2002:float': (v) => typeof v === 'number' || typeof v === 'bigint',
};


// ---------------------------------------------------------------------------
// Reference reader: the `yaml` package

interface WalkState {
  lc: LineCounter;
  docNumber: number;
  anchors: Map<string, { value?: JsonValue; size: number }>;
  aliasNodes: number;
  aliasBudget: number;
  /** Record empty nulls (see empty-nulls.ts). */
  emptyNulls: boolean;
}

function fail(st: WalkState, offset: number | undefined, reason: string): never {
  const { line, col } = st.lc.linePos(offset ?? 0);
  throw new ManifestParseError(st.docNumber, line, col, reason);
}

/** Number of JSON nodes in a value (for the alias budget). */
function sizeOf(v: JsonValue): number {
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + sizeOf(x), 1);
  if (isObject(v)) return Object.values(v).reduce<number>((n, x) => n + sizeOf(x), 1);
  return 1;
}

function scalarValue(st: WalkState, node: Scalar): JsonValue {
  const text = String(node.value ?? '');
  const tag = node.tag;
  const quoted = node.type !== undefined && node.type !== yamlPkg().Scalar.PLAIN;
  if (tag === undefined) return quoted ? text : resolvePlainScalar(text);
  if (STR_TAGS.has(tag)) return text;
  const check = CHECKED_TAGS[tag];
  if (!check) return text; // custom and other tags: go-yaml v3 keeps the text
  const v = resolvePlainScalar(text);
  if (!check(v)) fail(st, node.range?.[0], `cannot decode ${JSON.stringify(text)} as ${tag.replace('tag:yaml.org,2002:', '!!')}`);
  return v;
}

function aliasValue(st: WalkState, node: Alias): JsonValue {
  const a = st.anchors.get(node.source);
  if (!a) fail(st, node.range?.[0], `unknown anchor ${JSON.stringify(node.source)} referenced`);
  if (a.value === undefined) fail(st, node.range?.[0], `anchor ${JSON.stringify(node.source)} is used inside itself`);
  st.aliasNodes += a.size;
  if (st.aliasNodes > st.aliasBudget) {
    fail(st, node.range?.[0], `excessive aliasing: expanding aliases would build more than ${st.aliasBudget} nodes`);
  }
  return typeof a.value === 'object' && a.value !== null ? structuredClone(a.value) : a.value;
}

function nodeValue(st: WalkState, node: YamlNode | Alias | null): JsonValue {
  if (node === null) return null;
  const Y = yamlPkg();
  if (Y.isAlias(node)) return aliasValue(st, node);
  const anchor = node.anchor;
  if (anchor) st.anchors.set(anchor, { size: 0 });
  let v: JsonValue;
  if (Y.isScalar(node)) v = scalarValue(st, node);
  else if (Y.isMap(node)) v = mapValue(st, node.items as Pair[]);
  else if (Y.isSeq(node)) v = node.items.map((x) => nodeValue(st, x as YamlNode | null));
  else fail(st, undefined, 'unexpected node');
  if (anchor) st.anchors.set(anchor, { value: v, size: sizeOf(v) });
  return v;
}

/** A mapping key as text: go-yaml v3 decodes a key into a Go string as the scalar's source text. */
function keyText(st: WalkState, key: unknown): string {
  if (key === null || key === undefined) return '';
  const Y = yamlPkg();
  if (Y.isAlias(key)) {
    const v = aliasValue(st, key);
    if (typeof v === 'object' && v !== null) fail(st, key.range?.[0], 'a mapping key must be a scalar');
    return v === null ? '' : String(v);
  }
  if (Y.isScalar(key)) {
    if (key.anchor) st.anchors.set(key.anchor, { value: scalarValue(st, key), size: 1 });
    return String(key.value ?? '');
  }
  fail(st, (key as YamlNode).range?.[0], 'a mapping key must be a scalar');
}

function isMergeKey(key: unknown): boolean {
  const Y = yamlPkg();
  return Y.isScalar(key) && key.value === '<<' && (key.type === Y.Scalar.PLAIN || key.type === undefined) &&
    (key.tag === undefined || key.tag === 'tag:yaml.org,2002:merge');
}

/** The maps a `<<` value names, in precedence order (YAML merge key spec: earlier wins). */
function mergeSources(st: WalkState, value: YamlNode | Alias | null): JsonObject[] {
  const offset = value?.range?.[0];
  const items = yamlPkg().isSeq(value) ? (value.items as (YamlNode | Alias | null)[]) : [value];
  return items.map((item) => {
    const v = nodeValue(st, item);
    if (!isObject(v)) fail(st, item?.range?.[0] ?? offset, 'map merge (<<) requires a map or a sequence of maps as its value');
    return v;
  });
}

/** True when a map value node is an empty null: no node at all, or a plain scalar without text (`key:`). */
function isEmptyNode(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  const Y = yamlPkg();
  return Y.isScalar(node) && (node.type === undefined || node.type === Y.Scalar.PLAIN) && String(node.value ?? '') === '' && !node.anchor;
}

function mapValue(st: WalkState, pairs: Pair[]): JsonObject {
  const out: JsonObject = {};
  const explicit = new Set<string>();
  const merged: JsonObject[] = [];
  const empty: string[] = [];
  for (const pair of pairs) {
    if (isMergeKey(pair.key)) {
      merged.push(...mergeSources(st, pair.value as YamlNode | Alias | null));
      continue;
    }
    const k = keyText(st, pair.key);
    if (explicit.has(k)) fail(st, (pair.key as YamlNode | null)?.range?.[0], `mapping key ${JSON.stringify(k)} already defined`);
    explicit.add(k);
    const v = nodeValue(st, pair.value as YamlNode | Alias | null);
    setOwn(out, k, v);
    if (v === null && isEmptyNode(pair.value)) empty.push(k);
  }
  mergeInto(out, merged);
  if (st.emptyNulls) markMap(out, empty);
  return out;
}

/** YAML merge keys (`<<`): the keys of each source the map does not set itself, first source first. */
function mergeInto(out: JsonObject, merged: JsonObject[]): void {
  for (const src of merged) {
    for (const [k, v] of Object.entries(src)) {
      if (!Object.prototype.hasOwnProperty.call(out, k)) setOwn(out, k, v);
    }
  }
}

/** Marks a map read with empty nulls recorded: its own empty-null keys, or none when it only leads to one. */
function markMap(out: JsonObject, empty: string[]): void {
  if (empty.length > 0 || Object.keys(out).some((k) => leadsToEmptyNull(out[k]))) markEmptyNulls(out, empty);
}

const PARSE_OPTIONS = { schema: 'failsafe', prettyErrors: false, uniqueKeys: false, merge: false, strict: true } as const;

/**
 * `parseManifests` with the reference reader (the `yaml` package), whatever the
 * input. Internal: exported for the differential tests of the fast path.
 */
export function parseManifestsSlow(text: string, opts: ParseOptions = {}): ManifestDoc[] {
  const Y = yamlPkg();
  const lc = new Y.LineCounter();
  const docs = Y.parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lc });
  const list = Array.isArray(docs) ? docs : [];
  const st: WalkState = { lc, docNumber: 0, anchors: new Map(), aliasNodes: 0, aliasBudget: 0, emptyNulls: opts.emptyNulls === true };
  list.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err) {
      st.docNumber = i + 1;
      fail(st, err.pos[0], err.message.split('\n')[0]);
    }
  });
  const out: ManifestDoc[] = [];
  list.forEach((doc, i) => {
    const contents = doc.contents as YamlNode | null;
    st.docNumber = i + 1;
    st.anchors = new Map();
    st.aliasNodes = 0;
    st.aliasBudget = Math.max(ALIAS_BUDGET_FLOOR, 10 * countNodes(contents));
    const value = nodeValue(st, contents);
    if (value === null) return;
    const range = contents?.range;
    out.push({ value, docNumber: i + 1, ...(range ? { source: { start: range[0], end: range[1] } } : {}) });
  });
  return out;
}

/** Nodes written in the document (aliases count as one). */
function countNodes(node: unknown): number {
  const Y = yamlPkg();
  if (Y.isMap(node)) return (node.items as Pair[]).reduce((n, p) => n + countNodes(p.key) + countNodes(p.value), 1);
  if (Y.isSeq(node)) return node.items.reduce<number>((n, x) => n + countNodes(x), 1);
  return 1;
}

// ---------------------------------------------------------------------------
// Fast reader: js-yaml with our scalar resolution

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

/** Per-call state of the fast reader (parsing is synchronous: one at a time). */
const fast = { pending: undefined as unknown, wrapped: false, mergeKey: false, emptyNulls: false };
/** Thrown from the js-yaml callbacks to give up the fast path. */
const GIVE_UP = new Error('fast path not applicable');

/** `v` for js-yaml, wrapped when `String(v)` is not the scalar's text. */
function asConstructed(v: JsonValue, text: string): unknown {
  // With empty nulls recorded, a written null is wrapped: a bare null left in the result is then an empty node.
  if (String(v) === text && !(v === null && fast.emptyNulls)) return v;
  fast.wrapped = true;
  return new TextScalar(v, text);
}

/** Every plain scalar: `resolvePlainScalar`; a `false` result keeps the text as a string. */
const plainType = new Type('tag:yaml.org,2002:str', {
  // The tag is never matched explicitly: the explicit !!str below replaces it in the tag map.
  kind: 'scalar',
  resolve: (data: unknown) => {
    if (typeof data !== 'string') return false;
    if (data === '<<') fast.mergeKey = true;
    const v = resolvePlainScalar(data);
    if (v === data) return false;
    fast.pending = asConstructed(v, data);
    return true;
  },
  construct: () => fast.pending,
});

/**
 * The text of an explicitly tagged scalar. js-yaml passes null for an empty node,
 * and a value already resolved when the scalar is on the line after its tag:
 * both go to the reference reader.
 */
function taggedText(data: unknown): string {
  if (typeof data !== 'string') throw GIVE_UP;
  return data;
}

/** `!!null`, `!!bool`, `!!int`, `!!float` as `scalarValue` reads them (quoted, block or plain text alike). */
function checkedType(tag: string): Type {
  const check = CHECKED_TAGS[tag];
  return new Type(tag, {
    kind: 'scalar',
    resolve: (data: unknown) => {
      const text = taggedText(data);
      const v = resolvePlainScalar(text);
      if (!check(v)) return false;
      fast.pending = asConstructed(v, text);
      return true;
    },
    construct: () => fast.pending,
  });
}

const FAST_SCHEMA = new Schema({
  implicit: [plainType],
  explicit: [
    new Type('tag:yaml.org,2002:str', { kind: 'scalar', construct: taggedText }),
    ...Object.keys(CHECKED_TAGS).map(checkedType),
  ],
});

type EventState = JsYamlState & { tag: string | null; anchor: string | null };

function isSpaceOrBreak(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Start offsets of the nodes js-yaml is composing, innermost last (reset for each stream). */
let openNodes: number[] = [];

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

/** The last character before `p` that is not white space (comments are not skipped: a conservative caller gives up on them). */
function previousNonSpace(input: string, p: number): number {
  while (p > 0 && isSpaceOrBreak(input.charCodeAt(p - 1))) p--;
  return p > 0 ? input.charCodeAt(p - 1) : -1;
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
function onEvent(event: string, state: JsYamlState): void {
  const st = state as EventState;
  if (event === 'open') {
    openNodes.push(st.position);
    return;
  }
  const start = openNodes.pop() as number;
  if (st.anchor !== null || st.tag === '!') throw GIVE_UP;
  // An empty node (no kind): `unwrap` must run to record it.
  if (st.kind === null && fast.emptyNulls) fast.wrapped = true;
  const input = st.input;
  let p = st.position;
  let c = input.charCodeAt(p);
  // A comment right after a quoted scalar or a flow collection: js-yaml takes it, the reference wants white space first.
  if (c === 0x23 && p > 0 && !isSpaceOrBreak(input.charCodeAt(p - 1))) throw GIVE_UP;
  if (st.kind === 'scalar') return;
  while (c === 0x20 || c === 0x09) c = input.charCodeAt(++p);
  if (c === 0x3a) throw GIVE_UP;
  if (c === 0x2c || c === 0x7d) {
    // An entry of a flow collection: in a mapping, it is a key unless a ':' precedes it.
    const parent = openNodes[openNodes.length - 1];
    const kind = parent === undefined ? -1 : nextSignificant(input, parent);
    if (kind !== 0x5b && !(kind === 0x7b && previousNonSpace(input, start) === 0x3a)) throw GIVE_UP;
  }
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
 * True when the text holds something the fast path leaves to the reference
 * reader. Conservative (a match may be inside a scalar: that only costs the fast
 * path); each check names what js-yaml and the reference read differently.
 */
function needsReferenceReader(text: string): boolean {
  const last = text.slice(text.lastIndexOf('\n') + 1);
  return (
    // A BOM: the reference refuses `- ` right after a leading one; js-yaml reads a later one as content.
    text.includes('\ufeff') ||
    // `%` directives; verbatim tags `!<...>`.
    text.startsWith('%') || text.includes('\n%') || text.includes('!<') ||
    // Explicit keys `? ` (js-yaml turns a collection key into a string, an empty one into 'null').
    someAround(text, '?', (b, a) => isSeparator(b) && isSeparator(a)) ||
    // Content on a `---` or `...` line (the reference refuses a block collection there), `---#`.
    /^(?:---|\.\.\.)(?:[^\s]|[ \t]+[^\s#])/m.test(text) ||
    // Tabs in indentation, also after `- ` (the reference refuses some that js-yaml takes).
    (text.includes('\t') && /^[ -]*\t/m.test(text)) ||
    // Block scalar indentation indicators (read one column apart at the top level, and for blank lines).
    /(?<![^ \t\n])[|>][-+]?[0-9]/.test(text) ||
    // A comment right after `[`, `{` or `,` (js-yaml takes it; the reference wants white space before `#`).
    /[[{,]#/.test(text) ||
    // An empty `-` entry, then a line starting with `-` (js-yaml continues the inner list even when less indented).
    /(?<![^\s])-[ \t]*(?:#[^\n]*)?\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*-/.test(text) ||
    // A CR that does not end a CRLF: a line break for js-yaml only.
    (text.includes('\r') && /\r(?!\n)/.test(text)) ||
    // A tag or anchor alone on a line at column 0: js-yaml loses it when nothing follows.
    ((/^[!&]/.test(text) || text.includes('\n!') || text.includes('\n&')) && /^[!&][^\s]*(?:[ \t]+[!&][^\s]*)*[ \t]*(?:#[^\n]*)?\r?$/m.test(text)) ||
    // `key: !tag k: v`: js-yaml reads a nested mapping the reference refuses on one line.
    /:[ \t]+(?:[!&][^\s]*[ \t]+)+[^\n]*?:(?:[ \t]|\r?$)/m.test(text) ||
    // An explicit value `:` at column 0.
    text.startsWith(':') || text.includes('\n:') ||
    // A last line without a line break that is blank or a marker (js-yaml appends the break).
    /^(?:[ \t]+$|---|\.\.\.)/.test(last) ||
    // An escaped line break followed by a blank line in a double-quoted scalar (folded differently).
    (text.includes('\\') && /\\\r?\n[ \t]*\r?\n/.test(text)) ||
    hasLongLine(text)
  );
}

/**
 * Replaces `TextScalar`s by their values, in place. With empty nulls recorded,
 * a bare null map value is an empty node (written nulls are wrapped): marked.
 */
function unwrap(v: unknown): JsonValue {
  if (typeof v !== 'object' || v === null) return v as JsonValue;
  if (v instanceof TextScalar) return v.value;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) v[i] = unwrap(x);
    }
    return v as JsonValue[];
  }
  return unwrapMap(v as JsonObject);
}

function unwrapMap(obj: JsonObject): JsonObject {
  const empty: string[] = [];
  for (const k of Object.keys(obj)) {
    const x = obj[k];
    if (x === null) empty.push(k);
    else if (typeof x === 'object') {
      const u = unwrap(x);
      if (u !== x) setOwn(obj, k, u);
    }
  }
  if (fast.emptyNulls) markMap(obj, empty);
  return obj;
}

/** `source` of each document as the reference reader gives it, computed on first access (nothing in the pipeline reads it). */
function addLazySource(doc: ManifestDoc, text: string, ranges: { all?: (ManifestDoc['source'])[] }): ManifestDoc {
  Object.defineProperty(doc, 'source', {
    enumerable: true,
    configurable: true,
    get(this: ManifestDoc) {
      ranges.all ??= yamlPkg().parseAllDocuments(text, PARSE_OPTIONS)
        .map((d) => (d.contents?.range ? { start: d.contents.range[0], end: d.contents.range[1] } : undefined));
      const source = ranges.all[this.docNumber - 1];
      Object.defineProperty(this, 'source', { value: source, enumerable: true, writable: true, configurable: true });
      return source;
    },
  });
  return doc;
}

/**
 * `parseManifests` with js-yaml, or undefined when the result could differ from
 * the reference reader's (`parseManifestsSlow`), which the caller then runs.
 * Internal: exported for the differential tests.
 *
 * Gives up on: any js-yaml error or warning (so every error message is the
 * reference's), anchors and aliases, plain `<<` (merge keys), tags other than
 * `!!str !!null !!bool !!int !!float` (js-yaml refuses them), the `!` tag, an
 * explicitly tagged node that is empty or on the next line, collections or empty
 * nodes as keys, nesting deeper than js-yaml's 100 levels (`onEvent`), and the
 * text `needsReferenceReader` lists (directives, `? ` keys, a BOM, tabs in
 * indentation, indentation indicators, lines over 1024 characters, ...). Found
 * by differential fuzzing against the reference; test/kube/yaml-fast-path.test.ts
 * holds an example of each.
 */
export function parseManifestsFast(text: string, opts: ParseOptions = {}): ManifestDoc[] | undefined {
  if (needsReferenceReader(text)) return undefined;
  fast.wrapped = false;
  fast.mergeKey = false;
  fast.emptyNulls = opts.emptyNulls === true;
  // js-yaml pushes an empty `-` entry without composing a node (no event): `unwrap` must run to see it.
  if (fast.emptyNulls && /(?<![^\s])-[ \t]*(?:#[^\n]*)?$/m.test(text)) fast.wrapped = true;
  openNodes = [];
  let docs: unknown[];
  try {
    docs = loadAll(text, null, {
      schema: FAST_SCHEMA,
      listener: onEvent,
      onWarning: () => {
        throw GIVE_UP;
      },
    });
  } catch {
    return undefined;
  } finally {
    fast.pending = undefined;
    openNodes = [];
  }
  if (fast.mergeKey) return undefined;
  const ranges: { all?: (ManifestDoc['source'])[] } = {};
  const out: ManifestDoc[] = [];
  docs.forEach((d, i) => {
    const value = fast.wrapped ? unwrap(d) : (d as JsonValue);
    if (value !== null && value !== undefined) out.push(addLazySource({ value, docNumber: i + 1 }, text, ranges));
  });
  return out;
}

/**
 * Parse a multi-document manifest stream as kustomize v5.5 reads it (go-yaml v3
 * semantics, see the module comment).
 *
 * Input: YAML text (any number of `---`-separated documents; `...` markers,
 * comments, a BOM and CRLF are fine). Output: one `ManifestDoc` per non-empty
 * document, in stream order; empty, comment-only and `null` documents are dropped.
 * Anchors, aliases and `<<` merge keys are expanded into independent copies.
 * The fast path (js-yaml) and the reference reader (the `yaml` package) give the
 * same result; the reference runs whenever the fast path cannot vouch for that.
 *
 * Throws `ManifestParseError` (a one-line message with document number, line and
 * column) for malformed YAML, duplicate mapping keys, unknown anchors, non-scalar
 * keys, a bad `<<` value, a scalar that does not fit its explicit `!!int`/`!!bool`/...
 * tag, and excessive alias expansion (billion laughs).
 */
export function parseManifests(text: string, opts: ParseOptions = {}): ManifestDoc[] {
  return parseManifestsFast(text, opts) ?? parseManifestsSlow(text, opts);
}

/** Options of `parseManifests`. */
export interface ParseOptions {
  /**
   * Record which map values are empty nulls (`key:` with nothing after it), as
   * kustomize's strategic merge tells them from written nulls
   * (src/kube/empty-nulls.ts). `run` reads its input so; policy files need not.
   */
  emptyNulls?: boolean;
}

// ---------------------------------------------------------------------------
// Printing

type StringifyFn = NonNullable<ScalarTag['stringify']>;

/**
 * The string tag for printing: double quotes (escaped by us) for strings a 1.1
 * reader would re-type or that hold risky characters, literal blocks for
 * multi-line values, and the `yaml` package's own choice otherwise.
 */
function yaml11StringTag(base: ScalarTag): ScalarTag {
  const inner = base.stringify as StringifyFn;
  const { Scalar } = yamlPkg();
  const stringify: StringifyFn = (item, ctx, onComment, onChompKeep) => {
    const s = String(item.value);
    if (NEEDS_ESCAPES.test(s) || isAmbiguousInYaml11(s) || (s.includes('\n') && (ctx.implicitKey || BLANK_LINE.test(s) || ctx.indent === ''))) return doubleQuote(s);
    const it = s.includes('\n') && !ctx.implicitKey && !ctx.inFlow ? Object.assign(new Scalar(s), item, { type: Scalar.BLOCK_LITERAL }) : item;
    return inner(it, ctx, onComment, onChompKeep);
  };
  return { ...base, stringify };
}

/**
 * Numbers whose shortest form is an exponent without a dot (`1e+21`, `5e-7`) get
 * one (`1.0e+21`): PyYAML's float pattern needs the dot and would read a string.
 */
function yaml11NumberTag(base: ScalarTag): ScalarTag {
  const inner = base.stringify as StringifyFn;
  const stringify: StringifyFn = (item, ctx, onComment, onChompKeep) =>
    inner(item, ctx, onComment, onChompKeep).replace(/^([-+]?[0-9]+)([eE])/, '$1.0$2');
  return { ...base, stringify };
}

const NUMBER_TAGS = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

function printTags(tags: Tags): Tags {
  // The 1.1 schema's merge tag would claim the string '<<' and print it bare.
  const kept = tags.filter((t) => typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:merge');
  return kept.map((t) => {
    if (typeof t !== 'object' || !('stringify' in t) || !t.stringify) return t;
    if (t.tag === 'tag:yaml.org,2002:str') return yaml11StringTag(t as ScalarTag);
    return NUMBER_TAGS.has(t.tag) ? yaml11NumberTag(t as ScalarTag) : t;
  });
}

/** `yaml` package output options: go-yaml v2's layout (finding 35), no folding (finding 38 folds; readers unfold, we skip it). */
const TO_STRING_OPTIONS = {
  indent: 2,
  indentSeq: false,
  lineWidth: 0,
  minContentWidth: 0,
  blockQuote: 'literal',
  defaultStringType: 'PLAIN',
  defaultKeyType: null,
  nullStr: 'null',
  trueStr: 'true',
  falseStr: 'false',
} as const;

/** One document with the reference printer (the `yaml` package). */
function printDocumentSlow(v: JsonValue): string {
  const Y = yamlPkg();
  return new Y.Document(v, { version: '1.1', merge: false, customTags: printTags, keepUndefined: false }).toString(TO_STRING_OPTIONS);
}

/**
 * `printManifests` with the reference printer (the `yaml` package), whatever the
 * input. Internal: exported for the differential tests of yaml-print.ts.
 */
export function printManifestsSlow(values: JsonValue[]): string {
  return values.map(printDocumentSlow).join('---\n');
}

/**
 * Print values as a `---`-separated manifest stream, readable alike by YAML 1.1
 * (go-yaml v2, PyYAML: Helm, kubectl) and 1.2 readers.
 *
 * Input: JSON values (objects, or any value for pass-through documents; `bigint`
 * prints as plain digits). Output: block style, 2-space indent, list dashes at the
 * parent's indentation, no line folding, multi-line strings as literal blocks,
 * and every string (key or value) that a 1.1 reader would type differently
 * double-quoted (as go-yaml v2's encoder does, finding 37). Key order is kept
 * (kustomize sorts keys; readers ignore order). Empty input gives ''.
 * The text is the `yaml` package's (`printManifestsSlow`), printed by
 * yaml-print.ts; a document it does not print (an object occurring twice: an
 * anchor and aliases; values that are not JSON) goes to the `yaml` package.
 * Throws only for values that are not JSON (functions, symbols, cycles).
 */
export function printManifests(values: JsonValue[]): string {
  return values.map((v) => emitDocument(v) ?? printDocumentSlow(v)).join('---\n');
}

/**
 * Output normalisation kustomize v5.5 applies and nothing else (finding 39, case
 * 173): a top-level `metadata.annotations` that is `{}` or null is dropped
 * (`metadata.labels: {}` and null elsewhere stay). Returns a copy when something
 * changed, else the same value; never mutates its input. Annotations such as
 * Helm 4's `postrenderer.helm.sh/postrender-filename` are ordinary data and stay.
 */
export function normalizeForOutput<T extends JsonValue>(value: T): T {
  if (!isObject(value)) return value;
  const obj: JsonObject = value;
  const md = metadataOf(obj);
  if (!md || !Object.prototype.hasOwnProperty.call(md, 'annotations')) return value;
  const a = md.annotations;
  if (!(a === null || (isObject(a) && Object.keys(a).length === 0))) return value;
  const { annotations: _dropped, ...rest } = md;
  return { ...obj, metadata: rest } as unknown as T;
}
