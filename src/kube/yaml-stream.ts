/**
 * The manifest stream: multi-document YAML in, plain JSON values out, and back.
 *
 * Reading follows kustomize v5.5, which decodes every resource with go-yaml v3
 * (kyaml `RNode.MarshalJSON` -> `yaml.Unmarshal` into `interface{}`): YAML 1.2
 * core booleans and nulls (`yes`/`on` stay strings), but go's `strconv.ParseInt`
 * with base 0 for integers, so legacy octal `0755`, `0x1F`, `0o17`, `0b11` and
 * `1_000` are integers (go-yaml v3 resolve.go). The `yaml` package tokenises
 * (failsafe schema: every scalar arrives as text) and this module resolves the
 * scalars itself, expands aliases and `<<` merge keys, and rejects duplicate keys.
 *
 * Printing follows what kustomize's output reader needs: Helm and kubectl read
 * manifests with go-yaml v2 and PyYAML (YAML 1.1), so every string that a 1.1
 * reader would take for something else (`"on"`, `"0755"`, `"1:20"`, `"="`,
 * `"2024-01-01"`, ...) is double-quoted, as go-yaml v2's encoder does.
 */
import { Document, LineCounter, Scalar, parseAllDocuments, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Alias, Node as YamlNode, ScalarTag, Pair, Tags } from 'yaml';
import { isObject, metadataOf, type JsonObject, type JsonValue } from './object.js';

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
   * (`on: yes` is two strings here, two booleans for Helm).
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

interface WalkState {
  lc: LineCounter;
  docNumber: number;
  anchors: Map<string, { value?: JsonValue; size: number }>;
  aliasNodes: number;
  aliasBudget: number;
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
  const quoted = node.type !== undefined && node.type !== Scalar.PLAIN;
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
  if (isAlias(node)) return aliasValue(st, node);
  const anchor = node.anchor;
  if (anchor) st.anchors.set(anchor, { size: 0 });
  let v: JsonValue;
  if (isScalar(node)) v = scalarValue(st, node);
  else if (isMap(node)) v = mapValue(st, node.items as Pair[]);
  else if (isSeq(node)) v = node.items.map((x) => nodeValue(st, x as YamlNode | null));
  else fail(st, undefined, 'unexpected node');
  if (anchor) st.anchors.set(anchor, { value: v, size: sizeOf(v) });
  return v;
}

/** A mapping key as text: go-yaml v3 decodes a key into a Go string as the scalar's source text. */
function keyText(st: WalkState, key: unknown): string {
  if (key === null || key === undefined) return '';
  if (isAlias(key)) {
    const v = aliasValue(st, key);
    if (typeof v === 'object' && v !== null) fail(st, key.range?.[0], 'a mapping key must be a scalar');
    return v === null ? '' : String(v);
  }
  if (isScalar(key)) {
    if (key.anchor) st.anchors.set(key.anchor, { value: scalarValue(st, key), size: 1 });
    return String(key.value ?? '');
  }
  fail(st, (key as YamlNode).range?.[0], 'a mapping key must be a scalar');
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.value === '<<' && (key.type === Scalar.PLAIN || key.type === undefined) &&
    (key.tag === undefined || key.tag === 'tag:yaml.org,2002:merge');
}

/** The maps a `<<` value names, in precedence order (YAML merge key spec: earlier wins). */
function mergeSources(st: WalkState, value: YamlNode | Alias | null): JsonObject[] {
  const offset = value?.range?.[0];
  const items = isSeq(value) ? (value.items as (YamlNode | Alias | null)[]) : [value];
  return items.map((item) => {
    const v = nodeValue(st, item);
    if (!isObject(v)) fail(st, item?.range?.[0] ?? offset, 'map merge (<<) requires a map or a sequence of maps as its value');
    return v;
  });
}

/** `obj[k] = v` as an own data property, also for the key `__proto__`. */
function setOwn(obj: JsonObject, k: string, v: JsonValue): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

