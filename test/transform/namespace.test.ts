import t from 'tap';
import { deepEqual, resIdOf, type KubeObject } from '../../src/kube/object.js';
import { namespaceTransformer } from '../../src/transform/namespace.js';
import { makeContext } from '../../src/transform/types.js';
import { configErrorPath, deepFreeze, runCases, runChain } from './kustomize-cases.js';

t.test('conformance: kustomize namespace cases', (t) => {
  runCases(t, ['namespace']);
  t.end();
});

const sa = (name: string, namespace?: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, ...(namespace ? { namespace } : {}) } });
const svc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name } });
const binding = (subjects: unknown[], kind = 'RoleBinding'): KubeObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects } as KubeObject);
const hook = (service: Record<string, unknown>): KubeObject =>
  ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'h' }, webhooks: [{ name: 'h.x', clientConfig: { service } }] } as KubeObject);

interface Row { name: string; stream: KubeObject[]; input: KubeObject; want: KubeObject }

const rows: Row[] = [
  {
    name: 'subject follows a ServiceAccount of the build, even from namespace default (141)',
    stream: [sa('app')],
    input: binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'default' }, { kind: 'ServiceAccount', name: 'app' }, { kind: 'ServiceAccount', name: 'other', namespace: 'default' }]),
    want: { ...binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'ns' }, { kind: 'ServiceAccount', name: 'app', namespace: 'ns' }, { kind: 'ServiceAccount', name: 'other', namespace: 'default' }]), metadata: { name: 'b', namespace: 'ns' } },
  },
  {
    name: 'subject in another namespace than the account is untouched',
    stream: [sa('app', 'team-a')],
    input: binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'team-b' }], 'ClusterRoleBinding'),
    want: binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'team-b' }], 'ClusterRoleBinding'),
  },
  {
    name: 'ClusterRoleBinding subject follows an account originally in team-a',
    stream: [sa('app', 'team-a')],
    input: binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'team-a' }], 'ClusterRoleBinding'),
    want: binding([{ kind: 'ServiceAccount', name: 'app', namespace: 'ns' }], 'ClusterRoleBinding'),
  },
  {
    name: 'webhook service follows a Service of the build (145)',
    stream: [svc('hook-svc')],
    input: hook({ name: 'hook-svc', namespace: 'default', path: '/v' }),
    want: hook({ name: 'hook-svc', namespace: 'ns', path: '/v' }),
  },
  {
    name: 'webhook service without namespace follows too',
    stream: [svc('hook-svc')],
    input: hook({ name: 'hook-svc' }),
    want: hook({ name: 'hook-svc', namespace: 'ns' }),
  },
  {
    name: 'APIService service created; CRD without conversion untouched',
    stream: [],
    input: { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1.x' }, spec: { group: 'x' } },
    want: { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1.x' }, spec: { group: 'x', service: { namespace: 'ns' } } },
  },
  {
    name: 'CRD without conversion webhook untouched',
    stream: [],
    input: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'a.b' }, spec: { group: 'b' } },
    want: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'a.b' }, spec: { group: 'b' } },
  },
  {
    name: 'object without metadata gets one',
    stream: [],
    input: { apiVersion: 'v1', kind: 'ConfigMap' },
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns' } },
  },
  {
    name: 'already in the namespace: unchanged',
    stream: [],
    input: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } },
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } },
  },
];

t.test('unit rows', (t) => {
  const tr = namespaceTransformer('ns', { name: 'namespace' });
  for (const r of rows) {
    const input = deepFreeze(structuredClone(r.input));
    const stream = [...r.stream, r.input].map((o) => resIdOf(o));
    const once = tr.apply(input, makeContext({ stream }))!;
    t.same(once, r.want, r.name);
    t.ok(deepEqual(tr.apply(once, makeContext({ stream })), once), `${r.name}: idempotent`);
    if (deepEqual(r.input, r.want)) t.equal(once, input, `${r.name}: same reference when unchanged`);
  }
  t.end();
});

t.test('render only: a no-op at admission', (t) => {
  const tr = namespaceTransformer('ns', { name: 'namespace' });
  const objs = [deepFreeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'other' } }), deepFreeze(binding([{ kind: 'ServiceAccount', name: 'default' }]))];
  for (const o of objs) t.equal(tr.apply(o, makeContext({ frontDoor: 'admission', namespace: 'other' })), o);
  const out = runChain([tr], objs, () => makeContext({ frontDoor: 'admission' }));
  t.equal(out[0], objs[0]);
  t.end();
});

t.test('empty namespace is a no-op', (t) => {
  const o = deepFreeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
  t.equal(namespaceTransformer('', { name: 'n' }).apply(o, makeContext()), o);
  t.equal(namespaceTransformer(null, { name: 'n' }).apply(o, makeContext()), o);
  t.end();
});

t.test('config errors', (t) => {
  for (const config of [3, ['a'], { name: 'a' }, true]) t.equal(configErrorPath(() => namespaceTransformer(config, { name: 'n' })), '', JSON.stringify(config));
  t.end();
});
