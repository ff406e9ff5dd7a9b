import t from 'tap';
import type { KubeObject } from '../../src/kube/object.js';
import { noMatchMessage, replicasTransformer } from '../../src/transform/replicas.js';
import { makeContext } from '../../src/transform/types.js';
import { configErrorPath, runChain, runCases, checkRows } from './kustomize-cases.js';

t.test('conformance: kustomize replicas cases', (t) => {
  runCases(t, ['replicas']);
  t.end();
});

const obj = (kind: string, name: string, spec?: Record<string, unknown>, apiVersion = 'apps/v1'): KubeObject =>
  ({ apiVersion, kind, metadata: { name }, ...(spec ? { spec } : {}) } as KubeObject);

t.test('unit rows', (t) => {
  const rows: { name: string; config: unknown; input: KubeObject; want: KubeObject }[] = [
    { name: 'ReplicaSet', config: [{ name: 'r', count: 2 }], input: obj('ReplicaSet', 'r', { replicas: 1 }), want: obj('ReplicaSet', 'r', { replicas: 2 }) },
    { name: 'RC, spec created', config: [{ name: 'r', count: 2 }], input: obj('ReplicationController', 'r', undefined, 'v1'), want: obj('ReplicationController', 'r', { replicas: 2 }, 'v1') },
    { name: 'DaemonSet untouched', config: [{ name: 'd', count: 2 }], input: obj('DaemonSet', 'd', {}), want: obj('DaemonSet', 'd', {}) },
    { name: 'other name untouched', config: [{ name: 'x', count: 2 }], input: obj('Deployment', 'd', { replicas: 1 }), want: obj('Deployment', 'd', { replicas: 1 }) },
    { name: 'later entry wins', config: [{ name: 'd', count: 2 }, { name: 'd', count: 4 }], input: obj('Deployment', 'd'), want: obj('Deployment', 'd', { replicas: 4 }) },
    { name: 'name is exact, not a regex', config: [{ name: 'd.*', count: 2 }], input: obj('Deployment', 'dx', {}), want: obj('Deployment', 'dx', {}) },
    { name: 'same value: unchanged', config: [{ name: 'd', count: 0 }], input: obj('Deployment', 'd', { replicas: 0 }), want: obj('Deployment', 'd', { replicas: 0 }) },
  ];
  checkRows(t, rows, replicasTransformer);
  t.end();
});

t.test('stream requirements', (t) => {
  const tr = replicasTransformer([{ name: 'web', count: 3 }, { name: 'ghost', count: 1 }], { name: 'r' });
  t.equal(tr.requirements?.length, 2);
  t.equal(tr.requirements?.[1].message, noMatchMessage('ghost'));
  t.match(noMatchMessage('ghost'), 'resource with name ghost does not match a config with the following GVK [Deployment.[noVer].[noGrp] StatefulSet.[noVer].[noGrp] ReplicaSet.[noVer].[noGrp] ReplicationController.[noVer].[noGrp]]');
  const seen: string[] = [];
  tr.apply(obj('Deployment', 'web'), makeContext({ satisfied: (k) => seen.push(k) }));
  tr.apply(obj('CronTab', 'ghost', { replicas: 1 }, 'x.io/v1'), makeContext({ satisfied: (k) => seen.push(k) }));
  t.same(seen, [tr.requirements?.[0].key], 'only the Deployment satisfies, a custom kind never does (236)');
  t.throws(() => runChain([tr], [obj('Deployment', 'web')]), { message: noMatchMessage('ghost') });
  t.end();
});

t.test('config errors', (t) => {
  const rows: [unknown, string][] = [
    [[{ name: 'web', count: '3' }], '[0].count'],
    [[{ name: 'web', count: 1.5 }], '[0].count'],
    [[{ name: 'web', count: 1, extra: 1 }], '[0].extra'],
    [[{ name: 3, count: 1 }], '[0].name'],
    [{ name: 'web', count: 1 }, ''],
  ];
  for (const [config, path] of rows) t.equal(configErrorPath(() => replicasTransformer(config, { name: 'x' })), path, JSON.stringify(config));
  t.end();
});
