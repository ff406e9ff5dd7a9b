/**
 * DELETE and CONNECT at the webhook: ValidatingAdmissionPolicies whose rules
 * name the operation are enforced as the API server enforces them
 * (k8s.io/apiserver pkg/admission/plugin/policy/validating dispatcher.go,
 * generic/plugin.go; the attributes of rest.AdmissionToValidateObjectDeleteFunc
 * and the connect handler): on DELETE `object` is null and `oldObject` the
 * stored object, which the selectors match on; on CONNECT `object` is the
 * options object (PodExecOptions) and `oldObject` null. Nothing else runs:
 * no MutatingAdmissionPolicy, no transformer, no validate rule of our own
 * dialect, and never a patch. Rows over the recorded reviews of
 * test/data/admission/recorded (a real API server's DELETE and CONNECT), each
 * answered on both routes with the same answer.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { review } from '../../src/admission/review.js';
import { policiesFromText } from '../../src/index.js';
import type { JsonObject } from '../../src/kube/object.js';

const DIR = new URL('../data/admission/recorded', import.meta.url).pathname;
const recorded = (file: string): JsonObject => (JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { review: JsonObject }).review;

/** The recorded DELETE of ConfigMap shop/app-config (labels tier=web), its stored labels replaced by `labels`. */
function configMapDelete(labels: Record<string, string> = { tier: 'web' }): JsonObject {
  const r = structuredClone(recorded('128-mutate-ConfigMap-DELETE-app-config.json'));
  (((r.request as JsonObject).oldObject as JsonObject).metadata as JsonObject).labels = labels;
  return r;
}

/** The recorded ConfigMap DELETE made the DELETE of Namespace `name` with `labels` (the API server sends a Namespace's own name as its namespace). */
function namespaceDelete(name: string, labels: Record<string, string>): JsonObject {
  const r = structuredClone(recorded('128-mutate-ConfigMap-DELETE-app-config.json'));
  const req = r.request as JsonObject;
  const gvk = { group: '', version: 'v1', kind: 'Namespace' };
  const gvr = { group: '', version: 'v1', resource: 'namespaces' };
  Object.assign(req, { kind: gvk, requestKind: gvk, resource: gvr, requestResource: gvr, name, namespace: name });
  req.oldObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
  return r;
}

/** The recorded `kubectl exec` into Pod shop/bare (container bare). */
const exec = (): JsonObject => structuredClone(recorded('126-mutate-PodExecOptions-exec-CONNECT-bare.json'));

const vap = (name: string, spec: string): string => `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}---\n`;
const binding = (policy: string, actions: string, extra = ''): string =>
  `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n  policyName: ${policy}\n  validationActions: [${actions}]\n${extra}---\n`;

// "protect namespaces labelled protected=true from deletion": denies only with object null, the label on oldObject
// and no namespaceObject (a Namespace is cluster-scoped: dispatcher.go unsets its own namespace).
const PROTECT = vap('protect-ns', `  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [namespaces]}]
  validations:
  - expression: "object != null || namespaceObject != null || !('protected' in oldObject.metadata.labels && oldObject.metadata.labels['protected'] == 'true')"
    messageExpression: "'namespace ' + oldObject.metadata.name + ' is protected (' + request.options.propagationPolicy + ')'"
    reason: Forbidden
`);

// "deny pods/exec in prod": the object is the PodExecOptions, oldObject null.
const NO_EXEC = vap('no-exec', `  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CONNECT], resources: [pods/exec]}]
  validations:
  - expression: "!(object.kind == 'PodExecOptions' && oldObject == null && request.subResource == 'exec')"
    messageExpression: "'exec into ' + request.name + ' (container ' + object.container + ') is not allowed in ' + namespaceObject.metadata.name"
`) + binding('no-exec', 'Deny', '  matchResources: {namespaceSelector: {matchLabels: {env: prod}}}\n');

// A policy on every operation of ConfigMaps whose expression reads object: an error on DELETE (object is null).
const READS_OBJECT = (failurePolicy: string): string => vap('reads-object', `  failurePolicy: ${failurePolicy}
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: ["*"], resources: [configmaps]}]
  validations:
  - expression: "object.metadata.name != ''"
`) + binding('reads-object', 'Deny');

