/**
 * On UPDATE, the immutable-field warning names only the transformer(s) whose
 * own step changed that field (read from the evaluation's trace), never every
 * transformer that changed the object.
 */
import t from 'tap';
import { review } from '../../src/admission/review.js';
import { policiesFromText } from '../../src/index.js';
import { createReview } from '../helpers/admission.js';
import type { JsonObject } from '../../src/kube/object.js';

const policy = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  transformers:
  - {name: sel, labels: {pairs: {team: shop}, includeSelectors: true}}
  - name: pod-img
    images: [{name: nginx, newTag: "1.27"}]
  - {name: note, annotations: {a: "b"}}
`;

const deployment = (): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
  },
});

t.test('the warning names the transformer that changed the field', async (t) => {
  const set = policiesFromText(policy);
  const body = createReview(deployment(), 'u1', { operation: 'UPDATE', oldObject: deployment() });
  const r = review(body, set, { route: 'mutate' });
  const warnings = (r.body as { response: { warnings?: string[] } }).response.warnings ?? [];
  const selector = warnings.find((w) => w.startsWith('spec.selector'));
  t.ok(selector, 'a warning for spec.selector');
  t.match(selector, /change by p\/sel not applied$/, 'names sel only');
  t.notMatch(selector, /pod-img|note/, 'not the transformers that left the field alone');
});

t.test('review without options answers as /mutate', async (t) => {
  const set = policiesFromText(policy);
  const r = review(createReview(deployment(), 'u2'), set);
  t.equal(r.statusCode, 200);
  const response = (r.body as { response: { allowed: boolean; patch?: string } }).response;
  t.equal(response.allowed, true);
  t.ok(response.patch, 'patched');
});
