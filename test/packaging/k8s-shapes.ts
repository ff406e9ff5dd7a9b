// k8s-shapes.ts: offline shape checks for the objects this repository installs,
// after admissionregistration.k8s.io/v1 and rbac.authorization.k8s.io/v1
// validation (k8s.io/kubernetes pkg/apis/admissionregistration/validation).
type Dict = Record<string, any>

export const SYSTEM_NAMESPACES = ['kube-system', 'kube-node-lease']

// objectProblems lists what every Kubernetes object needs and lacks.
export function objectProblems(o: Dict): string[] {
  const p: string[] = []
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') p.push('apiVersion')
  if (typeof o.kind !== 'string' || o.kind === '') p.push('kind')
  if (typeof o.metadata?.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata.name)) p.push('metadata.name')
  return p
}

const OPS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', '*'])

// webhookProblems validates one webhook entry of a Mutating/ValidatingWebhookConfiguration.
export function webhookProblems(w: Dict, mutating: boolean): string[] {
  const p: string[] = []
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/.test(w.name ?? '')) p.push(`name must be fully qualified: ${w.name}`)
  if (!['None', 'NoneOnDryRun'].includes(w.sideEffects)) p.push('sideEffects must be None or NoneOnDryRun')
  if (!Array.isArray(w.admissionReviewVersions) || !w.admissionReviewVersions.includes('v1')) p.push('admissionReviewVersions')
  if (!['Ignore', 'Fail'].includes(w.failurePolicy)) p.push('failurePolicy')
  if (!['Exact', 'Equivalent'].includes(w.matchPolicy)) p.push('matchPolicy')
  if (!Number.isInteger(w.timeoutSeconds) || w.timeoutSeconds < 1 || w.timeoutSeconds > 30) p.push('timeoutSeconds 1-30')
  if (mutating && !['Never', 'IfNeeded'].includes(w.reinvocationPolicy)) p.push('reinvocationPolicy')
  if (!mutating && 'reinvocationPolicy' in w) p.push('reinvocationPolicy is for mutating webhooks only')
  const svc = w.clientConfig?.service
  if (!svc?.name || !svc?.namespace || !String(svc.path ?? '').startsWith('/')) p.push('clientConfig.service')
  if (w.clientConfig?.url) p.push('clientConfig: url and service are exclusive')
  for (const [i, r] of (w.rules ?? []).entries()) {
    for (const k of ['apiGroups', 'apiVersions', 'resources', 'operations']) {
      if (!Array.isArray(r[k])) p.push(`rules[${i}].${k}`)
    }
    if (!(r.operations ?? []).every((o: string) => OPS.has(o))) p.push(`rules[${i}].operations`)
    if (r.scope !== undefined && !['Cluster', 'Namespaced', '*'].includes(r.scope)) p.push(`rules[${i}].scope`)
  }
  // Empty rules are valid: the webhook is then never called (issue 16: no policies, no rules).
  if (!Array.isArray(w.rules)) p.push('rules')
  for (const sel of ['namespaceSelector', 'objectSelector']) {
    for (const e of w[sel]?.matchExpressions ?? []) {
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) p.push(`${sel} operator`)
      if (['In', 'NotIn'].includes(e.operator) && !(e.values?.length > 0)) p.push(`${sel} values`)
    }
  }
  return p
}

// excludedNamespaces returns the namespaces a webhook's namespaceSelector rules out by name.
export function excludedNamespaces(w: Dict): string[] {
  return (w.namespaceSelector?.matchExpressions ?? [])
    .filter((e: Dict) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn')
    .flatMap((e: Dict) => e.values)
}

// webhookSettings is what the chart and deploy/ must agree on.
export function webhookSettings(cfg: Dict): Dict[] {
  return cfg.webhooks.map((w: Dict) => ({
    kind: cfg.kind,
    name: w.name,
    sideEffects: w.sideEffects,
    admissionReviewVersions: w.admissionReviewVersions,
    matchPolicy: w.matchPolicy,
    reinvocationPolicy: w.reinvocationPolicy,
    failurePolicy: w.failurePolicy,
    timeoutSeconds: w.timeoutSeconds,
    service: w.clientConfig.service,
    namespaceSelector: w.namespaceSelector,
    objectSelector: w.objectSelector,
    rules: w.rules,
    injectCaFrom: cfg.metadata.annotations?.['cert-manager.io/inject-ca-from'],
  }))
}
