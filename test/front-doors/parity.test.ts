/**
 * The product's central promise: for every object of the corpus, the webhook's
 * JSON patch applied to the object (with fast-json-patch, as the API server
 * applies it) equals what `run` printed for it; and a second admission of the
 * result (reinvocationPolicy: IfNeeded) returns no patch.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_SCOPED_KINDS, isObject } from '../../src/kube/object.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { CORPUS_DIR, corpusFiles, streamObjects } from '../helpers/corpus.js';
import { admit, createReview, withoutEmptyAnnotations } from '../helpers/admission.js';

const policy = join(REPO_ROOT, 'examples/platform-policy.yaml');

t.test('webhook patch applied == run output, for every corpus object', async (t) => {
  const set = loadPolicies([policy]).set;
  let compared = 0;
  let patched = 0;
  for (const file of corpusFiles()) {
    const name = file.slice(CORPUS_DIR.length + 1);
    const text = readFileSync(file, 'utf8');
    const ns = 'default';
    const rendered = streamObjects(renderManifests(text, set, { namespace: ns }).output);
    const inputs = streamObjects(text);
    t.equal(rendered.length, inputs.length, `${name}: as many objects out as in`);
    inputs.forEach((obj, i) => {
      const meta = isObject(obj.metadata) ? obj.metadata : {};
      const namespace = typeof meta.namespace === 'string' ? meta.namespace : CLUSTER_SCOPED_KINDS.has(String(obj.kind)) ? '' : ns;
      const r = review(createReview(obj, `uid-${i}`, { namespace }), set, { route: 'mutate' });
      t.equal(r.statusCode, 200);
      const { response, admitted } = admit(obj, r.body);
      t.equal(response.uid, `uid-${i}`);
      t.equal(response.allowed, true, `${name}#${i} allowed`);
      if (response.patch) patched++;
      t.same(withoutEmptyAnnotations(admitted), withoutEmptyAnnotations(rendered[i]), `${name}#${i} ${String(obj.kind)}`);
      compared++;
      const again = review(createReview(admitted, `again-${i}`, { namespace }), set, { route: 'mutate' });
      t.notOk(admit(admitted, again.body).response.patch, `${name}#${i}: second admission, no patch`);
    });
  }
  t.ok(compared > 200, `compared ${compared} objects, ${patched} patched`);
});
