/**
 * The `patch` transformers: kustomize `patches` (builtin PatchTransformer) and
 * the deprecated `patchesStrategicMerge` and `patchesJson6902` entries
 * (PatchStrategicMergeTransformer, PatchJson6902Transformer), kustomize v5.5
 * (api/internal/builtins, api/resmap `ApplySmPatch`, api/resource
 * `ApplySmPatch`). Conformance findings 8-17.
 *
 * One transformer per kustomization entry; the pipeline applies entries in
 * kustomize's order (finding 32). The patch text is parsed and classified at
 * configuration time; `apply` only selects and patches.
 */
import { CLUSTER_SCOPED_KINDS, gvkOf, isNamespaceObject, isObject, metadataOf, setOwn, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { compileTarget, SelectorError, TARGET_FIELDS, type Target } from '../kube/selector.js';
import { applyJson6902, checkJson6902Ops, Json6902Error, type Json6902Op } from '../patch/json6902.js';
import { parseJson6902, parsePatchText, parseStrategicMergeDocs, PatchTextError } from '../patch/patch-text.js';
import { PatchError, strategicMerge } from '../patch/smp.js';
import { applyMapMerge, compileMapMerge, type MapMerge } from '../patch/smp-fast.js';
import { emptyNullKeys, explicitNulls } from '../kube/empty-nulls.js';
import { applyScalarSets, scalarSets, type ScalarSet } from '../patch/scalar-sets.js';
import {
  ConfigError, TransformError, type FactoryOptions, type StreamRequirement, type TransformContext,
  type Transformer, type TransformerFactory,
} from './types.js';

/** `options` of a `patches` entry (kustomize `Options map[string]bool`). */
export interface PatchOptions {
  /** Let a strategic-merge patch rename its target (otherwise the name is restored). */
  allowNameChange?: boolean;
  /** Let a strategic-merge patch change its target's kind (otherwise the kind is restored). */
  allowKindChange?: boolean;
  /** Accepted for kustomize compatibility: a target matching nothing is never an error here. */
  allowNoTargetMatch?: boolean;
}

/** Configuration of the `patch` transformer, i.e. one kustomize `patches` entry. */
export interface PatchConfig {
  patch?: string;
  path?: string;
  target?: Target;
  options?: PatchOptions;
}

const PATCH_FIELDS = ['patch', 'path', 'target', 'options'];
const OPTION_FIELDS = ['allowNameChange', 'allowKindChange', 'allowNoTargetMatch'];

// ---------------------------------------------------------------------------
// Strict config decoding (kustomize decodes the kustomization strictly, 228).

function decodeMap(v: unknown, path: string, fields: readonly string[]): JsonObject {
  if (!isObject(v)) throw new ConfigError('must be a map', path);
  for (const k of Object.keys(v)) {
    if (!fields.includes(k)) throw new ConfigError(`unknown field ${JSON.stringify(k)}`, path ? `${path}.${k}` : k);
  }
  return v;
}

function optString(m: JsonObject, key: string, path: string): string | undefined {
  const v = Object.prototype.hasOwnProperty.call(m, key) ? m[key] : undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError('must be a string', path ? `${path}.${key}` : key);
  return v;
}

function decodeTarget(v: unknown, path: string): Target | undefined {
  if (v === undefined || v === null) return undefined;
  const m = decodeMap(v, path, TARGET_FIELDS);
  const t: Target = {};
  for (const f of TARGET_FIELDS) {
    const s = optString(m, f, path);
    if (s !== undefined) (t as Record<string, string>)[f] = s;
  }
  return t;
}

function decodeOptions(v: unknown, path: string): PatchOptions {
  if (v === undefined || v === null) return {};
  const m = decodeMap(v, path, OPTION_FIELDS);
  const out: Record<string, boolean> = {};
  for (const [k, b] of Object.entries(m)) {
    if (typeof b !== 'boolean') throw new ConfigError('must be a boolean', `${path}.${k}`);
    out[k] = b;
  }
  return out;
}

/** compileTarget with its SelectorError turned into a ConfigError under `target`. */
function compile(t: Target, path: string): (obj: JsonObject, ns?: string) => boolean {
  try {
    return compileTarget(t);
  } catch (e) {
    if (e instanceof SelectorError) throw new ConfigError(e.message, `${path}.${e.path}`);
    throw e;
  }
}

/** Reads `path` with the injected reader; any failure is a ConfigError on `field` (210). */
function readPatchFile(path: string, opts: FactoryOptions, field: string): string {
  if (!opts.readFile) throw new ConfigError(`cannot read patch file ${JSON.stringify(path)}: no file access here`, field);
  try {
    return opts.readFile(path);
  } catch (e) {
    throw new ConfigError(`failed to get the patch file from path(${path}): ${(e as Error).message}`, field);
  }
}

// ---------------------------------------------------------------------------
// Application

/**
 * While transforming, kustomize keeps its internal annotations
 * (`config.kubernetes.io/index`, ...) on every resource, so `metadata.annotations`
 * always exists for a JSON patch: `add /metadata/annotations/x` works on an
 * object without annotations (conformance 082, 084), and kustomize drops the
 * map again at output when nothing else is left (finding 39). We emulate it
 * with an empty map that is removed again if it stays empty.
 */
function withAnnotationsMap(obj: KubeObject): KubeObject {
  const meta = metadataOf(obj);
  if (meta === undefined || (Object.prototype.hasOwnProperty.call(meta, 'annotations') && meta.annotations !== null)) return obj;
  return { ...obj, metadata: { ...meta, annotations: {} } };
}

function withoutEmptyAnnotations(out: KubeObject, before: KubeObject): KubeObject {
  const meta = metadataOf(out);
  const ann = meta?.annotations;
  if (meta === undefined || !isObject(ann) || Object.keys(ann).length > 0) return out;
  const was = metadataOf(before);
  if (was !== undefined && Object.prototype.hasOwnProperty.call(was, 'annotations') && was.annotations !== null) return out;
  const copy: JsonObject = { ...meta };
  if (was !== undefined && was.annotations === null) copy.annotations = null;
  else delete copy.annotations;
  return { ...out, metadata: copy };
}

/** A JSON6902 operation list and, when it is one, its ScalarSets (src/patch/scalar-sets.ts). */
interface Json6902Patch {
  readonly ops: readonly Json6902Op[];
  /** Set when every operation sets a scalar on a map key and none reaches `metadata` or its annotations (see `compileJson6902`). */
  readonly sets: readonly ScalarSet[] | undefined;
}

/**
 * Compiles a JSON6902 operation list once: its ScalarSets, unless an
 * operation's path is `/metadata` or under `/metadata/annotations`, where
 * the kustomize annotations map of `withAnnotationsMap` could matter.
 * Throws ConfigError at `field` for a list no document can take
 * (`checkJson6902Ops`: an unknown op, a missing `path` or `from`), which
 * kustomize reports when it applies the patch.
 */
function compileJson6902(ops: readonly Json6902Op[], field: string): Json6902Patch {
  try {
    checkJson6902Ops(ops);
  } catch (e) {
    if (e instanceof Json6902Error) throw new ConfigError(`operation ${e.index}: ${e.message}`, field);
    throw e;
  }
  const sets = scalarSets(ops);
  const nearAnnotations = sets?.some((s) => s.keys[1] === 'metadata' && (s.keys.length === 2 || s.keys[2] === 'annotations'));
  return { ops, sets: nearAnnotations ? undefined : sets };
}

/**
 * A JSON6902 application, with its error turned into a TransformError
 * carrying the pointer. Scalars set on map keys of an object without empty
 * nulls take `applyScalarSets`, which gives the content of the general path
 * (the annotations map added and removed again, `explicitNulls` a no-op); a
 * new object either way, as applyJson6902 always copies.
 */
function runJson6902(obj: KubeObject, patch: Json6902Patch): KubeObject {
  if (patch.sets !== undefined && emptyNullKeys(obj) === undefined) {
    const fast = applyScalarSets(obj, patch.sets);
    if (fast !== undefined) return fast === obj ? { ...obj } : fast;
  }
  let out: unknown;
  try {
    out = applyJson6902(withAnnotationsMap(obj), patch.ops);
  } catch (e) {
    if (e instanceof Json6902Error) throw new TransformError(e.message, e.path);
    throw e;
  }
  if (!isObject(out)) throw new TransformError('JSON patch did not yield an object');
  // kustomize applies JSON6902 to the object marshalled as JSON: every null comes back written (src/kube/empty-nulls.ts).
  return withoutEmptyAnnotations(explicitNulls(out), obj);
}

/**
 * Sets or deletes one `metadata` field of `obj`, a strategic merge's result,
 * as it was in `before`. A `metadata` map the merge built (not `before`'s own:
 * strategicMerge copies every map it writes to) is fixed in place; else the
 * result gets a fresh copy.
 */
function restoreMeta(obj: JsonObject, before: JsonObject, field: 'name' | 'namespace'): JsonObject {
  const was = metadataOf(before);
  const meta = metadataOf(obj);
  if (sameField(was, meta, field)) return obj;
  // The merge's own map is fixed in place; the input's is copied.
  const target: JsonObject = meta !== undefined && meta !== was ? meta : { ...(meta ?? {}) };
  if (was !== undefined && hasField(was, field)) target[field] = was[field];
  else delete target[field];
  return target === meta ? obj : { ...obj, metadata: target };
}

/** True when `field` is absent from both metadata maps, or present in both with the same value. */
function sameField(was: JsonObject | undefined, meta: JsonObject | undefined, field: string): boolean {
  if (!hasField(was, field)) return !hasField(meta, field);
  return hasField(meta, field) && meta![field] === was![field];
}

/** True when `meta` (a metadata map, if any) has its own `field`. */
function hasField(meta: JsonObject | undefined, field: string): boolean {
  return meta !== undefined && Object.prototype.hasOwnProperty.call(meta, field);
}

/** A strategic-merge patch document and its compiled map merge (src/patch/smp-fast.ts), when it is one. */
interface SmpDoc {
  readonly doc: JsonObject;
  /** The document as a map merge, without what `runSmp` restores anyway (see `smpDoc`), or undefined. */
  readonly fast: MapMerge | undefined;
  /** The scalar `metadata` fields left out of `fast` (`name`, `namespace`). */
  readonly restored: readonly ('name' | 'namespace')[];
  /**
   * True when `fast` merges nothing into the `metadata` fields `runSmp`
   * restores (`namespace`, and `name` unless the name may change): after the
   * compiled merge they are as they were, and restoring them changes nothing.
   */
  readonly keepsRestored: boolean;
}

/**
 * Compiles a strategic-merge patch document once, at configuration time, into
 * a map merge without `apiVersion` (the object's own replaces it) and without
 * the scalar `metadata.namespace`, and `metadata.name` unless the name may
 * change: `runSmp` restores both after the merge, so merging them first only
 * adds keys to delete again (which also turns the map into a slow dictionary).
 */
function smpDoc(doc: JsonObject, options: PatchOptions): SmpDoc {
  const restored = options.allowNameChange ? (['namespace'] as const) : (['name', 'namespace'] as const);
  const rest: JsonObject = {};
  for (const k of Object.keys(doc)) if (k !== 'apiVersion') setOwn(rest, k, doc[k] as JsonValue);
  const meta = rest.metadata;
  const left: ('name' | 'namespace')[] = [];
  if (isObject(meta)) {
    const m: JsonObject = {};
    for (const k of Object.keys(meta)) {
      const v = meta[k];
      if ((restored as readonly string[]).includes(k) && v !== null && typeof v !== 'object') left.push(k as 'name' | 'namespace');
      else setOwn(m, k, v as JsonValue);
    }
    rest.metadata = m;
  }
  const fast = compileMapMerge(rest);
  return { doc, fast, restored: left, keepsRestored: !mergesInto(fast, 'metadata', restored) };
}

/** True when the compiled merge `fast` merges one of `keys` into its map at `field`. */
function mergesInto(fast: MapMerge | undefined, field: string, keys: readonly string[]): boolean {
  const merged = fast?.fields.find((f) => f.key === field)?.map?.fields ?? [];
  return merged.some((f) => keys.includes(f.key));
}

/**
 * True when the compiled merge of `patch` decides for `obj`: its apiVersion
 * is not null (the merge deletes a null one) and no metadata field left out
 * of it holds a map or list there (the merge fails on those: wrong node kind).
 */
function fastApplies(obj: KubeObject, patch: SmpDoc): boolean {
  if (patch.fast === undefined || obj.apiVersion === null) return false;
  const meta = metadataOf(obj);
  if (meta === undefined) return true;
  for (const f of patch.restored) {
    const v = meta[f];
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/**
 * The strategic merge of `patch` into `obj` with the object's apiVersion
 * (kustomize: the patch takes it) by `strategicMerge`, where the compiled map
 * merge does not decide (`runSmp`). An `apiVersion: null` on the object is
 * deleted by the merge, so it takes this path. Null: the patch deletes the object.
 */
function generalSmp(obj: KubeObject, patch: SmpDoc): JsonObject | null {
  const p: JsonObject = { ...patch.doc };
  if (obj.apiVersion !== undefined) p.apiVersion = obj.apiVersion;
  else delete p.apiVersion;
  try {
    return strategicMerge(obj, p);
  } catch (e) {
    if (e instanceof PatchError) throw new TransformError(e.message, e.path);
    throw e;
  }
}

/**
 * One strategic-merge application as kustomize resmap/resource `ApplySmPatch`:
 * the patch takes the object's apiVersion; after the merge, kind and name are
 * restored unless allowed to change, and the namespace is always restored.
 * Returns null when the patch deletes the object (`$patch: delete`, 038/087).
 */
function runSmp(obj: KubeObject, patch: SmpDoc, options: PatchOptions): KubeObject | null {
  const fast = fastApplies(obj, patch) ? applyMapMerge(obj, patch.fast as MapMerge) : undefined;
  // The compiled merge left name and namespace as they were (keepsRestored): restoring them would change nothing.
  if (fast !== undefined && patch.keepsRestored) return keptKind(fast, obj, options);
  const out = fast ?? generalSmp(obj, patch);
  if (out === null) return null;
  return restoreMeta(restoreName(keptKind(out, obj, options), obj, options), obj, 'namespace');
}

/** `out` with `obj`'s kind restored unless the kind may change. */
function keptKind(out: JsonObject, obj: KubeObject, options: PatchOptions): JsonObject {
  return options.allowKindChange || out.kind === obj.kind ? out : withKind(out, obj);
}

/** `out` with `obj`'s metadata name restored unless the name may change. */
function restoreName(out: JsonObject, obj: KubeObject, options: PatchOptions): JsonObject {
  return options.allowNameChange ? out : restoreMeta(out, obj, 'name');
}

/** A copy of a merge's result `out` with `obj`'s kind (deleted when `obj` has none). */
function withKind(out: JsonObject, obj: KubeObject): JsonObject {
  const copy = { ...out };
  if (obj.kind === undefined) delete copy.kind;
  else copy.kind = obj.kind;
  return copy;
}

/** kustomize's printable id of a patch: `Service.v1.[noGrp]/web.[noNs]`. */
function patchId(doc: JsonObject): string {
  const { group, version, kind } = gvkOf(doc);
  const meta = metadataOf(doc);
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const ns = typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : '[noNs]';
  return `${kind}.${version || '[noVer]'}.${group || '[noGrp]'}/${name}.${ns}`;
}

/**
 * The namespace a patch matches against: the object's own `metadata.namespace`
 * as the chain has left it (a `namespace` transformer earlier in kustomize's
 * order moves the object, and a later `patchesJson6902` target selects the new
 * namespace: finding 32), else the request's (an admitted object may carry
 * none; in `run`, the release namespace). A Namespace has none: its request
 * names itself as its namespace (the API server sets it so), but kustomize
 * selects it as a kind without namespace (resid `EffectiveNamespace`).
 */
function namespaceOf(obj: JsonObject, ctx: TransformContext): string {
  const ns = metadataOf(obj)?.namespace;
  if (typeof ns === 'string' && ns !== '') return ns;
  return isNamespaceObject(obj) ? '' : ctx.namespace;
}

/**
 * True when a no-target patch document names `obj` (kustomize `GetById`):
 * same group, version, kind and name; namespaces compared as kustomize
 * `ResId.IsNsEquals` (''  and `default` are the same; cluster-scoped kinds
 * ignore it). Finding 8: a patch without namespace does not match `prod`.
 */
function idMatches(doc: JsonObject, obj: JsonObject, namespace: string): boolean {
  const d = gvkOf(doc);
  const o = gvkOf(obj);
  if (d.group !== o.group || d.version !== o.version || d.kind !== o.kind) return false;
  const name = metadataOf(doc)?.name;
  if (name !== metadataOf(obj)?.name) return false;
  if (CLUSTER_SCOPED_KINDS.has(d.kind)) return true;
  const ns = metadataOf(doc)?.namespace;
  const norm = (s: unknown): string => (typeof s === 'string' && s !== '' ? s : 'default');
  return norm(ns) === norm(namespace);
}

/** A compiled no-target SMP document and its requirement key. */
interface IdPatch {
  doc: JsonObject;
  smp: SmpDoc;
  key: string;
}

/** Builds the no-target SMP transformer: each document patches the object with its id (finding 8). */
function byIdTransformer(type: string, opts: FactoryOptions, docs: JsonObject[], options: PatchOptions): Transformer {
  const patches: IdPatch[] = docs.map((doc, i) => ({ doc, smp: smpDoc(doc, options), key: `${opts.name}#${i}` }));
  const requirements: StreamRequirement[] = patches.map(({ doc, key }) => {
    const id = patchId(doc);
    const reason = `no matches for Id ${id}; failed to find unique target for patch ${id}`;
    // kustomize's `patches` prefixes the reason (234); `patchesStrategicMerge` does not (227).
    return { key, message: type === 'patch' ? `no resource matches strategic merge patch "${id}": ${reason}` : reason };
  });
  return {
    type,
    name: opts.name,
    requirements,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject | null {
      let cur: KubeObject = obj;
      for (const { doc, smp, key } of patches) {
        if (!idMatches(doc, cur, namespaceOf(cur, ctx))) continue;
        ctx.satisfied(key);
        const next = runSmp(cur, smp, options);
        if (next === null) return null;
        cur = next;
      }
      return cur;
    },
  };
}

/** Builds a targeted transformer: every object matching `target` gets `run`. */
function targetedTransformer(
  type: string, opts: FactoryOptions, matches: (o: JsonObject, ns?: string) => boolean,
  run: (obj: KubeObject) => KubeObject | null,
): Transformer {
  return {
    type,
    name: opts.name,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject | null {
      return matches(obj, namespaceOf(obj, ctx)) ? run(obj) : obj;
    },
  };
}

/** Parses a patch text, turning a PatchTextError into a ConfigError on `field`. */
function parseText<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PatchTextError) throw new ConfigError(e.message, field);
    throw e;
  }
}

