/**
 * Field specs: where images, pod templates, selectors, labels, annotations,
 * replicas and namespaces live per kind, as data.
 *
 * The tables mirror kustomize v5.5 `api/konfig/builtinpluginconsts`
 * (commonlabels.go, metadatalabels.go, commonannotations.go, images.go,
 * replicas.go, namespace.go); the traversal mirrors
 * `api/filters/fieldspec/fieldspec.go`. Unlike kustomize, traversal is
 * copy-on-write: the input is never mutated and unchanged subtrees are shared.
 */
import { copyFor, getOwn, isObject, setOwn, type JsonObject, type JsonValue } from './object.js';

/**
 * One kustomize `types.FieldSpec`: a slash-separated `path` (`name[]` marks a
 * list; a list met without the marker is also traversed element by element),
 * an optional group/version/kind filter (empty matches anything, compared
 * exactly) and whether missing fields are created.
 */
export interface FieldSpec {
  readonly group?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly path: string;
  readonly create?: boolean;
}

// eslint-disable-next-line max-params -- a row constructor for the field-spec tables below: positional, they read as kustomize's tables
const fs = (path: string, create: boolean, kind?: string, group?: string, version?: string): FieldSpec =>
  ({ path, create, kind, group, version });

/** Pod (anti)affinity and topology-spread selector paths (commonlabels.go, apps Deployment and StatefulSet only). */
const SCHEDULING_SELECTOR_PATHS: readonly string[] = [
  'spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels',
  'spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels',
  'spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels',
  'spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels',
  'spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels',
];

/**
 * Label locations on `metadata` and in templates: kustomize
 * `metadataLabelsFieldSpecs` (metadatalabels.go). Used by `labels` with
 * `includeTemplates: true` and, with the selectors, by `commonLabels`.
 */
export const TEMPLATE_LABELS_FIELD_SPECS: readonly FieldSpec[] = [
  fs('metadata/labels', true),
  fs('spec/template/metadata/labels', true, 'ReplicationController', undefined, 'v1'),
  fs('spec/template/metadata/labels', true, 'Deployment'),
  fs('spec/template/metadata/labels', true, 'ReplicaSet'),
  fs('spec/template/metadata/labels', true, 'DaemonSet'),
  fs('spec/template/metadata/labels', true, 'StatefulSet', 'apps'),
  fs('spec/volumeClaimTemplates[]/metadata/labels', true, 'StatefulSet', 'apps'),
  fs('spec/template/metadata/labels', true, 'Job', 'batch'),
  fs('spec/jobTemplate/metadata/labels', true, 'CronJob', 'batch'),
  fs('spec/jobTemplate/spec/template/metadata/labels', true, 'CronJob', 'batch'),
];

/** `metadata/labels` only: kustomize `labels` entries without includeSelectors/includeTemplates. */
export const METADATA_LABELS_FIELD_SPECS: readonly FieldSpec[] = [fs('metadata/labels', true)];

/**
 * kustomize `commonLabelFieldSpecs` (commonlabels.go): selectors (created for
 * Service, RC, Deployment, ReplicaSet, DaemonSet, StatefulSet; only updated for
 * Job, CronJob, PDB, NetworkPolicy peers and scheduling rules), then
 * TEMPLATE_LABELS_FIELD_SPECS. Used by `commonLabels` and `labels` with
 * `includeSelectors: true` (conformance 23-26).
 */
