/**
 * API discovery for the background scan: which resources the API server
 * serves (`/api/v1`, `/apis`, `/apis/<group>/<preferred version>`), and which
 * of them the loaded policies can match.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { expectOk, type KubeRest } from '../policy/sources/kube-rest.js';

/** One served resource (an `APIResource` of discovery, with its group and version). */
export interface ServedResource {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name (`deployments`). */
  plural: string;
  namespaced: boolean;
}

/**
 * Resources the scan never reads, whatever a policy matches: Secrets (their
 * data never enters the process outside admission), Events and Leases (the
 * default exclusions of DESIGN.md; high churn), and the reports themselves.
 */
export const NEVER_SCANNED = new Set(['/Secret', '/Event', 'events.k8s.io/Event', 'coordination.k8s.io/Lease', 'wgpolicyk8s.io/PolicyReport', 'wgpolicyk8s.io/ClusterPolicyReport']);

interface ApiResourceList {
  resources?: { name?: string; kind?: string; namespaced?: boolean; verbs?: string[] }[];
}

/** Lists the served resources that can be listed and watched (subresources left out), preferred versions only. */
export async function discoverResources(rest: KubeRest): Promise<ServedResource[]> {
  const out: ServedResource[] = [];
  const read = async (path: string, group: string, version: string): Promise<void> => {
    const body = expectOk(`discovery ${path}`, await rest.request('GET', path)) as ApiResourceList;
    for (const r of body.resources ?? []) {
      if (!r.name || !r.kind || r.name.includes('/')) continue;
      if (!r.verbs?.includes('list') || !r.verbs.includes('watch')) continue;
      out.push({ group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced === true });
    }
  };
  await read('/api/v1', '', 'v1');
  const groups = expectOk('discovery /apis', await rest.request('GET', '/apis')) as { groups?: { name?: string; preferredVersion?: { version?: string } }[] };
  for (const g of groups.groups ?? []) {
    const version = g.preferredVersion?.version;
    if (!g.name || !version) continue;
    await read(`/apis/${g.name}/${version}`, g.name, version);
  }
  return out;
}

/** What to scan: the served resources some policy names in `match.resources` (policies that match every kind are left to admission). */
export interface ScanPlan {
  targets: ServedResource[];
  /** Policies without a kind restriction (not scanned; reported from admission only). */
  unrestricted: string[];
}

/**
 * The resources to scan for `policies` among `served`: those whose group and
 * kind some policy's `match.resources` admits (`mayMatchKind`), minus
 * `NEVER_SCANNED`; one entry per group/kind.
 */
export function planScan(policies: readonly CompiledPolicy[], served: readonly ServedResource[]): ScanPlan {
  const restricted = policies.filter((p) => p.mayMatchKind);
  const unrestricted = policies.filter((p) => !p.mayMatchKind).map((p) => p.name);
  const seen = new Set<string>();
  const targets: ServedResource[] = [];
  for (const r of served) {
    const key = `${r.group}/${r.kind}`;
    if (seen.has(key) || NEVER_SCANNED.has(key)) continue;
    if (!restricted.some((p) => p.mayMatchKind?.(r.group, r.kind))) continue;
    seen.add(key);
    targets.push(r);
  }
  return { targets, unrestricted };
}

/** The collection path of a resource in all namespaces. */
export function resourcePath(r: ServedResource): string {
  return `${r.group ? `/apis/${r.group}` : '/api'}/${r.version}/${r.plural}`;
}
