/**
 * The `replacements` transformer: kustomize `replacements` (builtin
 * ReplacementTransformer, api/filters/replacement/replacement.go), kustomize
 * v5.5. One transformer per entry: entries run in order, each over the whole
 * stream as the entries before it left it.
 *
 * An entry copies the value at `source.fieldPath` (default `metadata.name`) of
 * the one object the source selects into every `targets[].fieldPaths` of the
 * objects each target selects (and no `reject` selector rejects). Field paths
 * are dotted, with `[key=value]` list-element selectors, numeric list indexes
 * and `*` (every element); `options.delimiter`/`index` take (source) or
 * replace (target) one part of a delimited string (an index past the end
 * appends, a negative one prepends); `options.create` creates a missing target
 * field, else a missing one is an error. Errors, as kustomize's: "nothing
 * selected by ...", "fieldPath `...` is missing for replacement source ...",
 * "unable to find field "..." in replacement target". Messages never quote
 * values.
 *
 * Where the source comes from (`TransformContext.snapshot`): in `run`, the
 * stream as it stands at this entry (the render evaluates the stream again
 * until every entry's snapshot is known); at admission, the admitted object
 * itself, the only object there is (`crossObjectReason` lets the loader refuse
 * entries that would need another).
 */
import { gvkOf, isObject, metaString, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { compilePath, getPath, matchPath, PathError, scalarText, type PathSeg, type PathWrite } from '../kube/kyaml-path.js';
import { compileTarget, SelectorError, TARGET_FIELDS, type Target } from '../kube/selector.js';
import { CHECKED_TAGS, parseGoInt, resolvePlainScalar } from '../kube/yaml-scalars.js';
import { ConfigError, TransformError, type FactoryOptions, type TransformContext, type TransformerFactory } from './types.js';

/** `options` of a source or target. */
interface Options {
  delimiter?: string;
  index: number;
  create: boolean;
}

/** A compiled selector: exact resource-id fields plus label/annotation selectors (kustomize `resid.IsSelectedBy`). */
interface Selector {
  spec: Target;
  matches: (o: JsonObject) => boolean;
}

interface SourceSpec {
  select: Selector;
  fieldPath: PathSeg[];
  text: string;
  options: Options;
}

interface TargetSpec {
  select: Selector;
  reject: Selector[];
  fieldPaths: { segs: PathSeg[]; text: string }[];
  options: Options;
}

/** One compiled replacement entry. */
export interface Replacement {
  source: SourceSpec;
  targets: TargetSpec[];
}

const ENTRY_FIELDS = ['source', 'targets', 'path'];
const SOURCE_FIELDS = ['group', 'version', 'kind', 'name', 'namespace', 'fieldPath', 'options'];
const TARGET_SPEC_FIELDS = ['select', 'reject', 'fieldPaths', 'options'];
const OPTION_FIELDS = ['delimiter', 'index', 'create'];
const ID_FIELDS = ['group', 'version', 'kind', 'name', 'namespace'] as const;

function decodeMap(v: unknown, path: string, fields: readonly string[]): JsonObject {
  if (!isObject(v)) throw new ConfigError('must be a map', path);
  for (const k of Object.keys(v)) {
    if (!fields.includes(k)) throw new ConfigError(`unknown field ${JSON.stringify(k)}`, path ? `${path}.${k}` : k);
  }
  return v;
}

function str(m: JsonObject, key: string, path: string): string | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError('must be a string', path ? `${path}.${key}` : key);
  return v;
}

/** Splits a field path on dots outside `[...]` (kustomize `utils.SmarterPathSplitter`). Throws ConfigError. */
export function splitFieldPath(fp: string, path: string): string[] {
  const segs: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of fp) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (depth < 0) throw new ConfigError(`unbalanced brackets in field path ${JSON.stringify(fp)}`, path);
    if (c === '.' && depth === 0) {
      segs.push(cur);
      cur = '';
    } else cur += c;
  }
  segs.push(cur);
  if (depth !== 0) throw new ConfigError(`unbalanced brackets in field path ${JSON.stringify(fp)}`, path);
  if (segs.some((s) => s === '')) throw new ConfigError(`empty segment in field path ${JSON.stringify(fp)}`, path);
  return segs;
}

/** kyaml-path.ts `compilePath`, its refusals as a ConfigError at `path`. */
function compiledPath(segs: readonly string[], matcher: boolean, path: string): PathSeg[] {
  try {
    return compilePath(segs, matcher);
  } catch (e) {
    if (e instanceof PathError) throw new ConfigError(e.message, path);
    throw e;
  }
}