// matchConditions on oldObject: only web ConfigMaps are protected.
const WEB_ONLY = vap('web-only', `  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps]}]
  matchConditions:
  - name: web
    expression: "oldObject.metadata.labels.tier == 'web'"
  validations:
  - expression: "false"
    message: web ConfigMaps are not deleted by hand
  auditAnnotations:
  - key: deleted
    valueExpression: "string(oldObject.metadata.name)"
`) + binding('web-only', 'Deny');

// What must not run on DELETE: a MAP on every operation (under Fail it would fail on a null object), our own dialect
// with transformers and a Deny validate rule naming DELETE.
const NOT_RUN = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: stamp}
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: ["*"], resources: [configmaps, namespaces, pods, pods/exec]}]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration: {expression: "Object{metadata: Object.metadata{labels: {'stamped': object.metadata.name}}}"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: stamp}
spec: {policyName: stamp}
---
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: own}
spec:
  match: {operations: [DELETE, CONNECT]}
  transformers:
  - labels: {pairs: {own: "true"}}
  - validate: {expression: "false", message: own rules do not run on DELETE, action: Deny}
---
`;

interface Row {
  name: string;
  policies: string;
  body: JsonObject;
  namespaceLabels?: Record<string, string>;
  /** Expected response fields (tap `match`): allowed, status, warnings. */
  want: Record<string, unknown>;
  /** No warnings at all. */
  quiet?: boolean;
}

const ROWS: Row[] = [
  {
    name: 'DELETE of a protected namespace: denied, object null, oldObject the namespace, request.options the DeleteOptions',
    policies: PROTECT + binding('protect-ns', 'Deny'),
    body: namespaceDelete('payments', { protected: 'true' }),
    want: { allowed: false, status: { code: 403, reason: 'Forbidden', message: "policy protect-ns/b rule validations: ValidatingAdmissionPolicy 'protect-ns' with binding 'b' denied request: namespace payments is protected (Background)" } },
  },
  { name: 'DELETE of a namespace not protected: allowed', policies: PROTECT + binding('protect-ns', 'Deny'), body: namespaceDelete('scratch', {}), want: { allowed: true }, quiet: true },
  {
    name: 'DELETE of a protected namespace under Warn: allowed with the warning',
    policies: PROTECT + binding('protect-ns', 'Warn'),
    body: namespaceDelete('payments', { protected: 'true' }),
    want: { allowed: true, warnings: [/^protect-ns\/b\/validations: Validation failed for ValidatingAdmissionPolicy 'protect-ns' with binding 'b': namespace pa/] },
  },
  {
    name: 'DELETE under Audit: allowed, reported',
    policies: PROTECT + binding('protect-ns', 'Audit'),
    body: namespaceDelete('payments', { protected: 'true' }),
    want: { allowed: true, warnings: ['protect-ns/b/validations: [audit] validation failure: namespace payments is protected (Background)'] },
  },
  {
    name: "a binding's objectSelector matches the stored object's labels (a Namespace: its own, for namespaceSelector too)",
    policies: vap('all-ns', '  matchConstraints:\n    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [namespaces]}]\n  validations: [{expression: "false", message: protected}]\n')
      + binding('all-ns', 'Deny', '  matchResources: {objectSelector: {matchLabels: {protected: "true"}}, namespaceSelector: {matchLabels: {protected: "true"}}}\n'),
    body: namespaceDelete('payments', { protected: 'true' }),
    want: { allowed: false, status: { message: /denied request: protected/ } },
  },
  {
    name: "a binding's objectSelector: an unlabelled stored object does not match",
    policies: vap('all-ns', '  matchConstraints:\n    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [namespaces]}]\n  validations: [{expression: "false", message: protected}]\n')
      + binding('all-ns', 'Deny', '  matchResources: {objectSelector: {matchLabels: {protected: "true"}}}\n'),
    body: namespaceDelete('scratch', {}),
    want: { allowed: true },
    quiet: true,
  },
  {
    name: 'matchConditions on oldObject hold: denied; auditAnnotations see oldObject',
    policies: WEB_ONLY,
    body: configMapDelete({ tier: 'web' }),
    want: { allowed: false, status: { code: 422, message: /web ConfigMaps are not deleted by hand/ }, warnings: ['web-only/b/auditAnnotations: [audit] annotation web-only/deleted: app-config'] },
  },
  { name: 'matchConditions on oldObject do not hold: allowed', policies: WEB_ONLY, body: configMapDelete({ tier: 'db' }), want: { allowed: true }, quiet: true },
  {
    name: "operations '*': on DELETE object is null, an expression reading it errors, under Fail denied",
    policies: READS_OBJECT('Fail'),
    body: configMapDelete(),
    want: { allowed: false, status: { message: /denied request: expression 'object.metadata.name != ''' resulted in error/ } },
  },
  { name: "operations '*': the same error under Ignore: allowed", policies: READS_OBJECT('Ignore'), body: configMapDelete(), want: { allowed: true }, quiet: true },
  {
    name: 'a MAP, a transformer and our own validate rule do not run on DELETE; the VAP does',
    policies: NOT_RUN + PROTECT + binding('protect-ns', 'Deny'),
    body: namespaceDelete('payments', { protected: 'true' }),
    want: { allowed: false, status: { message: /^policy protect-ns\/b rule validations: [^;]*$/ } },
  },
  { name: 'nothing but a MAP and our own dialect: DELETE allowed, no patch', policies: NOT_RUN, body: configMapDelete(), want: { allowed: true }, quiet: true },
  {
    name: 'CONNECT pods/exec in a prod namespace: denied; object the PodExecOptions, oldObject null',
    policies: NO_EXEC,
    body: exec(),
    namespaceLabels: { env: 'prod' },
    want: { allowed: false, status: { code: 422, reason: 'Invalid', message: "policy no-exec/b rule validations: ValidatingAdmissionPolicy 'no-exec' with binding 'b' denied request: exec into bare (container bare) is not allowed in shop" } },
  },
  {
    name: 'a DELETE without oldObject (API servers before 1.15): matched by request.kind and name, oldObject null',
    policies: vap('named', '  matchConstraints:\n    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps], resourceNames: [app-config]}]\n  validations: [{expression: "object != null || oldObject != null", message: no stored object}]\n') + binding('named', 'Deny'),
    body: ((): JsonObject => { const r = configMapDelete(); (r.request as JsonObject).oldObject = null; return r; })(),
    want: { allowed: false, status: { message: /denied request: no stored object/ } },
  },
  { name: 'CONNECT pods/exec elsewhere: allowed', policies: NO_EXEC, body: exec(), namespaceLabels: { env: 'dev' }, want: { allowed: true }, quiet: true },
  { name: 'CONNECT: a MAP and our own dialect do not run', policies: NOT_RUN, body: exec(), namespaceLabels: { env: 'prod' }, want: { allowed: true }, quiet: true },
  {
    name: 'a DELETE VAP does not run on CONNECT, nor a CONNECT VAP on DELETE',
    policies: PROTECT + binding('protect-ns', 'Deny') + NO_EXEC.replace('name: b}', 'name: b2}'),
    body: configMapDelete(),
    namespaceLabels: { env: 'prod' },
    want: { allowed: true },
    quiet: true,
  },
];

t.test('DELETE and CONNECT: ValidatingAdmissionPolicies only, as the API server evaluates them', async (t) => {
  for (const row of ROWS) {
    const set = policiesFromText(row.policies);
    const answers = (['mutate', 'validate'] as const).map((route) => {
      const r = review(structuredClone(row.body), set, { route, namespaceLabels: row.namespaceLabels ? () => row.namespaceLabels : undefined });
      t.equal(r.statusCode, 200, `${row.name} (${route}): an AdmissionReview`);
      return (r.body as unknown as JsonObject).response as JsonObject;
    });
    const [mutate, validate] = answers as [JsonObject, JsonObject];
    t.match(mutate, row.want, row.name);
    t.notOk(mutate.patch ?? mutate.patchType, `${row.name}: never a patch`);
    if (row.quiet) t.equal(mutate.warnings, undefined, `${row.name}: no warnings`);
    t.same(validate, mutate, `${row.name}: /validate answers the same`);
  }
});