export const COMMON_LABELS_FIELD_SPECS: readonly FieldSpec[] = [
  fs('spec/selector', true, 'Service', undefined, 'v1'),
  fs('spec/selector', true, 'ReplicationController', undefined, 'v1'),
  fs('spec/selector/matchLabels', true, 'Deployment'),
  ...SCHEDULING_SELECTOR_PATHS.map((p) => fs(p, false, 'Deployment', 'apps')),
  fs('spec/selector/matchLabels', true, 'ReplicaSet'),
  fs('spec/selector/matchLabels', true, 'DaemonSet'),
  fs('spec/selector/matchLabels', true, 'StatefulSet', 'apps'),
  ...SCHEDULING_SELECTOR_PATHS.map((p) => fs(p, false, 'StatefulSet', 'apps')),
  fs('spec/selector/matchLabels', false, 'Job', 'batch'),
  fs('spec/jobTemplate/spec/selector/matchLabels', false, 'CronJob', 'batch'),
  fs('spec/selector/matchLabels', false, 'PodDisruptionBudget', 'policy'),
  fs('spec/podSelector/matchLabels', false, 'NetworkPolicy', 'networking.k8s.io'),
  fs('spec/ingress/from/podSelector/matchLabels', false, 'NetworkPolicy', 'networking.k8s.io'),
  fs('spec/egress/to/podSelector/matchLabels', false, 'NetworkPolicy', 'networking.k8s.io'),
  ...TEMPLATE_LABELS_FIELD_SPECS,
];

/** kustomize `commonAnnotationFieldSpecs` (commonannotations.go; conformance 27). */
export const COMMON_ANNOTATIONS_FIELD_SPECS: readonly FieldSpec[] = [
  fs('metadata/annotations', true),
  fs('spec/template/metadata/annotations', true, 'ReplicationController', undefined, 'v1'),
  fs('spec/template/metadata/annotations', true, 'Deployment'),
  fs('spec/template/metadata/annotations', true, 'ReplicaSet'),
  fs('spec/template/metadata/annotations', true, 'DaemonSet'),
  fs('spec/template/metadata/annotations', true, 'StatefulSet'),
  fs('spec/template/metadata/annotations', true, 'Job', 'batch'),
  fs('spec/jobTemplate/metadata/annotations', true, 'CronJob', 'batch'),
  fs('spec/jobTemplate/spec/template/metadata/annotations', true, 'CronJob', 'batch'),
];

/**
 * kustomize v5.5 `imagesFieldSpecs` (images.go): any kind. The images
 * transformer never creates these (kustomize passes no create kind), so
 * `create` is moot. The "legacy" walk over every `containers`/`initContainers`
 * list comes first (api/filters/imagetag/legacy.go); see
 * src/transform/images.ts. Later kustomize releases add image volumes
 * (`spec/volumes[]/image/reference`); v5.5 (kubectl 1.32) leaves them alone,
 * checked against `kubectl kustomize`.
 */
export const IMAGES_FIELD_SPECS: readonly FieldSpec[] = [
  fs('spec/containers[]/image', true),
  fs('spec/initContainers[]/image', true),
  fs('spec/template/spec/containers[]/image', true),
  fs('spec/template/spec/initContainers[]/image', true),
];

/**
 * kustomize `replicasFieldSpecs` (replicas.go), in the order kustomize v5.5
 * prints them in its "does not match" error (conformance 237).
 */
export const REPLICAS_FIELD_SPECS: readonly FieldSpec[] = [
  fs('spec/replicas', true, 'Deployment'),
  fs('spec/replicas', true, 'StatefulSet'),
  fs('spec/replicas', true, 'ReplicaSet'),
  fs('spec/replicas', true, 'ReplicationController'),
];

/**
 * kustomize `namespaceFieldSpecs` (namespace.go) without `metadata/namespace`
 * and the RoleBinding `subjects` entries, which kustomize special-cases in
 * api/filters/namespace/namespace.go (metaNamespaceHack, roleBindingHack) and
 * so do we (src/transform/namespace.ts).
 */
export const NAMESPACE_FIELD_SPECS: readonly FieldSpec[] = [
  fs('metadata/name', true, 'Namespace'),
  fs('spec/service/namespace', true, 'APIService', 'apiregistration.k8s.io'),
  fs('spec/conversion/webhook/clientConfig/service/namespace', false, 'CustomResourceDefinition', 'apiextensions.k8s.io'),
];