function mapValue(st: WalkState, pairs: Pair[]): JsonObject {
  const out: JsonObject = {};
  const explicit = new Set<string>();
  const merged: JsonObject[] = [];
  for (const pair of pairs) {
    if (isMergeKey(pair.key)) {
      merged.push(...mergeSources(st, pair.value as YamlNode | Alias | null));
      continue;
    }
    const k = keyText(st, pair.key);
    if (explicit.has(k)) fail(st, (pair.key as YamlNode | null)?.range?.[0], `mapping key ${JSON.stringify(k)} already defined`);
    explicit.add(k);
    setOwn(out, k, nodeValue(st, pair.value as YamlNode | Alias | null));
  }
  for (const src of merged) {
    for (const [k, v] of Object.entries(src)) {
      if (!Object.prototype.hasOwnProperty.call(out, k)) setOwn(out, k, v);
    }
  }
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
 *
 * Throws `ManifestParseError` (a one-line message with document number, line and
 * column) for malformed YAML, duplicate mapping keys, unknown anchors, non-scalar
 * keys, a bad `<<` value, a scalar that does not fit its explicit `!!int`/`!!bool`/...
 * tag, and excessive alias expansion (billion laughs).
 */
export function parseManifests(text: string): ManifestDoc[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    schema: 'failsafe', lineCounter: lc, prettyErrors: false, uniqueKeys: false, merge: false, strict: true,
  });
  const list = Array.isArray(docs) ? docs : [];
  const st: WalkState = { lc, docNumber: 0, anchors: new Map(), aliasNodes: 0, aliasBudget: 0 };
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
  if (isMap(node)) return (node.items as Pair[]).reduce((n, p) => n + countNodes(p.key) + countNodes(p.value), 1);
  if (isSeq(node)) return node.items.reduce<number>((n, x) => n + countNodes(x), 1);
  return 1;
}

// ---------------------------------------------------------------------------
// Printing

/** Plain scalars go-yaml v2 (resolve.go) reads as bool, null, merge or float specials. */
const YAML11_WORDS = new Set([
  '', '~', 'null', 'Null', 'NULL',
  'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO',
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  'on', 'On', 'ON', 'off', 'Off', 'OFF',
  '<<', '=',
]);
/**
 * Plain scalars some YAML 1.1 reader types as a number, date or special:
 * - go-yaml v2: base-0 ints after dropping `_` (`0o10`, `0b1`, `+1_0`),
 *   `yamlStyleFloat`, timestamps `YYYY-...`;
 * - PyYAML: ints `0[0-7_]+`, `0x[0-9a-fA-F_]+`, `0b[01_]+`, sexagesimal
 *   `1:20`, floats `[-+]?[0-9][0-9_]*\.[0-9_]*...`, `.5`, `.inf`, `.nan`,
 *   timestamps, and `=` (the value tag);
 * - the `yaml` package's 1.1 schema (`.`, `-.` are floats there).
 * Deliberately broad: quoting a string needlessly is harmless.
 */
const YAML11_NUMBERISH = [
  /^[-+]?[0-9_]*\.[0-9_]*([eE][-+]?[0-9_]+)?$/, // every decimal float spelling, and `.`, `._`
  /^[-+]?[0-9][0-9_]*([eE][-+]?[0-9_]+)?$/, // decimal and legacy octal ints, `1e3`
  /^[-+]?0[xXoObB][0-9a-fA-F_]*$/, // prefixed ints (even malformed ones: PyYAML crashes on `0x_`)
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/, // sexagesimal
  /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/,
  /^[0-9][0-9][0-9][0-9]-/, // timestamps
];
/**
 * Characters a plain or block scalar must not carry for a YAML 1.1 reader: tabs
 * (PyYAML rejects them in plain scalars), C0/C1 controls, DEL, NEL, LS/PS (line
 * breaks in 1.1), BOM, non-characters and lone surrogates.
 */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\t\r]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a YAML 1.1 reader (go-yaml v2, PyYAML) would read plain `s` as something other than the string `s`. */
export function isAmbiguousInYaml11(s: string): boolean {
  return YAML11_WORDS.has(s) || YAML11_NUMBERISH.some((re) => re.test(s));
}

/** `s` as a one-line double-quoted YAML scalar with every risky character escaped (go-yaml v2 and PyYAML read the escapes). */
export function doubleQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0xfffe || c === 0xffff || (c >= 0xd800 && c <= 0xdfff)) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

type StringifyFn = NonNullable<ScalarTag['stringify']>;

/**
 * The string tag for printing: double quotes (escaped by us) for strings a 1.1
 * reader would re-type or that hold risky characters, literal blocks for
 * multi-line values, and the `yaml` package's own choice otherwise.
 */
function yaml11StringTag(base: ScalarTag): ScalarTag {
  const inner = base.stringify as StringifyFn;
  const stringify: StringifyFn = (item, ctx, onComment, onChompKeep) => {
    const s = String(item.value);
    if (NEEDS_ESCAPES.test(s) || isAmbiguousInYaml11(s) || (ctx.implicitKey && s.includes('\n'))) return doubleQuote(s);
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
 * Throws only for values that are not JSON (functions, symbols, cycles).
 */
export function printManifests(values: JsonValue[]): string {
  return values
    .map((v) => new Document(v, { version: '1.1', merge: false, customTags: printTags, keepUndefined: false }).toString(TO_STRING_OPTIONS))
    .join('---\n');
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