/**
 * The text of an entry that gives exactly one of `patch` (inline text) and
 * `path` (a file read with `opts.readFile`), and the field it came from.
 * Throws ConfigError with kustomize's message for neither and for both.
 */
function patchSource(inline: string, path: string, opts: FactoryOptions, messages: { neither: string; both: string }): { field: 'patch' | 'path'; text: string } {
  if (inline === '' && path === '') throw new ConfigError(messages.neither, '');
  if (inline !== '' && path !== '') throw new ConfigError(messages.both, '');
  return inline !== '' ? { field: 'patch', text: inline } : { field: 'path', text: readPatchFile(path, opts, 'path') };
}

/**
 * The `patch` transformer (kustomize `patches:` entry, builtin
 * PatchTransformer). Config: `{patch?: string, path?: string, target?: Target,
 * options?: {allowNameChange?, allowKindChange?, allowNoTargetMatch?}}`,
 * exactly one of `patch` (trimmed; empty counts as absent, 220) and `path`
 * (read with `opts.readFile`; a missing file is a ConfigError, 210).
 *
 * The text is JSON6902 (a list) or strategic merge (maps with kind and name,
 * several documents allowed) as `parsePatchText`. With `target`, the patch
 * applies to every matching object (regex fields, selectors; 070-086), the
 * SMP's own apiVersion/kind/name are ignored (072), a target matching nothing
 * is no error (079), top-level `$patch: delete` drops every match (087).
 * Without `target`, JSON6902 is a ConfigError (206) and each SMP document
 * applies to the object with its exact id, and is a StreamRequirement (234).
 *
 * Throws ConfigError with a path relative to the entry (unknown fields 228,
 * invalid regex 214, invalid selector 224, unparsable text 212/222).
 */
