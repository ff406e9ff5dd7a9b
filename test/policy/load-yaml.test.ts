/**
 * Policy files and Kustomizations are read as kustomize reads YAML (go-yaml v3,
 * `parseManifests`): the same scalar typing as the manifests they transform,
 * and malformed YAML rejected with file, document, line and column.
 */
import t from 'tap';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet, PolicyError } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';

const opts = { registry: builtinRegistry() };

const kustomization = (replicas: string): string => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
replicas:
- name: web
  count: ${replicas}
`;

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1 } };

t.test('scalars are typed as kustomize types them (go-yaml v3)', async (t) => {
  const rows: [string, unknown][] = [
    ['3', 3],
    ['0755', 493], // legacy octal, as Go's ParseInt; YAML 1.2 core (the yaml package) read 755
    ['0o10', 8],
    ['0x10', 16],
    ['1_0', 10], // YAML 1.2 core read the string "1_0"
  ];
  for (const [text, want] of rows) {
    const set = createPolicySet(compilePolicyText(kustomization(text), 'k/kustomization.yaml', opts));
    const r = set.evaluate(deployment, { frontDoor: 'render', operation: 'CREATE', namespace: 'default', stream: [] });
    t.same((r.object as { spec: { replicas: unknown } }).spec.replicas, want, `count: ${text}`);
  }
});

t.test('malformed YAML: PolicyError with file, document, line and column', async (t) => {
  const rows: [string, RegExp][] = [
    ['apiVersion: v1\napiVersion: v2\n', /^f\.yaml: document 1: invalid YAML: line 2, column 1: .*apiVersion/],
    ['---\nkind: A\n---\na: [1\n', /^f\.yaml: document 2: invalid YAML: line \d+, column \d+: /],
    ['a: *missing\n', /^f\.yaml: document 1: invalid YAML: line 1, column \d+: .*missing/],
  ];
  for (const [text, message] of rows) t.throws(() => compilePolicyText(text, 'f.yaml', opts), { name: PolicyError.name, message }, JSON.stringify(text));
});
