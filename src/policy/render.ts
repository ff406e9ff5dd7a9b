/**
 * The render front door: a manifest stream through a PolicySet, as a Helm
 * post-renderer (rendered manifests in, valid manifests out, an error instead
 * of partial output).
 *
 * Input document order is kept (kustomize sorts by kind; a post-renderer must
 * not). `*List` objects have their items transformed. Empty documents are
 * dropped; non-object documents pass through. Stream-level checks of kustomize
 * hold here (and only here): duplicate object ids, and stream requirements such
 * as a no-target patch or a `replicas` entry that matches nothing.
 */
import { CLUSTER_SCOPED_KINDS, deepEqual, formatResId, gvkOf, isListObject, isObject, metadataOf, metaMap, resIdOf, type JsonObject, type JsonValue, type KubeObject, type ResId } from '../kube/object.js';
import { builtinClusterScoped } from '../kube/resources.js';
import { createPatch } from '../patch/create-patch.js';
import { applyJson6902 } from '../patch/json6902.js';
import { normalizeForOutput, parseManifests, printManifests } from '../kube/yaml-stream.js';
import { isNamespace } from './compile.js';
import type { Evaluation } from './evaluate.js';
import type { Denial, PolicySet } from './types.js';

/** Options for a render. */
export interface RenderOptions {
  /**
   * Namespace assumed for namespaced objects without `metadata.namespace`
   * (Helm applies the release namespace at install time). Policies see it
   * as the object's `metadata.namespace`, as at admission (`admittedView`);
   * never written into the output objects.
   */
  namespace?: string;
  /** Labels of namespaces not defined in the stream (`--namespace-labels`). */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** A successful render. */
export interface RenderResult {
  /** The output manifests (YAML). */
  output: string;
  /** Warnings (Warn rules, audit reports, ignored errors), one line each, prefixed with the object id. */
  warnings: string[];
  /** Number of objects read (list items counted) and changed. */
  objects: number;
  changed: number;
}

/**
 * A render failure: every violation, one line each. Nothing may be printed on
 * stdout. `warnings`: the warnings of the render up to the failure (as
 * `RenderResult.warnings`), which an admission denial carries too
 * (`response.warnings` next to `allowed: false`; kubectl prints them).
 */
export class RenderError extends Error {
  constructor(readonly lines: string[], readonly kind: 'denied' | 'error', readonly warnings: readonly string[] = []) {
    super(lines.join('\n'));
    this.name = 'RenderError';
  }
}

/** Where an object sits in the stream: its document and, for a `*List`, its item index. */
export interface Slot {
  doc: number;
  item: number; // -1 for a top-level object
  object: KubeObject;
}

function collectSlots(values: JsonValue[]): Slot[] {
  const slots: Slot[] = [];
  values.forEach((v, doc) => {
    if (!isObject(v)) return;
    if (isListObject(v)) {
      (v.items as JsonValue[]).forEach((it, item) => {
        if (isObject(it)) slots.push({ doc, item, object: it });
      });
    } else {
      slots.push({ doc, item: -1, object: v });
    }
  });
  return slots;
}

/**
 * kustomize refuses a resource without `kind` or `metadata.name` (kyaml
 * `RNode.GetValidatedMetadata`, called by api/resource factory `dropBadNodes`
 * for every input object, `*List` items included): so does `run` when its
 * policy set holds a Kustomization, with kustomize's reason. Other dialects
 * take nameless objects as admission does (a Pod created by a ReplicaSet has
 * only `generateName`), so that `run` and the webhook agree on them.
 */
function checkIdentity(o: KubeObject, id: ResId): void {
  if (typeof o.kind !== 'string' || o.kind === '') {
    throw new RenderError([`missing kind in object ${formatResId(id)}: every input object needs kind and metadata.name (as kustomize requires)`], 'error');
  }
  if (!id.name) throw new RenderError([`missing metadata.name in object ${formatResId(id)}: every input object needs kind and metadata.name (as kustomize requires)`], 'error');
}

function idKey(id: ResId): string {
  return `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
}

function describe(d: Denial, id: ResId): string {
  return `${formatResId(id)}: denied by ${d.policy}/${d.rule}: ${d.message}`;
}

/** A manifest stream read for evaluation: its documents, the objects in them (list items included) and their ids. */
export interface ManifestStream {
  values: JsonValue[];
  slots: Slot[];
  ids: ResId[];
}

/**
 * Reads a manifest stream (multi-document YAML) as `run` reads it: empty nulls
 * recorded, since kustomize's strategic merge clears them
 * (src/kube/empty-nulls.ts). Throws a YAML Error (malformed input).
 */
export function readManifestStream(text: string): ManifestStream {
  const values = parseManifests(text, { emptyNulls: true }).map((d) => d.value);
  const slots = collectSlots(values);
  return { values, slots, ids: slots.map((s) => resIdOf(s.object)) };
}

/**
 * Scopes declared by the stream: `group/kind` -> true (cluster-scoped) or
 * false, for every kind whose CustomResourceDefinition is in the stream
 * (`spec.group`, `spec.names.kind`, `spec.scope: Cluster | Namespaced`): the
 * API server serves a custom kind with its CRD's scope
 * (apiextensions-apiserver `crdHandler`, `NamespaceScoped()` of its strategy
 * reads `spec.scope`).
 */
export function crdScopes(slots: readonly Slot[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>();
  for (const { object: o } of slots) {
    const g = gvkOf(o);
    if (g.kind !== 'CustomResourceDefinition' || g.group !== 'apiextensions.k8s.io' || !isObject(o.spec)) continue;
    const { group, names, scope } = o.spec;
    if (typeof group !== 'string' || !isObject(names) || typeof names.kind !== 'string') continue;
    if (scope === 'Cluster' || scope === 'Namespaced') scopes.set(`${group}/${names.kind}`, scope === 'Cluster');
  }
  return scopes;
}

/**
 * True when the API server would serve `id`'s kind cluster-scoped: the
 * built-in table for its group and kind (src/kube/builtin-resources.generated.ts),
 * else the scope of its CRD in the stream (`crdScopes`), else
 * `CLUSTER_SCOPED_KINDS` (kinds the table lacks: ours, legacy ones); any
 * other kind is taken as namespaced, as kustomize does without a schema.
 */
export function streamClusterScoped(id: ResId, scopes?: ReadonlyMap<string, boolean>): boolean {
  return builtinClusterScoped(id.group, id.kind) ?? scopes?.get(`${id.group}/${id.kind}`) ?? CLUSTER_SCOPED_KINDS.has(id.kind);
}

/**
 * The namespace an object is evaluated in, in every front door that reads a
 * stream (run, explain, check), as the API server sets the admission
 * request's: a Namespace's own name (handlers/create.go `createHandler`:
 * "if len(namespace) == 0 && scope.Resource == namespaceGVR { namespace =
 * name }"); '' for any other cluster-scoped kind (`streamClusterScoped`), even when
 * the chart gave it a `metadata.namespace` (the API server clears that one
 * before admission: k8s.io/apiserver endpoints/handlers/create.go
 * `createHandler`, rest.EnsureObjectNamespaceMatchesRequestNamespace); else
 * `metadata.namespace`, else `opts.namespace` (`-n`, default
 * $HELM_NAMESPACE, resolved by the CLI), else ''.
 */
export function streamNamespace(id: ResId, opts: RenderOptions, scopes?: ReadonlyMap<string, boolean>): string {
  if (id.kind === 'Namespace' && id.group === '') return id.name;
  if (streamClusterScoped(id, scopes)) return '';
  return id.namespace || (opts.namespace ?? '');
}

/**
 * The object as the API server hands it to admission (k8s.io/apiserver
 * handlers/create.go `createHandler`, before any admission plugin), when
 * `defaulted` (a set without a Kustomization, which sees objects as
 * kustomize does):
 * - namespace (rest.EnsureObjectNamespaceMatchesRequestNamespace): a
 *   cluster-scoped kind (a Namespace too) without the `metadata.namespace` a
 *   chart may have given it; a namespaced one without a namespace of its own
 *   (absent, null or '') with `namespace`, the request's (`-n`; '': left as
 *   it is);
 * - nulls: no map entry holding null (`withoutNulls`): the object is decoded
 *   into its Go type, where a null field is a nil pointer, map or slice and
 *   is not written back (`omitempty`); a CRD's structural schema prunes the
 *   nulls of fields that are not `nullable`.
 * Without `defaulted`, only the stray namespace of a cluster-scoped kind goes
 * (kustomize ignores it too: resid `EffectiveNamespace`). The object itself
 * when nothing differs; an object without a metadata map keeps its namespace.
 */
function admittedView(object: KubeObject, namespace: string, clusterScoped: boolean, defaulted: boolean): KubeObject {
  const base = defaulted ? namespaceDefaults(withoutNulls(object) as KubeObject) : object;
  const md = metadataOf(base);
  if (md === undefined) return base;
  if (clusterScoped) {
    if (!Object.prototype.hasOwnProperty.call(md, 'namespace')) return base;
    const { namespace: _cleared, ...metadata } = md;
    void _cleared;
    return { ...base, metadata };
  }
  if (!defaulted || namespace === '' || (typeof md.namespace === 'string' && md.namespace !== '')) return base;
  const entries = Object.entries(md).filter(([k]) => k !== 'namespace');
  const at = entries.findIndex(([k]) => k === 'name' || k === 'generateName');
  entries.splice(at + 1, 0, ['namespace', namespace]);
  return { ...base, metadata: Object.fromEntries(entries) };
}

/** The label every Namespace has, its own name (k8s.io/api core/v1 `LabelMetadataName`). */
const NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * A namespace's labels as the cluster holds them: with `kubernetes.io/metadata.name`
 * set to its name (pkg/apis/core/v1 defaults.go `SetDefaults_Namespace`,
 * since Kubernetes 1.21), whatever else is known of them.
 */
function withNameLabel(labels: Record<string, string>, name: string): Record<string, string> {
  return labels[NAME_LABEL] === name ? labels : { ...labels, [NAME_LABEL]: name };
}

/**
 * A Namespace object as decoding defaults it before admission
 * (`SetDefaults_Namespace`: its `kubernetes.io/metadata.name` label is its
 * name, when it has one); any other object as it is.
 */
function namespaceDefaults(o: KubeObject): KubeObject {
  const md = metadataOf(o);
  if (!isNamespace(o) || md === undefined || typeof md.name !== 'string' || md.name === '') return o;
  const labels = isObject(md.labels) ? md.labels : {};
  if (labels[NAME_LABEL] === md.name) return o;
  return { ...o, metadata: { ...md, labels: { ...labels, [NAME_LABEL]: md.name } } };
}

/**
 * `v` without the map entries holding null, at any depth (list items stay:
 * a null item is no field): `v` itself when it has none, else a copy of the
 * maps and lists on the way to them, the rest shared.
 */
export function withoutNulls(v: JsonValue): JsonValue {
  if (Array.isArray(v)) {
    let out: JsonValue[] | undefined;
    v.forEach((item, i) => {
      const next = withoutNulls(item);
      if (next !== item) (out ??= [...v])[i] = next;
    });
    return out ?? v;
  }
  if (!isObject(v)) return v;
  let out: JsonObject | undefined;
  for (const [k, item] of Object.entries(v)) {
    const next = item === null ? undefined : withoutNulls(item);
    if (next === item) continue;
    out ??= { ...v };
    if (next === undefined) delete out[k];
    else out[k] = next;
  }
  return out ?? v;
}

/**
 * `run`'s output for an object evaluated as `admittedView(input)`: the
 * policies' changes (the JSON patch from the view to the result, as the
 * webhook answers it) applied to the input, so that what the view differs in
 * (the namespace, nulls) stays as the chart wrote it unless a policy changed
 * it (the API server sets or drops those in any case). The input itself when
 * nothing changed; the result when the patch does not apply to the input (it
 * writes into a map that only the view's defaults made).
 */
function outputOf(input: KubeObject, view: KubeObject, result: KubeObject | null): KubeObject | null {
  if (view === input || result === null) return result;
  if (result === view) return input;
  try {
    return applyJson6902(input, createPatch(view, result));
  } catch {
    // The patch goes into a map only the view has (a Namespace's defaulted
    // labels, when the chart gave it none): the result, as the cluster
    // stores it, defaults included.
    return result;
  }
}

/** One object of a stream and its evaluation. */
export interface StreamEvaluation {
  id: ResId;
  /** The object as the stream holds it. */
  object: KubeObject;
  /**
   * `run`'s output for it: the policies' changes to the object as admission
   * sees it (`admittedView`), applied to the object as the stream holds it
   * (`outputOf`; null: a patch deleted it).
   */
  output: KubeObject | null;
  /** The EvaluationInput's namespace (see `streamNamespace`). */
  namespace: string;
  evaluation: Evaluation;
}

/** What one pass over the whole stream gives. */
interface StreamPass {
  results: StreamEvaluation[];
  satisfied: Set<string>;
  /** Cross-object steps whose snapshot was not known: each object's state there, for the first such step on its way. */
  unknown: Map<string, KubeObject[]>;
}

/** What every pass of one stream evaluation shares. */
interface StreamInput {
  stream: ManifestStream;
  policies: PolicySet;
  opts: RenderOptions;
  nsLabels: Map<string, Record<string, string>>;
  /** The custom kinds' scopes the stream's CRDs declare (`crdScopes`). */
  scopes: ReadonlyMap<string, boolean>;
}

/**
 * Evaluates every object of the stream once (`policies.evaluate`, the one
 * evaluation). `known` holds the stream snapshots of the cross-object steps
 * known so far; an object that reaches an unknown step records its state there
 * (only for the first unknown step on its way: what follows in that pass is
 * not yet right, and the pass is evaluated again).
 */
function evaluatePass(input: StreamInput, known: ReadonlyMap<string, KubeObject[]>): StreamPass {
  const { stream, policies, opts, nsLabels, scopes } = input;
  // A Kustomization sees the objects as kustomize does: without a namespace they do not have.
  const defaulted = !policies.kinds?.includes('Kustomization');
  const pass: StreamPass = { results: [], satisfied: new Set(), unknown: new Map() };
  let first: string | undefined;
  const snapshot = (key: string, object: KubeObject): readonly KubeObject[] | undefined => {
    const k = known.get(key);
    if (k) return k;
    if (first === undefined) {
      first = key;
      pass.unknown.set(key, [...(pass.unknown.get(key) ?? []), object]);
    }
    return undefined;
  };
  stream.slots.forEach((slot, i) => {
    first = undefined;
    const id = stream.ids[i] as ResId;
    const namespace = streamNamespace(id, opts, scopes);
    const view = admittedView(slot.object, namespace, streamClusterScoped(id, scopes), defaulted);
    const evaluation = policies.evaluate(view, {
      frontDoor: 'render',
      operation: 'CREATE',
      namespace,
      namespaceLabels: namespace === '' ? undefined : nsLabels.get(namespace) ?? withNameLabel({}, namespace),
      stream: stream.ids,
      satisfied: (k) => pass.satisfied.add(k),
      snapshot,
    });
    pass.results.push({ id, object: slot.object, output: outputOf(slot.object, view, evaluation.object), namespace, evaluation });
  });
  return pass;
}

/**
 * Evaluates every object of a stream as `run` does (each namespace's labels
 * with its `kubernetes.io/metadata.name`, as every namespace has): namespace by
 * `streamNamespace` (a cluster-scoped kind, built in or declared by a CRD
 * of the stream, is evaluated without a stray `metadata.namespace`, as the
 * API server presents it to admission; `output` puts it back), namespace labels from `--namespace-labels` and, winning
 * over them, the Namespace objects of the stream; the ids of the stream for
 * kustomize's cross-object fix-ups. Returns the evaluations in stream order
 * and the stream requirements satisfied. Never throws for policy failures.
 *
 * Cross-object steps (kustomize `replacements`, which kustomize runs over the
 * whole resource map at its place in the transformer order: api/filters/
 * replacement) need every object's state at that step: the stream is
 * evaluated, the snapshot of each first unknown step is fixed from what the
 * objects reaching it recorded, and the stream is evaluated again, until a
 * pass reaches no unknown step; that pass is the result. Every further pass
 * knows at least one more step, so there are at most (replacement entries + 1)
 * passes; a set without replacements evaluates once.
 */
export function evaluateStream(stream: ManifestStream, policies: PolicySet, opts: RenderOptions = {}): { results: StreamEvaluation[]; satisfied: Set<string> } {
  const nsLabels = new Map<string, Record<string, string>>(Object.entries(opts.namespaceLabels ?? {}));
  for (const s of stream.slots) if (isNamespace(s.object)) nsLabels.set(resIdOf(s.object).name, metaMap(s.object, 'labels'));
  for (const [name, labels] of nsLabels) nsLabels.set(name, withNameLabel(labels, name));
  const input: StreamInput = { stream, policies, opts, nsLabels, scopes: crdScopes(stream.slots) };
  const known = new Map<string, KubeObject[]>();
  let pass = evaluatePass(input, known);
  while (pass.unknown.size > 0) {
    for (const [key, states] of pass.unknown) known.set(key, states);
    pass = evaluatePass(input, known);
  }
  return { results: pass.results, satisfied: pass.satisfied };
}

/**
 * Renders `text` (multi-document YAML) through `policies`. Throws RenderError
 * (denials, transformer errors under failurePolicy Fail, unmet stream
 * requirements, duplicate ids) or a YAML Error (malformed input).
 */
export function renderManifests(text: string, policies: PolicySet, opts: RenderOptions = {}): RenderResult {
  const r = renderDocuments(text, policies, opts);
  return { output: r.documents === undefined ? text : printManifests(r.documents), warnings: r.warnings, objects: r.objects, changed: r.changed };
}

/**
 * `renderManifests` before printing: the output documents (input order, each
 * normalised for output; to print with `printManifests` or, piece by piece,
 * `printManifestsTo`), or `documents: undefined` when the input holds no
 * document (the output is then the input text as it is). Same errors.
 */
export function renderDocuments(text: string, policies: PolicySet, opts: RenderOptions = {}): Omit<RenderResult, 'output'> & { documents: JsonValue[] | undefined } {
  const stream = readManifestStream(text);
  // Helm 4 post-renders every template, hooks included, and refuses empty
  // output: a stream without documents (only comments) passes through as is.
  if (stream.values.length === 0) return { documents: undefined, warnings: [], objects: 0, changed: 0 };
  if (policies.kinds?.includes('Kustomization')) stream.slots.forEach((s, i) => checkIdentity(s.object, stream.ids[i] as ResId));
  checkUniqueIds(stream.ids);
  const { results: evaluated, satisfied } = evaluateStream(stream, policies, opts);
  const { warnings, changed } = collectOutcomes(evaluated);
  const unmet = policies.requirements.filter((q) => !satisfied.has(q.key));
  if (unmet.length) throw new RenderError(unmet.map((q) => q.message), 'error', warnings);
  const documents = rebuildDocuments(stream, evaluated.map((e) => e.output));
  return { documents, warnings, objects: stream.slots.length, changed };
}

/** Throws RenderError when two named objects of the stream have the same id. */
function checkUniqueIds(ids: ResId[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (!id.name) continue;
    const k = idKey(id);
    if (seen.has(k)) throw new RenderError([`duplicate object ${formatResId(id)} in the input`], 'error');
    seen.add(k);
  }
}

/**
 * The warnings (prefixed with the object's id) and the number of changed
 * objects; throws RenderError with every denial and error (`denied` when a
 * denial is not a transformer error).
 */
function collectOutcomes(evaluated: StreamEvaluation[]): { warnings: string[]; changed: number } {
  const warnings: string[] = [];
  const failures: string[] = [];
  let denied = false;
  let changed = 0;
  for (const { id, evaluation: r } of evaluated) {
    for (const w of r.warnings) warnings.push(`${formatResId(id)}: ${w}`);
    for (const d of r.denials) {
      failures.push(describe(d, id));
      if (!r.errors.some((e) => e.policy === d.policy && e.transformer === d.rule)) denied = true;
    }
    if (r.changed) changed++;
  }
  if (failures.length) throw new RenderError(failures, denied ? 'denied' : 'error', warnings);
  return { warnings, changed };
}

/**
 * The documents in input order with each slot's result in place (a removed
 * object, null, leaves its document or list item out), normalised for output.
 */
function rebuildDocuments({ values, slots }: ManifestStream, results: (KubeObject | null)[]): JsonValue[] {
  const out: JsonValue[] = values.map((v) => v);
  const listItems = new Map<number, JsonValue[]>();
  slots.forEach((slot, i) => {
    const obj = results[i];
    if (slot.item < 0) {
      out[slot.doc] = obj === null ? (undefined as unknown as JsonValue) : obj;
      return;
    }
    const items = listItems.get(slot.doc) ?? [...((values[slot.doc] as KubeObject).items as JsonValue[])];
    items[slot.item] = obj === null ? (undefined as unknown as JsonValue) : obj;
    listItems.set(slot.doc, items);
  });
  for (const [doc, items] of listItems) out[doc] = { ...(values[doc] as KubeObject), items: items.filter((x) => x !== undefined) };
  return out.filter((v) => v !== undefined).map((v) => (isObject(v) ? normalizeForOutput(v) : v));
}

/** True when two renders' outputs hold equal documents (for idempotence checks). */
export function sameManifests(a: string, b: string): boolean {
  const pa = parseManifests(a).map((d) => d.value);
  const pb = parseManifests(b).map((d) => d.value);
  return pa.length === pb.length && pa.every((v, i) => deepEqual(v, pb[i]));
}
