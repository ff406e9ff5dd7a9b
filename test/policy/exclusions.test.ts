/**
 * DESIGN.md default exclusions, evaluated per policy (so a policy can opt back
 * in explicitly), identically at admission and in `run`.
 */
import t from 'tap';
import { policiesFromText } from '../../src/index.js';
import { review } from '../../src/admission/review.js';
import { renderManifests } from '../../src/policy/render.js';
import type { JsonObject } from '../../src/kube/object.js';

const policy = (match = ''): string => `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: stamp}
spec:
${match ? `  match:\n${match}\n` : ''}  transformers:
  - annotations: {stamped: "true"}
`;

const helmRecord = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.shop.v1', namespace: 'shop', labels: { owner: 'helm' } }, data: { release: 'SDRzSUFBQUFBQUFBLw==' } };
const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: 'cGFzcw==' } };
const cm = (ns: string): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: {} });
const mirror = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd-node1', namespace: 'shop', annotations: { 'kubernetes.io/config.mirror': 'abc' } }, spec: { containers: [] } };
const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'shop' }, spec: {} };
const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'shop' } };
const helmCm = { ...cm('shop'), metadata: { name: 'sh.helm.release.v1.x.v2', namespace: 'shop', labels: { owner: 'helm' } } };

interface Row {
  name: string;
  object: JsonObject;
  match?: string;
  touched: boolean;
}

const rows: Row[] = [
  { name: 'ordinary ConfigMap', object: cm('shop'), touched: true },
  { name: 'Helm release record (Secret)', object: helmRecord, touched: false },
  { name: 'Helm release record (ConfigMap)', object: helmCm, touched: false },
  { name: 'Helm record opt-in needs owner in objectSelector and the kind', object: helmRecord, match: '    resources: [{kinds: [Secret]}]\n    objectSelector: {matchLabels: {owner: helm}}', touched: true },
  { name: 'Secret by default', object: secret, touched: false },
  { name: 'Secret when the kind is named', object: secret, match: '    resources: [{kinds: [Secret, ConfigMap]}]', touched: true },
  { name: 'Secret with a * kind is still excluded', object: secret, match: "    resources: [{kinds: ['*']}]", touched: false },
  { name: 'mirror Pod', object: mirror, match: '    resources: [{kinds: [Pod]}]', touched: false },
  { name: 'Lease', object: lease, touched: false },
  { name: 'Lease named explicitly', object: lease, match: '    resources: [{group: coordination.k8s.io, kinds: [Lease]}]', touched: true },
  { name: 'Event', object: event, touched: false },
  { name: 'kube-system', object: cm('kube-system'), touched: false },
  { name: 'kube-node-lease', object: cm('kube-node-lease'), touched: false },
  { name: 'kube-system listed literally', object: cm('kube-system'), match: '    namespaces: [kube-system]', touched: true },
  { name: 'kube-system not opted in by a glob', object: cm('kube-system'), match: "    namespaces: ['kube-*']", touched: false },
];

function admission(obj: JsonObject): JsonObject {
  const ns = (obj.metadata as JsonObject).namespace as string;
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group, version, kind: obj.kind }, namespace: ns, operation: 'CREATE', userInfo: { username: 'u' }, object: obj } };
}

t.test('default exclusions, both front doors agree', async (t) => {
  for (const r of rows) {
    const set = policiesFromText(policy(r.match));
    const res = review(admission(r.object), set, { route: 'mutate' });
    const resp = (res.body as unknown as JsonObject).response as JsonObject;
    t.equal(Boolean(resp.patch), r.touched, `${r.name}: admission ${r.touched ? 'patched' : 'untouched'}`);
    const rendered = renderManifests(JSON.stringify(r.object), set);
    t.equal(rendered.changed, r.touched ? 1 : 0, `${r.name}: run ${r.touched ? 'changed' : 'unchanged'}`);
  }
});

t.test('the webhook\'s own namespace is excluded when configured', async (t) => {
  const set = policiesFromText(policy(), { ownNamespace: 'postrender-system' });
  const resp = (review(admission(cm('postrender-system')), set, { route: 'mutate' }).body as unknown as JsonObject).response as JsonObject;
  t.notOk(resp.patch);
});
