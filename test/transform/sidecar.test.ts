/**
 * Unit tests of the sidecar transformer: config errors, safety defaults
 * (Pods only on CREATE, mirror pods), ordering warnings, a malformed status
 * annotation, the recorded ReplicaSet Pod request through review(), and the
 * laws on every table row (frozen input not mutated, apply(apply(x)) ==
 * apply(x), applyPatch(x, createPatch(x, y)) == y, appended items only).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fjp from 'fast-json-patch';
import { deepEqual, type JsonObject, type JsonValue, type KubeObject } from '../../src/kube/object.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { review } from '../../src/admission/review.js';
import { ConfigError, makeContext, TransformError, type Finding, type TransformContext } from '../../src/transform/types.js';
import {
  decodeSidecarConfig, indexOfEnvName, indexOfKey, parseStatus, podTemplateLocation, sidecarTransformer, SIDECAR_STATUS_ANNOTATION, otherContainers, stableStringify, statusJson, statusText, MAX_STATUS_TEXT, INJECTED_SCAN_MAX, stringMap, stringMapView, type InjectionRecord, type SidecarStatus, type StatusText,
  appsStatusText, statusChanged, withApps, type AddedToApps,
} from '../../src/transform/sidecar.js';
import { admit } from '../helpers/admission.js';
import { streamObjects } from '../helpers/corpus.js';
import { sidecarPolicies } from '../helpers/sidecar.js';
import { deepFreeze } from '../helpers/laws.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/sidecar');


const SHIPPER = {
  name: 'log-shipper',
  containers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.1' }],
  volumes: [{ name: 'logs', emptyDir: {} }],
  volumeMounts: [{ name: 'logs', mountPath: '/var/log/app' }],
};

const pod = (extra: JsonObject = {}, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'app:1' }], ...extra },
});

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } } },
};

t.test('native sidecar init containers may set probes and lifecycle (validateInitContainers)', async (t) => {
  const probe = { exec: { command: ['true'] } };
  const ok: [string, JsonObject][] = [
    ['restartPolicy Always', { name: 'a', image: 'i', restartPolicy: 'Always', readinessProbe: probe, livenessProbe: probe, startupProbe: probe, lifecycle: { preStop: { sleep: { seconds: 1 } } } }],
    ['restartPolicy from a template value', { name: 'a', image: 'i', restartPolicy: "{{ 'Always' }}", readinessProbe: probe }],
    ['plain init container without them', { name: 'a', image: 'i', command: ['true'] }],
  ];
  for (const [name, c] of ok) t.doesNotThrow(() => sidecarTransformer({ name: 'x', initContainers: [c] }, { name: 't' }), name);
});

t.test('config errors name the field', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [{ containers: [] }, 'name', /name is required/],
    [{ name: 'Bad_Name', annotations: { a: 'b' } }, 'name', /DNS label/],
    [{ name: 'x' }, '', /nothing to inject/],
    [{ name: 'x', containers: [{ image: 'i' }] }, 'containers[0].name', /name is required/],
    [{ name: 'x', containers: [{ name: 'a' }, { name: 'a' }] }, 'containers[1].name', /duplicate name/],
    [{ name: 'x', containers: [{ name: 'a' }], initContainers: [{ name: 'a' }] }, 'initContainers[0].name', /also in containers/],
    [{ name: 'x', containers: [{ name: 'a' }], onConflict: 'merge' }, 'onConflict', /must be one of/],
    [{ name: 'x', containers: [{ name: 'a' }], position: 'middle' }, 'position', /must be one of/],
    [{ name: 'x', containers: [{ name: 'a' }], injectByDefault: 'yes' }, 'injectByDefault', /expected a bool/],
    [{ name: 'x', containers: [{ name: 'a' }], sidecars: [] }, 'sidecars', /unknown field/],
    [{ name: 'x', containers: [{ name: 'a' }], initContainerOrder: { after: 'istio-init' } }, 'initContainerOrder.after', /list of container names/],
    [{ name: 'x', volumeMounts: [{ name: 'v' }] }, 'volumeMounts[0].mountPath', /mountPath is required/],
    [{ name: 'x', containers: [{ name: 'a', image: '{{ object.metadata.name +' }] }, 'containers[0].image', /unclosed/],
    [{ name: 'x', containers: [{ name: 'a', image: '{{ object.metadata.name + }}' }] }, 'containers[0].image', /template value/],
    [{ name: 'x', containers: [{ name: 'a', image: '{{ nope }}' }] }, 'containers[0].image', /undeclared/],
    [{ name: 'x', initContainers: [{ name: 'a', image: 'i', readinessProbe: { exec: { command: ['true'] } } }] }, 'initContainers[0].readinessProbe', /without restartPolicy: Always/],
    [{ name: 'x', initContainers: [{ name: 'a', image: 'i', restartPolicy: 'OnFailure', lifecycle: { preStop: { sleep: { seconds: 1 } } } }] }, 'initContainers[0].lifecycle', /without restartPolicy: Always/],
    [{ name: 'x', initContainers: [{ name: 'ok', image: 'i' }, { name: 'a', image: 'i', startupProbe: { tcpSocket: { port: 1 } } }] }, 'initContainers[1].startupProbe', /without restartPolicy: Always/],
    [[], '', /expected a map/],
  ];
  for (const [config, path, re] of cases) {
    try {
      sidecarTransformer(config, { name: 't' });
      t.fail(`accepted ${JSON.stringify(config)}`);
    } catch (e) {
      t.ok(e instanceof ConfigError, `${JSON.stringify(config)}: ConfigError`);
      t.equal((e as ConfigError).path, path, `path ${path}`);
      t.match((e as Error).message, re);
    }
  }
  t.same(decodeSidecarConfig({ name: 'a', labels: { x: 'y' } }).onConflict, 'skip', 'onConflict defaults to skip');
});

interface Row {
  name: string;
  config: unknown;
  obj: KubeObject;
  ctx?: Partial<TransformContext>;
  changed: boolean;
}

const rows: Row[] = [
  { name: 'plain Pod', config: SHIPPER, obj: pod(), changed: true },
  { name: 'Deployment template', config: SHIPPER, obj: deployment, changed: true },
  { name: 'Pod on UPDATE is left alone', config: SHIPPER, obj: pod(), ctx: { operation: 'UPDATE', frontDoor: 'admission' }, changed: false },
  { name: 'Deployment on UPDATE is injected', config: SHIPPER, obj: deployment, ctx: { operation: 'UPDATE', frontDoor: 'admission' }, changed: true },
  { name: 'mirror pod skipped', config: SHIPPER, obj: pod({}, { 'kubernetes.io/config.mirror': 'abc' }), changed: false },
  { name: 'opt-out annotation', config: SHIPPER, obj: pod({}, { 'sidecar.postrender.io/inject': 'false' }), changed: false },
  { name: 'opt-in mode without opt-in', config: { ...SHIPPER, injectByDefault: false }, obj: pod(), changed: false },
  { name: 'opt-in by namespace label', config: { ...SHIPPER, injectByDefault: false }, obj: pod(), ctx: { namespaceLabels: { 'sidecar.postrender.io/inject': 'enabled' } }, changed: true },
  { name: 'namespace disabled wins over pod opt-in', config: SHIPPER, obj: pod({}, { 'sidecar.postrender.io/inject': 'true' }), ctx: { namespaceLabels: { 'sidecar.postrender.io/inject': 'disabled' } }, changed: false },
  { name: 'ConfigMap untouched', config: SHIPPER, obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }, changed: false },
  { name: 'Deployment of another group untouched', config: SHIPPER, obj: { ...deployment, apiVersion: 'example.com/v1' }, changed: false },
  { name: 'position first', config: { ...SHIPPER, position: 'first' }, obj: pod(), changed: true },
  { name: 'native sidecar init container', config: { name: 'agent', initContainers: [{ name: 'agent', image: 'a:1', restartPolicy: 'Always' }] }, obj: pod(), changed: true },
  { name: 'empty lists the pod has are kept (no remove op)', config: { name: 'c', containers: [{ name: 'c', image: 'c:1' }] }, obj: pod({ initContainers: [], volumes: [], imagePullSecrets: [] }), changed: true },
  { name: 'null lists the pod has are kept (no remove op)', config: { name: 'c', containers: [{ name: 'c', image: 'c:1' }] }, obj: pod({ initContainers: null, volumes: null, imagePullSecrets: null }), changed: true },
  { name: 'empty lists filled', config: { ...SHIPPER, imagePullSecrets: [{ name: 's' }], initContainers: [{ name: 'i', image: 'i:1' }] }, obj: pod({ initContainers: [], volumes: [], imagePullSecrets: [] }), changed: true },
  { name: 'native sidecar before the pod\'s init containers', config: { name: 'agent', initContainers: [{ name: 'agent', image: 'a:1', restartPolicy: 'Always' }] }, obj: pod({ initContainers: [{ name: 'migrate', image: 'm:1' }] }), changed: true },
];

t.test('list fields the injection leaves empty keep the pod\'s own value ([] or null), in both front doors', async (t) => {
  const cases: [string, JsonValue][] = [['empty list', []], ['null', null]];
  for (const [name, v] of cases) {
    const input = deepFreeze(pod({ initContainers: v, volumes: v, imagePullSecrets: v }));
    for (const frontDoor of ['render', 'admission'] as const) {
      const out = sidecarTransformer({ name: 'c', containers: [{ name: 'c', image: 'c:1' }] }, { name: 'sc' }).apply(input, makeContext({ frontDoor })) as KubeObject;
      const spec = out.spec as JsonObject;
      t.same([spec.initContainers, spec.volumes, spec.imagePullSecrets], [v, v, v], `${name} (${frontDoor})`);
    }
  }
});

t.test('native sidecars go before the pod\'s own init containers, after other injections\' (istio reorderPod; KEP-753 start order)', async (t) => {
  const AGENT = { name: 'agent', image: 'a:1', restartPolicy: 'Always' };
  const SETUP = { name: 'setup', image: 's:1' };
  const other = JSON.stringify({ mesh: { hash: 'x', initContainers: ['mesh-init'] } });
  const cases: [string, JsonObject, JsonObject, Record<string, string> | undefined, string[]][] = [
    ['no init containers', { name: 'agent', initContainers: [AGENT] }, {}, undefined, ['agent']],
    ['before the pod\'s own', { name: 'agent', initContainers: [AGENT] }, { initContainers: [{ name: 'migrate', image: 'm' }, { name: 'perms', image: 'p' }] }, undefined, ['agent', 'migrate', 'perms']],
    ['the injection\'s own order kept', { name: 'agent', initContainers: [SETUP, AGENT] }, { initContainers: [{ name: 'migrate', image: 'm' }] }, undefined, ['setup', 'agent', 'migrate']],
    ['after another injection\'s init containers', { name: 'agent', initContainers: [AGENT] }, { initContainers: [{ name: 'mesh-init', image: 'i' }, { name: 'migrate', image: 'm' }] }, { 'sidecar.postrender.io/status': other }, ['mesh-init', 'agent', 'migrate']],
    ['no native sidecar: appended', { name: 'agent', initContainers: [SETUP] }, { initContainers: [{ name: 'migrate', image: 'm' }] }, undefined, ['migrate', 'setup']],
    ['initContainerOrder still decides', { name: 'agent', initContainers: [AGENT], initContainerOrder: { after: ['migrate'] } }, { initContainers: [{ name: 'migrate', image: 'm' }] }, undefined, ['migrate', 'agent']],
  ];
  for (const [name, config, spec, annotations, want] of cases) {
    const tr = sidecarTransformer(config, { name: 'sc' });
    const input = deepFreeze(pod(structuredClone(spec), annotations));
    for (const frontDoor of ['render', 'admission'] as const) {
      const ctx = makeContext({ frontDoor });
      const out = tr.apply(input, ctx) as KubeObject;
      t.same(((out.spec as JsonObject).initContainers as JsonObject[]).map((c) => c.name), want, `${name} (${frontDoor})`);
      t.equal(tr.apply(out, ctx), out, `${name} (${frontDoor}): a second pass changes nothing`);
      const ops = createPatch(input, out);
      t.same(fjp.applyPatch(structuredClone(input), ops as fjp.Operation[], true, false).newDocument, out, `${name} (${frontDoor}): patch re-applied == output`);
    }
  }
});

t.test('table rows and their laws', async (t) => {
  for (const row of rows) {
    const tr = sidecarTransformer(row.config, { name: 'sc' });
    const input = deepFreeze(structuredClone(row.obj));
    const ctx = makeContext(row.ctx ?? {});
    const once = tr.apply(input, ctx) as KubeObject;
    t.equal(once !== input, row.changed, `${row.name}: changed=${row.changed}`);
    if (!row.changed) continue;
    t.same(input, row.obj, `${row.name}: frozen input not mutated`);
    t.same(tr.apply(deepFreeze(structuredClone(once)), ctx), once, `${row.name}: apply(apply(x)) == apply(x)`);
    t.equal(tr.apply(once, ctx), once, `${row.name}: second pass returns the same reference`);
    const ops = createPatch(input, once);
    t.same(fjp.applyPatch(structuredClone(input), ops as fjp.Operation[], true, false).newDocument, once, `${row.name}: applyPatch(x, createPatch(x, y)) == y`);
    if ((row.config as { position?: string }).position !== 'first') {
      t.ok(ops.every((o) => o.op === 'add'), `${row.name}: appended only (${ops.map((o) => `${o.op} ${o.path}`).join(', ')})`);
    }
  }
});

t.test('keyed adds: the first item with the key decides, conflicts name the list (and its container), non-map items are dropped', async (t) => {
  const FAIL = { ...SHIPPER, env: [{ name: 'LOG_DIR', value: '/logs' }], onConflict: 'fail' };
  const app = (c: JsonObject): KubeObject => ({ ...pod(), spec: { containers: [{ name: 'app', image: 'app:1', ...c }] } });
  const rows: { name: string; config: unknown; obj: KubeObject; error?: string; env?: unknown[]; volumes?: unknown[] }[] = [
    { name: 'container conflict', config: FAIL, obj: { ...pod(), spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'log-shipper', image: 'other' }] } }, error: 'container "log-shipper" already exists with different content (onConflict: fail)' },
    { name: 'container name taken in the other list: the message names it', config: FAIL, obj: pod({ initContainers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.1' }] }), error: 'container "log-shipper" already exists in initContainers (container names are unique across containers and initContainers; onConflict: fail)' },
    { name: 'init container name taken in containers: the message names it', config: { name: 'x', initContainers: [{ name: 'app', image: 'app:1' }], onConflict: 'fail' }, obj: pod(), error: 'container "app" already exists in containers (container names are unique across containers and initContainers; onConflict: fail)' },
    { name: 'volume conflict', config: FAIL, obj: pod({ volumes: [{ name: 'logs', hostPath: { path: '/x' } }] }), error: 'volume "logs" already exists with different content (onConflict: fail)' },
    { name: 'env conflict names the container', config: FAIL, obj: app({ env: [{ name: 'LOG_DIR', value: '/other' }] }), error: 'env var (container app) "LOG_DIR" already exists with different content (onConflict: fail)' },
    { name: 'volumeMount conflict names the container', config: FAIL, obj: app({ volumeMounts: [{ name: 'other', mountPath: '/var/log/app' }] }), error: 'volumeMount (container app) "/var/log/app" already exists with different content (onConflict: fail)' },
    { name: 'the first of two items with the key is the one compared (same: no conflict)', config: FAIL, obj: app({ env: [{ name: 'LOG_DIR', value: '/logs' }, { name: 'LOG_DIR', value: '/other' }] }), env: [{ name: 'LOG_DIR', value: '/logs' }, { name: 'LOG_DIR', value: '/other' }] },
    { name: 'the first of two items with the key is the one compared (different: conflict)', config: FAIL, obj: app({ env: [{ name: 'LOG_DIR', value: '/other' }, { name: 'LOG_DIR', value: '/logs' }] }), error: 'env var (container app) "LOG_DIR" already exists with different content (onConflict: fail)' },
    { name: 'replace replaces the first', config: { ...FAIL, onConflict: 'replace' }, obj: app({ env: [{ name: 'LOG_DIR', value: '/a' }, { name: 'LOG_DIR', value: '/b' }] }), env: [{ name: 'LOG_DIR', value: '/logs' }, { name: 'LOG_DIR', value: '/b' }] },
    { name: 'items that are not maps are dropped from a list added to', config: FAIL, obj: app({ env: [null, { name: 'A', value: '1' }, 'x'] as unknown as JsonObject[] }), env: [{ name: 'A', value: '1' }, { name: 'LOG_DIR', value: '/logs' }] },
    { name: 'a pod volume list with a non-map item', config: FAIL, obj: pod({ volumes: [7, { name: 'data', emptyDir: {} }] as unknown as JsonObject[] }), volumes: [{ name: 'data', emptyDir: {} }, { name: 'logs', emptyDir: {} }] },
  ];
  for (const row of rows) {
    const tr = sidecarTransformer(row.config, { name: 'sc' });
    const input = deepFreeze(row.obj);
    if (row.error !== undefined) {
      t.throws(() => tr.apply(input, makeContext()), new TransformError(row.error), row.name);
      continue;
    }
    const out = tr.apply(input, makeContext()) as KubeObject;
    const spec = out.spec as { containers: JsonObject[]; volumes?: unknown[] };
    if (row.env) t.strictSame(spec.containers[0].env, row.env, `${row.name}: env`);
    if (row.volumes) t.strictSame(spec.volumes, row.volumes, `${row.name}: volumes`);
  }
});

t.test('status annotation records what was added', async (t) => {
  const tr = sidecarTransformer(SHIPPER, { name: 'sc' });
  const out = tr.apply(pod(), makeContext()) as KubeObject;
  const status = parseStatus(((out.metadata as JsonObject).annotations as Record<string, string>)[SIDECAR_STATUS_ANNOTATION]);
  t.same(Object.keys(status), ['log-shipper']);
  t.same(status['log-shipper'].containers, ['log-shipper']);
  t.same(status['log-shipper'].volumes, ['logs']);
  t.same(status['log-shipper'].volumeMounts, { app: ['/var/log/app'] });
  t.match(status['log-shipper'].hash, /^[0-9a-f]{16}$/);
  t.equal(stableStringify({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
});

t.test('renders are kept by template values: each pod gets its own values, hash and copies', async (t) => {
  // Values JSON cannot tell apart (-0 and 0, NaN and null) render differently; every pod gets private copies.
  const tr = sidecarTransformer({
    name: 'shipper',
    containers: [{
      name: 'shipper',
      image: "fb:{{ has(overrides.tag) ? overrides.tag : '1' }}",
      args: ["{{ has(overrides.z) && overrides.z == 'neg' ? -0.0 : 0.0 }}", "{{ has(overrides.n) ? dyn(0.0 / 0.0) : dyn(null) }}"],
    }],
  }, { name: 'sc' });
  const at = (annotations: Record<string, string>): { c: JsonObject; hash: string } => {
    const out = tr.apply(deepFreeze(pod({}, annotations)), makeContext()) as KubeObject;
    const spec = out.spec as { containers: JsonObject[] };
    const status = parseStatus(((out.metadata as JsonObject).annotations as Record<string, string>)[SIDECAR_STATUS_ANNOTATION]);
    return { c: spec.containers[1] as JsonObject, hash: status.shipper.hash };
  };
  const rows: { name: string; annotations: Record<string, string>; image: string; zero: number; nan: boolean }[] = [
    { name: 'defaults', annotations: {}, image: 'fb:1', zero: 0, nan: false },
    { name: 'defaults twice in a row', annotations: {}, image: 'fb:1', zero: 0, nan: false },
    { name: '-0', annotations: { 'sidecar.postrender.io/shipper.z': 'neg' }, image: 'fb:1', zero: -0, nan: false },
    { name: '-0 twice in a row', annotations: { 'sidecar.postrender.io/shipper.z': 'neg' }, image: 'fb:1', zero: -0, nan: false },
    { name: 'NaN', annotations: { 'sidecar.postrender.io/shipper.n': 'x' }, image: 'fb:1', zero: 0, nan: true },
    { name: 'NaN twice in a row', annotations: { 'sidecar.postrender.io/shipper.n': 'x' }, image: 'fb:1', zero: 0, nan: true },
    { name: 'defaults after NaN', annotations: {}, image: 'fb:1', zero: 0, nan: false },
    { name: 'tag', annotations: { 'sidecar.postrender.io/shipper.tag': '2' }, image: 'fb:2', zero: 0, nan: false },
    { name: 'defaults again', annotations: {}, image: 'fb:1', zero: 0, nan: false },
    { name: '-0 again', annotations: { 'sidecar.postrender.io/shipper.z': 'neg' }, image: 'fb:1', zero: -0, nan: false },
  ];
  const seen: JsonObject[] = [];
  const hashes = new Map<string, string>();
  for (const row of rows) {
    const { c, hash } = at(row.annotations);
    const args = c.args as unknown[];
    t.equal(c.image, row.image, `${row.name}: image`);
    t.ok(Object.is(args[0], row.zero), `${row.name}: ${Object.is(row.zero, -0) ? '-0' : '0'}`);
    t.ok(row.nan ? Number.isNaN(args[1]) : args[1] === null, `${row.name}: ${row.nan ? 'NaN' : 'null'}`);
    t.notOk(Object.isFrozen(c) || Object.isFrozen(args), `${row.name}: a private, writable copy`);
    t.notOk(seen.some((x) => x === c || x.args === c.args), `${row.name}: shares nothing with another pod's`);
    seen.push(c);
    const key = JSON.stringify(row.annotations);
    if (hashes.has(key)) t.equal(hash, hashes.get(key), `${row.name}: the same hash as before`);
    hashes.set(key, hash);
  }
  t.equal(new Set(hashes.values()).size, 2, 'the template hash follows the rendered JSON (-0 and NaN print as 0 and null)');
});

t.test('renders are kept by template values: string values that concatenate alike, and a string and a number, render apart', async (t) => {
  const tr = sidecarTransformer({
    name: 'shipper',
    containers: [{ name: 'shipper', image: 'fb:1', args: ["{{ has(overrides.a) ? overrides.a : '' }}", "{{ has(overrides.b) ? overrides.b : '' }}", "{{ has(overrides.n) ? dyn(1) : dyn('1') }}"] }],
  }, { name: 'sc' });
  const rows: { annotations: Record<string, string>; args: unknown[] }[] = [
    { annotations: { a: 'ab', b: 'c' }, args: ['ab', 'c', '1'] },
    { annotations: { a: 'a', b: 'bc' }, args: ['a', 'bc', '1'] },
    { annotations: { a: '1:a', b: '' }, args: ['1:a', '', '1'] },
    { annotations: { a: '', b: '1:a' }, args: ['', '1:a', '1'] },
    { annotations: { a: "'", b: '[' }, args: ["'", '[', '1'] },
    { annotations: { a: 'ab', b: 'c', n: 'x' }, args: ['ab', 'c', 1] },
    { annotations: { a: 'ab', b: 'c' }, args: ['ab', 'c', '1'] },
    { annotations: { a: 'ab', b: 'c' }, args: ['ab', 'c', '1'] },
    { annotations: { a: 'ab', b: 'c', n: 'x' }, args: ['ab', 'c', 1] },
    { annotations: { a: 'ab', b: 'cd', n: 'x' }, args: ['ab', 'cd', 1] },
  ];
  for (const row of rows) {
    const annotations = Object.fromEntries(Object.entries(row.annotations).map(([k, v]) => [`sidecar.postrender.io/shipper.${k}`, v]));
    const out = tr.apply(deepFreeze(pod({}, annotations)), makeContext()) as KubeObject;
    t.strictSame((out.spec as { containers: JsonObject[] }).containers[1].args, row.args, JSON.stringify(row.annotations));
  }
});

t.test('statusJson is stableStringify of the status with the record set', async (t) => {
  const full: InjectionRecord = { volumeMounts: { b: ['/b'], a: ['/a', '/x'] }, env: { z: ['Z'], 'a"q': ['A'] }, volumes: ['v'], imagePullSecrets: ['s'], initContainers: ['i'], containers: ['c', 'd'], hash: '0123456789abcdef' };
  const rows: { name: string; status: SidecarStatus; key: string; rec: InjectionRecord }[] = [
    { name: 'empty status, hash only', status: {}, key: 'log-shipper', rec: { hash: 'h' } },
    { name: 'empty status, every field', status: {}, key: 'log-shipper', rec: full },
    { name: 'other injections around it', status: { zeta: { hash: 'z', containers: ['z'] }, alpha: { hash: 'a', volumes: ['x'] } }, key: 'mid', rec: full },
    { name: 'the same name replaced', status: { mid: { hash: 'old', containers: ['gone'] }, a: { hash: 'a' } }, key: 'mid', rec: { hash: 'new', containers: ['c'] } },
    { name: 'keys that need escapes and __proto__', status: JSON.parse('{"__proto__": {"hash": "p"}, "q\\"x": {"hash": "q"}, "é😀": {"hash": "u", "extra": [1, {"b": 2, "a": 1}]}}') as SidecarStatus, key: 'a"b', rec: full },
    { name: 'a name sorting first', status: { b: { hash: 'b' } }, key: 'A', rec: { hash: 'h', env: {} } },
    { name: 'empty status, keys and names that need escapes', status: {}, key: 'a"b\n', rec: { hash: 'h\u0001', containers: ['c"', 'é😀', '\ud800'], env: JSON.parse('{"x\\\\y": ["A\\tB"], "__proto__": ["P"], "": []}') as never } },
    { name: 'empty status, empty lists and maps', status: {}, key: 'n', rec: { hash: '', containers: [], volumes: [], env: {}, volumeMounts: { a: [] } } },
    // records of another origin (a status written by hand): values that are not lists of strings take stableStringify's path
    { name: 'not strings in a list', status: {}, key: 'n', rec: { hash: 'h', containers: ['a', 1, null, { b: 2, a: 1 }] as never, volumes: [undefined, 'v'] as never } },
    { name: 'not lists in a map', status: {}, key: 'n', rec: { hash: 'h', env: { b: 'x', a: ['y'], c: undefined, d: [2] } as never, volumeMounts: 7 as never } },
    { name: 'a hash that is not a string', status: { o: { hash: 'o' } }, key: 'n', rec: { hash: 12 as never, imagePullSecrets: { z: ['q'] } as never, initContainers: undefined } },
  ];
  for (const row of rows) {
    t.equal(statusJson(row.status, row.key, row.rec), stableStringify({ ...row.status, [row.key]: row.rec }), row.name);
  }
});

t.test('statusText is statusJson, the text kept for the next record that prints the same', async (t) => {
  const base: InjectionRecord = { hash: 'h1', containers: ['log-shipper'], volumes: ['app-logs'], env: { app: ['LOG_DIR'] }, volumeMounts: { app: ['/var/log/app'] } };
  const copy = (r: InjectionRecord): InjectionRecord => JSON.parse(JSON.stringify(r)) as InjectionRecord;
  // Each row runs after the one before it, through one slot: a record that differs anywhere must not get the kept text.
  const rows: { name: string; status?: SidecarStatus; rec: InjectionRecord; kept: boolean }[] = [
    { name: 'first record', rec: base, kept: false },
    { name: 'the same record again (other objects, same strings)', rec: copy(base), kept: true },
    { name: 'another hash', rec: { ...copy(base), hash: 'h2' }, kept: false },
    { name: 'back to the first', rec: copy(base), kept: false },
    { name: 'a container more', rec: { ...copy(base), containers: ['log-shipper', 'x'] }, kept: false },
    { name: 'a container renamed, same length', rec: { ...copy(base), containers: ['log-shippeR'] }, kept: false },
    { name: 'no containers field', rec: { hash: 'h1', volumes: ['app-logs'], env: { app: ['LOG_DIR'] }, volumeMounts: { app: ['/var/log/app'] } }, kept: false },
    { name: 'an empty containers list instead of none', rec: { hash: 'h1', containers: [], volumes: ['app-logs'], env: { app: ['LOG_DIR'] }, volumeMounts: { app: ['/var/log/app'] } }, kept: false },
    { name: 'init containers and pull secrets', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['s'] }, kept: false },
    { name: 'the same again', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['s'] }, kept: true },
    { name: 'a pull secret renamed', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'] }, kept: false },
    { name: 'env under another container', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { web: ['LOG_DIR'] } }, kept: false },
    { name: 'env of two containers', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { web: ['LOG_DIR'], app: ['LOG_DIR'] } }, kept: false },
    { name: 'the same keys in another order (the text sorts them)', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { app: ['LOG_DIR'], web: ['LOG_DIR'] } }, kept: true },
    { name: 'a key fewer', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { app: ['LOG_DIR'] } }, kept: false },
    { name: 'a key more', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { app: ['LOG_DIR'], web: ['LOG_DIR'] } }, kept: false },
    { name: 'a mount path changed', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { app: ['LOG_DIR'], web: ['LOG_DIR'] }, volumeMounts: { app: ['/var/log/ap'] } }, kept: false },
    { name: 'an env var more', rec: { ...copy(base), initContainers: ['i'], imagePullSecrets: ['t'], env: { app: ['LOG_DIR', 'X'], web: ['LOG_DIR'] }, volumeMounts: { app: ['/var/log/ap'] } }, kept: false },
    { name: 'another injection in the status: statusJson', status: { other: { hash: 'o' } }, rec: copy(base), kept: false },
    { name: 'then the first record alone again', rec: copy(base), kept: false },
    { name: 'not strings (a record of another origin)', rec: { hash: 'h1', containers: [1, 2] as never }, kept: false },
    { name: 'the same not-strings again: made again', rec: { hash: 'h1', containers: [1, 2] as never }, kept: false },
    { name: 'a hash that is not a string', rec: { hash: 7 as never }, kept: false },
    { name: 'the same again: made again', rec: { hash: 7 as never }, kept: false },
    { name: 'names that need escapes', rec: { hash: 'h"', containers: ['c"', 'é😀', '\ud800'], env: JSON.parse('{"x\\\\y": ["A\\tB"], "": []}') as never }, kept: false },
    { name: 'the same escapes again', rec: { hash: 'h"', containers: ['c"', 'é😀', '\ud800'], env: JSON.parse('{"x\\\\y": ["A\\tB"], "": []}') as never }, kept: true },
  ];
  const slot: { last?: StatusText } = {};
  for (const row of rows) {
    const before = slot.last;
    const text = statusText(row.status ?? {}, 'log-shipper', row.rec, slot);
    t.equal(text, stableStringify({ ...(row.status ?? {}), 'log-shipper': row.rec }), row.name);
    t.equal(before !== undefined && text === before.text && slot.last === before, row.kept, `${row.name}: kept text used`);
  }
  // A text over MAX_STATUS_TEXT characters is not kept.
  const big: InjectionRecord = { hash: 'h', containers: [Array.from({ length: MAX_STATUS_TEXT }, () => 'x').join('')] };
  const bigSlot: { last?: StatusText } = {};
  t.equal(statusText({}, 'n', big, bigSlot), stableStringify({ n: big }), 'a long record');
  t.equal(bigSlot.last, undefined, 'its text is not kept');
  t.ok(statusText({}, 'n', { hash: 'h' }, bigSlot) && bigSlot.last?.text.length === stableStringify({ n: { hash: 'h' } }).length, 'a short one is');
});

t.test('appsStatusText is statusText of the record withApps makes, the text kept for the same lists and pairs', async (t) => {
  type Pairs = [string, string[]][];
  const lists = (): InjectionRecord => ({ hash: 'h1', containers: ['log-shipper'], volumes: ['app-logs'] });
  const apps = (env?: Pairs, mounts?: Pairs): AddedToApps => ({ env: env && JSON.parse(JSON.stringify(env)) as Pairs, mounts: mounts && JSON.parse(JSON.stringify(mounts)) as Pairs });
  const one: Pairs = [['app', ['LOG_DIR']]];
  const mount: Pairs = [['app', ['/var/log/app']]];
  // Each row runs after the one before it, through one slot (and the reference's own slot): a draft that prints differently must not get the kept text.
  const rows: { name: string; status?: SidecarStatus; rec: InjectionRecord; apps: AddedToApps; kept: boolean }[] = [
    { name: 'first draft', rec: lists(), apps: apps(one, mount), kept: false },
    { name: 'the same again (other objects, same strings)', rec: lists(), apps: apps(one, mount), kept: true },
    { name: 'the env under another container only', rec: lists(), apps: apps([['ap2', ['LOG_DIR']]], mount), kept: false },
    { name: 'the mounts under another container only', rec: lists(), apps: apps([['ap2', ['LOG_DIR']]], [['ap3', ['/var/log/app']]]), kept: false },
    { name: 'another hash', rec: { ...lists(), hash: 'h2' }, apps: apps(one, mount), kept: false },
    { name: 'back to the first', rec: lists(), apps: apps(one, mount), kept: false },
    { name: 'a volume renamed', rec: { ...lists(), volumes: ['app-logz'] }, apps: apps(one, mount), kept: false },
    { name: 'back again', rec: lists(), apps: apps(one, mount), kept: false },
    { name: 'no mounts', rec: lists(), apps: apps(one), kept: false },
    { name: 'no env', rec: lists(), apps: apps(undefined, mount), kept: false },
    { name: 'nothing added to apps', rec: lists(), apps: apps(), kept: false },
    { name: 'nothing again', rec: lists(), apps: apps(), kept: true },
    { name: 'env under another container', rec: lists(), apps: apps([['web', ['LOG_DIR']]], mount), kept: false },
    { name: 'env of two containers', rec: lists(), apps: apps([['app', ['LOG_DIR']], ['web', ['LOG_DIR']]], mount), kept: false },
    { name: 'the same two', rec: lists(), apps: apps([['app', ['LOG_DIR']], ['web', ['LOG_DIR']]], mount), kept: true },
    { name: 'the two in the other order (the same maps: the text kept by statusText)', rec: lists(), apps: apps([['web', ['LOG_DIR']], ['app', ['LOG_DIR']]], mount), kept: true },
    { name: 'an env var more', rec: lists(), apps: apps([['web', ['LOG_DIR', 'X']], ['app', ['LOG_DIR']]], mount), kept: false },
    { name: 'a var renamed, same length', rec: lists(), apps: apps([['web', ['LOG_DIX', 'X']], ['app', ['LOG_DIR']]], mount), kept: false },
    { name: 'one container twice: the later pair wins', rec: lists(), apps: apps([['app', ['A']], ['app', ['B']]], mount), kept: false },
    { name: 'the same twice again', rec: lists(), apps: apps([['app', ['A']], ['app', ['B']]], mount), kept: true },
    { name: 'its other order', rec: lists(), apps: apps([['app', ['B']], ['app', ['A']]], mount), kept: false },
    { name: '__proto__ as a container name', rec: lists(), apps: apps(JSON.parse('[["__proto__", ["P"]]]') as Pairs, mount), kept: false },
    { name: 'the same again', rec: lists(), apps: apps(JSON.parse('[["__proto__", ["P"]]]') as Pairs, mount), kept: true },
    { name: 'another injection in the status: statusJson', status: { other: { hash: 'o' } }, rec: lists(), apps: apps(one, mount), kept: false },
    { name: 'then the first draft alone again', rec: lists(), apps: apps(one, mount), kept: false },
    { name: 'a mount path changed', rec: lists(), apps: apps(one, [['app', ['/var/log/ap']]]), kept: false },
  ];
  const slot: { last?: StatusText } = {};
  const refSlot: { last?: StatusText } = {};
  for (const row of rows) {
    const before = slot.last;
    const text = appsStatusText(row.status ?? {}, 'log-shipper', { rec: row.rec, apps: row.apps }, slot);
    const reference = withApps({ ...row.rec }, row.apps);
    t.equal(text, statusText(row.status ?? {}, 'log-shipper', reference, refSlot), `${row.name}: statusText's text`);
    t.equal(text, stableStringify({ ...(row.status ?? {}), 'log-shipper': reference }), row.name);
    t.equal(before !== undefined && text === before.text && slot.last === before, row.kept, `${row.name}: kept text used`);
  }
  t.same(withApps({ hash: 'h' }, apps([['b', ['X']], ['a', ['Y']], ['b', ['Z']]])), { hash: 'h', env: { b: ['Z'], a: ['Y'] } }, 'withApps: assignments in order');
  t.same(withApps({ hash: 'h' }, apps([], [])), { hash: 'h' }, 'withApps: no pairs, no maps');
});

t.test('statusChanged tells when setting the status text makes the metadata differ (deepEqual)', async (t) => {
  const K = SIDECAR_STATUS_ANNOTATION;
  const text = '{"log-shipper":{"hash":"h"}}';
  const proto = JSON.parse(`{"__proto__": {"${K}": ${JSON.stringify(text)}}}`) as JsonObject;
  const rows: [string, JsonObject][] = [
    ['no annotations', { name: 'p' }],
    ['annotations null', { annotations: null }],
    ['annotations a string', { annotations: 'x' }],
    ['annotations a list', { annotations: [] }],
    ['annotations empty', { annotations: {} }],
    ['other annotations only', { annotations: { a: 'b' } }],
    ['the same status text', { annotations: { [K]: text } }],
    ['the same status among others', { annotations: { a: 'b', [K]: text, c: 'd' }, labels: { x: 'y' } }],
    ['another status text', { annotations: { [K]: `${text} ` } }],
    ['a status that is not a string', { annotations: { [K]: 7 } }],
    ['a status null', { annotations: { [K]: null } }],
    ['a status inherited, not own', { annotations: Object.create({ [K]: text }) as JsonObject }],
    ['annotations under __proto__ (own data)', { annotations: proto }],
  ];
  for (const [name, metadata] of rows) {
    // What injectPod's setMeta makes of the metadata when it sets the status text.
    const ann = metadata.annotations;
    const injected = { ...metadata, annotations: { ...(typeof ann === 'object' && ann !== null && !Array.isArray(ann) ? ann : {}), [K]: text } };
    t.equal(statusChanged(metadata, text), !deepEqual(injected, metadata), name);
  }
});

t.test('otherContainers lists what the entries-filter-flatMap of the status lists', async (t) => {
  const inherited = Object.assign(Object.create({ up: { hash: 'u', containers: ['from-proto'] } }) as SidecarStatus, { own: { hash: 'o', containers: ['c'] } });
  const rows: [string, SidecarStatus][] = [
    ['empty', {}],
    ['this injection alone', { me: { hash: 'h', containers: ['mine'] } }],
    ['another one', { me: { hash: 'h', containers: ['mine'] }, other: { hash: 'o', containers: ['a', 'b'] } }],
    ['several, in key order', { z: { hash: 'z', containers: ['z1'] }, a: { hash: 'a', containers: ['a1', 'a2'] }, me: { hash: 'h' }, m: { hash: 'm' } }],
    ['no containers, null, a string, a nested list', JSON.parse('{"a": {"hash": "a"}, "b": {"hash": "b", "containers": null}, "c": {"hash": "c", "containers": "x"}, "d": {"hash": "d", "containers": [["n"], 1]}}') as SidecarStatus],
    ['__proto__ as a key', JSON.parse('{"__proto__": {"hash": "p", "containers": ["p"]}}') as SidecarStatus],
    ['inherited keys are not its own', inherited],
  ];
  for (const [name, status] of rows) {
    t.same(otherContainers(status, 'me'), Object.entries(status).filter(([n]) => n !== 'me').flatMap(([, r]) => r.containers ?? []), name);
  }
});

t.test('indexOfEnvName is indexOfKey by name', async (t) => {
  const env = (names: unknown[]): JsonObject[] => names.map((n, i) => (i % 3 === 0 ? { name: n, value: 'v' } : i % 3 === 1 ? { valueFrom: { fieldRef: { fieldPath: 'x' } }, name: n } : { name: n }) as JsonObject);
  const lists: [string, JsonObject[]][] = [
    ['empty', []],
    ['one', env(['A'])],
    ['forty, mixed shapes', env(Array.from({ length: 40 }, (_, i) => `VAR_${i}`))],
    ['duplicates', env(['A', 'B', 'A'])],
    ['names that are not strings', env([1, null, undefined, true, 'A'])],
    ['an item without a name', [{ value: 'x' }, { name: 'A' }] as JsonObject[]],
  ];
  for (const [name, items] of lists) {
    for (const id of ['A', 'B', 'VAR_0', 'VAR_39', 'VAR_40', '', 1, null, undefined, true]) {
      t.equal(indexOfEnvName(items, id as JsonObject['name']), indexOfKey(items, 'name', id as JsonObject['name']), `${name}: ${String(id)}`);
    }
  }
});

t.test('stringMapView reads as stringMap: the map itself only when every key is its own and holds a string', async (t) => {
  const inherited = Object.create({ up: 'x' }) as JsonObject;
  inherited.own = 'y';
  const nullProto = Object.assign(Object.create(null) as JsonObject, { a: 'b' });
  const rows: { name: string; map: unknown; same: boolean }[] = [
    { name: 'strings', map: { b: '1', a: '2', 'kubernetes.io/config.mirror': 'm' }, same: true },
    { name: 'integer-like keys first', map: { z: 'z', 10: 'ten', 2: 'two' }, same: true },
    { name: 'empty map', map: {}, same: true },
    { name: 'own __proto__ key', map: JSON.parse('{"a": "1", "__proto__": "p", "b": "2"}'), same: true },
    { name: 'a number value', map: { a: '1', n: 2, b: '3' }, same: false },
    { name: 'null, list and map values', map: { a: null, b: ['x'], c: { d: 'e' }, f: 'g' }, same: false },
    { name: 'own __proto__ map value', map: JSON.parse('{"__proto__": {"x": "y"}, "a": "b"}'), same: false },
    { name: 'inherited enumerable key', map: inherited, same: false },
    { name: 'null prototype', map: nullProto, same: false },
    { name: 'a list', map: ['a'], same: false },
    { name: 'a string', map: 'a=b', same: false },
    { name: 'absent', map: undefined, same: false },
  ];
  for (const row of rows) {
    const o = (row.map === undefined ? {} : { annotations: row.map }) as JsonObject;
    const view = stringMapView(o, 'annotations');
    const copy = stringMap(o, 'annotations');
    t.equal(view === row.map, row.same, `${row.name}: the map itself`);
    t.strictSame(Object.keys(view), Object.keys(copy), `${row.name}: keys in order`);
    t.strictSame(Object.keys(view).map((k) => Object.getOwnPropertyDescriptor(view, k)?.value), Object.values(copy), `${row.name}: values`);
    for (const k of ['kubernetes.io/config.mirror', 'a', 'up', 'toString', '__proto__']) {
      t.equal(k in view, k in copy, `${row.name}: ${k} in`);
      t.equal(hasOwnKey(view, k) ? view[k] : undefined, hasOwnKey(copy, k) ? copy[k] : undefined, `${row.name}: own ${k}`);
    }
  }
});

const hasOwnKey = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

t.test('stableStringify quotes strings and keys as JSON.stringify does', async (t) => {
  const tricky = ['', 'plain', 'a"b', 'back\\slash', 'tab\tnl\ncr\r', '\u0000\u001f\u007f', 'é€😀', '\ud800 lone', 'lone \udfff', '\u2028\u2029', '</script>'];
  // names by index: JSON.stringify leaves U+2028/U+2029 raw, which would break a TAP line
  tricky.forEach((s, i) => {
    t.equal(stableStringify(s), JSON.stringify(s), `string tricky[${i}]`);
    t.equal(stableStringify({ [s]: [s] }), JSON.stringify({ [s]: [s] }), `key tricky[${i}]`);
  });
});

t.test("containers other injections added are never app containers, whether their names are looked up in a list or a Set", async (t) => {
  // Around INJECTED_SCAN_MAX, where appsInjected turns the names into a Set: the same containers get the env and mounts.
  const tr = sidecarTransformer({ ...SHIPPER, env: [{ name: 'SHIP', value: '1' }] }, { name: 'sc' });
  for (const others of [1, INJECTED_SCAN_MAX, INJECTED_SCAN_MAX + 1, 4 * INJECTED_SCAN_MAX]) {
    const names = Array.from({ length: others }, (_, i) => `other-${i}`);
    // The pod has every other injection's container but the second, and an app container between them.
    const containers = [{ name: 'app', image: 'app:1' }, ...names.filter((_, i) => i !== 1).map((name) => ({ name, image: 'o:1' })), { name: 'web', image: 'web:1' }];
    const status = JSON.stringify({ other: { hash: 'o', containers: names } });
    const out = tr.apply(pod({ containers }, { [SIDECAR_STATUS_ANNOTATION]: status }), makeContext()) as KubeObject;
    const got = ((out.spec as JsonObject).containers as JsonObject[]).filter((c) => Array.isArray(c.env)).map((c) => c.name);
    t.same(got, ['app', 'web'], `${others} other containers: the app containers alone get the env`);
    const rec = parseStatus(((out.metadata as JsonObject).annotations as Record<string, string>)[SIDECAR_STATUS_ANNOTATION])['log-shipper'];
    t.same(Object.keys(rec.env ?? {}), ['app', 'web'], `${others}: the record names them`);
  }
});

t.test('a malformed status annotation is an error, not a second copy', async (t) => {
  const tr = sidecarTransformer(SHIPPER, { name: 'sc' });
  t.throws(() => tr.apply(pod({}, { [SIDECAR_STATUS_ANNOTATION]: '{not json' }), makeContext()), TransformError);
  t.throws(() => tr.apply(pod({}, { [SIDECAR_STATUS_ANNOTATION]: '{"log-shipper":{}}' }), makeContext()), /records with a hash/);
});

t.test('removed injected container is put back (status no longer intact)', async (t) => {
  const tr = sidecarTransformer(SHIPPER, { name: 'sc' });
  const once = tr.apply(pod(), makeContext()) as KubeObject;
  const broken = structuredClone(once);
  (broken.spec as JsonObject).containers = ((broken.spec as JsonObject).containers as JsonObject[]).filter((c) => c.name !== 'log-shipper');
  t.same(tr.apply(broken, makeContext()), once);
});

t.test('unsatisfiable initContainerOrder warns and keeps "after"', async (t) => {
  const tr = sidecarTransformer({ name: 'v', initContainers: [{ name: 'v', image: 'v:1' }], initContainerOrder: { after: ['b'], before: ['a'] } }, { name: 'sc' });
  const findings: Finding[] = [];
  const out = tr.apply(pod({ initContainers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }] }), makeContext({ report: (f) => findings.push(f) })) as KubeObject;
  t.same(((out.spec as JsonObject).initContainers as JsonObject[]).map((c) => c.name), ['a', 'b', 'v']);
  t.equal(findings.length, 1);
  t.equal(findings[0].action, 'Warn');
  t.match(findings[0].message, /cannot hold/);
});

t.test('pod template locations are data', async (t) => {
  t.same(podTemplateLocation({ apiVersion: 'batch/v1', kind: 'CronJob' })?.path, ['spec', 'jobTemplate', 'spec', 'template']);
  t.same(podTemplateLocation({ apiVersion: 'v1', kind: 'Pod' })?.path, []);
  t.equal(podTemplateLocation({ apiVersion: 'v1', kind: 'Deployment' }), undefined);
});

t.test('the recorded ReplicaSet Pod request, through review()', async (t) => {
  const recorded = JSON.parse(readFileSync(resolve(import.meta.dirname, '../data/admission/recorded/104-mutate-Pod-CREATE-loadgenerator-7748cb8cf4-x.json'), 'utf8'));
  const dir = join(fixtures, 'replicaset-pod-recorded');
  const [input] = streamObjects(readFileSync(join(dir, 'input.yaml'), 'utf8'));
  t.same(input, recorded.review.request.object, 'the golden case input is the recorded object');
  const set = sidecarPolicies(readFileSync(join(dir, 'policy.yaml'), 'utf8'));
  const r = review(recorded.review, set, { route: 'mutate' });
  t.equal(r.statusCode, 200);
  const { response, admitted } = admit(recorded.review.request.object, r.body);
  t.equal(response.uid, recorded.review.request.uid);
  t.equal(response.allowed, true);
  const [expected] = streamObjects(readFileSync(join(dir, 'expected.yaml'), 'utf8'));
  t.same(admitted, expected, 'recorded request: patch applied == golden');
  const md = admitted.metadata as JsonObject;
  t.equal(md.name, undefined, 'no name: only generateName');
  t.equal(md.namespace, undefined, 'namespace comes from request.namespace, never written');
  const again = review({ ...recorded.review, request: { ...recorded.review.request, object: admitted } }, set, { route: 'mutate' });
  t.notOk(((again.body as unknown as JsonObject).response as JsonObject).patch, 're-invocation: no patch');
  t.ok(!deepEqual(admitted, input));
});
