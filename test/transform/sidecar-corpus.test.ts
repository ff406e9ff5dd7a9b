/**
 * The sidecar transformer over the real corpus (test/data/corpus):
 * - idempotence law: injecting into every pod-bearing object, then running
 *   again, changes nothing; the webhook on the injected objects returns no
 *   patch (the API server may re-invoke it); and the webhook's patch applied to
 *   each input object equals what `run` printed for it;
 * - `examples/sidecar-policy.yaml` on the microservices demo injects into
 *   exactly its 12 Deployments and nothing else.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_SCOPED_KINDS, deepEqual, isObject, type JsonObject } from '../../src/kube/object.js';
import { renderManifests, sameManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { podTemplateLocation, SIDECAR_STATUS_ANNOTATION } from '../../src/transform/sidecar.js';
import { admit, createReview } from '../helpers/admission.js';
import { corpusFiles, streamObjects, CORPUS_DIR as corpus } from '../helpers/corpus.js';
import { sidecarPolicies } from '../helpers/sidecar.js';
import { REPO_ROOT } from '../helpers/cases.js';

function statusOf(obj: JsonObject): string | undefined {
  const loc = podTemplateLocation(obj);
  if (!loc) return undefined;
  let cur: unknown = obj;
  for (const seg of [...loc.path, 'metadata', 'annotations', SIDECAR_STATUS_ANNOTATION]) cur = isObject(cur) ? cur[seg] : undefined;
  return typeof cur === 'string' ? cur : undefined;
}

const POLICY = `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: everything}
spec:
  transformers:
  - sidecar:
      name: log-shipper
      containers:
      - name: log-shipper
        image: fluent/fluent-bit:3.1
        volumeMounts: [{name: pr-logs, mountPath: /var/log/pr, readOnly: true}]
      initContainers:
      - {name: pr-init, image: busybox:1.36, restartPolicy: Always}
      volumes: [{name: pr-logs, emptyDir: {}}]
      volumeMounts: [{name: pr-logs, mountPath: /var/log/pr}]
      env: [{name: PR_LOG_DIR, value: /var/log/pr}]
      imagePullSecrets: [{name: pr-registry}]
      annotations: {postrender.io/injected: "true"}
      initContainerOrder: {after: [istio-init]}
`;

const DEFAULT_EXCLUDED_NAMESPACES = new Set(['kube-system', 'kube-node-lease']);

function namespaceOf(obj: JsonObject): string {
  const md = isObject(obj.metadata) ? obj.metadata : {};
  if (typeof md.namespace === 'string') return md.namespace;
  return CLUSTER_SCOPED_KINDS.has(String(obj.kind)) ? '' : 'default';
}

t.test('idempotence over the corpus, at both front doors', async (t) => {
  const set = sidecarPolicies(POLICY);
  let podBearing = 0;
  let injected = 0;
  for (const file of corpusFiles()) {
    const name = file.slice(corpus.length + 1);
    const text = readFileSync(file, 'utf8');
    const once = renderManifests(text, set, { namespace: 'default' }).output;
    t.ok(sameManifests(renderManifests(once, set, { namespace: 'default' }).output, once), `${name}: run(run(x)) == run(x)`);
    const inputs = streamObjects(text);
    const outputs = streamObjects(once);
    t.equal(outputs.length, inputs.length, `${name}: same object count`);
    inputs.forEach((obj, i) => {
      // kube-system and kube-node-lease are default exclusions of both front doors (DESIGN.md).
      const hasPod = podTemplateLocation(obj) !== undefined && !DEFAULT_EXCLUDED_NAMESPACES.has(namespaceOf(obj));
      if (hasPod) podBearing++;
      if (statusOf(outputs[i]) !== undefined) injected++;
      else if (hasPod) t.fail(`${name}#${i} ${String(obj.kind)}: pod-bearing but not injected`);
      const ns = namespaceOf(obj);
      const { admitted } = admit(obj, review(createReview(obj, `a-${i}`, { namespace: ns }), set, { route: 'mutate' }).body);
      if (!deepEqual(admitted, outputs[i])) t.same(admitted, outputs[i], `${name}#${i}: webhook patch applied == run output`);
      const again = review(createReview(outputs[i], `b-${i}`, { namespace: ns }), set, { route: 'mutate' });
      const resp = (again.body as unknown as JsonObject).response as JsonObject;
      if (resp.patch) t.fail(`${name}#${i} ${String(obj.kind)}: re-invocation returned a patch`);
    });
  }
  t.ok(podBearing >= 40, `corpus has pod-bearing objects (${podBearing})`);
  t.equal(injected, podBearing, 'every pod-bearing object injected, nothing else');
});

t.test('examples/sidecar-policy.yaml on the microservices demo: exactly the 12 Deployments', async (t) => {
  const set = sidecarPolicies(readFileSync(join(REPO_ROOT, 'examples/sidecar-policy.yaml'), 'utf8'), 'examples/sidecar-policy.yaml');
  const text = readFileSync(join(corpus, 'microservices-demo-kubernetes-manifests.yaml'), 'utf8');
  const r = renderManifests(text, set, { namespace: 'default' });
  const inputs = streamObjects(text);
  const outputs = streamObjects(r.output);
  const changed = outputs.filter((o, i) => !deepEqual(o, inputs[i]));
  t.equal(changed.length, 12, '12 objects changed');
  t.ok(changed.every((o) => o.kind === 'Deployment'), 'all of them Deployments');
  t.equal(inputs.filter((o) => o.kind === 'Deployment').length, 12, 'the demo has 12 Deployments');
  t.equal(r.changed, 12, 'render counts 12 changed objects');
  for (const o of changed) {
    const spec = ((o.spec as JsonObject).template as JsonObject).spec as JsonObject;
    const containers = spec.containers as JsonObject[];
    t.equal(containers.at(-1)?.name, 'log-shipper', `${String((o.metadata as JsonObject).name)}: log-shipper appended last`);
    t.equal(containers.filter((c) => c.name === 'log-shipper').length, 1, 'exactly one copy');
    t.ok(statusOf(o), 'status annotation recorded');
  }
  t.ok(sameManifests(renderManifests(r.output, set, { namespace: 'default' }).output, r.output), 'idempotent');
});
