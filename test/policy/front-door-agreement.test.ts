/**
 * The disagreements of issue 12, each fixed at its root:
 * - objectSelector on UPDATE matches when the old or the new object matches
 *   (Kubernetes webhook semantics);
 * - the `namespace` transformer at admission changes nothing and warns on
 *   every object `run` would have moved (docs/design.md);
 * - `check -f` evaluates run's chain (sorted; Audit changes not kept).
 */
import t from 'tap';
import { review } from '../../src/admission/review.js';
import { nonIdempotent } from '../../src/cli/check.js';
import { policiesFromText } from '../../src/index.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { readManifestStream } from '../../src/policy/render.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import type { JsonObject } from '../../src/kube/object.js';
import { createReview } from '../helpers/admission.js';

const selectorPolicy = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: sel}
spec:
  match:
    objectSelector: {matchLabels: {inject: "true"}}
  transformers:
  - annotations: {seen: "yes"}
`;

const cm = (labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'a', labels } });

t.test('objectSelector: old or new object (UPDATE), new (CREATE), old (DELETE)', async (t) => {
  const set = policiesFromText(selectorPolicy);
  const rows: { name: string; op: 'CREATE' | 'UPDATE'; object: JsonObject; old?: JsonObject; matches: boolean }[] = [
    { name: 'CREATE, new matches', op: 'CREATE', object: cm({ inject: 'true' }), matches: true },
    { name: 'CREATE, new does not match', op: 'CREATE', object: cm({}), matches: false },
    { name: 'UPDATE, only old matches', op: 'UPDATE', object: cm({}), old: cm({ inject: 'true' }), matches: true },
    { name: 'UPDATE, only new matches', op: 'UPDATE', object: cm({ inject: 'true' }), old: cm({}), matches: true },
    { name: 'UPDATE, neither matches', op: 'UPDATE', object: cm({ inject: 'false' }), old: cm({}), matches: false },
  ];
  for (const r of rows) {
    const e = set.evaluate(r.object, { frontDoor: 'admission', operation: r.op, namespace: 'a', oldObject: r.old });
    t.equal(e.matchedPolicies.includes('sel'), r.matches, r.name);
  }
});

t.test('the namespace transformer at admission: no change, a warning on every object run would move', async (t) => {
  const set = policiesFromText('apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-b\ncommonLabels: {team: b}\n', { file: 'k/kustomization.yaml' });
  const moved = review(createReview(cm({}), 'u1', { namespace: 'a' }), set);
  const response = (moved.body as { response: { warnings?: string[]; patch?: string } }).response;
  t.match(response.warnings?.join('\n'), /namespace "team-b" is not applied at admission/, 'warned');
  const ops = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as { path: string }[];
  t.notOk(ops.some((op) => op.path === '/metadata/namespace'), 'the namespace is not patched');
  const stays = review(createReview({ ...cm({}), metadata: { name: 'c', namespace: 'team-b' } }, 'u2', { namespace: 'team-b' }), set);
  t.notOk((stays.body as { response: { warnings?: string[] } }).response.warnings, 'no warning when run would not move it');
});

t.test('check -f evaluates run\'s chain: sorted policies, Audit changes not kept', async (t) => {
  // Sorted, the Enforce policy (order 1) pins the image first; the Audit policy's
  // rename (order 0) must not be kept, or the chain would look non-idempotent.
  const text = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: z-pin}
spec:
  order: 1
  transformers:
  - {name: pin, images: [{name: nginx, newTag: "1.27"}]}
---
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: a-audit}
spec:
  order: 0
  mode: Audit
  transformers:
  - {name: rename, images: [{name: nginx, newName: nginx:1.27}]}
`;
  const policies = compilePolicyText(text, 'p.yaml', { registry: builtinRegistry() });
  const loaded = { set: createPolicySet(policies), policies, files: ['p.yaml'] };
  const stream = readManifestStream('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: c, image: nginx}]\n');
  t.same(nonIdempotent(loaded, stream), [], 'the Audit rename is reported, not kept: nothing changes on a second pass');
});