function decodeOptions(v: unknown, path: string): Options {
  if (v === undefined || v === null) return { index: 0, create: false };
  const m = decodeMap(v, path, OPTION_FIELDS);
  const index = m.index ?? 0;
  if (typeof index !== 'number' || !Number.isInteger(index)) throw new ConfigError('must be an integer', `${path}.index`);
  const create = m.create ?? false;
  if (typeof create !== 'boolean') throw new ConfigError('must be a boolean', `${path}.create`);
  return { delimiter: str(m, 'delimiter', path) || undefined, index, create };
}

function compileSelector(v: unknown, path: string): Selector {
  const m = decodeMap(v, path, TARGET_FIELDS);
  const spec: Target = {};
  for (const f of TARGET_FIELDS) {
    const s = str(m, f, path);
    if (s !== undefined) spec[f as keyof Target] = s;
  }
  let labels: (o: JsonObject) => boolean;
  try {
    labels = compileTarget({ labelSelector: spec.labelSelector, annotationSelector: spec.annotationSelector });
  } catch (e) {
    if (e instanceof SelectorError) throw new ConfigError(e.message, `${path}.${e.path}`);
    throw e;
  }
  return { spec, matches: (o) => idMatches(spec, o) && labels(o) };
}

/** Exact id comparison, empty fields matching anything. */
function idMatches(spec: Target, o: JsonObject): boolean {
  const g = gvkOf(o);
  const id: Record<(typeof ID_FIELDS)[number], string> = { group: g.group, version: g.version, kind: g.kind, name: metaString(o, 'name'), namespace: metaString(o, 'namespace') };
  return ID_FIELDS.every((f) => !spec[f] || spec[f] === id[f]);
}

function compileTargetSpec(v: unknown, path: string): TargetSpec {
  const m = decodeMap(v, path, TARGET_SPEC_FIELDS);
  if (m.select === undefined || m.select === null) throw new ConfigError('target must specify resources to select', `${path}.select`);
  const reject = m.reject ?? [];
  if (!Array.isArray(reject)) throw new ConfigError('must be a list', `${path}.reject`);
  const fps = m.fieldPaths ?? [];
  if (!Array.isArray(fps)) throw new ConfigError('must be a list', `${path}.fieldPaths`);
  return {
    select: compileSelector(m.select, `${path}.select`),
    reject: reject.map((r, i) => compileSelector(r, `${path}.reject[${i}]`)),
    fieldPaths: fps.map((fp, i) => {
      if (typeof fp !== 'string') throw new ConfigError('must be a string', `${path}.fieldPaths[${i}]`);
      return { segs: compiledPath(splitFieldPath(fp, `${path}.fieldPaths[${i}]`), true, `${path}.fieldPaths[${i}]`), text: fp };
    }),
    options: decodeOptions(m.options, `${path}.options`),
  };
}

/**
 * Compiles one `replacements` entry (already read from its `path:` file if it
 * had one). Throws ConfigError with a path relative to the entry.
 */
export function compileReplacement(v: unknown): Replacement {
  const m = decodeMap(v, '', ENTRY_FIELDS);
  const src = decodeMap(m.source, 'source', SOURCE_FIELDS);
  const { fieldPath: _fp, options: _o, ...id } = src;
  const text = str(src, 'fieldPath', 'source') ?? 'metadata.name';
  const targets = m.targets ?? [];
  if (!Array.isArray(targets)) throw new ConfigError('must be a list', 'targets');
  return {
    source: { select: compileSelector(id, 'source'), fieldPath: compiledPath(splitFieldPath(text, 'source.fieldPath'), false, 'source.fieldPath'), text, options: decodeOptions(src.options, 'source.options') },
    targets: targets.map((t, i) => compileTargetSpec(t, `targets[${i}]`)),
  };
}

/** The entries a `replacements` item stands for: itself, or what its `path:` file holds (one entry or a list). */
export function replacementEntries(v: unknown, opts: FactoryOptions): unknown[] {
  if (!isObject(v) || v.path === undefined) return [v];
  if (typeof v.path !== 'string') throw new ConfigError('must be a string', 'path');
  if (Object.keys(v).length > 1) throw new ConfigError('path cannot be combined with source or targets', 'path');
  if (!opts.readFile) throw new ConfigError(`cannot read ${JSON.stringify(v.path)}: no file access here`, 'path');
  let text: string;
  try {
    text = opts.readFile(v.path);
  } catch (e) {
    throw new ConfigError(`cannot read ${JSON.stringify(v.path)}: ${(e as Error).message}`, 'path');
  }
  return [text];
}

