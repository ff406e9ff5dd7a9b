/**
 * The SDK: `createPostRenderer(policies).run(manifests)` as Helm's Go
 * `PostRenderer.Run`, custom transformer types through a registry, and the
 * Helm post-render details of `run` (Helm 4's filename annotation kept,
 * `# Source:` comments and empty documents dropped, YAML 1.1-safe output).
 */
import t from 'tap';
import YAML from 'yaml';
import {
  builtinRegistry,
  createPostRenderer,
  policiesFromText,
  RenderError,
  type KubeObject,
  type TransformerFactory,
} from '../../src/index.js';
import { parseYaml11 } from '../helpers/yaml11.js';

const policy = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  transformers:
  - labels: {pairs: {team: shop}}
`;

const helm4 = `---
# Source: shop/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop
  annotations:
    postrenderer.helm.sh/postrender-filename: shop/templates/cm.yaml
data:
  enabled: "on"
  mode: "0755"
  answer: "yes"
---
# Source: shop/templates/empty.yaml
---
`;

t.test('createPostRenderer().run keeps Helm 4 annotations and YAML 1.1 strings', async (t) => {
  const out = await createPostRenderer(policiesFromText(policy)).run(helm4);
  const docs = parseYaml11(out) as KubeObject[];
  t.equal(docs.length, 1, 'empty documents dropped');
  const cm = docs[0] as { metadata: { annotations: Record<string, string>; labels: Record<string, string> }; data: Record<string, unknown> };
  t.equal(cm.metadata.annotations['postrenderer.helm.sh/postrender-filename'], 'shop/templates/cm.yaml');
  t.equal(cm.metadata.labels.team, 'shop');
  t.same(cm.data, { enabled: 'on', mode: '0755', answer: 'yes' }, 'strings stay strings for YAML 1.1 readers');
  t.notMatch(out, /# Source:/);
});

t.test('a custom transformer type through the registry', async (t) => {
  const stamp: TransformerFactory = (config, opts) => {
    if (typeof config !== 'string') throw new Error('stamp takes a string');
    return {
      type: 'stamp',
      name: opts.name,
      apply: (obj) => ({ ...obj, metadata: { ...(obj.metadata as object), annotations: { stamp: config } } }) as KubeObject,
    };
  };
  const registry = builtinRegistry().register('stamp', stamp);
  const set = policiesFromText(policy.replace('- labels: {pairs: {team: shop}}', '- stamp: hello'), { registry });
  const out = YAML.parse(await createPostRenderer(set).run('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'));
  t.same(out.metadata.annotations, { stamp: 'hello' });
});

t.test('run rejects instead of returning partial output', async (t) => {
  const strict = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: strict}
spec:
  transformers:
  - patch:
      target: {kind: ConfigMap}
      patch: '[{"op": "test", "path": "/data/a", "value": "1"}]'
`;
  await t.rejects(createPostRenderer(policiesFromText(strict)).run('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: "2"}\n'), RenderError);
});
