import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { review } from '../../src/admission/review.js';
import type { AdmissionReviewResponse, ReviewResult } from '../../src/admission/types.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { fakePolicies, fakeTransform, LABEL } from './fake-policies.js';

const DIR = new URL('../data/admission/recorded', import.meta.url).pathname;
interface Recorded { path: string; headers: Record<string, string>; review: JsonObject }
const recorded = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => ({ file: f, rec: JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Recorded }));

function ok(r: ReviewResult): AdmissionReviewResponse {
  if (r.statusCode !== 200) throw new Error(`expected 200, got ${r.statusCode}: ${JSON.stringify(r.body)}`);
  return r.body;
}
function decodePatch(b64: string): jsonpatch.Operation[] {
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as jsonpatch.Operation[];
}
function stripMF(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  if (c.metadata && typeof c.metadata === 'object' && !Array.isArray(c.metadata)) delete (c.metadata as JsonObject).managedFields;
  return c;
}

/** What each recorded review must yield with the label-adding fake. */
type Expect = 'patched' | 'objectless' | 'validated-no-patch';
function expectation(file: string, req: JsonObject): Expect {
  if (req.operation === 'DELETE' || req.operation === 'CONNECT') return 'objectless';
  if (file.includes('-validate-')) return 'validated-no-patch';
  return 'patched';
}

t.test('recorded reviews', async (t) => {
  t.ok(recorded.length >= 19, 'all recorded reviews found');
  for (const { file, rec } of recorded) {
    t.test(file, async (t) => {
      const body = structuredClone(rec.review);
      const frozen = JSON.stringify(body);
      const req = body.request as JsonObject;
      const route = rec.path.startsWith('/validate') ? 'validate' : 'mutate';
      const fake = fakePolicies();
      const res = ok(review(body, fake, { route }));
      t.equal(JSON.stringify(body), frozen, 'request body not mutated');
      t.equal(res.apiVersion, body.apiVersion, 'apiVersion echoed');
      t.equal(res.kind, 'AdmissionReview');
      t.equal(res.response.uid, req.uid, 'uid echoed');
      t.equal(res.response.allowed, true);
      const exp = expectation(file, req);
      if (exp === 'objectless') {
        // Evaluated (the policies that run without an object: ValidatingAdmissionPolicies) on what the request is
        // matched on: the stored object of a DELETE, the options object of a CONNECT; never patched.
        t.equal(fake.calls.length, 1, 'policies run once');
        const { object, input } = fake.calls[0];
        t.equal(input.operation, req.operation);
        t.same(object, req.operation === 'DELETE' ? stripMF(req.oldObject as KubeObject) : req.object, 'matched on oldObject (DELETE) or the options object (CONNECT)');
        t.notOk(res.response.patch, 'no patch');
        t.notOk(res.response.patchType, 'no patchType');
        return;
      }
      t.equal(fake.calls.length, 1, 'policies run once');
      const { object, input } = fake.calls[0];
      t.equal(input.frontDoor, 'admission');
      t.equal(input.operation, req.operation);
      t.equal(input.namespace, req.namespace, 'namespace from request.namespace');
      t.equal(input.subResource, req.subResource ?? '', 'subResource passed through');
      t.equal(input.request, req, 'request JSON passed');
      t.equal(input.validateOnly, route === 'validate');
      t.notOk((object.metadata as JsonObject).managedFields, 'managedFields left out of evaluation');
      if (req.oldObject) t.notOk(((input.oldObject as JsonObject).metadata as JsonObject).managedFields, 'nor of oldObject');
      else t.equal(input.oldObject, undefined);
      if (exp === 'validated-no-patch') {
        t.notOk(res.response.patch, '/validate never patches');
        return;
      }
      t.equal(res.response.patchType, 'JSONPatch');
      const ops = decodePatch(res.response.patch as string);
      t.notOk(ops.some((o) => o.path.includes('managedFields')), 'managedFields out of the diff');
      const applied = jsonpatch.applyPatch(structuredClone(req.object), ops, true, false).newDocument as KubeObject;
      t.same(stripMF(applied), fakeTransform(stripMF(req.object as KubeObject)), 'patched object equals the fake output');
      t.same((applied.metadata as JsonObject).managedFields, ((req.object as JsonObject).metadata as JsonObject).managedFields, 'managedFields kept');
      // Reinvocation: a second pass over our own output yields no patch.
      const again = structuredClone(body);
      (again.request as JsonObject).object = applied;
      const res2 = ok(review(again, fakePolicies(), { route }));
      t.notOk(res2.response.patch, 'idempotent: no patch on reinvocation');
    });
  }
});

t.test('specific recorded cases', async (t) => {
  const get = (prefix: string): JsonObject => structuredClone(recorded.find((r) => r.file.startsWith(prefix))!.rec.review);
  t.test('ReplicaSet Pod: generateName, no namespace in metadata', async (t) => {
    const body = get('104-');
    const obj = (body.request as JsonObject).object as JsonObject;
    t.notOk((obj.metadata as JsonObject).namespace, 'fixture has no metadata.namespace');
    t.notOk((obj.metadata as JsonObject).name, 'fixture has no metadata.name');
    const fake = fakePolicies();
    const labels = { env: 'prod' };
    const asked: string[] = [];
    ok(review(body, fake, { route: 'mutate', namespaceLabels: (ns) => { asked.push(ns); return labels; } }));
    t.equal(fake.calls[0].input.namespace, 'shop');
    t.same(asked, ['shop'], 'namespace labels looked up for request.namespace');
    t.equal(fake.calls[0].input.namespaceLabels, labels);
  });
  t.test('dry-run is handled like any request', async (t) => {
    const body = get('122-');
    t.equal((body.request as JsonObject).dryRun, true);
    const res = ok(review(body, fakePolicies(), { route: 'mutate' }));
    t.equal(res.response.patchType, 'JSONPatch');
  });
  t.test('custom resource Widget is patched', async (t) => {
    const res = ok(review(get('103-'), fakePolicies(), { route: 'mutate' }));
    const ops = decodePatch(res.response.patch as string);
    t.ok(ops.some((o) => o.path === `/metadata/labels/${LABEL.replace('/', '~1')}`));
  });
  t.test('/validate with a fake that would mutate: still no patch', async (t) => {
    const fake = fakePolicies();
    const orig = fake.evaluate.bind(fake);
    fake.evaluate = (o, i) => orig(o, { ...i, validateOnly: false });
    const res = ok(review(get('125-'), fake, { route: 'validate' }));
    t.notOk(res.response.patch);
    t.equal(res.response.allowed, true);
  });
});
