import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { review } from '../../src/admission/review.js';
import type { AdmissionReviewResponse, ReviewResult } from '../../src/admission/types.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { fakePolicies, type FakeOptions } from './fake-policies.js';

function mk(over: JsonObject = {}, reqOver: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'u-1', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'default', operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } },
      ...reqOver,
    },
    ...over,
  };
}
function ok(r: ReviewResult): AdmissionReviewResponse {
  if (r.statusCode !== 200) throw new Error(`expected 200, got ${r.statusCode}`);
  return r.body;
}

t.test('400: not an AdmissionReview', async (t) => {
  const rows: [string, unknown, string][] = [
    ['string body', 'hello', 'ERR_NOT_OBJECT'],
    ['array body', [], 'ERR_NOT_OBJECT'],
    ['null body', null, 'ERR_NOT_OBJECT'],
    ['wrong apiVersion', mk({ apiVersion: 'admission.k8s.io/v2' }), 'ERR_API_VERSION'],
    ['wrong kind', mk({ kind: 'Pod' }), 'ERR_KIND'],
    ['no request', mk({ request: undefined as unknown as JsonObject }), 'ERR_NO_REQUEST'],
    ['request not a map', mk({ request: [] }), 'ERR_NO_REQUEST'],
    ['no uid', mk({}, { uid: undefined as unknown as string }), 'ERR_NO_UID'],
    ['empty uid', mk({}, { uid: '' }), 'ERR_NO_UID'],
    ['uid not a string', mk({}, { uid: 5 }), 'ERR_NO_UID'],
    ['unknown operation', mk({}, { operation: 'PATCH' }), 'ERR_OPERATION'],
    ['object a list', mk({}, { object: [] }), 'ERR_OBJECT_NOT_MAP'],
    ['object a string', mk({}, { object: 'x' }), 'ERR_OBJECT_NOT_MAP'],
    ['CREATE without object', mk({}, { object: null }), 'ERR_OBJECT_NOT_MAP'],
    ['oldObject a number', mk({}, { operation: 'UPDATE', oldObject: 3 }), 'ERR_OBJECT_NOT_MAP'],
  ];
  for (const [name, body, code] of rows) {
    const fake = fakePolicies();
    const r = review(body, fake, { route: 'mutate' });
    t.equal(r.statusCode, 400, name);
    t.match(r.body, { code, message: String }, `${name}: ${code}`);
    t.equal(fake.calls.length, 0, `${name}: not evaluated`);
  }
});

t.test('v1beta1 is answered as v1beta1', async (t) => {
  const res = ok(review(mk({ apiVersion: 'admission.k8s.io/v1beta1' }), fakePolicies(), { route: 'mutate' }));
  t.equal(res.apiVersion, 'admission.k8s.io/v1beta1');
  t.equal(res.response.uid, 'u-1');
  t.equal(res.response.patchType, 'JSONPatch');
});

t.test('no change: no patch, no patchType', async (t) => {
  const res = ok(review(mk(), fakePolicies({ noop: true }), { route: 'mutate' }));
  t.same(res.response, { uid: 'u-1', allowed: true });
});

t.test('denials: 403, message names policy and rule; warnings kept', async (t) => {
  const res = ok(review(mk(), fakePolicies({
    deny: [{ policy: 'p1', rule: 'r1', message: 'no latest' }, { policy: 'p2', rule: 'r2', message: 'no root' }],
    warnings: ['w'],
  }), { route: 'mutate' }));
  t.equal(res.response.allowed, false);
  t.equal(res.response.status?.code, 403);
  t.equal(res.response.status?.message, 'policy p1 rule r1: no latest; policy p2 rule r2: no root');
  t.notOk(res.response.patch, 'no patch on deny');
  t.same(res.response.warnings, ['w']);
});

t.test('denials on /validate too', async (t) => {
  const fake = fakePolicies({ deny: [{ policy: 'p', rule: 'r', message: 'm' }] });
  const res = ok(review(mk(), fake, { route: 'validate' }));
  t.equal(res.response.allowed, false);
  t.equal(fake.calls[0].input.validateOnly, true);
});

