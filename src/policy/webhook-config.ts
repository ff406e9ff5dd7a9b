/**
 * The MutatingWebhookConfiguration and ValidatingWebhookConfiguration a set
 * of policies needs (issue 16), in the chart's shape (charts/kube-postrender
 * templates/webhook.yaml): `kube-postrender webhook-config -c POLICIES` prints
 * them for GitOps; `serve --cluster` keeps the live ones' rules equal to them
 * (`sources/webhook-sync.ts`).
 *
 * Failure modes, safe by default (docs/install.md "failurePolicy"):
 * - `mutate.postrender.io`: failurePolicy Ignore (a webhook that is down
 *   admits objects unchanged), reinvocationPolicy IfNeeded;
 * - `validate.postrender.io`: failurePolicy Ignore, every namespace not
 *   labelled `postrender.io/enforce=true`;
 * - `validate-enforce.postrender.io`: failurePolicy Fail, only namespaces the
 *   platform team labelled `postrender.io/enforce=true` (the opt-in).
 * Every webhook excludes the webhook's own namespace, kube-system and
 * kube-node-lease, and Helm release records (label owner=helm).
 */
import type { LabelSelector } from '../kube/selector.js';
import type { JsonObject } from '../kube/object.js';
import type { CompiledPolicy } from './compile.js';
import { andSelectors, deriveWebhook, type KindResolver, type ServerFeatures } from './webhook-rules.js';

/** The namespace label that opts a namespace into failurePolicy Fail for validation. */
export const ENFORCE_LABEL = 'postrender.io/enforce';

/** Names of the webhooks (stable: the API server's metrics and errors name them). */
export const WEBHOOK_NAMES = { mutate: 'mutate.postrender.io', validate: 'validate.postrender.io', enforce: 'validate-enforce.postrender.io' } as const;

/** Where the API server reaches the webhook and what the configurations are called. */
export interface WebhookConfigBase {
  /** Name of both configurations and of the Service (default kube-postrender). */
  name: string;
  /** The webhook's namespace (Service namespace, always excluded). */
  namespace: string;
  /** Service port (default 443). */
  port?: number;
  /** Base64 PEM CA bundle; absent: left for cert-manager's cainjector. */
  caBundle?: string;
  /** Seconds the API server waits per call (default 5). */
  timeoutSeconds?: number;
  /** More namespaces never sent to the webhook. */
  excludeNamespaces?: string[];
}

/** The base namespaceSelector: never the own namespace, kube-system, kube-node-lease (nor `excludeNamespaces`). */
function baseNamespaceSelector(base: WebhookConfigBase): LabelSelector {
  const values = [base.namespace, 'kube-system', 'kube-node-lease', ...(base.excludeNamespaces ?? [])];
  return { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set(values)] }] };
}

const HELM_RECORDS: LabelSelector = { matchExpressions: [{ key: 'owner', operator: 'NotIn', values: ['helm'] }] };

function webhook(base: WebhookConfigBase, derived: ReturnType<typeof deriveWebhook>, extra: { name: string; path: 'mutate' | 'validate'; failurePolicy: 'Ignore' | 'Fail'; ns?: LabelSelector; mutating: boolean }): JsonObject {
  const { name, path } = extra;
  const service: JsonObject = { name: base.name, namespace: base.namespace, path: `/${path}`, port: base.port ?? 443 };
  return {
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    ...(extra.mutating ? { reinvocationPolicy: 'IfNeeded' } : {}),
    failurePolicy: extra.failurePolicy,
    timeoutSeconds: base.timeoutSeconds ?? 5,
    clientConfig: { service, ...(base.caBundle ? { caBundle: base.caBundle } : {}) },
    namespaceSelector: andSelectors(andSelectors(baseNamespaceSelector(base), extra.ns), derived.namespaceSelector) as unknown as JsonObject,
    objectSelector: andSelectors(HELM_RECORDS, derived.objectSelector) as unknown as JsonObject,
    rules: derived.rules as unknown as JsonObject[],
    ...(derived.matchConditions ? { matchConditions: derived.matchConditions as unknown as JsonObject[] } : {}),
  };
}

/**
 * Both configurations for `policies`, plus notes (kinds widened to a whole
 * group). `server` degrades for old API servers (no matchConditions before
 * 1.28). Pure.
 */
export function webhookConfigurations(
  policies: readonly CompiledPolicy[],
  base: WebhookConfigBase,
  opts: { resolve?: KindResolver; server?: ServerFeatures } = {},
): { mutating: JsonObject; validating: JsonObject; notes: string[] } {
  const m = deriveWebhook('mutate', policies, opts);
  const v = deriveWebhook('validate', policies, opts);
  const labels = { 'app.kubernetes.io/name': 'kube-postrender', 'app.kubernetes.io/managed-by': 'kube-postrender' };
  const optOut: LabelSelector = { matchExpressions: [{ key: ENFORCE_LABEL, operator: 'NotIn', values: ['true'] }] };
  const optIn: LabelSelector = { matchLabels: { [ENFORCE_LABEL]: 'true' } };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: base.name, labels },
      webhooks: [webhook(base, m, { name: WEBHOOK_NAMES.mutate, path: 'mutate', failurePolicy: 'Ignore', mutating: true })],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: base.name, labels },
      webhooks: [
        webhook(base, v, { name: WEBHOOK_NAMES.validate, path: 'validate', failurePolicy: 'Ignore', ns: optOut, mutating: false }),
        webhook(base, v, { name: WEBHOOK_NAMES.enforce, path: 'validate', failurePolicy: 'Fail', ns: optIn, mutating: false }),
      ],
    },
    notes: [...new Set([...m.notes, ...v.notes])].sort(),
  };
}
