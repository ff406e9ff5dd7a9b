/**
 * Fuzzing the admission front door (issue 8): arbitrary bodies through the
 * fastify app (`app.inject`), and well-formed AdmissionReviews with arbitrary
 * objects through `review` and the app. Properties: no crash, no 500, no
 * unhandled rejection; a well-formed review gets an AdmissionReview with its
 * uid; every patch applies with fast-json-patch (validate on); a second pass
 * over the patched object yields no patch (reinvocation); Object.prototype
 * untouched.
 */
import t from 'tap';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { buildApp } from '../../src/server/app.js';
import { review } from '../../src/admission/review.js';
import { applyJson6902 } from '../../src/patch/json6902.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, HOSTILE_KEYS, jsonArb, kubeObjectArb, params, PLATFORM_POLICY, policySetFromYaml, prototypeSnapshot, prototypeUntouched, runs } from './helpers.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

const policies = policySetFromYaml(PLATFORM_POLICY);
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Decodes a response patch. */
function opsOf(response: JsonObject): jsonpatch.Operation[] {
  return response.patch ? (JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8')) as jsonpatch.Operation[]) : [];
}

/** Applies a patch with fast-json-patch (validate on); falls back to our applier only for `__proto__` paths, which fast-json-patch bans. */
function applyPatch(object: JsonObject, ops: jsonpatch.Operation[]): JsonObject {
  if (ops.some((o) => o.path.split('/').includes('__proto__'))) return applyJson6902(object, ops as unknown as JsonObject[]);
  return jsonpatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
}

t.test('arbitrary JSON bodies: a transport code or an AdmissionReview, never 500', async (t) => {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  const before = prototypeSnapshot();
  const uidArb = fc.oneof({ weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) }, { weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: jsonArb });
  const bodyArb = fc.oneof(
    jsonArb,
    fc.record({
      apiVersion: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1') }, { weight: 1, arbitrary: jsonArb }),
      kind: fc.oneof({ weight: 9, arbitrary: fc.constant('AdmissionReview') }, { weight: 1, arbitrary: jsonArb }),
      request: fc.oneof({ weight: 1, arbitrary: jsonArb }, { weight: 9, arbitrary: fc.record({
        uid: uidArb, operation: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT') }, { weight: 1, arbitrary: jsonArb }),
        object: fc.oneof({ weight: 4, arbitrary: kubeObjectArb }, { weight: 1, arbitrary: jsonArb }),
        oldObject: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: kubeObjectArb }, { weight: 1, arbitrary: jsonArb }),
        namespace: fc.oneof(fc.string({ maxLength: 8 }), jsonArb), kind: jsonArb, subResource: jsonArb, dryRun: jsonArb,
      }, { requiredKeys: ['uid', 'operation'] }) }),
    }, { requiredKeys: ['request'] }),
  );
  let counts = { ok: 0, rejected: 0 };
  await fc.assert(fc.asyncProperty(bodyArb, fc.constantFrom('/mutate', '/validate'), async (body, url) => {
    const payload = JSON.stringify(body) ?? 'null';
    const res = await app.inject({ method: 'POST', url, headers: JSON_HEADERS, payload });
    if (![200, 400].includes(res.statusCode)) throw new Error(`status ${res.statusCode}: ${res.body}`);
    const json = res.json() as JsonObject;
    if (res.statusCode === 400) {
      counts.rejected++;
      return typeof json.code === 'string' && typeof json.message === 'string';
    }
    counts.ok++;
    const req = (body as JsonObject).request as JsonObject;
    const response = json.response as JsonObject;
    return json.kind === 'AdmissionReview' && json.apiVersion === (body as JsonObject).apiVersion && response.uid === req.uid;
  }), params(runs(300)));
  t.ok(prototypeUntouched(before), 'Object.prototype untouched');
  t.comment(`arbitrary bodies: ${counts.ok} AdmissionReviews, ${counts.rejected} 400s`);
  counts = { ok: 0, rejected: 0 };
});

