/**
 * The patch transformers' compiled paths against their general paths, as
 * oracle: a strategic-merge patch with `$patch: merge` added at its root (a
 * no-op directive the compiled merge declines) and a JSON6902 list with its
 * last operation repeated (an add/replace of a scalar applied twice is applied
 * once; scalarSets declines repeated paths) must give the same object, key
 * order included, or the same error. Objects without metadata, with a
 * metadata name, namespace or null fields, an `apiVersion: null`, maps where
 * the patch has scalars, YAML-read objects with empty nulls; every option.
 * Laws per row: frozen input untouched, idempotent, createPatch re-applied
 * gives the output, a new object whenever the patch applies.
 */
import t, { type Test } from 'tap';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { patchesJson6902Transformer, patchTransformer } from '../../src/transform/patch.js';
import { makeContext, type Transformer } from '../../src/transform/types.js';
import { deepFreeze, reapply } from '../helpers/laws.js';

const pod = (meta: JsonObject | null | undefined = { generateName: 'web-', labels: { app: 'web' } }): KubeObject => {
  const o: JsonObject = { apiVersion: 'v1', kind: 'Pod' };
  if (meta !== undefined) o.metadata = meta;
  o.spec = { containers: [{ name: 'app', image: 'nginx' }], nodeSelector: { os: 'linux' } };
  return o as KubeObject;
};

const OBJECTS: [string, () => KubeObject][] = [
  ['generateName only', () => pod()],
  ['named, namespaced', () => pod({ name: 'web', namespace: 'prod', labels: { app: 'web' } })],
  ['no metadata', () => pod(undefined)],
  ['metadata null', () => pod(null)],
  ['metadata name and namespace null', () => pod({ name: null, namespace: null })],
  ['metadata name a map', () => pod({ name: { a: 1 } })],
  ['metadata namespace a list', () => pod({ namespace: ['a'] })],
  ['annotations null', () => pod({ name: 'web', annotations: null })],
  ['apiVersion null', () => ({ ...pod(), apiVersion: null }) as unknown as KubeObject],
  ['no apiVersion', () => { const o = pod() as JsonObject; delete o.apiVersion; return o as KubeObject; }],
  ['securityContext a scalar', () => ({ ...pod(), spec: { securityContext: 'x', nodeSelector: {} } }) as KubeObject],
  ['YAML-read with empty nulls', () => parseManifests('apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\nspec:\n  nodeSelector:\n  containers:\n  - name: app\n', { emptyNulls: true })[0]!.value as KubeObject],
];

const SMP_PATCHES: [string, string][] = [
  ['nested maps', 'apiVersion: v1\nkind: Pod\nmetadata: {name: any}\nspec:\n  securityContext:\n    seccompProfile: {type: RuntimeDefault}'],
  ['a scalar', 'apiVersion: v1\nkind: Pod\nmetadata: {name: any}\nspec: {priorityClassName: standard}'],
  ['metadata name, namespace and labels', 'apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: elsewhere, labels: {tier: web}}\nspec: {nodeSelector: {zone: a}}'],
  ['no apiVersion, another kind', 'kind: Deployment\nmetadata: {name: any}\nspec: {hostname: h}'],
  ['into an existing map', 'kind: Pod\nmetadata: {name: any}\nspec: {nodeSelector: {os: bsd, zone: a}}'],
  ['metadata namespace a map (merged, then restored)', 'kind: Pod\nmetadata: {name: any, namespace: {a: b}, labels: {tier: web}}\nspec: {hostname: h}'],
  ['labels and a name', 'kind: Pod\nmetadata: {name: any, labels: {tier: web}}\nspec: {hostname: h}'],
  ['another kind', 'apiVersion: v1\nkind: Service\nmetadata: {name: any}\nspec: {hostname: h}'],
];

const OPTIONS: [string, JsonObject | undefined][] = [
  ['default', undefined],
  ['allowNameChange', { allowNameChange: true }],
  ['allowKindChange', { allowKindChange: true }],
];

