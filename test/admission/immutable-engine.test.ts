/**
 * Immutable fields on UPDATE through the real engine (DESIGN.md): commonLabels
 * would rewrite a Deployment's spec.selector, which the API server refuses to
 * change; the change is not applied to that field, the rest is, and the
 * warning names policy, transformer and field.
 */
import t from 'tap';
import { policiesFromText } from '../../src/index.js';
import { review } from '../../src/admission/review.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admit, createReview } from '../helpers/admission.js';

const policy = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: team}
spec:
  transformers:
  - name: team-label
    commonLabels: {team: shop}
`;

const deployment = (): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
  },
});

t.test('UPDATE: the selector stays, the rest is labelled, the warning names policy/transformer and field', async (t) => {
  const set = policiesFromText(policy);
  const old = deployment();
  const updated = deployment();
  (updated.spec as JsonObject).replicas = 3;
  const res = review(createReview(updated, 'u1', { operation: 'UPDATE', oldObject: old }), set, { route: 'mutate' });
  const { response, admitted } = admit(updated, res.body);
  t.equal(response.allowed, true);
  t.same((admitted.spec as JsonObject).selector, { matchLabels: { app: 'web' } }, 'selector unchanged');
  t.same((admitted.metadata as JsonObject).labels, { app: 'web', team: 'shop' }, 'metadata labelled');
  t.match(response.warnings, [/spec\.selector.*immutable on UPDATE.*team\/team-label/]);
});

t.test('CREATE: the selector is labelled like kustomize does', async (t) => {
  const res = review(createReview(deployment(), 'u2'), policiesFromText(policy), { route: 'mutate' });
  const { admitted, response } = admit(deployment(), res.body);
  t.same((admitted.spec as JsonObject).selector, { matchLabels: { app: 'web', team: 'shop' } });
  t.notOk(response.warnings);
});
