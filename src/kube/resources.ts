/**
 * Kinds to resources: what the API server's RESTMapper answers from
 * discovery, for the built-in kinds (`builtin-resources.generated.ts`, from
 * the Kubernetes OpenAPI document). Webhook rules and RBAC name plural
 * resources (`deployments`), policies name kinds (`Deployment`).
 *
 * A kind not in the table is a custom resource (or a kind the table's
 * Kubernetes version did not serve): `lookupKind` returns no row, and callers
 * decide (webhook rules fall back to every resource of the group, so they are
 * never too narrow; `serve --cluster` asks the API server's discovery).
 */
import { BUILTIN_RESOURCES, type BuiltinResource } from './builtin-resources.generated.js';

export type { BuiltinResource } from './builtin-resources.generated.js';

const byKind = new Map<string, BuiltinResource[]>();
for (const r of BUILTIN_RESOURCES) {
  const list = byKind.get(r.kind) ?? [];
  list.push(r);
  byKind.set(r.kind, list);
}

/**
 * The built-in resources of `kind` in `group` (`undefined` or `*`: any group).
 * Empty when the kind is not built in. Kinds are case-sensitive, as in the API.
 */
export function lookupKind(group: string | undefined, kind: string): readonly BuiltinResource[] {
  const rows = byKind.get(kind) ?? [];
  return group === undefined || group === '*' ? rows : rows.filter((r) => r.group === group);
}

const byResource = new Map<string, readonly string[]>();
for (const r of BUILTIN_RESOURCES) byResource.set(`${r.group}/${r.resource}`, r.versions);

/**
 * The versions the API server serves of built-in resource `group`/`resource`
 * (plural, `deployments`), or undefined when it is not built in (a custom
 * resource: its versions are known to the cluster only).
 */
export function servedVersions(group: string, resource: string): readonly string[] | undefined {
  return byResource.get(`${group}/${resource}`);
}

/**
 * True when `group`/`kind` is a built-in cluster-scoped kind (Namespace, Node,
 * ClusterRole, PersistentVolume, the webhook configurations, ...). Unknown
 * kinds answer false: the caller must then rely on the request's namespace.
 */
export function isClusterScopedKind(group: string, kind: string): boolean {
  return builtinClusterScoped(group, kind) === true;
}

/**
 * For a built-in `group`/`kind`: true when cluster-scoped, false when
 * namespaced; undefined when the table does not know it (a custom kind,
 * whose scope its CRD decides).
 */
export function builtinClusterScoped(group: string, kind: string): boolean | undefined {
  const rows = lookupKind(group, kind);
  return rows.length > 0 ? rows.every((r) => !r.namespaced) : undefined;
}

/**
 * The plural resource name of a kind, by Kubernetes' default naming
 * (gengo `namer.NewAllLowercasePluralNamer`): `...s`/`x`/`z`/`ch`/`sh` + `es`,
 * consonant + `y` -> `ies`, else + `s`; `Endpoints` stays.
 */
export function pluralResource(kind: string): string {
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k;
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/**
 * The plural resource the API server serves `group`/`kind` as: the built-in
 * table's row (`lookupKind`), else Kubernetes' default plural
 * (`pluralResource`), which a CRD's `spec.names.plural` follows unless it
 * names another.
 */
export function resourceOf(group: string, kind: string): string {
  return lookupKind(group, kind)[0]?.resource ?? pluralResource(kind);
}