t.test('raw byte bodies (invalid UTF-8, truncated JSON): 400 or 200, never 500', async (t) => {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  const good = JSON.stringify(admissionReview('raw-1', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }));
  const inString = good.indexOf('"b"') + 2; // inside the ConfigMap value: still well-formed JSON
  const counts = { 200: 0, 400: 0 };
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.option(fc.nat({ max: good.length }), { nil: undefined }), async (bytes, cut) => {
    const at = cut ?? inString;
    const raw = Buffer.from(bytes.filter((b) => cut !== undefined || (b !== 0x22 && b !== 0x5c && b >= 0x20)));
    const payload = Buffer.concat([Buffer.from(good.slice(0, at)), raw, Buffer.from(cut === undefined ? good.slice(at) : '')]);
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: JSON_HEADERS, payload });
    if (res.statusCode !== 200 && res.statusCode !== 400) return false;
    counts[res.statusCode]++;
    // Bytes spliced inside a string keep the review well-formed (invalid UTF-8 decodes to U+FFFD).
    return cut !== undefined || (res.statusCode === 200 && (res.json() as JsonObject & { response: JsonObject }).response.uid === 'raw-1');
  }), params(runs(200)));
  t.ok(counts[200] > 0, 'some bodies were well-formed reviews');
  t.comment(`raw byte bodies: ${counts[200]} AdmissionReviews, ${counts[400]} 400s`);
});

t.test('well-formed reviews: uid echoed, patch applies, second pass yields no patch', async (t) => {
  const before = prototypeSnapshot();
  let patched = 0;
  let total = 0;
  fc.assert(fc.property(kubeObjectArb, fc.constantFrom('CREATE', 'UPDATE'), fc.uuid(), (object, operation, uid) => {
    total++;
    // JSON round trip: what the server hands to review (own `__proto__` keys included).
    const body = JSON.parse(JSON.stringify(admissionReview(uid, object, operation, 'team-a', operation === 'UPDATE' ? object : undefined))) as JsonObject;
    const sent = JSON.stringify(body);
    const r = review(body, policies, { route: 'mutate' });
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    if (JSON.stringify(body) !== sent) throw new Error('request mutated');
    const response = (r.body as unknown as JsonObject).response as JsonObject;
    if (response.uid !== uid) throw new Error('uid not echoed');
    if (response.allowed !== true) throw new Error(`not allowed: ${JSON.stringify(response.status)}`);
    const ops = opsOf(response);
    if (ops.length === 0) return true;
    patched++;
    const original = (body.request as JsonObject).object as JsonObject;
    const result = applyPatch(original, ops);
    const again = review(JSON.parse(JSON.stringify(admissionReview(uid, result, operation, 'team-a', operation === 'UPDATE' ? object : undefined))), policies, { route: 'mutate' });
    const second = opsOf((again.body as unknown as JsonObject).response as JsonObject);
    if (second.length > 0) throw new Error(`second pass patched: ${JSON.stringify(second)}`);
    return true;
  }), params(runs(300)));
  t.ok(prototypeUntouched(before), 'Object.prototype untouched');
  t.ok(patched > 0, 'some reviews were patched');
  t.comment(`well-formed reviews: ${total}, patched ${patched}`);
});

t.test('well-formed reviews through the HTTP layer', async (t) => {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  let n = 0;
  await fc.assert(fc.asyncProperty(kubeObjectArb, fc.uuid(), async (object, uid) => {
    const payload = JSON.stringify(admissionReview(uid, object));
    n++;
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: JSON_HEADERS, payload });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
    const response = (res.json() as JsonObject).response as JsonObject;
    applyPatch(object, opsOf(response));
    return response.uid === uid;
  }), params(runs(150)));
  t.comment(`well-formed reviews over HTTP: ${n}`);
});

t.test('a well-formed review whose object has a `__proto__` or `constructor` key gets an AdmissionReview', async (t) => {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  for (const key of HOSTILE_KEYS) {
    // A ConfigMap data key may be `__proto__` or `constructor` (keys match [-._a-zA-Z0-9]+).
    const payload = JSON.stringify(admissionReview(`u-${key}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { x: 'v' } }))
      .replace('"x":"v"', `"${key}":"v"`);
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: JSON_HEADERS, payload });
    t.equal(res.statusCode, 200, `${key}: 200`);
  }
});

t.test('no unhandled rejections', async (t) => {
  await new Promise((r) => setImmediate(r));
  t.same(unhandled, [], 'none');
});