/**
 * Group and version of an `apiVersion`, as kustomize fieldspec/gvk.go
 * `parseGV`: `v1` and `v1beta1`-like single segments are the core group.
 */
function parseGV(apiVersion: string): { group: string; version: string } {
  let gv = PARSED_GVS.get(apiVersion);
  if (gv === undefined) {
    gv = parseGVUncached(apiVersion);
    if (PARSED_GVS.size < 4096) PARSED_GVS.set(apiVersion, gv);
  }
  return gv;
}

/** parseGV results by apiVersion (every object asks once per field spec). */
const PARSED_GVS = new Map<string, { group: string; version: string }>();

function parseGVUncached(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  if (i >= 0) return { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
  if (/^v[12]/.test(apiVersion)) return { group: '', version: apiVersion };
  return { group: apiVersion, version: '' };
}

/** True when the spec's group/version/kind (each optional, exact) select the object (fieldspec.go isMatchGVK). */
export function fieldSpecSelects(spec: FieldSpec, obj: JsonObject): boolean {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if (spec.kind && spec.kind !== kind) return false;
  const { group, version } = parseGV(typeof obj.apiVersion === 'string' ? obj.apiVersion : '');
  if (spec.group && spec.group !== group) return false;
  return !(spec.version && spec.version !== version);
}

/**
 * Where a setter runs: `path` is the located field's JSON-pointer-like path
 * (`/spec/containers/0/image`, keys unescaped), for error messages. Walks may
 * build it only when it is read (a getter).
 */
export interface FieldWhere {
  readonly path: string;
}

/**
 * Computes the new value of a located field from its current value
 * (`undefined` when the field is being created). Returning `current`
 * unchanged (same reference) means "no change". `at.path` locates the field
 * for error messages.
 */
export type FieldSetter = (current: JsonValue | undefined, at: FieldWhere) => JsonValue;

/** Thrown when a path crosses a scalar where a map or list is needed (kustomize: "expected sequence or mapping node"). */
export class FieldSpecError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'FieldSpecError';
  }
}

/** What to create at the end of a missing path: a map (labels), a scalar (namespace, replicas), or nothing. */
export type CreateKind = 'map' | 'scalar' | 'none';

/** One path segment, parsed once: `name` and whether it was written `name[]` (a list). */
export interface Seg {
  readonly name: string;
  readonly isSeq: boolean;
}

interface Walk {
  readonly segs: readonly Seg[];
  /** The spec's path, for error messages. */
  readonly path: string;
  readonly create: boolean;
  readonly createKind: CreateKind;
  readonly set: FieldSetter;
}

/** A list: apply the remaining path to each element (fieldspec.go `seq`). */
function walkSeq(w: Walk, list: JsonValue[], i: number, where: string): JsonValue[] {
  let out: JsonValue[] | undefined;
  list.forEach((el, j) => {
    const next = walkNode(w, el, i, `${where}/${j}`);
    if (next !== el) {
      out ??= list.slice();
      out[j] = next;
    }
  });
  return out ?? list;
}

/** A map: look up (maybe create) the field named by the next segment (fieldspec.go `field`). */
function walkField(w: Walk, obj: JsonObject, i: number, where: string): JsonObject {
  const { name, isSeq } = w.segs[i];
  const here = `${where}/${name}`;
  const cur = obj[name];
  const last = i === w.segs.length - 1;
  let next: JsonValue;
  if (cur === undefined || cur === null) {
    // A null field counts as missing; kustomize turns it into the created kind.
    if (!w.create || w.createKind === 'none' || isSeq) return obj;
    if (last) next = w.set(w.createKind === 'map' ? {} : undefined, { path: here });
    else next = walkNode(w, {}, i + 1, here);
  } else {
    next = walkNode(w, cur, i + 1, here);
  }
  return next === cur ? obj : { ...obj, [name]: next };
}

