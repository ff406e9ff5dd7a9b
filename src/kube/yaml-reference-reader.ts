/**
 * The reference manifest reader: the `yaml` package tokenises (failsafe schema:
 * every scalar arrives as text) and this module types the scalars as go-yaml v3
 * does (yaml-scalars.ts), expands aliases and `<<` merge keys into independent
 * copies within an alias budget, and rejects duplicate keys, as kustomize v5.5
 * reads a resource (kyaml `RNode.MarshalJSON` -> go-yaml v3 `yaml.Unmarshal`
 * into `interface{}`). The fast reader (yaml-fast-reader.ts) must give the same
 * result and hands everything else over to this one.
 */
import type { Alias, LineCounter, Node as YamlNode, Pair, Scalar } from 'yaml';
import { isObject, setOwn, type JsonObject, type JsonValue } from './object.js';
import { recordEmptyNulls } from './empty-nulls.js';
import { ManifestParseError, type ManifestDoc, type ParseOptions } from './manifest-doc.js';
import { CHECKED_TAGS, STR_TAGS, resolvePlainScalar } from './yaml-scalars.js';
import { REFERENCE_PARSE_OPTIONS, yamlPkg } from './yaml-package.js';

/**
 * Upper bound on the nodes that alias expansion may materialise in one stream,
 * beyond 10x the nodes actually written (billion-laughs guard; go-yaml v3 has a
 * similar ratio check, "document contains excessive aliasing").
 */
const ALIAS_BUDGET_FLOOR = 100_000;

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
  if (Y.isAlias(key)) return aliasKeyText(st, key);
  if (Y.isScalar(key)) {
    if (key.anchor) st.anchors.set(key.anchor, { value: scalarValue(st, key), size: 1 });
    return String(key.value ?? '');
  }
  fail(st, (key as YamlNode).range?.[0], 'a mapping key must be a scalar');
}

/** An alias used as a mapping key: the text of the scalar it names. */
function aliasKeyText(st: WalkState, key: Alias): string {
  const v = aliasValue(st, key);
  if (typeof v === 'object' && v !== null) fail(st, key.range?.[0], 'a mapping key must be a scalar');
  return v === null ? '' : String(v);
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
  if (st.emptyNulls) recordEmptyNulls(out, empty);
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

/**
 * `parseManifests` with the reference reader (the `yaml` package), whatever the
 * input. Internal: exported for the differential tests of the fast path.
 * Throws `ManifestParseError` as `parseManifests` documents.
 */
export function parseManifestsSlow(text: string, opts: ParseOptions = {}): ManifestDoc[] {
  const Y = yamlPkg();
  const lc = new Y.LineCounter();
  const docs = Y.parseAllDocuments(text, { ...REFERENCE_PARSE_OPTIONS, lineCounter: lc });
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
