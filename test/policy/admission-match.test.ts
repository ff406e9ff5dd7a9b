/**
 * matchConstraints / matchResources of admission policies
 * (src/policy/admission-match.ts) against the API server's matchers, row by
 * row: rules.go `Matcher.scope` (a Namespace is cluster-scoped although its
 * request names its own namespace), object/matcher.go `MatchObjectSelector`
 * (the object's labels or the old object's), and policy/generic/plugin.go
 * `Dispatch` (the admission policy resources are never matched), and
 * matching.go `matchesResourceRules` with Equivalent (another version only
 * when the API server serves it).
 */
import t from 'tap';
import { compileMatchResources, type MatchResources } from '../../src/policy/admission-match.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';

const ALL = { apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['*'] };
const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } } };
const pod = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team-a', labels } });
const vap: KubeObject = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'v' } };
const binding: KubeObject = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'b' } };
const hpa: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h', namespace: 'team-a' } };
const HPA_RULE = { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], operations: ['*'] };
const deploy: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'team-a' } };
const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'team-a' } };
const webhook: KubeObject = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'w' } };

/** The admission request of `o` as the API server sends it (a Namespace's request names its own namespace). */
function admission(o: KubeObject, resource: string, operation: 'CREATE' | 'UPDATE', oldObject?: KubeObject): EvaluationInput {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', String(o.apiVersion)];
  const md = o.metadata as JsonObject;
  const ns = o.kind === 'Namespace' ? String(md.name) : String(md.namespace ?? '');
  const request: JsonObject = { uid: 'u', operation, namespace: ns, name: String(md.name), resource: { group: group ?? '', version: version ?? '', resource } };
  return { frontDoor: 'admission', operation, namespace: ns, request, oldObject };
}

const render: EvaluationInput = { frontDoor: 'render', operation: 'CREATE', namespace: '' };

const rows: { name: string; match: MatchResources; object: KubeObject; input: EvaluationInput; want: string }[] = [
  { name: 'scope Cluster: a Namespace UPDATE (its request names itself)', match: { resourceRules: [{ ...ALL, scope: 'Cluster' }] }, object: namespace, input: admission(namespace, 'namespaces', 'UPDATE', namespace), want: '' },
  { name: 'scope Namespaced: not a Namespace UPDATE', match: { resourceRules: [{ ...ALL, scope: 'Namespaced' }] }, object: namespace, input: admission(namespace, 'namespaces', 'UPDATE', namespace), want: 'resourceRules' },
  { name: 'scope Namespaced: a Pod', match: { resourceRules: [{ ...ALL, scope: 'Namespaced' }] }, object: pod({}), input: admission(pod({}), 'pods', 'CREATE'), want: '' },
  { name: 'scope Cluster: a Namespace in render', match: { resourceRules: [{ ...ALL, scope: 'Cluster' }] }, object: namespace, input: render, want: '' },
  { name: 'objectSelector: UPDATE removing the label matches by the old object', match: { resourceRules: [ALL], objectSelector: { matchLabels: { tier: 'web' } } }, object: pod({}), input: admission(pod({}), 'pods', 'UPDATE', pod({ tier: 'web' })), want: '' },
  { name: 'objectSelector: UPDATE adding the label matches by the object', match: { resourceRules: [ALL], objectSelector: { matchLabels: { tier: 'web' } } }, object: pod({ tier: 'web' }), input: admission(pod({}), 'pods', 'UPDATE', pod({})), want: '' },
  { name: 'objectSelector: neither has it', match: { resourceRules: [ALL], objectSelector: { matchLabels: { tier: 'web' } } }, object: pod({ tier: 'db' }), input: admission(pod({}), 'pods', 'UPDATE', pod({})), want: 'objectSelector' },
  { name: 'objectSelector DoesNotExist: UPDATE adding the label still matches by the old object', match: { resourceRules: [ALL], objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } }, object: pod({ skip: 'y' }), input: admission(pod({}), 'pods', 'UPDATE', pod({})), want: '' },
  { name: 'objectSelector: CREATE has no old object', match: { resourceRules: [ALL], objectSelector: { matchLabels: { tier: 'web' } } }, object: pod({}), input: admission(pod({}), 'pods', 'CREATE'), want: 'objectSelector' },
  { name: 'wildcard rules never match a ValidatingAdmissionPolicy (render)', match: { resourceRules: [ALL] }, object: vap, input: render, want: 'resourceRules (admission policy resources are exempt)' },
  { name: 'wildcard rules never match a MutatingAdmissionPolicyBinding (admission)', match: { resourceRules: [ALL] }, object: binding, input: admission(binding, 'mutatingadmissionpolicybindings', 'CREATE'), want: 'resourceRules (admission policy resources are exempt)' },
  { name: 'a webhook configuration is matched (not exempt)', match: { resourceRules: [ALL] }, object: webhook, input: render, want: '' },
  { name: 'Equivalent: a served other version (autoscaling/v1 rule, v2 HPA)', match: { resourceRules: [{ ...HPA_RULE, apiVersions: ['v1'] }] }, object: hpa, input: admission(hpa, 'horizontalpodautoscalers', 'CREATE'), want: '' },
  { name: 'Equivalent: a version no longer served (v2beta2) matches nothing', match: { resourceRules: [{ ...HPA_RULE, apiVersions: ['v2beta2'] }] }, object: hpa, input: admission(hpa, 'horizontalpodautoscalers', 'CREATE'), want: 'resourceRules' },
  { name: 'Exact: the served other version does not match', match: { matchPolicy: 'Exact', resourceRules: [{ ...HPA_RULE, apiVersions: ['v1'] }] }, object: hpa, input: admission(hpa, 'horizontalpodautoscalers', 'CREATE'), want: 'resourceRules' },
  { name: 'Equivalent: an exclusion naming a version no longer served excludes nothing', match: { resourceRules: [ALL], excludeResourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1beta1'], resources: ['deployments'], operations: ['*'] }] }, object: deploy, input: render, want: '' },
  { name: 'Equivalent: a custom resource in another version (its versions unknown here)', match: { resourceRules: [{ apiGroups: ['example.com'], apiVersions: ['v1alpha1'], resources: ['widgets'], operations: ['*'] }] }, object: widget, input: render, want: '' },
];

t.test('admission policy matching: scope of Namespaces, objectSelector on the old object, exempt policy resources, equivalent versions', async (t) => {
  for (const row of rows) {
    t.equal(compileMatchResources(row.match, true)(row.object, row.input), row.want, row.name);
  }
});
