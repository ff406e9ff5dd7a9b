/**
 * The product's central promise: for every object of the corpus, the webhook's
 * JSON patch applied to the object (with fast-json-patch, as the API server
 * applies it) equals what `run` printed for it; and a second admission of the
 * result (reinvocationPolicy: IfNeeded) returns no patch.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fjp from 'fast-json-patch';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { CLUSTER_SCOPED_KINDS, isListObject, isObject, type JsonObject, type JsonValue } from '../../src/kube/object.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { corpusFiles } from './corpus.test.js';

const root = resolve(import.meta.dirname, '../..');
const corpus = resolve(root, '../shared/corpus');
const policy = join(root, 'examples/platform-policy.yaml');

function objects(text: string): JsonObject[] {
  return parseManifests(text)
    .map((d) => d.value)
    .flatMap((v) => (isObject(v) && isListObject(v) ? (v.items as JsonValue[]) : [v]))
    .filter(isObject);
}

function admissionReview(obj: JsonObject, namespace: string, uid: string): JsonObject {
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
  const name = isObject(obj.metadata) ? String(obj.metadata.name ?? '') : '';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version, kind: String(obj.kind) },
      resource: { group, version, resource: String(obj.kind).toLowerCase() + 's' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'helm', groups: ['system:authenticated'] },
      object: obj,
      dryRun: false,
    },
  };
}

function applyResponse(obj: JsonObject, body: JsonObject): JsonObject {
  const resp = body.response as JsonObject;
  if (!resp.patch) return obj;
  if (resp.patchType !== 'JSONPatch') throw new Error(`patchType ${String(resp.patchType)}`);
  const ops = JSON.parse(Buffer.from(String(resp.patch), 'base64').toString('utf8'));
  return fjp.applyPatch(structuredClone(obj), ops, true, false).newDocument as JsonObject;
}

t.test('webhook patch applied == run output, for every corpus object', { skip: !existsSync(corpus) && 'no ../shared/corpus' }, async (t) => {
  const set = loadPolicies([policy]).set;
  let compared = 0;
  let patched = 0;
  for (const file of corpusFiles()) {
    const text = readFileSync(file, 'utf8');
    const ns = 'default';
    const rendered = objects(renderManifests(text, set, { namespace: ns }).output);
    const inputs = objects(text);
    t.equal(rendered.length, inputs.length);
    inputs.forEach((obj, i) => {
      // Admission sees JSON: what the API server decodes from the applied YAML.
      const json = JSON.parse(JSON.stringify(obj)) as JsonObject;
      const meta = isObject(json.metadata) ? json.metadata : {};
      const namespace = typeof meta.namespace === 'string' ? meta.namespace : CLUSTER_SCOPED_KINDS.has(String(json.kind)) ? '' : ns;
      const r = review(admissionReview(json, namespace, `uid-${i}`), set, { route: 'mutate' });
      t.equal(r.statusCode, 200);
      const body = r.body as JsonObject;
      const resp = body.response as JsonObject;
      t.equal(resp.uid, `uid-${i}`);
      t.equal(resp.allowed, true, `${file}#${i} allowed`);
      const admitted = applyResponse(json, body);
      if (resp.patch) patched++;
      const want = JSON.parse(JSON.stringify(rendered[i]));
      // run drops an empty top-level metadata.annotations (kustomize output rule); compare modulo that.
      for (const o of [admitted, want]) {
        const m = o.metadata as JsonObject | undefined;
        if (m && (m.annotations === null || (isObject(m.annotations) && Object.keys(m.annotations).length === 0))) delete m.annotations;
      }
      t.same(admitted, want, `${file.slice(corpus.length + 1)}#${i} ${String(json.kind)}`);
      compared++;
      // Re-invocation: our own output yields no patch.
      const again = review(admissionReview(admitted, namespace, `again-${i}`), set, { route: 'mutate' });
      t.notOk(((again.body as JsonObject).response as JsonObject).patch, 'second admission: no patch');
    });
  }
  t.ok(compared > 200, `compared ${compared} objects, ${patched} patched`);
});
