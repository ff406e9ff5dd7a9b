/**
 * Tenant isolation (issue 16): a namespaced PostRenderPolicy in team-a that
 * matches every kind, opts into Secrets and Helm release records, and lists
 * other namespaces, changes only objects in team-a. One row per path: the
 * Namespace object (whose admission request carries request.namespace = its
 * own name), other cluster-scoped objects, other namespaces (by request and
 * by metadata.namespace), Secrets and Helm release records elsewhere; at
 * admission and at render.
 */
import t from 'tap';
import { review } from '../../src/admission/review.js';
import { renderManifests } from '../../src/policy/render.js';
import { printManifests } from '../../src/kube/yaml-stream.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, policySetFromYaml } from '../fuzz/helpers.js';

const TENANT = `apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: grab, namespace: team-a}
spec:
  match:
    resources: [{kinds: ["*", Namespace, Secret, ClusterRole, Node]}]
    namespaces: ["*", team-b, team-a]
    objectSelector: {matchExpressions: [{key: owner, operator: Exists}]}
  transformers:
  - labels: {pairs: {pod-security.kubernetes.io/enforce: privileged}, includeSelectors: false}
`;
const set = policySetFromYaml(TENANT, 'tenant.yaml');
const labelled = { owner: 'x' };
const md = (name: string, namespace?: string, labels: Record<string, string> = labelled): JsonObject => ({ name, ...(namespace ? { namespace } : {}), labels });

/** [row, object, request.namespace, expected: patched?] */
const ROWS: [string, JsonObject, string, boolean][] = [
  ['ConfigMap in team-a (control)', { apiVersion: 'v1', kind: 'ConfigMap', metadata: md('c', 'team-a') }, 'team-a', true],
  ['Secret in team-a (opted in, own namespace)', { apiVersion: 'v1', kind: 'Secret', metadata: md('s', 'team-a') }, 'team-a', true],
  ['Helm record in team-a (opted in by owner selector)', { apiVersion: 'v1', kind: 'Secret', metadata: md('sh.helm.release.v1.a.v1', 'team-a', { owner: 'helm' }) }, 'team-a', true],
  ['its own Namespace (request.namespace = its name)', { apiVersion: 'v1', kind: 'Namespace', metadata: md('team-a') }, 'team-a', false],
  ['another Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: md('team-b') }, 'team-b', false],
  ['ClusterRole', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: md('admin') }, '', false],
  ['Node', { apiVersion: 'v1', kind: 'Node', metadata: md('n1') }, '', false],
  ['cluster-scoped custom resource', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: md('w') }, '', false],
  ['ClusterRole with a forged request.namespace', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: md('admin') }, 'team-a', false],
  ['ConfigMap in team-b', { apiVersion: 'v1', kind: 'ConfigMap', metadata: md('c', 'team-b') }, 'team-b', false],
  ['ConfigMap in team-b with request.namespace team-a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: md('c', 'team-b') }, 'team-a', false],
  ['Secret in team-b', { apiVersion: 'v1', kind: 'Secret', metadata: md('s', 'team-b') }, 'team-b', false],
  ['Helm record in team-b', { apiVersion: 'v1', kind: 'Secret', metadata: md('sh.helm.release.v1.b.v1', 'team-b', { owner: 'helm' }) }, 'team-b', false],
  ['Deployment in kube-system', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: md('d', 'kube-system') }, 'kube-system', false],
];

t.test('admission: a tenant policy changes only objects of its namespace', async (t) => {
  for (const [row, object, ns, patched] of ROWS) {
    const res = review(admissionReview(`u-${row}`, object, 'CREATE', ns), set, { route: 'mutate' });
    t.equal(res.statusCode, 200, `${row}: answered`);
    const response = (res.body as unknown as { response: JsonObject }).response;
    t.equal(response.allowed, true, `${row}: allowed`);
    t.equal(Boolean(response.patch), patched, `${row}: ${patched ? 'patched' : 'untouched'}`);
  }
});

t.test('render: the same rows, namespaces as Helm renders them', async (t) => {
  for (const [row, object, ns, patched] of ROWS) {
    // Admission-only forgeries; and offline a custom resource's scope is unknown (Helm
    // gives it the release namespace): admission, where the API server knows, is the guard.
    if (row.includes('forged') || row.includes('request.namespace team-a') || row.includes('custom resource')) continue;
    const input = printManifests([object]);
    const r = renderManifests(input, set, { namespace: ns || 'team-a' });
    t.equal(r.output.includes('privileged'), patched, `${row}: ${patched ? 'patched' : 'untouched'} at render`);
  }
});

t.test('a PostRenderPolicy cannot move objects between namespaces', async (t) => {
  t.throws(() => policySetFromYaml(`apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: mover, namespace: team-a}
spec:
  transformers:
  - namespace: team-b
`, 'mover.yaml'), { name: 'PolicyError', message: /spec\.transformers\[0\]\.namespace: a PostRenderPolicy cannot move objects between namespaces/ });
});
