/**
 * ApplyConfiguration merging (server-side apply), table over the facts
 * observed on a v1.36 API server (the project's notes on its behaviour,
 * copied into the rows; docs/admission-policies.md) and merge.go's ordering; laws: frozen input
 * untouched, idempotent, nothing of the configuration shared by the result.
 */
import t from 'tap';
import { applyConfiguration, applyConfigurationChange, ApplyConfigurationError } from '../../src/patch/apply-configuration.js';
import { schemaForGVK } from '../../src/patch/patch-meta.js';
import { deepEqual, type JsonObject } from '../../src/kube/object.js';

const POD = schemaForGVK({ group: '', version: 'v1', kind: 'Pod' }).schema;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const c = (name: string, extra: JsonObject = {}): JsonObject => ({ name, image: `${name}:1`, ...extra });

/** Every map and list inside `v` (itself included). */
function containers(v: unknown, out = new Set<object>()): Set<object> {
  if (v !== null && typeof v === 'object') {
    out.add(v);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

const ROWS: { name: string; object: JsonObject; config: JsonObject; want?: JsonObject; error?: RegExp; noSchema?: boolean }[] = [
  {
    name: 'containers: the patch order wins ([proxy, app] onto [app, log])',
    object: { spec: { containers: [c('app'), c('log')] } },
    config: { spec: { containers: [c('proxy'), { name: 'app' }] } },
    want: { spec: { containers: [c('proxy'), c('app'), c('log')] } },
  },
  {
    name: 'env: an existing key replaced in place, a new one appended',
    object: { spec: { containers: [c('app', { env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'REGION', value: 'eu' }] })] } },
    config: { spec: { containers: [{ name: 'app', env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'TRACING', value: 'on' }] }] } },
    want: { spec: { containers: [c('app', { env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'REGION', value: 'eu' }, { name: 'TRACING', value: 'on' }] })] } },
  },
  {
    name: 'only new items: appended at the end',
    object: { spec: { containers: [c('a'), c('b')] } },
    config: { spec: { containers: [c('n')] } },
    want: { spec: { containers: [c('a'), c('b'), c('n')] } },
  },
  {
    name: 'maps merge (labels)',
    object: { metadata: { name: 'p', labels: { a: '1' } }, spec: {} },
    config: { metadata: { labels: { b: '2' } } },
    want: { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: {} },
  },
  { name: 'atomic list: container args', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ name: 'app', args: ['x'] }] } }, error: /may not mutate atomic arrays, maps or structs: \.spec\.containers\[0\]\.args/ },
  { name: 'atomic map: nodeSelector', object: { spec: {} }, config: { spec: { nodeSelector: { a: 'b' } } }, error: /: \.spec\.nodeSelector$/ },
  { name: 'atomic struct items: imagePullSecrets', object: { spec: {} }, config: { spec: { imagePullSecrets: [{ name: 's' }] } }, error: /\.spec\.imagePullSecrets\[0\]/ },
  {
    name: 'no schema (a custom resource): lists replaced, maps merged, an empty map set',
    object: { spec: { items: [1], m: { a: 1 } } },
    config: { spec: { items: [{ x: 1 }], m: { b: { c: [2] } }, e: {} } },
    want: { spec: { items: [{ x: 1 }], m: { a: 1, b: { c: [2] } }, e: {} } },
    noSchema: true,
  },
  {
    name: 'a set list (finalizers) merged by value; an empty map where there was none',
    object: { metadata: { name: 'p', finalizers: ['a'] }, spec: {} },
    config: { metadata: { finalizers: ['b', 'a'], labels: {} } },
    want: { metadata: { name: 'p', finalizers: ['b', 'a'], labels: {} }, spec: {} },
  },
  {
    name: 'no schema: the same list again, in a map whose other field changes',
    object: { spec: { items: [{ x: 1 }, { y: [2] }], n: 1 } },
    config: { spec: { items: [{ x: 1 }, { y: [2] }], n: 2 } },
    want: { spec: { items: [{ x: 1 }, { y: [2] }], n: 2 } },
    noSchema: true,
  },
  { name: 'no schema: the same list again, nothing else', object: { spec: { items: [{ x: 1 }] } }, config: { spec: { items: [{ x: 1 }] } }, want: { spec: { items: [{ x: 1 }] } }, noSchema: true },
  { name: 'labels already set: unchanged', object: { metadata: { name: 'p', labels: { a: '1' } } }, config: { metadata: { labels: { a: '1' } } }, want: { metadata: { name: 'p', labels: { a: '1' } } } },
  { name: 'a container already as configured: unchanged', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ name: 'app', image: 'app:1' }] } }, want: { spec: { containers: [c('app')] } } },
  { name: 'a keyed item without its key', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ image: 'x' }] } }, error: /omits key field "name" \(and doesn't have default value\)/ },
  // structured-merge-diff typed/helpers.go: a key field the item omits takes its default (protocol: +default="TCP")
  {
    name: 'ports: a port without protocol is the TCP port already there (merged, not a duplicate)',
    object: { spec: { containers: [c('app', { ports: [{ containerPort: 8080, protocol: 'TCP' }] })] } },
    config: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080, name: 'http' }] }] } },
    want: { spec: { containers: [c('app', { ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] })] } },
  },
  {
    name: 'ports: TCP configured onto a port without protocol (render: not defaulted) is the same port',
    object: { spec: { containers: [c('app', { ports: [{ containerPort: 8080 }] })] } },
    config: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }] }] } },
    want: { spec: { containers: [c('app', { ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }] })] } },
  },
  {
    name: 'ports: UDP is another port',
    object: { spec: { containers: [c('app', { ports: [{ containerPort: 53, protocol: 'TCP' }] })] } },
    config: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 53, protocol: 'UDP' }] }] } },
    want: { spec: { containers: [c('app', { ports: [{ containerPort: 53, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }] })] } },
  },
  // kubernetes/kubernetes#121575 (structured-merge-diff v4.4): duplicates in the object are allowed
  {
    name: 'env: duplicates the configuration does not name stay as they are',
    object: { spec: { containers: [c('app', { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }, { name: 'B', value: 'b' }] })] } },
    config: { spec: { containers: [{ name: 'app', env: [{ name: 'C', value: 'c' }] }] } },
    want: { spec: { containers: [c('app', { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }, { name: 'B', value: 'b' }, { name: 'C', value: 'c' }] })] } },
  },
  {
    name: "env: a duplicated name the configuration sets is replaced, once, by the configuration's item",
    object: { spec: { containers: [c('app', { env: [{ name: 'A', value: '1' }, { name: 'B', value: 'b' }, { name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })] } },
    config: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '3' }] }] } },
    want: { spec: { containers: [c('app', { env: [{ name: 'A', value: '3' }, { name: 'B', value: 'b' }] })] } },
  },
  { name: 'duplicates in the configuration are an error', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }] } }, error: /rhs: duplicate entries for key/ },
  {
    name: 'a two-key item without a key that has no default',
    object: { spec: { topologySpreadConstraints: [{ topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1 }] } },
    config: { spec: { topologySpreadConstraints: [{ topologyKey: 'zone', maxSkew: 2 }] } },
    error: /omits key field "whenUnsatisfiable" \(and doesn't have default value\)/,
  },
];

for (const row of ROWS) {
  t.test(row.name, async (t) => {
    const object = deepFreeze(structuredClone(row.object));
    const config = deepFreeze(structuredClone(row.config));
    if (row.error) {
      t.throws(() => applyConfiguration(object, config, POD), row.error);
      t.throws(() => applyConfiguration(object, config, POD), ApplyConfigurationError);
      return;
    }
    const schema = row.noSchema ? undefined : POD;
    const out = applyConfiguration(object, config, schema);
    t.same(out, row.want);
    t.same(object, row.object, 'input untouched');
    t.same(applyConfiguration(out, config, schema), out, 'idempotent');
    const change = applyConfigurationChange(object, config, schema);
    t.same(change.object, out);
    t.equal(change.changed, !deepEqual(out, object), 'changed: exactly whether the result differs');
    const shared = [...containers(out)].filter((c) => containers(config).has(c));
    t.same(shared, [], 'the result shares nothing with the configuration (one configuration applies to many objects)');
  });
}