/**
 * Why an entry needs another object than the one it changes (a reason for a
 * load error at admission, where the webhook sees one object at a time), or
 * undefined when every target is the source object itself: the source names
 * kind and name, and each target's `select` names the same kind and name (and
 * the same group, version and namespace where the source names them).
 */
export function crossObjectReason(r: Replacement): string | undefined {
  const s = r.source.select.spec;
  if (!s.kind || !s.name) return 'the source must name its kind and name, and every target select the same object';
  for (const [i, t] of r.targets.entries()) {
    const sel = t.select.spec;
    const same = ID_FIELDS.every((f) => (f === 'kind' || f === 'name' || s[f] ? sel[f] === s[f] : true)) && sel.kind === s.kind && sel.name === s.name;
    if (!same) return `targets[${i}] may select another object than the source (${s.kind} ${s.name})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Values (replacement.go `getRefinedValue`, `setFieldValue`)

/** go-yaml v3's tag of a plain scalar's value (resolvePlainScalar), as its "cannot decode" errors name it. */
function tagOf(v: JsonValue, text: string): string {
  if (v === null) return '!!null';
  if (typeof v === 'boolean') return '!!bool';
  if (typeof v === 'string') return '!!str';
  return parseGoInt(text.replace(/_/g, '')) !== undefined ? '!!int' : '!!float';
}

/**
 * The value of an existing scalar field given new text: kustomize sets the
 * node's text and keeps its tag, so the field keeps its type (a string field
 * gets the text; a port given "8080" stays an integer) and text that its type
 * cannot decode fails the build as go-yaml's decode does ("cannot decode
 * !!str `x` as a !!int"; the message here names no value).
 */
function keepType(old: JsonValue, text: string, fp: string): JsonValue {
  if (typeof old === 'string') return text;
  const v = resolvePlainScalar(text);
  const tag = old === null ? 'null' : typeof old === 'boolean' ? 'bool' : typeof old === 'bigint' || Number.isInteger(old) ? 'int' : 'float';
  const check = CHECKED_TAGS[`tag:yaml.org,2002:${tag}`];
  if (tag === 'int' ? tagOf(v, text) === '!!int' : check?.(v)) return v;
  throw new TransformError(`cannot decode the new value of "${fp}" (a ${tagOf(v, text)}) as a !!${tag}: the field keeps its type`);
}

/** `options.delimiter`/`index` on the target's text: replace one part (an index past the end appends, a negative one prepends). */
function putPart(old: string, text: string, o: Options): string {
  if (!o.delimiter) return text;
  const parts = old.split(o.delimiter);
  if (o.index >= parts.length) parts.push(text);
  else if (o.index < 0) parts.unshift(text);
  else parts[o.index] = text;
  return parts.join(o.delimiter);
}

/**
 * replacement.go `setFieldValue`: the new value of one target field. A map or
 * list field (or one just created for a map or list value) becomes the value;
 * a scalar field gets the value's text (a map or list value has none: '')
 * with the delimiter option applied, typed as the field was (keepType), or as
 * plain YAML when the field was just created (kustomize creates it untagged).
 * Throws TransformError: the delimiter on a map or list field, text the
 * field's type cannot decode.
 */
// eslint-disable-next-line max-params -- the field, how it came to be, the value, the target's options and path
function fieldValue(old: JsonValue | undefined, createdText: string | undefined, value: JsonValue, o: Options, fp: string): JsonValue {
  const valueText = scalarText(value);
  const scalarTarget = createdText !== undefined ? createdText !== '' || valueText !== undefined : old !== undefined && scalarText(old) !== undefined;
  if (!scalarTarget) {
    if (o.delimiter) throw new TransformError(`delimiter option can only be used with scalar nodes (target "${fp}")`);
    return value;
  }
  const text = putPart(createdText ?? scalarText(old as JsonValue) ?? '', valueText ?? '', o);
  return createdText !== undefined ? resolvePlainScalar(text) : keepType(old as JsonValue, text, fp);
}

/** The source value, or a TransformError with kustomize's reason. */
function sourceValue(r: Replacement, from: readonly KubeObject[]): JsonValue {
  const s = r.source;
  const selected = from.filter((o) => s.select.matches(o));
  const id = selectorText(s.select.spec);
  if (selected.length === 0) throw new TransformError(`nothing selected by ${id}:${s.text}`);
  if (selected.length > 1) throw new TransformError(`more than one resource selected by ${id} for replacement source`);
  const v = sourceField(selected[0] as KubeObject, s, id);
  if (!s.options.delimiter) return v;
  const text = scalarText(v);
  if (text === undefined) throw new TransformError(`delimiter option can only be used with scalar nodes (replacement source ${id})`);
  const parts = text.split(s.options.delimiter);
  if (s.options.index < 0 || s.options.index >= parts.length) {
    throw new TransformError(`options.index ${s.options.index} is out of bounds for the value of replacement source ${id} (${parts.length} parts)`);
  }
  return parts[s.options.index] as string;
}

/** The value at the source's fieldPath (kyaml PathGetter), or a TransformError: missing (kyaml `IsNilOrEmpty`: null, {} and [] too), or a path kyaml cannot walk. */
function sourceField(obj: KubeObject, s: SourceSpec, id: string): JsonValue {
  let v: JsonValue | undefined;
  try {
    v = getPath(obj, s.fieldPath);
  } catch (e) {
    if (e instanceof PathError) throw new TransformError(`error looking up replacement source: ${e.message}`);
    throw e;
  }
  if (v === undefined || v === null || (typeof v === 'object' && Object.keys(v).length === 0)) {
    throw new TransformError(`fieldPath \`${s.text}\` is missing for replacement source ${id}`);
  }
  return v;
}

