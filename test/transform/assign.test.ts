/**
 * The `assign` transformer (our policy format, Gatekeeper's location syntax):
 * rows with the laws (frozen input untouched, idempotent, createPatch
 * re-applied == output, same reference when unchanged), and config errors
 * with their paths.
 */
import t from 'tap';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { assignTransformer } from '../../src/transform/assign.js';
import { checkLaws } from '../policy/gatekeeper-helpers.js';
import { configErrorPath } from './kustomize-cases.js';

const deploy = (containers: JsonObject[], labels: JsonObject = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels },
  spec: { template: { spec: { containers } } },
});

const rows: { name: string; config: JsonObject; input: KubeObject; want: KubeObject }[] = [
  { name: 'every container', config: { location: 'spec.template.spec.containers[name: *].imagePullPolicy', value: 'Always' }, input: deploy([{ name: 'a' }, { name: 'b' }]), want: deploy([{ name: 'a', imagePullPolicy: 'Always' }, { name: 'b', imagePullPolicy: 'Always' }]) },
  { name: 'add if absent', config: { location: 'spec.template.spec.containers[name: *].securityContext.runAsNonRoot', value: true, pathTests: [{ subPath: 'spec.template.spec.containers[name: *].securityContext.runAsNonRoot', condition: 'MustNotExist' }] }, input: deploy([{ name: 'a' }, { name: 'b', securityContext: { runAsNonRoot: false } }]), want: deploy([{ name: 'a', securityContext: { runAsNonRoot: true } }, { name: 'b', securityContext: { runAsNonRoot: false } }]) },
  { name: 'metadata is allowed here', config: { location: 'metadata.labels."app.kubernetes.io/part-of"', value: 'shop' }, input: deploy([]), want: deploy([], { 'app.kubernetes.io/part-of': 'shop' }) },
  { name: 'keyed element created', config: { location: 'spec.template.spec.containers[name: proxy].image', value: 'envoy:1.31' }, input: deploy([{ name: 'a' }]), want: deploy([{ name: 'a' }, { name: 'proxy', image: 'envoy:1.31' }]) },
  { name: 'CEL expression', config: { location: 'spec.template.spec.containers[name: *].env[name: OWNER].value', expression: "object.metadata.namespace + '-team'" }, input: deploy([{ name: 'a' }]), want: deploy([{ name: 'a', env: [{ name: 'OWNER', value: 'shop-team' }] }]) },
  { name: 'unchanged: same reference', config: { location: 'spec.template.spec.containers[name: a].image', value: 'x' }, input: deploy([{ name: 'a', image: 'x' }]), want: deploy([{ name: 'a', image: 'x' }]) },
];

t.test('assign rows with the laws', async (t) => {
  for (const r of rows) {
    const tr = assignTransformer(r.config, { name: r.name });
    t.same(checkLaws(t, r.name, [tr], r.input, 'shop'), r.want, r.name);
  }
});

t.test('assign config errors name the field', async (t) => {
  const cases: [JsonObject, string][] = [
    [{ location: 'spec.', value: 1 }, 'location'],
    [{ location: 'spec.containers[name: a].name', value: 1 }, 'location'],
    [{ location: 'spec.containers[name: *]', value: { name: 'x' } }, 'location'],
    [{ location: 'spec.containers[name: a]', value: { name: 'b' } }, 'value'],
    [{ location: 'spec.x' }, ''],
    [{ location: 'spec.x', value: 1, expression: '1' }, 'expression'],
    [{ location: 'spec.x', expression: 'object.' }, 'expression'],
    [{ location: 'spec.x', value: 1, pathTests: [{ subPath: 'spec.y', condition: 'MustExist' }] }, 'pathTests'],
    [{ location: 'spec.x', value: 1, extra: true }, 'extra'],
  ];
  for (const [config, path] of cases) t.equal(configErrorPath(() => assignTransformer(config, { name: 'x' })), path, JSON.stringify(config));
});
