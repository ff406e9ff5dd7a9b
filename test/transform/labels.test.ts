import t from 'tap';
import type { KubeObject } from '../../src/kube/object.js';
import { commonLabelsTransformer, labelsTransformer } from '../../src/transform/labels.js';
import { makeContext, TransformError, type TransformerFactory } from '../../src/transform/types.js';
import { checkRows, configErrorPath, runCases } from './kustomize-cases.js';

t.test('conformance: kustomize labels and commonLabels cases', (t) => {
  runCases(t, ['labels', 'commonLabels']);
  t.end();
});

const deploy = (spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', ...(labels ? { labels } : {}) }, spec } as KubeObject);

interface Row { name: string; factory: TransformerFactory; config: unknown; input: KubeObject; want: KubeObject }

const rows: Row[] = [
  {
    name: 'commonLabels creates a missing Deployment selector and template labels (125)', factory: commonLabelsTransformer, config: { env: 'prod' },
    input: deploy({}),
    want: deploy({ selector: { matchLabels: { env: 'prod' } }, template: { metadata: { labels: { env: 'prod' } } } }, { env: 'prod' }),
  },
  {
    name: 'commonLabels creates an ExternalName Service selector (125)', factory: commonLabelsTransformer, config: { env: 'prod' },
    input: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'ExternalName', externalName: 'x.example' } },
    want: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', labels: { env: 'prod' } }, spec: { type: 'ExternalName', externalName: 'x.example', selector: { env: 'prod' } } },
  },
  {
    name: 'commonLabels overwrites existing selector values (117)', factory: commonLabelsTransformer, config: { app: 'new' },
    input: deploy({ selector: { matchLabels: { app: 'old' } }, template: { metadata: { labels: { app: 'old' } } } }, { app: 'old' }),
    want: deploy({ selector: { matchLabels: { app: 'new' } }, template: { metadata: { labels: { app: 'new' } } } }, { app: 'new' }),
  },
  {
    name: 'Job: template labels, selector only when present (121)', factory: commonLabelsTransformer, config: { env: 'prod' },
    input: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: {} } } },
    want: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', labels: { env: 'prod' } }, spec: { template: { metadata: { labels: { env: 'prod' } }, spec: {} } } },
  },
  {
    name: 'labels includeTemplates on StatefulSet volumeClaimTemplates (129)', factory: labelsTransformer, config: { pairs: { env: 'prod' }, includeTemplates: true },
    input: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { selector: { matchLabels: { a: 'b' } }, volumeClaimTemplates: [{ metadata: { name: 'v' } }] } },
    want: {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', labels: { env: 'prod' } },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { env: 'prod' } } }, volumeClaimTemplates: [{ metadata: { name: 'v', labels: { env: 'prod' } } }] },
    },
  },
  {
    name: 'labels custom fields', factory: labelsTransformer, config: { pairs: { env: 'prod' }, fields: [{ path: 'spec/extra', kind: 'X', create: true }] },
    input: { apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'x' } },
    want: { apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'x', labels: { env: 'prod' } }, spec: { extra: { env: 'prod' } } },
  },
  {
    name: 'labels: null metadata.labels becomes a map', factory: labelsTransformer, config: { pairs: { env: 'prod' } },
    input: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: null } },
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { env: 'prod' } } },
  },
  {
    name: 'already labelled: unchanged', factory: commonLabelsTransformer, config: { env: 'prod' },
    input: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { env: 'prod' } } },
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { env: 'prod' } } },
  },
];

t.test('unit rows', (t) => {
  checkRows(t, rows);
  t.end();
});

t.test('a scalar where a map is needed is a TransformError', (t) => {
  const tr = commonLabelsTransformer({ env: 'prod' }, { name: 'x' });
  t.throws(() => tr.apply(deploy({ template: 'oops' }), makeContext()), TransformError);
  t.throws(() => tr.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { labels: 'x' } }, makeContext()), TransformError);
  t.end();
});

t.test('config errors', (t) => {
  const rows: [TransformerFactory, unknown, string][] = [
    [commonLabelsTransformer, { 'cost-center': 1234 }, '["cost-center"]'],
    [commonLabelsTransformer, ['a'], ''],
    [labelsTransformer, { pairs: { a: true } }, 'pairs.a'],
    [labelsTransformer, { pairs: {}, includeSelectors: 'yes' }, 'includeSelectors'],
    [labelsTransformer, { pairs: {}, includeTemplate: true }, 'includeTemplate'],
    [labelsTransformer, { pairs: {}, fields: [{ path: 'a', knd: 'X' }] }, 'fields[0].knd'],
    [labelsTransformer, null, ''],
  ];
  for (const [f, config, path] of rows) t.equal(configErrorPath(() => f(config, { name: 'x' })), path, JSON.stringify(config));
  t.end();
});