export const patchTransformer: TransformerFactory = (config, opts) => {
  const m = decodeMap(config, '', PATCH_FIELDS);
  const target = decodeTarget(m.target, 'target');
  const options = decodeOptions(m.options, 'options');
  const inline = (optString(m, 'patch', '') ?? '').trim();
  const { field, text } = patchSource(inline, optString(m, 'path', '') ?? '', opts, {
    neither: 'must specify one of patch and path',
    both: "patch and path can't be set at the same time",
  });
  const parsed = parseText(field, () => parsePatchText(text));
  const matches = target ? compile(target, 'target') : undefined;
  if (parsed.type === 'json6902') {
    if (!matches) throw new ConfigError(`must specify a target for JSON patch [${field}: ${JSON.stringify(text)}]`, 'target');
    const patch = compileJson6902(parsed.ops, field);
    return targetedTransformer('patch', opts, matches, (obj) => runJson6902(obj, patch));
  }
  if (!matches) return byIdTransformer('patch', opts, parsed.docs, options);
  if (parsed.docs.length !== 1) {
    throw new ConfigError('Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field', field);
  }
  const smp = smpDoc(parsed.docs[0] as JsonObject, options);
  return targetedTransformer('patch', opts, matches, (obj) => runSmp(obj, smp, options));
};