t.test('a thrown error still answers with the uid: denied, code 500', async (t) => {
  const res = ok(review(mk(), fakePolicies({ throws: new Error('boom') }), { route: 'mutate' }));
  t.equal(res.response.uid, 'u-1');
  t.equal(res.response.allowed, false);
  t.equal(res.response.status?.code, 500);
  t.match(res.response.status?.message, /boom/);
  const thrower = fakePolicies();
  const res2 = ok(review(mk(), thrower, { route: 'mutate', namespaceLabels: () => { throw new Error('informer'); } }));
  t.equal(res2.response.status?.code, 500, 'namespaceLabels throwing too');
});

t.test('warnings are deduplicated and bounded', async (t) => {
  const long = 'x'.repeat(300);
  const many = Array.from({ length: 100 }, (_, i) => `warning number ${i} ${'y'.repeat(80)}`);
  const res = ok(review(mk(), fakePolicies({ warnings: ['a', 'a', 'Warning: b', long, 'bad\nheader', ...many] }), { route: 'mutate' }));
  const w = res.response.warnings ?? [];
  t.same(w.slice(0, 4), ['a', 'b', `${'x'.repeat(117)}...`, 'bad header']);
  t.ok(w.every((x) => x.length <= 120), 'each <= 120');
  t.ok(w.join('').length < 4096, 'total < 4096');
  t.match(w[w.length - 1], /^\d+ more warnings omitted$/);
});

t.test('a policy deleting the object: no patch, a warning', async (t) => {
  const res = ok(review(mk(), fakePolicies({ deletes: true }), { route: 'mutate' }));
  t.equal(res.response.allowed, true);
  t.notOk(res.response.patch);
  t.match(res.response.warnings?.[0], /deleting the object/);
});

interface ImmRow {
  name: string;
  kind: { group: string; version: string; kind: string };
  old: KubeObject;
  incoming?: KubeObject;
  mutate: FakeOptions['mutate'];
  reverted: string[];
  /** Paths expected to change in the patched object vs incoming (besides the label and annotation). */
  changed?: [string[], unknown][];
  /** The reverted field has mutable sub-paths (Pod, StatefulSet spec): checked through `changed` only. */
  partial?: boolean;
}
const deploy = (selector: JsonObject): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { matchLabels: selector }, template: { metadata: { labels: selector }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
});
const pod: KubeObject = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx:1' }], nodeName: 'n1', tolerations: [] },
};
const immRows: ImmRow[] = [
  { name: 'Deployment selector change reverted', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, old: deploy({ app: 'web' }),
    mutate: (o) => { ((o.spec as JsonObject).selector as JsonObject).matchLabels = { app: 'web', team: 'x' }; }, reverted: ['spec.selector'] },
  { name: 'Deployment template change kept', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, old: deploy({ app: 'web' }),
    mutate: (o) => { (((o.spec as JsonObject).template as JsonObject).metadata as JsonObject).labels = { app: 'web', team: 'x' }; }, reverted: [],
    changed: [[['spec', 'template', 'metadata', 'labels', 'team'], 'x']] },
  { name: 'selector restored to the stored value is kept (reinvocation of a CREATE default)', kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    old: deploy({ app: 'web', team: 'x' }), incoming: deploy({ app: 'web' }),
    mutate: (o) => { ((o.spec as JsonObject).selector as JsonObject).matchLabels = { app: 'web', team: 'x' }; }, reverted: [],
    changed: [[['spec', 'selector', 'matchLabels', 'team'], 'x']] },
  { name: 'Pod image change kept', kind: { group: '', version: 'v1', kind: 'Pod' }, old: pod,
    mutate: (o) => { (((o.spec as JsonObject).containers as JsonObject[])[0]).image = 'registry/nginx:2'; }, reverted: [],
    changed: [[['spec', 'containers', '0', 'image'], 'registry/nginx:2']] },
  { name: 'Pod sidecar reverted, image change kept', kind: { group: '', version: 'v1', kind: 'Pod' }, old: pod,
    mutate: (o) => {
      const cs = (o.spec as JsonObject).containers as JsonObject[];
      cs[0].image = 'registry/nginx:2';
      cs.push({ name: 'sidecar', image: 'envoy' });
    }, reverted: ['spec'], partial: true,
    changed: [[['spec', 'containers', '0', 'image'], 'registry/nginx:2'], [['spec', 'containers', '1'], undefined], [['spec', 'nodeName'], 'n1']] },
  { name: 'StatefulSet serviceName reverted, replicas kept', kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    old: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { serviceName: 'a', replicas: 1 } },
    mutate: (o) => { (o.spec as JsonObject).serviceName = 'b'; (o.spec as JsonObject).replicas = 3; }, reverted: ['spec'], partial: true,
    changed: [[['spec', 'replicas'], 3], [['spec', 'serviceName'], 'a']] },
  { name: 'Job template reverted', kind: { group: 'batch', version: 'v1', kind: 'Job' },
    old: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [{ name: 'c', image: 'a' }] } } } },
    mutate: (o) => { ((((o.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[])[0].image = 'b'; }, reverted: ['spec.template'] },
  { name: 'Service clusterIP reverted', kind: { group: '', version: 'v1', kind: 'Service' },
    old: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: '10.0.0.1', ports: [] } },
    mutate: (o) => { (o.spec as JsonObject).clusterIP = 'None'; }, reverted: ['spec.clusterIP'] },
  { name: 'immutable ConfigMap data reverted', kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    old: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, immutable: true, data: { a: '1' } },
    mutate: (o) => { (o.data as JsonObject).b = '2'; }, reverted: ['data'] },
  { name: 'mutable ConfigMap data kept', kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    old: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } },
    mutate: (o) => { (o.data as JsonObject).b = '2'; }, reverted: [], changed: [[['data', 'b'], '2']] },
  { name: 'metadata.namespace change reverted', kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    old: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } },
    mutate: (o) => { (o.metadata as JsonObject).namespace = 'other'; }, reverted: ['metadata.namespace'] },
];

