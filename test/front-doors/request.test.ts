/**
 * CEL's `request` in `run` is the request the API server would send for
 * creating the object (k8s.io/apiserver admission/plugin/cel
 * `CreateAdmissionRequest`, admission/v1 AdmissionRequest's JSON tags):
 * `resource`/`requestResource` (plural), `requestKind`, `options`, `uid`,
 * and no `name` for a `generateName` object nor `namespace` for a
 * cluster-scoped one (`omitempty`). Each row evaluates one expression through
 * `run` and through `/mutate` with the review the API server sends; both must
 * give the row's value (or the same evaluation error). The user differs by
 * design (run's is empty).
 */
import t from 'tap';
import YAML from 'yaml';
import { policiesFromText } from '../../src/index.js';
import { gvkOf, isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { admit } from '../helpers/admission.js';

/** A MAP writing `expr` (a string) to the annotation `v`; an evaluation error denies (failurePolicy Fail). */
const policy = (expr: string): string => `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: m}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"]}]
  reinvocationPolicy: Never
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: '[JSONPatch{op: "add", path: "/metadata/annotations", value: {"v": ${expr}}}]'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: m}
spec: {policyName: m}
`;

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n';
const INGRESS = 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {}\n';
const POLICY = 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {}\n';
const WIDGET = 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n';
const POD = 'apiVersion: v1\nkind: Pod\nmetadata: {generateName: job-}\nspec: {containers: [{name: c, image: busybox}]}\n';
const CLUSTER_ROLE = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr}\nrules: []\n';

/** [message, expression, manifest, request namespace (= -n), expected: the value, or `error: <key>` for no such key]. */
const rows: [string, string, string, string, string][] = [
  ['resource is the plural of a built-in kind', 'request.resource.resource', DEPLOY, 'team-a', 'deployments'],
  ['resource of an irregular plural', 'request.resource.resource', INGRESS, 'team-a', 'ingresses'],
  ['resource group and version', 'request.resource.group + "/" + request.resource.version', POLICY, 'team-a', 'policy/v1'],
  ['resource of a custom kind: the default plural', 'request.resource.resource', WIDGET, 'team-a', 'widgets'],
  ['requestResource', 'request.requestResource.resource', DEPLOY, 'team-a', 'deployments'],
  ['requestKind', 'request.requestKind.group + "/" + request.requestKind.kind', DEPLOY, 'team-a', 'apps/Deployment'],
  ['options of a CREATE', 'request.options.kind', DEPLOY, 'team-a', 'CreateOptions'],
  ['dryRun', 'string(request.dryRun)', DEPLOY, 'team-a', 'false'],
  ['operation', 'request.operation', DEPLOY, 'team-a', 'CREATE'],
  ['namespace of a namespaced object', 'request.namespace', DEPLOY, 'team-a', 'team-a'],
  ['no namespace for a cluster-scoped object', 'string(has(request.namespace))', CLUSTER_ROLE, '', 'false'],
  ['reading it is an error', 'request.namespace', CLUSTER_ROLE, '', 'error: namespace'],
  ['no name for a generateName object', 'string(has(request.name))', POD, 'team-a', 'false'],
  ['reading it is an error', 'request.name', POD, 'team-a', 'error: name'],
  ['name of a named object', 'request.name', DEPLOY, 'team-a', 'web'],
  ['no subResource', 'string(has(request.subResource))', DEPLOY, 'team-a', 'false'],
];

/** The AdmissionReview the API server sends for creating `obj` in `namespace` ('' for cluster-scoped). */
function apiServerReview(obj: KubeObject, namespace: string, resource: string): JsonObject {
  const g = gvkOf(obj);
  const kind = { group: g.group, version: g.version, kind: g.kind };
  const res = { group: g.group, version: g.version, resource };
  const name = (obj.metadata as JsonObject).name;
  const request: JsonObject = { uid: 'u', kind, resource: res, requestKind: kind, requestResource: res };
  if (typeof name === 'string') request.name = name;
  if (namespace) request.namespace = namespace;
  Object.assign(request, { operation: 'CREATE', userInfo: { username: 'alice', groups: ['system:authenticated'] }, object: obj, dryRun: false, options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' } });
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

const annotation = (o: JsonObject): string => String(((o.metadata as JsonObject).annotations as JsonObject).v);
const noSuchKey = (message: string): string => `error: ${/no such key: (\w+)/.exec(message)?.[1] ?? message}`;

function viaRun(expr: string, manifest: string, namespace: string): string {
  try {
    const out = renderManifests(manifest, policiesFromText(policy(expr)), { namespace }).output;
    return annotation(YAML.parse(out) as JsonObject);
  } catch (err) {
    return noSuchKey((err as Error).message);
  }
}

function viaAdmission(expr: string, manifest: string, namespace: string, resource: string): string {
  const input = YAML.parse(manifest) as KubeObject;
  const obj = namespace ? { ...input, metadata: { ...(input.metadata as JsonObject), namespace } } : input;
  const r = review(apiServerReview(obj, namespace, resource), policiesFromText(policy(expr)), { route: 'mutate' });
  const { response, admitted } = admit(obj, r.body);
  if (response.allowed !== true) return noSuchKey(String(isObject(response.status) ? response.status.message : ''));
  return annotation(admitted);
}

const RESOURCES: Record<string, string> = { Deployment: 'deployments', Ingress: 'ingresses', PodDisruptionBudget: 'poddisruptionbudgets', Widget: 'widgets', Pod: 'pods', ClusterRole: 'clusterroles' };

t.test('request in run is the request of admission', async (t) => {
  for (const [message, expr, manifest, namespace, want] of rows) {
    const resource = RESOURCES[String((YAML.parse(manifest) as JsonObject).kind)] as string;
    t.equal(viaRun(expr, manifest, namespace), want, `${message}: run (${expr})`);
    t.equal(viaAdmission(expr, manifest, namespace, resource), want, `${message}: /mutate (${expr})`);
  }
});
