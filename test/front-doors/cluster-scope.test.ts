/**
 * `run` evaluates each object as the API server hands it to admission
 * (handlers/create.go `createHandler`): namespace as below, a namespaced
 * object without one in the request's (`-n`), nulls dropped; it prints the
 * chart's own namespace and nulls back.
 *
 * A cluster-scoped object reaches admission without a namespace: the API
 * server clears a `metadata.namespace` a chart gave it and sends
 * `request.namespace: ''` (k8s.io/apiserver endpoints/handlers/create.go
 * `createHandler`, rest.EnsureObjectNamespaceMatchesRequestNamespace), and a
 * custom kind is cluster-scoped when its CRD says `scope: Cluster`. `run`
 * evaluates such objects the same way, in every dialect: each row goes
 * through `run` (renderManifests) and through `/mutate` with the request the
 * API server would send, and both must give the row's annotation.
 */
import t from 'tap';
import YAML from 'yaml';
import { policiesFromText } from '../../src/index.js';
import { isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { admit, createReview } from '../helpers/admission.js';

/** ClusterPostRenderPolicy: only objects in namespace team-a. */
const OURS = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  match: {namespaces: [team-a]}
  transformers: [{annotations: {hit: "ours"}}]
`;

/** MutatingAdmissionPolicy: a binding with a namespaceSelector (cluster-scoped objects match), the annotation says what request.namespace was. */
const MAP = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: m}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"]}]
  reinvocationPolicy: Never
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: '[JSONPatch{op: "add", path: "/metadata/annotations", value: {"hit": !has(request.namespace) && !has(object.metadata.namespace) ? "map-cluster" : "map-ns"}}]'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: m}
spec: {policyName: m, matchResources: {namespaceSelector: {matchLabels: {env: prod}}}}
`;

/** Gatekeeper AssignMetadata: every namespace but team-a (cluster-scoped objects match). */
const GATEKEEPER = `apiVersion: mutations.gatekeeper.sh/v1
kind: AssignMetadata
metadata: {name: g}
spec:
  match: {excludedNamespaces: [team-a]}
  location: metadata.annotations.hit
  parameters: {assign: {value: "gatekeeper"}}
`;

/** MutatingAdmissionPolicy: rules of scope Cluster only (Namespace objects are cluster-scoped: rules.go Matcher.scope); the annotation is request.namespace. */
const MAP_CLUSTER = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: m}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"], scope: Cluster}]
  reinvocationPolicy: Never
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: '[JSONPatch{op: "add", path: "/metadata/annotations", value: {"hit": has(request.namespace) ? request.namespace : "none"}}]'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: m}
spec: {policyName: m}
`;

/** A Kustomization patch selecting namespace team-a (kustomize never selects a Namespace by namespace: resid EffectiveNamespace). */
const KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
- target: {namespace: team-a}
  patch: |
    - {op: add, path: /metadata/annotations, value: {hit: kustomize}}
`;

const NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n';
const CLUSTER_ROLE = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr, namespace: team-a}\nrules: []\n';
const ROLE = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: team-a}\nrules: []\n';
const ISSUER = 'apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: ca}\nspec: {}\n';
const crd = (scope: string): string => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: clusterissuers.cert-manager.io}\nspec:\n  group: cert-manager.io\n  scope: ${scope}\n  names: {kind: ClusterIssuer, plural: clusterissuers}\n  versions: [{name: v1, served: true, storage: true}]\n`;

interface Row {
  name: string;
  policy: string;
  /** The stream; the object under test is its last document. */
  stream: string;
  /** `-n`. */
  namespace?: string;
  /** request.namespace the API server sends for the object. */
  requestNamespace: string;
  /** metadata.namespace of the object the API server sends (default: requestNamespace; a Namespace has none). */
  objectNamespace?: string;
  /** The `hit` annotation expected from both front doors (undefined: none). */
  hit: string | undefined;
}

const rows: Row[] = [
  { name: 'ours: ClusterRole with a stray namespace is not in team-a', policy: OURS, stream: CLUSTER_ROLE, requestNamespace: '', hit: undefined },
  { name: 'ours: a Role in team-a is', policy: OURS, stream: ROLE, requestNamespace: 'team-a', hit: 'ours' },
  { name: 'ours: custom kind a CRD of the stream declares Cluster ignores -n', policy: OURS, stream: `${crd('Cluster')}---\n${ISSUER}`, namespace: 'team-a', requestNamespace: '', hit: undefined },
  { name: 'ours: custom kind a CRD of the stream declares Namespaced takes -n', policy: OURS, stream: `${crd('Namespaced')}---\n${ISSUER}`, namespace: 'team-a', requestNamespace: 'team-a', hit: 'ours' },
  { name: 'MAP: ClusterRole with a stray namespace matches the namespaceSelector, request.namespace and object namespace empty', policy: MAP, stream: CLUSTER_ROLE, requestNamespace: '', hit: 'map-cluster' },
  { name: 'MAP: custom cluster-scoped kind (CRD in the stream) with -n', policy: MAP, stream: `${crd('Cluster')}---\n${ISSUER}`, namespace: 'team-a', requestNamespace: '', hit: 'map-cluster' },
  { name: 'MAP: a Role in an unlabelled namespace does not match', policy: MAP, stream: ROLE, requestNamespace: 'team-a', hit: undefined },
  { name: 'Gatekeeper: ClusterRole with a stray namespace is not in the excluded team-a', policy: GATEKEEPER, stream: CLUSTER_ROLE, requestNamespace: '', hit: 'gatekeeper' },
  { name: 'Gatekeeper: custom cluster-scoped kind (CRD in the stream) with -n team-a', policy: GATEKEEPER, stream: `${crd('Cluster')}---\n${ISSUER}`, namespace: 'team-a', requestNamespace: '', hit: 'gatekeeper' },
  { name: 'Gatekeeper: a Role in team-a is excluded', policy: GATEKEEPER, stream: ROLE, requestNamespace: 'team-a', hit: undefined },
  { name: 'ours: a Namespace\'s request names itself: match.namespaces [team-a] holds', policy: OURS, stream: NAMESPACE, requestNamespace: 'team-a', objectNamespace: '', hit: 'ours' },
  { name: 'MAP: a Namespace matches a rule of scope Cluster, request.namespace is its name', policy: MAP_CLUSTER, stream: NAMESPACE, requestNamespace: 'team-a', objectNamespace: '', hit: 'team-a' },
  { name: 'MAP: a ClusterRole matches it without request.namespace', policy: MAP_CLUSTER, stream: CLUSTER_ROLE, requestNamespace: '', hit: 'none' },
  { name: 'MAP: a Role does not match it', policy: MAP_CLUSTER, stream: ROLE, requestNamespace: 'team-a', hit: undefined },
  { name: 'Gatekeeper: a Namespace team-a is in team-a', policy: GATEKEEPER, stream: NAMESPACE, requestNamespace: 'team-a', objectNamespace: '', hit: undefined },
  { name: 'Kustomization: a target namespace never selects a Namespace', policy: KUSTOMIZATION, stream: NAMESPACE, requestNamespace: 'team-a', objectNamespace: '', hit: undefined },
  { name: 'Kustomization: nor a cluster-scoped object with a stray namespace', policy: KUSTOMIZATION, stream: CLUSTER_ROLE, requestNamespace: '', hit: undefined },
  { name: 'Kustomization: it selects a Role in team-a', policy: KUSTOMIZATION, stream: ROLE, requestNamespace: 'team-a', hit: 'kustomize' },
];

const hitOf = (o: JsonObject): string | undefined => {
  const a = (o.metadata as JsonObject).annotations;
  return isObject(a) && typeof a.hit === 'string' ? a.hit : undefined;
};

/** The object as the API server hands it to admission: metadata.namespace is the request's ('' cleared). */
function asAdmitted(o: KubeObject, namespace: string): KubeObject {
  const { namespace: _dropped, ...metadata } = o.metadata as JsonObject;
  void _dropped;
  return { ...o, metadata: namespace ? { ...metadata, namespace } : metadata };
}

/** The AdmissionReview the API server sends: `request.namespace` omitted when empty (admission/v1 `omitempty`). */
function apiServerReview(obj: KubeObject, namespace: string): JsonObject {
  const body = createReview(obj, 'u', { namespace });
  if (namespace === '') delete (body.request as JsonObject).namespace;
  return body;
}

t.test('run and /mutate agree on the scope of an object, in every dialect', async (t) => {
  for (const row of rows) {
    const set = policiesFromText(row.policy);
    const out = YAML.parseAllDocuments(renderManifests(row.stream, set, { namespace: row.namespace }).output).map((d) => d.toJS() as KubeObject);
    const input = YAML.parseAllDocuments(row.stream).map((d) => d.toJS() as KubeObject);
    const obj = asAdmitted(input[input.length - 1] as KubeObject, row.objectNamespace ?? row.requestNamespace);
    const r = review(apiServerReview(obj, row.requestNamespace), set, { route: 'mutate' });
    t.equal(hitOf(out[out.length - 1] as KubeObject), row.hit, `${row.name}: run`);
    t.equal(hitOf(admit(obj, r.body).admitted), row.hit, `${row.name}: /mutate`);
  }
});

t.test('run prints a stray namespace of a cluster-scoped object where it was', async (t) => {
  const rows: [string, string, string][] = [
    [GATEKEEPER, CLUSTER_ROLE, 'metadata:\n  name: cr\n  namespace: team-a\n  annotations:\n    hit: gatekeeper\n'],
    [OURS, CLUSTER_ROLE, 'metadata:\n  name: cr\n  namespace: team-a\nrules: []\n'],
  ];
  for (const [policy, stream, want] of rows) {
    const out = renderManifests(stream, policiesFromText(policy)).output;
    t.ok(out.includes(want), `${out} holds ${JSON.stringify(want)}`);
  }
});

/** ValidatingAdmissionPolicy denying objects in namespace default, read from the object (a common form). */
const VAP_NOT_DEFAULT = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: v}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"]}]
  validations:
  - expression: "object.metadata.namespace != 'default'"
    message: in default
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: v}
spec: {policyName: v, validationActions: [Deny]}
`;

