/**
 * The compiled ApplyConfiguration merge (src/patch/apply-configuration-fast.ts)
 * against `applyConfiguration` / `applyConfigurationChange`, the reference:
 * a configuration compiles exactly when it holds no list and no atomic map or
 * struct (the rows say which), and then gives the same content in the same key
 * order, the object itself exactly when the reference finds no change.
 * Laws: frozen inputs untouched, idempotent, nothing of the configuration
 * shared, createPatch(input, output) re-applied to the input gives the output.
 * With `owned` (one pass of mutations): the same result, only the owned maps
 * changed in place, every map it makes added to the set.
 */
import t from 'tap';
import { applyConfiguration, applyConfigurationChange } from '../../src/patch/apply-configuration.js';
import { applyConfigMerge, compileConfigMerge } from '../../src/patch/apply-configuration-fast.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { schemaForGVK, type SchemaRef } from '../../src/patch/patch-meta.js';
import type { JsonObject } from '../../src/kube/object.js';
import { deepFreeze, reapply } from '../helpers/laws.js';

const POD = schemaForGVK({ group: '', version: 'v1', kind: 'Pod' }).schema;
const DEPLOYMENT = schemaForGVK({ group: 'apps', version: 'v1', kind: 'Deployment' }).schema;
/** A definition with `values` maps (`properties`: a map of JSONSchemaProps). */
const PROPS = 'apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';

const pod = (): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', labels: { app: 'web', 'a/b': 'c' }, annotations: { n: '1' } },
  spec: { containers: [{ name: 'app', image: 'nginx' }], securityContext: { runAsNonRoot: true }, priority: 0, enableServiceLinks: false },
});

t.test('compileConfigMerge compiles maps and scalars only, nothing atomic', async (t) => {
  const rows: [string, JsonObject, SchemaRef, boolean][] = [
    ['labels', { metadata: { labels: { team: 'payments' } } }, POD, true],
    ['nested structs', { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } }, POD, true],
    ['scalars of every kind, null included', { spec: { priorityClassName: 's', priority: 3, hostNetwork: true, hostname: null } }, POD, true],
    ['an empty map', { metadata: { labels: {} } }, POD, true],
    ['a map of scalars (overhead)', { spec: { overhead: { cpu: '1' } } }, POD, true],
    ['a values map of structs', { properties: { a: { type: 'string' }, b: {} } }, PROPS, true],
    ['a values map with a list inside', { properties: { a: { required: ['x'] } } }, PROPS, false],
    ['a list', { spec: { containers: [{ name: 'app' }] } }, POD, false],
    ['a list deep down', { spec: { template: { spec: { containers: [{ name: 'a' }] } } } }, DEPLOYMENT, false],
    ['a set list (finalizers)', { metadata: { finalizers: ['x'] } }, POD, false],
    ['an atomic map (nodeSelector)', { spec: { nodeSelector: { os: 'linux' } } }, POD, false],
    ['an atomic map, empty', { spec: { nodeSelector: {} } }, POD, false],
    ['an atomic map deep down', { spec: { template: { spec: { nodeSelector: { a: 'b' } } } } }, DEPLOYMENT, false],
    ['no schema: any maps', { spec: { nodeSelector: { os: 'linux' } } }, undefined, true],
    ['no schema: a list', { spec: { items: [1] } }, undefined, false],
  ];
  for (const [name, config, schema, compiles] of rows) t.equal(compileConfigMerge(config, schema) !== undefined, compiles, name);
});