/** Applies a transformer; the result or the error's message. */
function outcome(tr: Transformer, o: KubeObject): { out?: KubeObject | null; error?: string } {
  try {
    return { out: tr.apply(o, makeContext({ namespace: 'default' })) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The laws of one row: frozen input untouched, idempotent, createPatch re-applied, a new object. */
function laws(t: Test, tr: Transformer, make: () => KubeObject): void {
  const input = deepFreeze(make());
  const snapshot = JSON.stringify(input);
  const r = outcome(tr, input);
  t.equal(JSON.stringify(input), snapshot, 'frozen input untouched');
  if (r.error !== undefined || !r.out) return;
  t.not(r.out, input, 'a new object');
  t.equal(JSON.stringify(outcome(tr, deepFreeze(r.out)).out), JSON.stringify(r.out), 'idempotent');
  t.same(reapply(make(), createPatch(make(), r.out)), r.out, 'createPatch re-applied gives the output');
}

t.test('strategic merge: compiled path == general path', async (t) => {
  for (const [pname, text] of SMP_PATCHES) {
    for (const [oname, options] of OPTIONS) {
      const config = (patch: string): JsonObject => ({ target: { kind: 'Pod' }, patch, ...(options ? { options } : {}) });
      const fast = patchTransformer(config(text), { name: 'fast' });
      const general = patchTransformer(config(`$patch: merge\n${text}`), { name: 'general' });
      for (const [name, make] of OBJECTS) {
        t.test(`${pname} / ${oname} / ${name}`, async (t) => {
          const a = outcome(fast, deepFreeze(make()));
          const b = outcome(general, deepFreeze(make()));
          t.equal(a.error, b.error, 'same error');
          t.equal(JSON.stringify(a.out), JSON.stringify(b.out), 'same object, same key order');
          laws(t, fast, make);
        });
      }
    }
  }
});

const JSON6902_PATCHES: [string, string][] = [
  ['two adds', '- {op: add, path: /spec/enableServiceLinks, value: false}\n- {op: add, path: /spec/terminationGracePeriodSeconds, value: 45}'],
  ['replace a missing key adds (v4)', '- {op: replace, path: /spec/priorityClassName, value: standard}'],
  ['the value already there', '- {op: add, path: /spec/nodeSelector/os, value: linux}'],
  ['into a list item', '- {op: replace, path: /spec/containers/0/image, value: busybox}'],
  ['a label', '- {op: add, path: /metadata/labels/tier, value: web}'],
  ['an annotation (general path only)', '- {op: add, path: /metadata/annotations/a, value: b}'],
  ['a missing parent', '- {op: add, path: /spec/securityContext/runAsUser, value: 1}'],
  ['a null value', '- {op: add, path: /spec/hostname, value: null}'],
];

t.test('JSON6902: compiled path == general path', async (t) => {
  for (const [pname, text] of JSON6902_PATCHES) {
    const last = text.split('\n').at(-1) as string;
    for (const [factory, config] of [
      ['patches', (p: string): JsonObject => ({ target: { kind: 'Pod' }, patch: p })],
      ['patchesJson6902', (p: string): JsonObject => ({ target: { kind: 'Pod', name: '.*' }, patch: p })],
    ] as const) {
      const make = factory === 'patches' ? patchTransformer : patchesJson6902Transformer;
      const fast = make(config(text), { name: 'fast' });
      const general = make(config(`${text}\n${last}`), { name: 'general' });
      for (const [name, obj] of OBJECTS) {
        t.test(`${pname} / ${factory} / ${name}`, async (t) => {
          const a = outcome(fast, deepFreeze(obj()));
          const b = outcome(general, deepFreeze(obj()));
          t.equal(a.error === undefined, b.error === undefined, 'both fail or both succeed');
          t.equal(JSON.stringify(a.out), JSON.stringify(b.out), 'same object, same key order');
          laws(t, fast, obj);
        });
      }
    }
  }
});