/** MutatingAdmissionPolicy copying the object's namespace into an annotation. */
const MAP_COPY_NS = MAP_CLUSTER.replace(', scope: Cluster', '').replace('has(request.namespace) ? request.namespace : "none"', 'has(object.metadata.namespace) ? object.metadata.namespace : "none"');

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n';

/**
 * A namespaced object without a namespace of its own reaches admission with
 * the request's (EnsureObjectNamespaceMatchesRequestNamespace: "unset,
 * default to request namespace"): run evaluates it with `-n`'s and prints it
 * without. [message, policy, -n, expected: `allowed <hit>` or `denied`].
 */
const defaulted: [string, string, string, string][] = [
  ['VAP reading object.metadata.namespace allows team-a', VAP_NOT_DEFAULT, 'team-a', 'allowed none'],
  ['VAP reading object.metadata.namespace denies default', VAP_NOT_DEFAULT, 'default', 'denied'],
  ['MAP reads the namespace on the object', MAP_COPY_NS, 'team-a', 'allowed team-a'],
];

t.test('a namespaced object without a namespace is evaluated in the request\'s', async (t) => {
  for (const [message, policy, namespace, want] of defaulted) {
    const set = policiesFromText(policy);
    let viaRun: string;
    try {
      const out = YAML.parse(renderManifests(DEPLOY, set, { namespace }).output) as KubeObject;
      t.notOk(Object.prototype.hasOwnProperty.call(out.metadata, 'namespace'), `${message}: run prints no namespace`);
      viaRun = `allowed ${hitOf(out) ?? 'none'}`;
    } catch {
      viaRun = 'denied';
    }
    const obj = asAdmitted(YAML.parse(DEPLOY) as KubeObject, namespace);
    const r = review(apiServerReview(obj, namespace), set, { route: 'mutate' });
    const { response, admitted } = admit(obj, r.body);
    t.equal(viaRun, want, `${message}: run`);
    t.equal(response.allowed === true ? `allowed ${hitOf(admitted) ?? 'none'}` : 'denied', want, `${message}: /mutate`);
  }
});

/**
 * A field set to null in a chart reaches admission absent: the API server
 * decodes the object into its Go type (a nil pointer, map or slice is not
 * written back) before any admission plugin. run evaluates it so, and prints
 * the nulls as the chart wrote them. [message, policy, expected hit].
 */
