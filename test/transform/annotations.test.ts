import t from 'tap';
import { deepEqual, type KubeObject } from '../../src/kube/object.js';
import { annotationsTransformer } from '../../src/transform/annotations.js';
import { makeContext } from '../../src/transform/types.js';
import { configErrorPath, deepFreeze, runCases } from './kustomize-cases.js';

t.test('conformance: kustomize commonAnnotations cases', (t) => {
  runCases(t, ['commonAnnotations']);
  t.end();
});

const rows: { name: string; input: KubeObject; want: KubeObject }[] = [
  {
    name: 'ReplicaSet template (per fieldSpecs)',
    input: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: { spec: {} } } },
    want: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', annotations: { a: 'b' } }, spec: { template: { metadata: { annotations: { a: 'b' } }, spec: {} } } },
  },
  {
    name: 'ReplicationController template',
    input: { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'r', annotations: { a: 'old', keep: 'me' } }, spec: { template: {} } },
    want: { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'r', annotations: { a: 'b', keep: 'me' } }, spec: { template: { metadata: { annotations: { a: 'b' } } } } },
  },
  {
    name: 'custom resource: metadata only',
    input: { apiVersion: 'x.io/v1', kind: 'Deploymentish', metadata: { name: 'x' }, spec: { template: { metadata: {} } } },
    want: { apiVersion: 'x.io/v1', kind: 'Deploymentish', metadata: { name: 'x', annotations: { a: 'b' } }, spec: { template: { metadata: {} } } },
  },
  {
    name: 'already annotated: unchanged',
    input: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { a: 'b' } } },
    want: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { a: 'b' } } },
  },
];

t.test('unit rows', (t) => {
  const tr = annotationsTransformer({ a: 'b' }, { name: 'annotations' });
  for (const r of rows) {
    const input = deepFreeze(structuredClone(r.input));
    const once = tr.apply(input, makeContext())!;
    t.same(once, r.want, r.name);
    t.ok(deepEqual(tr.apply(once, makeContext()), once), `${r.name}: idempotent`);
    if (deepEqual(r.input, r.want)) t.equal(once, input, `${r.name}: same reference when unchanged`);
  }
  const empty = annotationsTransformer({}, { name: 'annotations' });
  const obj = deepFreeze({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
  t.equal(empty.apply(obj, makeContext()), obj, 'empty map is a no-op');
  t.end();
});

t.test('config errors', (t) => {
  const rows: [unknown, string][] = [
    [{ count: 3 }, 'count'],
    [{ enabled: true }, 'enabled'],
    [{ 'corp.example/owner': { x: 1 } }, '["corp.example/owner"]'],
    ['a=b', ''],
  ];
  for (const [config, path] of rows) t.equal(configErrorPath(() => annotationsTransformer(config, { name: 'x' })), path, JSON.stringify(config));
  t.end();
});
