/**
 * Bench inputs built from the corpus (test/data/corpus): AdmissionReview bodies (a Pod from
 * a Deployment's template, a large ConfigMap, a ~1 MB CRD), size-sweep objects
 * and list-sweep pairs. Everything is deterministic (no randomness), so two runs
 * measure the same bytes.
 */
import { readFileSync } from 'node:fs';
import { parseManifests } from '../dist/kube/yaml-stream.js';

/** The argo-cd install stream: 59 objects, 1.9 MB. */
export const ARGO_CD = new URL('../test/data/corpus/argo-cd-install.yaml', import.meta.url).pathname;

const toJson = (v) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));

let docsCache;
/** Objects of the argo-cd corpus file as plain JSON. */
export function argoObjects() {
  docsCache ??= parseManifests(readFileSync(ARGO_CD, 'utf8')).map((d) => toJson(d.value));
  return docsCache;
}

function find(kind, name) {
  const o = argoObjects().find((d) => d.kind === kind && d.metadata?.name === name);
  if (!o) throw new Error(`corpus: ${kind} ${name} not found`);
  return structuredClone(o);
}

/** A Pod as a ReplicaSet creates it from argocd-applicationset-controller's template (generateName, no name, no namespace). */
export function podObject() {
  const d = find('Deployment', 'argocd-applicationset-controller');
  const t = d.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'argocd-applicationset-controller-5d8f7c9b4-',
      labels: { ...t.metadata.labels, 'pod-template-hash': '5d8f7c9b4' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'argocd-applicationset-controller-5d8f7c9b4', uid: '6c1f1c2e-1b1e-4a47-9f63-0d6d1d2f8e11', controller: true, blockOwnerDeletion: true }],
    },
    spec: t.spec,
  };
}

/** A ConfigMap of about `bytes` bytes of data, cut from the corpus text (lines of real YAML). */
export function configMapObject(bytes, name = 'bench-config') {
  const text = readFileSync(ARGO_CD, 'utf8');
  const data = {};
  let size = 0;
  let i = 0;
  const chunk = 4096;
  while (size < bytes) {
    const want = Math.min(chunk, bytes - size);
    const start = (i * chunk) % (text.length - chunk);
    data[`part-${String(i).padStart(4, '0')}.yaml`] = text.slice(start, start + Math.max(want, 1));
    size += want + 16;
    i++;
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'bench' } }, data };
}

/** A CRD of about 1 MB: argo-cd's applicationsets CRD with extra (unserved) versions, as large CRDs carry. */
export function crdObject() {
  const crd = find('CustomResourceDefinition', 'applicationsets.argoproj.io');
  const v = crd.spec.versions[0];
  const versions = [v];
  for (const n of [2, 3]) versions.push({ ...structuredClone(v), name: `v1alpha${n}`, served: false, storage: false });
  crd.spec.versions = versions;
  return crd;
}

let uidSeq = 0;
/** An AdmissionReview v1 CREATE for `object` (kind from the object, namespace `shop` unless cluster-scoped). */
export function admissionReview(object, { namespace = 'shop', operation = 'CREATE' } = {}) {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const clusterScoped = object.kind === 'CustomResourceDefinition' || object.kind === 'Namespace';
  const resource = `${object.kind.toLowerCase()}s`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(++uidSeq).padStart(12, '0')}`,
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource },
      requestKind: { group, version, kind: object.kind },
      requestResource: { group, version, resource },
      ...(clusterScoped ? {} : { namespace }),
      operation,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'f3c7741d-b016-4cf5-8892-48879eeeb7e2', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

/** A Deployment whose first container has `n` env entries `VAR_0..VAR_{n-1}`. */
export function deploymentWithEnv(n) {
  const env = Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27', env }] } } },
  };
}

/** The list sweep's edits of an env list: name -> (env) => new env. */
export const LIST_EDITS = {
  prepend: (env) => [{ name: 'INJECTED', value: 'x' }, ...env],
  append: (env) => [...env, { name: 'INJECTED', value: 'x' }],
  insertMiddle: (env) => [...env.slice(0, env.length >> 1), { name: 'INJECTED', value: 'x' }, ...env.slice(env.length >> 1)],
  removeFirst: (env) => env.slice(1),
  changeOne: (env) => env.map((e, i) => (i === env.length >> 1 ? { ...e, value: 'changed' } : e)),
  reverse: (env) => [...env].reverse(),
  rotate: (env) => [...env.slice(1), env[0]],
};
