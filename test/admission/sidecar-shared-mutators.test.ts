/**
 * The sidecar places its rendered containers, init containers, volumes and
 * pull secrets at admission as shared, deep-frozen objects (src/transform/sidecar.ts
 * `placed`); the Gatekeeper set rewrites in place only what its own pass
 * copied (src/policy/gatekeeper.ts `passInPlace`). Together: a sidecar that
 * runs first, then Gatekeeper mutators that write into the injected items
 * (Assign, AssignImage, ModifySet on the sidecar's container and volume),
 * reviewed several times in one process (a frozen item written in place
 * would throw, or would change the next Pod's answer). Reference: the same
 * policies at the render front door (`evaluate` with frontDoor `render`,
 * which copies every placed item): the object the API server stores after
 * applying our patch equals the render result, review after review.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { review } from '../../src/admission/review.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { loadPolicies } from '../../src/policy/load.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { admit, createReview } from '../helpers/admission.js';
import { deepFreeze } from '../helpers/laws.js';

const SIDECAR = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: log-shipper}
spec:
  order: -10
  match:
    resources: [{kinds: [Pod]}]
  transformers:
  - name: log-shipper
    sidecar:
      name: log-shipper
      containers:
      - name: log-shipper
        image: fluent/fluent-bit:3.1.9
        args: [-i, tail]
        resources: {limits: {memory: 128Mi}}
      initContainers:
      - {name: log-init, image: busybox:1.36, args: [mkdir, -p, /var/log/app]}
      volumes:
      - {name: app-logs, emptyDir: {sizeLimit: 256Mi}}
      imagePullSecrets:
      - {name: regcred}
      volumeMounts:
      - {name: app-logs, mountPath: /var/log/app}
      env:
      - {name: LOG_DIR, value: /var/log/app}
`;

/** A Gatekeeper mutator of Pods (JSON is YAML: the loader reads it as a document). */
const mutator = (kind: string, name: string, location: string, parameters: JsonObject): string => JSON.stringify({
  apiVersion: `mutations.gatekeeper.sh/${kind === 'AssignImage' ? 'v1alpha1' : 'v1'}`,
  kind,
  metadata: { name },
  spec: { applyTo: [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }], match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, location, parameters },
});

const GATEKEEPER = [
  mutator('Assign', 'pull-always', 'spec.containers[name: log-shipper].imagePullPolicy', { assign: { value: 'Always' } }),
  mutator('Assign', 'cpu-limit', 'spec.containers[name: *].resources.limits.cpu', { assign: { value: '1' } }),
  mutator('Assign', 'init-user', 'spec.initContainers[name: *].securityContext.runAsUser', { assign: { value: 1000 } }),
  mutator('Assign', 'size-limit', 'spec.volumes[name: app-logs].emptyDir.sizeLimit', { assign: { value: '1Gi' } }),
  mutator('AssignImage', 'mirror', 'spec.containers[name: *].image', { assignDomain: 'mirror.example.com' }),
  mutator('ModifySet', 'quiet', 'spec.containers[name: log-shipper].args', { operation: 'merge', values: { fromList: ['-q'] } }),
].join('\n---\n');

const pod = (name: string, containers: JsonObject[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { containers },
});

const PODS: KubeObject[] = [
  pod('one', [{ name: 'app', image: 'app:1' }]),
  pod('two', [{ name: 'app', image: 'app:2', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 'side:1' }]),
  pod('three', [{ name: 'web', image: 'registry.example.com/web:3', resources: { limits: { cpu: '2' } } }]),
];

t.test('Gatekeeper mutators after the sidecar: admission equals render, review after review', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-shared-'));
  writeFileSync(join(dir, 'sidecar.yaml'), SIDECAR);
  writeFileSync(join(dir, 'gatekeeper.yaml'), GATEKEEPER);
  const files = [join(dir, 'sidecar.yaml'), join(dir, 'gatekeeper.yaml')];
  const admission = loadPolicies(files, { compileCondition: conditionCompiler }).set;
  const render = loadPolicies(files, { compileCondition: conditionCompiler, frontDoor: 'render' }).policies;
  for (let round = 0; round < 3; round++) {
    for (const obj of PODS) {
      const name = `round ${round}, Pod ${String((obj.metadata as JsonObject).name)}`;
      const input = deepFreeze(structuredClone(obj));
      const want = evaluate(render, structuredClone(obj), { frontDoor: 'render', operation: 'CREATE', namespace: 'shop' });
      t.same(want.errors, [], `${name}: render evaluates without errors`);
      const body = createReview(input, `uid-${round}`);
      const { response, admitted } = admit(input, review(body, admission).body);
      t.equal(response.allowed, true, `${name}: allowed`);
      t.same(admitted, want.object, `${name}: stored object equals the render result`);
      t.equal(JSON.stringify(admitted), JSON.stringify(want.object), `${name}: same JSON`);
      const shipper = ((admitted.spec as JsonObject).containers as JsonObject[]).find((c) => c.name === 'log-shipper');
      t.same(shipper?.args, ['-i', 'tail', '-q'], `${name}: ModifySet wrote into the injected container`);
      t.equal(shipper?.image, 'mirror.example.com/fluent/fluent-bit:3.1.9', `${name}: AssignImage rewrote the injected image`);
    }
  }
});