/** Every map and list inside `v` (itself included). */
function containers(v: unknown, out = new Set<object>()): Set<object> {
  if (v !== null && typeof v === 'object') {
    out.add(v);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

/** `noReapply`: fast-json-patch refuses a `__proto__` path (the law runs on every other row). */
const ROWS: { name: string; object: () => JsonObject; config: JsonObject; schema?: SchemaRef; changed: boolean; noReapply?: boolean }[] = [
  { name: 'a new label', object: pod, config: { metadata: { labels: { team: 'payments' } } }, changed: true },
  { name: 'a label as it is', object: pod, config: { metadata: { labels: { app: 'web' } } }, changed: false },
  { name: 'a label with another value, in place', object: pod, config: { metadata: { labels: { app: 'api' } } }, changed: true },
  { name: 'labels where there are none', object: () => ({ kind: 'Pod', metadata: { name: 'p' } }), config: { metadata: { labels: { a: '1' } } }, changed: true },
  { name: 'no metadata at all', object: () => ({ kind: 'Pod' }), config: { metadata: { labels: { a: '1' } } }, changed: true },
  { name: 'a map over a scalar', object: () => ({ ...pod(), metadata: 'x' }), config: { metadata: { labels: { a: '1' } } }, changed: true },
  { name: 'a map over null', object: () => ({ ...pod(), metadata: null }), config: { metadata: { labels: { a: '1' } } }, changed: true },
  { name: 'a map over a list', object: () => ({ ...pod(), metadata: [1] }), config: { metadata: { labels: { a: '1' } } }, changed: true },
  { name: 'a scalar over a map', object: pod, config: { spec: { securityContext: 'x' } }, changed: true },
  { name: 'new nested structs', object: pod, config: { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } }, changed: true },
  { name: 'a new scalar in spec', object: pod, config: { spec: { priorityClassName: 'standard' } }, changed: true },
  { name: 'the same false', object: pod, config: { spec: { enableServiceLinks: false } }, changed: false },
  { name: 'the same number', object: pod, config: { spec: { priority: 0 } }, changed: false },
  { name: '-0 onto 0 keeps 0', object: pod, config: { spec: { priority: -0 } }, changed: false },
  { name: 'a number onto its string', object: () => ({ ...pod(), spec: { priority: '1' } }), config: { spec: { priority: 1 } }, changed: true },
  { name: 'null onto null', object: () => ({ ...pod(), spec: { hostname: null } }), config: { spec: { hostname: null } }, changed: false },
  { name: 'null onto a value', object: pod, config: { spec: { priority: null } }, changed: true },
  { name: 'null where there is nothing', object: pod, config: { spec: { hostname: null } }, changed: true },
  { name: 'an empty map onto a full one', object: pod, config: { metadata: { labels: {} } }, changed: false },
  { name: 'an empty map onto an empty one', object: () => ({ ...pod(), metadata: { labels: {} } }), config: { metadata: { labels: {} } }, changed: false },
  { name: 'an empty map where there is none', object: () => ({ ...pod(), metadata: { name: 'p' } }), config: { metadata: { labels: {} } }, changed: true },
  { name: 'an empty map over a scalar', object: () => ({ ...pod(), metadata: { labels: 'x' } }), config: { metadata: { labels: {} } }, changed: true },
  { name: 'an empty top-level configuration', object: pod, config: {}, changed: false },
  { name: 'config key order: existing keys stay, new ones appended', object: pod, config: { z: 'z', metadata: { labels: { b: '2', app: 'x' } }, a: 'a' }, changed: true },
  { name: 'integer-like keys (Object.keys order)', object: pod, config: { metadata: { labels: { '2': 'b', '1': 'a', x: 'c' } } }, changed: true },
  { name: '__proto__ stays data', object: pod, config: JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}') as JsonObject, changed: true, noReapply: true },
  { name: 'a map of scalars (overhead): entries merged', object: () => ({ ...pod(), spec: { overhead: { cpu: '1', memory: '1Mi' } } }), config: { spec: { overhead: { cpu: '2', pods: '1' } } }, changed: true },
  { name: 'a values map: entries merged, a new one appended', object: () => ({ type: 'object', properties: { a: { type: 'string', description: 'd' } } }), config: { properties: { a: { type: 'integer' }, b: { type: 'string' } } }, schema: PROPS, changed: true },
  { name: 'a values map: an entry as it is', object: () => ({ type: 'object', properties: { a: { type: 'string' } } }), config: { properties: { a: { type: 'string' } } }, schema: PROPS, changed: false },
  { name: 'a values map: an empty entry (no empty-map rule there)', object: () => ({ type: 'object', properties: { a: { type: 'string' } } }), config: { properties: { a: {}, b: {} } }, schema: PROPS, changed: true },
  { name: 'a values map: a scalar entry over a map', object: () => ({ properties: { a: { type: 'string' } } }), config: { properties: { a: 'x' } }, schema: PROPS, changed: true },
  { name: 'a values map: a map entry over a scalar', object: () => ({ properties: { a: 1 } }), config: { properties: { a: { type: 'string' } } }, schema: PROPS, changed: true },
  { name: 'no schema (a custom resource): maps merge', object: () => ({ apiVersion: 'x/v1', kind: 'X', spec: { m: { a: 1 }, nodeSelector: { b: 2 } } }), config: { spec: { m: { c: 3 }, nodeSelector: { b: 3 } } }, schema: undefined, changed: true },
  { name: 'no schema: nothing new', object: () => ({ apiVersion: 'x/v1', kind: 'X', spec: { m: { a: 1 } } }), config: { spec: { m: { a: 1 }, e: {} } }, schema: undefined, changed: true },
];

for (const row of ROWS) {
  t.test(row.name, async (t) => {
    const schema = 'schema' in row ? row.schema : POD;
    const config = deepFreeze(structuredClone(row.config));
    const m = compileConfigMerge(config, schema);
    if (!m) return t.fail('compiles');
    const object = deepFreeze(row.object());
    const snapshot = JSON.stringify(object);
    const got = applyConfigMerge(object, m);
    const want = applyConfiguration(object, config, schema);
    t.equal(JSON.stringify(got), JSON.stringify(want), 'same content and key order as applyConfiguration');
    t.equal(got === object, !applyConfigurationChange(object, config, schema).changed, 'the object itself exactly when the reference finds no change');
    t.equal(got === object, !row.changed, row.changed ? 'changed' : 'unchanged');
    t.equal(JSON.stringify(object), snapshot, 'frozen input untouched');
    t.equal(applyConfigMerge(deepFreeze(got), m), got, 'idempotent: applied again, the result itself');
    const mine = containers(config);
    t.same([...containers(got)].filter((c) => mine.has(c)), [], 'shares nothing with the configuration');
    if (!row.noReapply) t.same(reapply(object, createPatch(object, got)), got, 'createPatch re-applied to the input gives the output');
    // owned: a copy of the object whose every map is owned (a pass that made them) is changed in place, to the same result
    const copy = structuredClone(object) as JsonObject;
    const owned = containers(copy);
    const before = owned.size;
    const inPlace = applyConfigMerge(copy, m, owned);
    t.equal(inPlace, copy, 'owned: the object itself, changed in place');
    t.equal(JSON.stringify(inPlace), JSON.stringify(want), 'owned: the same content and key order');
    t.ok([...containers(inPlace)].every((c) => owned.has(c)), 'owned: every map of the result is owned');
    t.ok(owned.size >= before, 'owned: the set only grows');
    // owned, but the object's maps are not: nothing is changed in place
    const others = new Set<object>();
    t.equal(JSON.stringify(applyConfigMerge(object, m, others)), JSON.stringify(want), 'nothing owned: the same result, the frozen input untouched');
  });
}
