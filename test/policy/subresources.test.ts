/**
 * Subresource requests (status, scale, ...) reach a policy only when its
 * match.resources names them (`Deployment/status`, `*\/scale`), as webhook
 * rules and Kyverno: a validate rule must not block a controller's status
 * write. Includes the recorded status UPDATE from a real kube-apiserver.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policiesFromText } from '../../src/index.js';
import { review } from '../../src/admission/review.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';
import type { JsonObject } from '../../src/kube/object.js';
import { REPO_ROOT } from '../helpers/cases.js';

const deny = (resources: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: strict}
spec:
${resources ? `  match:\n    resources: ${resources}\n` : ''}  transformers:
  - name: never
    validate: {expression: "false", message: "no"}
`;

const status = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'data', 'admission', 'recorded', '015-mutate-Deployment-status-UPDATE-frontend.json'), 'utf8')).review as JsonObject;
const plain = structuredClone(status);
delete (plain.request as JsonObject).subResource;

const rows: [string, string, JsonObject, boolean][] = [
  ['no match.resources: the status write passes', '', status, true],
  ['no match.resources: the plain UPDATE is checked', '', plain, false],
  ['Deployment does not match Deployment/status', '[{group: apps, kinds: [Deployment]}]', status, true],
  ['Deployment/status matches the status write', '[{group: apps, kinds: [Deployment/status]}]', status, false],
  ['Deployment/status does not match the plain UPDATE', '[{group: apps, kinds: [Deployment/status]}]', plain, true],
  ['*/status matches any kind\'s status', "[{kinds: ['*/status']}]", status, false],
  ['Deployment/* matches any subresource of it', "[{group: apps, kinds: ['Deployment/*']}]", status, false],
  ['* alone does not match a subresource', "[{kinds: ['*']}]", status, true],
];

t.test('subresource matching at admission', async (t) => {
  for (const [name, resources, body, allowed] of rows) {
    const set = policiesFromText(deny(resources), defaultLoadOptions());
    const res = review(structuredClone(body), set, { route: 'mutate' });
    t.equal(((res.body as unknown as JsonObject).response as JsonObject).allowed, allowed, name);
  }
});

t.test('examples: require-labels no longer blocks status writes', async (t) => {
  const set = policiesFromText(readFileSync(join(REPO_ROOT, 'examples/policies/require-labels/policy.yaml'), 'utf8'), defaultLoadOptions());
  const res = review(structuredClone(status), set, { route: 'mutate' });
  t.equal(((res.body as unknown as JsonObject).response as JsonObject).allowed, true);
});