function walkNode(w: Walk, node: JsonValue, i: number, where: string): JsonValue {
  if (i === w.segs.length) return w.set(node, { path: where });
  if (Array.isArray(node)) return walkSeq(w, node, i, where);
  if (isObject(node)) return walkField(w, node, i, where);
  throw new FieldSpecError(`expected sequence or mapping node at ${where || '/'} (field spec path ${w.path})`, where);
}

/**
 * Applies one field spec to an object, copy-on-write (kustomize
 * api/filters/fieldspec Filter). Returns the same reference when nothing
 * changed. `createKind` says what to create at a missing final field when the
 * spec has `create: true` ('none': never create, as the images transformer);
 * missing intermediate fields become maps. Throws FieldSpecError when the
 * path crosses a scalar; the setter may throw too.
 */
export function applyFieldSpec(obj: JsonObject, spec: FieldSpec, createKind: CreateKind, set: FieldSetter): JsonObject {
  if (!fieldSpecSelects(spec, obj)) return obj;
  const segs = segmentsOf(spec.path);
  return walkNode({ segs, path: spec.path, create: spec.create === true, createKind, set }, obj, 0, '') as JsonObject;
}

/** Applies each spec in order (kustomize fsslice.Filter). Same reference when nothing changed. */
export function applyFieldSpecs(obj: JsonObject, specs: readonly FieldSpec[], createKind: CreateKind, set: FieldSetter): JsonObject {
  let out = obj;
  for (const s of specs) out = applyFieldSpec(out, s, createKind, set);
  return out;
}

/** Field-spec paths split once: the tables are constants, and splitting per object showed in profiles. */
const SEGMENTS = new Map<string, readonly Seg[]>();

/** The segments of a field-spec path (split once per path and kept). */
export function segmentsOf(path: string): readonly Seg[] {
  let segs = SEGMENTS.get(path);
  if (!segs) {
    segs = splitPath(path).map((seg) => (seg.endsWith('[]') ? { name: seg.slice(0, -2), isSeq: true } : { name: seg, isSeq: false }));
    if (SEGMENTS.size < 4096) SEGMENTS.set(path, segs);
  }
  return segs;
}

/** Splits a field-spec path on `/`, honouring `\/` escapes (fieldspec.go splitPath). */
export function splitPath(path: string): string[] {
  const res: string[] = [];
  for (const p of path.split('/')) {
    const lastIdx = res.length - 1;
    if (lastIdx >= 0 && res[lastIdx].endsWith('\\')) res[lastIdx] = `${res[lastIdx].slice(0, -1)}/${p}`;
    else res.push(p);
  }
  return res;
}

/**
 * A setter that puts string entries into a map (kustomize fsslice.SetEntry
 * for labels and annotations): creates the map when absent, overwrites
 * existing values, keeps the same reference when every entry is already set.
 * Throws FieldSpecError when the located field is not a map.
 */
export function setEntries(entries: Readonly<Record<string, string>>): FieldSetter {
  const keys = Object.keys(entries);
  const values = keys.map((k) => entries[k] as string);
  return (current, at) => {
    const base = current === undefined ? {} : current;
    if (!isObject(base)) throw new FieldSpecError(`expected a map at ${at.path}`, at.path);
    if (current !== undefined && hasEntries(base, keys, values)) return current;
    // A spread copy takes V8's slow store for each key it did not have: copyFor builds from {} then (extensibleCopy).
    const out = copyFor(base, keys);
    for (let i = 0; i < keys.length; i++) setOwn(out, keys[i] as string, values[i] as string);
    return out;
  };
}

/** True when `map` holds each `keys[i]` with the value `values[i]` (own properties). */
function hasEntries(map: JsonObject, keys: readonly string[], values: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (getOwn(map, keys[i] as string) !== values[i]) return false;
  return true;
}

/** A setter that writes a scalar (namespace, replicas); same reference when equal. */
export function setScalar(value: string | number | bigint): FieldSetter {
  return (current) => (current === value ? current : value);
}