/**
 * The deprecated `patchesStrategicMerge` entry (builtin
 * PatchStrategicMergeTransformer). Config: a string that is either inline
 * strategic-merge documents or a file path: as kustomize `loadFromPaths`, the
 * string is first parsed as patch documents and read as a file only when that
 * fails (042). Each document patches the object with its exact id and must
 * match one (StreamRequirement, 227). Throws ConfigError.
 */
export const patchesStrategicMergeTransformer: TransformerFactory = (config, opts) => {
  if (typeof config !== 'string') throw new ConfigError('must be a string (an inline patch or a file path)', '');
  let docs: JsonObject[];
  try {
    docs = parseStrategicMergeDocs(config);
  } catch {
    const text = readPatchFile(config, opts, '');
    docs = parseText('', () => parseStrategicMergeDocs(text));
  }
  if (docs.length === 0) throw new ConfigError(`patch appears to be empty; files=[${config}]`, '');
  return byIdTransformer('patchesStrategicMerge', opts, docs, {});
};

/**
 * The deprecated `patchesJson6902` entry (builtin PatchJson6902Transformer).
 * Config: `{target: Target (name required), path | patch, options?}`; the
 * text is a JSON6902 op list (JSON or YAML) with at least one op. No target
 * makes kustomize v5.5 panic (211); here it is a ConfigError, as is a target
 * without `name` ("must specify the target name"). Applies to every match; a
 * target matching nothing is no error.
 */
export const patchesJson6902Transformer: TransformerFactory = (config, opts) => {
  const m = decodeMap(config, '', PATCH_FIELDS);
  const target = decodeTarget(m.target, 'target');
  decodeOptions(m.options, 'options');
  if (!target) throw new ConfigError('must specify a target', 'target');
  if (!target.name) throw new ConfigError('must specify the target name', 'target.name');
  const { field, text } = patchSource(optString(m, 'patch', '') ?? '', optString(m, 'path', '') ?? '', opts, {
    neither: 'empty file path and empty jsonOp',
    both: 'must specify a file path or jsonOp, not both',
  });
  const ops = parseText(field, () => parseJson6902(text));
  if (ops.length === 0) throw new ConfigError('patch appears to be empty', field);
  const matches = compile(target, 'target');
  const patch = compileJson6902(ops, field);
  return targetedTransformer('patchesJson6902', opts, matches, (obj) => runJson6902(obj, patch));
};
