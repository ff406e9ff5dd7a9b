/**
 * Strategic-merge patch metadata of the built-in Kubernetes types, looked up by
 * GVK and field name. The data is the generated table
 * (`k8s-patch-meta.generated.ts`, from the Kubernetes OpenAPI v2 document by
 * `scripts/gen-k8s-patch-meta.mjs`); the runtime never reads swagger.json.
 *
 * Semantics of the metadata are those of apimachinery
 * `pkg/util/strategicpatch` (`LookupPatchMetadataForStruct/ForSlice`) and of
 * kustomize kyaml `openapi.ResourceSchema.PatchStrategyAndKeyList`: a list is
 * merged only when its `x-kubernetes-patch-strategy` contains `merge`; every
 * other list is replaced. Custom resources have no schema: maps deep-merge and
 * every list is replaced (conformance finding 6).
 */
import type { GVK } from '../kube/object.js';
import { K8S_PATCH_META } from './k8s-patch-meta.generated.js';

/** The metadata of one field of a definition, as generated. */
export interface FieldMeta {
  /** Definition of the field's value (object), of its items (`list`) or of its map values (`values`). */
  readonly ref?: string;
  /** The field is an array. */
  readonly list?: boolean;
  /** The field is a map of `ref` values (`additionalProperties`). */
  readonly values?: boolean;
  /** `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys`, `replace`. */
  readonly strategy?: string;
  /** `x-kubernetes-patch-merge-key`. */
  readonly mergeKey?: string;
  /** `x-kubernetes-list-type` when not `atomic`: `map` or `set`. */
  readonly listType?: string;
  /** `x-kubernetes-list-map-keys`. */
  readonly mapKeys?: readonly string[];
  /**
   * Server-side apply: the field's value is atomic (a list without a map/set
   * list-type, or a map/struct with `x-kubernetes-map-type: atomic`), as
   * structured-merge-diff's schema makes it. Read by ApplyConfiguration only.
   */
  readonly atomic?: boolean;
  /** Server-side apply: the list's items are atomic structs (e.g. LocalObjectReference). */
  readonly itemAtomic?: boolean;
}

/** The generated table: GVK key `group/version/kind` -> definition name ('' = no metadata), and definitions. */
export interface PatchMetaTable {
  readonly gvks: Readonly<Record<string, string>>;
  readonly defs: Readonly<Record<string, Readonly<Record<string, FieldMeta>>>>;
}

/**
 * A position in the schema: the definition name of a map value, or undefined
 * when nothing is known (custom resources, fields without metadata).
 */
export type SchemaRef = string | undefined;

/** Kubernetes version priority (v1 > v1beta2 > v1beta1 > v1alpha1), higher first; as apimachinery `version.CompareKubeAwareVersionStrings`. */
function versionRank(v: string): number {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return -1;
  const stage = m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0;
  return stage * 1e6 + Number(m[1]) * 1e3 + Number(m[3] ?? 0);
}

let byGroupKind: Map<string, { rank: number; def: string }> | undefined;

/** Lazily built index `group/kind` -> definition of the preferred version. */
function groupKindIndex(): Map<string, { rank: number; def: string }> {
  if (byGroupKind) return byGroupKind;
  const idx = new Map<string, { rank: number; def: string }>();
  for (const [key, def] of Object.entries(K8S_PATCH_META.gvks)) {
    const [group, version, kind] = key.split('/') as [string, string, string];
    const rank = versionRank(version);
    const gk = `${group}/${kind}`;
    const cur = idx.get(gk);
    if (!cur || rank > cur.rank) idx.set(gk, { rank, def });
  }
  byGroupKind = idx;
  return idx;
}

/**
 * The root schema of a kind: exact GVK first, else the same group and kind in
 * any version (the preferred one). Returns `{known: false}` for unknown kinds
 * (custom resources), `{known: true, schema}` for built-ins (`schema` may be
 * undefined when the kind has no field that matters to a merge).
 */
export function schemaForGVK(gvk: GVK): { known: boolean; schema: SchemaRef } {
  const exact = K8S_PATCH_META.gvks[`${gvk.group}/${gvk.version}/${gvk.kind}`];
  if (exact !== undefined) return { known: true, schema: exact || undefined };
  const gk = groupKindIndex().get(`${gvk.group}/${gvk.kind}`);
  if (gk) return { known: true, schema: gk.def || undefined };
  return { known: false, schema: undefined };
}

/** The metadata of `field` in definition `schema`, or undefined when none is known. */
export function fieldMeta(schema: SchemaRef, field: string): FieldMeta | undefined {
  if (schema === undefined) return undefined;
  return K8S_PATCH_META.defs[schema]?.[field];
}

/**
 * The fields with metadata of a definition (`fieldMeta(schema, field)` is
 * `defFields(schema)?.[field]`); undefined for no schema or an unknown one.
 */
export function defFields(schema: SchemaRef): Readonly<Record<string, FieldMeta>> | undefined {
  if (schema === undefined) return undefined;
  return K8S_PATCH_META.defs[schema];
}

/**
 * The schema of a map-valued field's value (object field), of a list's items,
 * or of a `values` map's entries, per `FieldMeta.ref`.
 */
export function refOf(meta: FieldMeta | undefined): SchemaRef {
  return meta?.ref;
}

/** True when a list field is merged (strategy contains `merge`), as apimachinery and kyaml decide. */
export function isMergeList(meta: FieldMeta | undefined): boolean {
  return meta?.strategy?.split(',').includes('merge') ?? false;
}