t.test('immutable fields on UPDATE', async (t) => {
  for (const row of immRows) {
    const incoming = structuredClone(row.incoming ?? row.old);
    const body = mk({}, { operation: 'UPDATE', kind: row.kind, object: incoming, oldObject: structuredClone(row.old) });
    const res = ok(review(body, fakePolicies({ mutate: row.mutate }), { route: 'mutate' }));
    t.equal(res.response.allowed, true, row.name);
    const w = res.response.warnings ?? [];
    t.same(w.map((x) => x.split(':')[0]), row.reverted, `${row.name}: warnings name the fields`);
    for (const x of w) t.match(x, /policy fake/, `${row.name}: warning names the policy`);
    const ops = JSON.parse(Buffer.from(res.response.patch as string, 'base64').toString()) as jsonpatch.Operation[];
    const out = jsonpatch.applyPatch(structuredClone(incoming), ops, true, false).newDocument as JsonObject;
    for (const f of row.partial ? [] : row.reverted) {
      const p = f.split('.');
      t.same(getIn(out, p), getIn(incoming, p), `${row.name}: ${f} as incoming`);
    }
    for (const [p, v] of row.changed ?? []) t.same(getIn(out, p), v, `${row.name}: ${p.join('.')}`);
  }
});

t.test('immutable fields are not reverted on CREATE', async (t) => {
  const body = mk({}, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, object: deploy({ app: 'web' }) });
  const res = ok(review(body, fakePolicies({ mutate: (o) => { ((o.spec as JsonObject).selector as JsonObject).matchLabels = { x: 'y' }; } }), { route: 'mutate' }));
  t.notOk(res.response.warnings);
  const ops = JSON.parse(Buffer.from(res.response.patch as string, 'base64').toString()) as jsonpatch.Operation[];
  t.ok(ops.some((o) => o.path.startsWith('/spec/selector')));
});

function getIn(v: unknown, p: string[]): unknown {
  let cur = v;
  for (const k of p) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}
