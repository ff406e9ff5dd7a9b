/**
 * Shared pieces of the fuzz and hostile-input suites: bounded, seeded run
 * counts; a real PolicySet built from policy YAML (the same compile path as
 * `-c`); arbitraries for Kubernetes-shaped objects; a prototype-pollution check.
 */
import fc from 'fast-check';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import type { PolicySet } from '../../src/policy/types.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';

/**
 * Number of runs for a property: `FUZZ_RUNS` (env) scaled by `weight`, else
 * `small` (the default for `npm test`, kept small: 2 shared cores).
 */
export function runs(small: number, weight = 1): number {
  const env = Number(process.env.FUZZ_RUNS);
  return Number.isFinite(env) && env > 0 ? Math.max(1, Math.round(env * weight)) : small;
}

/** Fixed seed unless `FUZZ_SEED` is set: failures reproduce, `npm run fuzz` can explore. */
export const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

/** fast-check parameters for a property: seed, run count, and verbose counterexamples. */
export function params(numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns, endOnFailure: true };
}

/** Compiles policy documents (YAML text) into a PolicySet as `loadPolicies` does (with CEL conditions). */
export function policySetFromYaml(text: string, file = 'fuzz.yaml'): PolicySet {
  const policies = compilePolicyText(text, file, {
    registry: builtinRegistry(),
    readFile: () => { throw new Error('no files in fuzz tests'); },
    compileCondition: conditionCompiler,
  });
  return createPolicySet(policies);
}

/** A snapshot of `Object.prototype` (own names and descriptors' values), for pollution checks. */
export function prototypeSnapshot(): string {
  const names = Object.getOwnPropertyNames(Object.prototype).sort();
  const protoOf = [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).length);
  return JSON.stringify({ names, protoOf, probe: ({} as Record<string, unknown>).polluted ?? null });
}

/** True when nothing was added to the built-in prototypes since `before`. */
export function prototypeUntouched(before: string): boolean {
  return prototypeSnapshot() === before && ({} as Record<string, unknown>).polluted === undefined;
}

/** Keys that are dangerous as plain-object keys in JavaScript. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** A map key: mostly ordinary label-ish keys, sometimes hostile ones, pointer escapes, or unicode. */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z][a-z0-9.\-/]{0,12}$/) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS, 'a/b', 'a~b', '~0', '~1', '', '-', '0', '$patch', '$retainKeys', 'name', 'image') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) },
);

/** A JSON round trip: plain objects (Object.prototype, own `__proto__` keys as JSON.parse makes them), no `undefined`, no -0. */
export function viaJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Arbitrary JSON values (own-property objects built with defineProperty, so `__proto__` is a plain key). */
export const jsonArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 1_000_000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 5 }).map(toObject),
  ),
})).value.map(viaJson);

/** Builds an object with own data properties, also for `__proto__` (as JSON.parse does). */
export function toObject(entries: [string, JsonValue][]): JsonObject {
  const o: JsonObject = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const labelMap = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9.\-/]{0,10}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), { maxKeys: 3 });

const containerArb = fc.record({
  name: fc.constantFrom('app', 'nginx', 'sidecar', 'busybox'),
  image: fc.constantFrom('nginx', 'nginx:1.25', 'busybox', 'busybox@sha256:' + 'a'.repeat(64), 'quay.io/argoproj/argocd:v2', 'redis:7'),
  ports: fc.option(fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }), { nil: undefined }),
}, { requiredKeys: ['name', 'image'] });

const podSpecArb = fc.record({
  containers: fc.uniqueArray(containerArb, { selector: (c) => c.name, minLength: 1, maxLength: 3 }),
  initContainers: fc.option(fc.uniqueArray(containerArb, { selector: (c) => c.name, maxLength: 2 }), { nil: undefined }),
  extra: fc.option(jsonArb, { nil: undefined }),
}, { requiredKeys: ['containers'] }).map(({ extra, ...spec }) => (extra === undefined ? spec : { ...spec, extra }));

/**
 * Kubernetes-shaped objects: Deployments, StatefulSets, Pods, ConfigMaps,
 * Services and arbitrary kinds, with labels, annotations, pod templates and
 * random extra fields (hostile keys included).
 */
export const kubeObjectArb: fc.Arbitrary<JsonObject> = fc.record({
  kind: fc.constantFrom('Deployment', 'StatefulSet', 'Pod', 'ConfigMap', 'Service', 'Widget'),
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  labels: fc.option(labelMap, { nil: undefined }),
  annotations: fc.option(labelMap, { nil: undefined }),
  pod: podSpecArb,
  replicas: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  extra: fc.array(fc.tuple(keyArb, jsonArb), { maxLength: 3 }),
}).map(({ kind, name, labels, annotations, pod, replicas, extra }) => {
  const apiVersion = kind === 'Deployment' || kind === 'StatefulSet' ? 'apps/v1' : kind === 'Widget' ? 'example.com/v1' : 'v1';
  const metadata: JsonObject = { name };
  if (labels) metadata.labels = { ...labels };
  if (annotations) metadata.annotations = { ...annotations };
  const obj: JsonObject = { apiVersion, kind, metadata };
  if (kind === 'Pod') obj.spec = pod as unknown as JsonValue;
  else if (kind === 'ConfigMap') obj.data = toObject(extra.map(([k, v]) => [k, JSON.stringify(v) ?? 'null']));
  else if (kind !== 'Service') {
    const spec: JsonObject = { template: { metadata: { labels: { app: name } }, spec: pod as unknown as JsonValue } };
    if (replicas !== undefined) spec.replicas = replicas;
    obj.spec = spec;
  }
  for (const [k, v] of extra) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'data'].includes(k)) Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return viaJson(obj);
});

/** An admission `request.kind` for an object. */
export function requestKind(obj: JsonObject): JsonObject {
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
  return { group, version, kind: String(obj.kind) };
}

/** An AdmissionReview v1 for `object` (CREATE unless told). */
export function admissionReview(uid: string, object: JsonObject, operation = 'CREATE', namespace = 'team-a', oldObject?: JsonObject): JsonObject {
  const request: JsonObject = {
    uid, kind: requestKind(object), resource: { group: '', version: 'v1', resource: 'things' },
    name: (object.metadata as JsonObject | undefined)?.name ?? '', namespace, operation,
    userInfo: { username: 'fuzz', groups: ['system:authenticated'] }, object,
  };
  if (oldObject) request.oldObject = oldObject;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** The platform policy used by the fuzz suites: labels, annotations, images, SMP and JSON6902 patches, replicas, a CEL warn rule. */
export const PLATFORM_POLICY = `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: platform}
spec:
  failurePolicy: Ignore
  transformers:
  - labels: {pairs: {platform.example.com/managed: "true"}, includeSelectors: false}
  - annotations: {platform.example.com/owner: platform}
  - images:
    - {name: nginx, newName: registry.example.com/nginx, newTag: "1.27"}
    - {name: busybox, newTag: "1.37"}
  - patch:
      target: {group: apps, kind: Deployment|StatefulSet}
      patch: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: any}
        spec:
          revisionHistoryLimit: 5
          template:
            spec:
              securityContext: {runAsNonRoot: true}
              containers:
              - name: app
                resources: {limits: {memory: 256Mi}}
  - patch:
      target: {kind: Pod}
      patch: |
        - op: add
          path: /spec/enableServiceLinks
          value: false
  - replicas: [{name: web, count: 3}]
  - validate:
      expression: "!has(object.metadata.labels) || !('forbidden' in object.metadata.labels)"
      message: forbidden label
      action: Warn
`;