/** kustomize's selector print: `Kind.version.group/name.namespace` with `[noX]` for unset fields. */
function selectorText(t: Target): string {
  return `${t.kind || '[noKind]'}.${t.version || '[noVer]'}.${t.group || '[noGrp]'}/${t.name || '[noName]'}.${t.namespace || '[noNs]'}`;
}

/** Applies one compiled entry to one object, with the source value already read. */
export function applyReplacement(r: Replacement, obj: KubeObject, value: JsonValue): KubeObject {
  let out: JsonValue = obj;
  for (const t of r.targets) {
    if (!t.select.matches(obj) || t.reject.some((x) => x.matches(obj))) continue;
    for (const fp of t.fieldPaths) out = writeTarget(out, fp, value, t.options);
  }
  return out as KubeObject;
}

/**
 * Writes the value at one target field path (kyaml PathMatcher, replacement.go
 * `copyValueToTarget`), or a TransformError with kustomize's reason: a path
 * that reaches no field without `create`, or one kyaml cannot walk.
 */
function writeTarget(obj: JsonValue, fp: { segs: PathSeg[]; text: string }, value: JsonValue, o: Options): JsonValue {
  const w: PathWrite = { put: (old, createdText) => fieldValue(old, createdText, value, o, fp.text), create: o.create, hits: 0 };
  const what = o.create ? 'find or create' : 'find';
  let out: JsonValue;
  try {
    out = matchPath(obj, fp.segs, w);
  } catch (e) {
    if (e instanceof PathError) throw new TransformError(`unable to ${what} field "${fp.text}" in replacement target: ${e.message}`);
    throw e;
  }
  if (w.hits === 0 && !o.create) throw new TransformError(`unable to find field "${fp.text}" in replacement target`);
  return out;
}

let sequence = 0;

/**
 * The factory of one `replacements` entry (`config` is the entry, or its
 * `path:` file's text already parsed by the caller). Throws ConfigError.
 */
export const replacementTransformer: TransformerFactory = (config, opts) => {
  const r = compileReplacement(config);
  // A key per compiled entry: the render keeps one stream snapshot per key.
  const key = `replacement#${++sequence}`;
  // The source value per snapshot: read once, not once per target object.
  const values = new WeakMap<readonly KubeObject[], JsonValue>();
  return {
    type: 'replacements',
    name: opts.name,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject {
      if (!r.targets.some((t) => t.select.matches(obj))) {
        ctx.snapshot?.(key, obj);
        return obj;
      }
      const stream = ctx.snapshot ? ctx.snapshot(key, obj) : [obj];
      // In run, undefined until the render knows the stream at this entry (it evaluates again then).
      if (stream === undefined) return obj;
      let value = values.get(stream);
      if (value === undefined) {
        value = sourceValue(r, stream);
        if (stream.length > 1) values.set(stream, value);
      }
      return applyReplacement(r, obj, value);
    },
  };
};