const NULLS = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: null\nspec:\n  replicas: null\n  strategy:\n  template:\n    spec:\n      containers:\n      - {name: c, image: x, env: null}\n';
const OURS_NO_LABELS = OURS.replace('match: {namespaces: [team-a]}', 'match: {conditions: [{name: unlabelled, expression: "!has(object.metadata.labels)"}]}');
const VAP_NO_STRATEGY = VAP_NOT_DEFAULT.replace(`object.metadata.namespace != 'default'`, '!has(object.spec.strategy)');
const nullRows: [string, string, string][] = [
  ['MAP: has() of a null field is false', MAP_COPY_NS.replace('has(object.metadata.namespace) ? object.metadata.namespace : "none"', 'string(has(object.spec.replicas)) + string(has(object.spec.template.spec.containers[0].env))'), 'allowed falsefalse'],
  ['ours: a condition on a null map', OURS_NO_LABELS, 'allowed ours'],
  ['VAP: an empty field (strategy:) is absent', VAP_NO_STRATEGY, 'allowed none'],
];

t.test('a null field is absent, as at admission', async (t) => {
  const dropNulls = (o: KubeObject): KubeObject => JSON.parse(JSON.stringify(o, (_k, v: unknown) => (v === null ? undefined : v))) as KubeObject;
  for (const [message, policy, want] of nullRows) {
    const set = policiesFromText(policy);
    let viaRun: string;
    try {
      const text = renderManifests(NULLS, set, { namespace: 'team-a' }).output;
      t.match(text, /replicas: null/, `${message}: run prints the chart's nulls`);
      viaRun = `allowed ${hitOf(YAML.parse(text) as KubeObject) ?? 'none'}`;
    } catch {
      viaRun = 'denied';
    }
    const obj = asAdmitted(dropNulls(YAML.parse(NULLS) as KubeObject), 'team-a');
    const r = review(apiServerReview(obj, 'team-a'), set, { route: 'mutate' });
    const { response, admitted } = admit(obj, r.body);
    t.equal(viaRun, want, `${message}: run`);
    t.equal(response.allowed === true ? `allowed ${hitOf(admitted) ?? 'none'}` : 'denied', want, `${message}: /mutate`);
  }
});

/**
 * Every namespace carries `kubernetes.io/metadata.name: <name>`: decoding
 * defaults it on a Namespace (pkg/apis/core/v1 `SetDefaults_Namespace`)
 * before admission, and so the namespace informer reports it. run gives it to
 * the Namespaces of the stream and to the labels of every namespace.
 * [message, policy, stream, -n, expected hit].
 */
const BY_NAME = { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } };
const OURS_NS_NAMED = OURS.replace('match: {namespaces: [team-a]}', `match: {objectSelector: ${JSON.stringify(BY_NAME)}}`);
const OURS_IN_NAMED = OURS.replace('match: {namespaces: [team-a]}', `match: {namespaceSelector: ${JSON.stringify(BY_NAME)}}`);
const MAP_IN_NAMED = MAP.replace('{matchLabels: {env: prod}}', JSON.stringify(BY_NAME));
const nameLabelRows: [string, string, string, string, string | undefined][] = [
  ['ours: objectSelector on the name label holds for a Namespace without labels', OURS_NS_NAMED, NAMESPACE, '', 'ours'],
  ['ours: namespaceSelector on the name label holds for a Role in team-a', OURS_IN_NAMED, ROLE, 'team-a', 'ours'],
  ['ours: and for an object -n puts in team-a', OURS_IN_NAMED, DEPLOY, 'team-a', 'ours'],
  ['MAP: a binding namespaceSelector on the name label', MAP_IN_NAMED, DEPLOY, 'team-a', 'map-ns'],
  ['MAP: not in another namespace', MAP_IN_NAMED, DEPLOY, 'team-b', undefined],
];

t.test('every namespace has its name label, as in the cluster', async (t) => {
  for (const [message, policy, stream, namespace, want] of nameLabelRows) {
    const set = policiesFromText(policy);
    const out = YAML.parse(renderManifests(stream, set, { namespace }).output) as KubeObject;
    t.equal(hitOf(out), want, `${message}: run`);
    const input = YAML.parse(stream) as KubeObject;
    const isNs = input.kind === 'Namespace';
    const md = input.metadata as JsonObject;
    const obj = isNs ? { ...input, metadata: { ...md, labels: { 'kubernetes.io/metadata.name': String(md.name) } } } : asAdmitted(input, namespace);
    const requestNs = isNs ? String(md.name) : namespace;
    const r = review(apiServerReview(obj, requestNs), set, { route: 'mutate', namespaceLabels: (ns) => ({ 'kubernetes.io/metadata.name': ns }) });
    t.equal(hitOf(admit(obj, r.body).admitted), want, `${message}: /mutate`);
  }
});
