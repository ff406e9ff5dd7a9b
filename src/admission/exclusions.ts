/**
 * Default exclusions at admission (DESIGN.md, "Default exclusions"): requests the
 * webhook never touches, whatever a policy matches. The chart's webhook
 * configuration excludes the same at the API server; this is the second line.
 *
 * Secrets in general are not excluded here: DESIGN.md lets a policy opt in by
 * naming `Secret` in `match.resources`, which only the policy engine can see, so
 * that rule belongs to `PolicySet.evaluate`. Helm release records are excluded
 * here in any case (they can be near 1 MB and hold the whole chart and values).
 */
import { gvkOf, isObject, metaMap } from '../kube/object.js';
import type { AdmissionRequest } from './types.js';

/** Namespaces never admitted through the policies (plus the webhook's own). */
export const EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-node-lease'];

/**
 * Why a request is excluded, or undefined when it is not. Reads
 * `request.kind` (falling back to the object's `apiVersion`/`kind`),
 * `request.namespace` and the object's labels and annotations.
 * Excluded: namespaces kube-system, kube-node-lease and `ownNamespace`; Leases
 * (coordination.k8s.io); Events (core and events.k8s.io); mirror Pods
 * (annotation `kubernetes.io/config.mirror`); Secrets and ConfigMaps labelled
 * `owner=helm` (Helm's `HELM_DRIVER=secret|configmap` release records).
 */
export function exclusionReason(request: AdmissionRequest, ownNamespace?: string): string | undefined {
  const ns = request.namespace ?? '';
  if (ns && (EXCLUDED_NAMESPACES.includes(ns) || ns === ownNamespace)) return `namespace ${ns} is excluded`;
  const obj = request.object ?? request.oldObject ?? undefined;
  const { group, kind } = kindOf(request);
  if (kind === 'Lease' && group === 'coordination.k8s.io') return 'Leases are excluded';
  if (kind === 'Event' && (group === '' || group === 'events.k8s.io')) return 'Events are excluded';
  if (!obj) return undefined;
  if (kind === 'Pod' && group === '' && 'kubernetes.io/config.mirror' in metaMap(obj, 'annotations')) return 'mirror Pods are excluded';
  if ((kind === 'Secret' || kind === 'ConfigMap') && group === '' && metaMap(obj, 'labels').owner === 'helm') {
    return 'Helm release records are excluded';
  }
  return undefined;
}

function kindOf(request: AdmissionRequest): { group: string; kind: string } {
  if (request.kind) return { group: request.kind.group, kind: request.kind.kind };
  const obj = request.object ?? request.oldObject;
  if (!isObject(obj)) return { group: '', kind: '' };
  return gvkOf(obj);
}
