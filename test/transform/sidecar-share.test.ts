/**
 * The sidecar at admission places its rendered containers, init containers,
 * volumes and image pull secrets themselves (deep-frozen, shared by every
 * Pod of a render) instead of private copies (src/transform/sidecar.ts
 * `placed`). Reference: the same injection at the render front door, which
 * copies: the same objects, the same JSON, and the same results when later
 * transformers rewrite or patch the injected items (they never write to their
 * input, so a shared item is never changed).
 */
import t from 'tap';
import { isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { makeContext, type TransformContext } from '../../src/transform/types.js';
import { sidecarTransformer } from '../../src/transform/sidecar.js';
import { sidecarPolicies } from '../helpers/sidecar.js';
import { deepFreeze } from '../helpers/laws.js';
import type { EvaluationInput } from '../../src/policy/types.js';

const CONFIGS: Record<string, JsonObject> = {
  'containers, volumes, env, mounts': {
    name: 'log-shipper',
    containers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.1', resources: { requests: { cpu: "{{ has(overrides.cpu) ? overrides.cpu : '10m' }}" } }, volumeMounts: [{ name: 'logs', mountPath: '/logs' }] }],
    volumes: [{ name: 'logs', emptyDir: { sizeLimit: '1Gi' } }],
    volumeMounts: [{ name: 'logs', mountPath: '/var/log/app' }],
    env: [{ name: 'LOG_DIR', value: '/var/log/app' }],
  },
  'init containers first, pull secrets, replace': {
    name: 'agent',
    position: 'first',
    onConflict: 'replace',
    containers: [{ name: 'agent', image: 'agent:2', args: ['--x'] }],
    initContainers: [{ name: 'agent-init', image: 'agent:2', restartPolicy: 'Always', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }],
    imagePullSecrets: [{ name: 'regcred' }],
    volumes: [{ name: 'shared', emptyDir: {} }],
  },
};

const pod = (containers: JsonObject[], extra: JsonObject = {}, annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', namespace: 'shop', annotations },
  spec: { containers, ...extra },
});

const PODS: Record<string, KubeObject> = {
  'one app container': pod([{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] }]),
  'two app containers': pod([{ name: 'app', image: 'app:1' }, { name: 'side', image: 'side:1', volumeMounts: [{ name: 'x', mountPath: '/x' }] }]),
  'a clash to replace or skip': pod([{ name: 'agent', image: 'old:1' }, { name: 'log-shipper', image: 'old:2' }], { volumes: [{ name: 'logs', hostPath: { path: '/l' } }, { name: 'shared', emptyDir: { medium: 'Memory' } }] }),
  'an override': pod([{ name: 'app', image: 'app:1' }], {}, { 'sidecar.postrender.io/log-shipper.cpu': '250m' }),
  'a Deployment template': {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }], imagePullSecrets: [{ name: 'other' }] } } },
  },
};

/** Every object and list reachable from `v`, with whether it is frozen. */
function nodes(v: unknown, out: { node: object; frozen: boolean }[] = []): { node: object; frozen: boolean }[] {
  if (typeof v !== 'object' || v === null) return out;
  out.push({ node: v, frozen: Object.isFrozen(v) });
  for (const x of Object.values(v)) nodes(x, out);
  return out;
}

t.test('admission places the rendered items themselves; render copies; same objects and JSON', async (t) => {
  for (const [cname, config] of Object.entries(CONFIGS)) {
    const tr = sidecarTransformer(config, { name: 'sc' });
    for (const [pname, obj] of Object.entries(PODS)) {
      const name = `${cname} / ${pname}`;
      const input = deepFreeze(structuredClone(obj));
      const admission: TransformContext = makeContext({ frontDoor: 'admission', namespace: 'shop' });
      const atAdmission = tr.apply(input, admission) as KubeObject;
      const atRender = tr.apply(input, makeContext({ frontDoor: 'render', namespace: 'shop' })) as KubeObject;
      t.same(atAdmission, atRender, `${name}: same object`);
      t.equal(JSON.stringify(atAdmission), JSON.stringify(atRender), `${name}: same JSON`);
      t.same(createPatch(input, atAdmission), createPatch(input, atRender), `${name}: same patch`);
      t.notOk(nodes(atRender).some((n) => n.frozen && !nodes(input).some((i) => i.node === n.node)), `${name}: render places private copies only`);
      const seen = new Set<object>();
      for (const { node } of nodes(atAdmission)) {
        if (nodes(input).some((i) => i.node === node)) continue;
        t.notOk(seen.has(node), `${name}: no object placed twice`);
        seen.add(node);
      }
      t.same(tr.apply(atAdmission, admission), atAdmission, `${name}: a second pass over the shared result`);
    }
  }
});

t.test('later transformers over shared items: the same results at admission as at render', async (t) => {
  const policy = `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: chain}
spec:
  transformers:
  - name: inject
    sidecar: ${JSON.stringify(CONFIGS['containers, volumes, env, mounts'])}
  - name: mirror
    images: [{name: fluent/fluent-bit, newName: registry.example.com/fluent-bit, newTag: "3.2"}]
  - name: labels
    labels: {pairs: {team: a}, includeSelectors: false}
  - name: env-of-sidecar
    patch:
      target: {kind: Pod}
      patch: |
        - {op: add, path: /spec/containers/1/env, value: [{name: X, value: "1"}]}
        - {op: replace, path: /spec/volumes/0/emptyDir/sizeLimit, value: 2Gi}
  - name: smp
    patch:
      target: {kind: Pod}
      patch: |
        apiVersion: v1
        kind: Pod
        metadata: {name: any}
        spec:
          containers:
          - name: log-shipper
            securityContext: {runAsNonRoot: true}
`;
  const set = sidecarPolicies(policy);
  const obj = PODS['one app container'] as KubeObject;
  const input = (frontDoor: 'admission' | 'render'): EvaluationInput =>
    frontDoor === 'admission'
      ? { frontDoor, operation: 'CREATE', namespace: 'shop' }
      : { frontDoor, operation: 'CREATE', namespace: 'shop', satisfied: () => undefined };
  for (let i = 0; i < 3; i++) {
    const a = set.evaluate(deepFreeze(structuredClone(obj)), input('admission'));
    const r = set.evaluate(deepFreeze(structuredClone(obj)), input('render'));
    t.same(a.errors, [], `pass ${i}: no errors at admission`);
    t.same(a.object, r.object, `pass ${i}: same object`);
    t.equal(JSON.stringify(a.object), JSON.stringify(r.object), `pass ${i}: same JSON`);
    const c = (a.object as { spec: { containers: JsonObject[] } }).spec.containers.find((x) => x.name === 'log-shipper');
    t.ok(isObject(c) && c.image === 'registry.example.com/fluent-bit:3.2' && Array.isArray(c.env), `pass ${i}: the shared container rewritten and patched in copies`);
    t.notOk(Object.isFrozen(c), `pass ${i}: the placed container is a copy once changed`);
  }
});
