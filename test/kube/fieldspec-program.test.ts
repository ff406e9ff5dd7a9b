/**
 * compileFieldSpecs (src/kube/fieldspec-program.ts) against its reference,
 * applyFieldSpecs (src/kube/fieldspecs.ts): every built-in spec table, custom
 * specs, every create kind and setter, over the corpus and hand-made objects
 * (scalars crossed, nulls, lists of scalars, a setter that changes the kind):
 * the same result, the same reference when nothing changed, the same error
 * (class, message, path), the input untouched.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { compileFieldSpecs, LAST_PAIR_MAX_CHARS } from '../../src/kube/fieldspec-program.js';
import {
  applyFieldSpecs, COMMON_ANNOTATIONS_FIELD_SPECS, COMMON_LABELS_FIELD_SPECS, IMAGES_FIELD_SPECS, METADATA_LABELS_FIELD_SPECS,
  NAMESPACE_FIELD_SPECS, REPLICAS_FIELD_SPECS, setEntries, setScalar, TEMPLATE_LABELS_FIELD_SPECS,
  type CreateKind, type FieldSetter, type FieldSpec,
} from '../../src/kube/fieldspecs.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { corpusFiles, streamObjects } from '../helpers/corpus.js';
import { deepFreeze } from '../helpers/laws.js';

/** A setter that rewrites strings, rejects maps and lists (as the images setter) and reports where it ran. */
const rewrite: FieldSetter = (current, at) => {
  if (typeof current === 'string') return current.startsWith('r/') ? current : `r/${current}`;
  if (current !== null && typeof current === 'object') throw new Error(`not a scalar at ${at.path}`);
  return current as JsonValue;
};

const SETTERS: [string, CreateKind, FieldSetter][] = [
  ['entries/map', 'map', setEntries({ 'example.com/a': 'x', b: 'y' })],
  ['entries/none', 'none', setEntries({ b: 'y' })],
  ['scalar/scalar', 'scalar', setScalar('ns1')],
  ['scalar/none', 'none', setScalar(3)],
  ['rewrite/none', 'none', rewrite],
  ['rewrite/scalar', 'scalar', rewrite],
];

const CUSTOM: FieldSpec[] = [
  { path: 'spec/items[]/name', create: true },
  { path: 'spec/a\\/b/c', create: true, kind: 'Thing' },
  { path: 'data/x', create: false },
  { path: 'spec/template/spec/containers/image', create: false, group: 'apps' },
  { path: 'metadata/labels', create: true, version: 'v1' },
  { path: 'spec/list[]', create: true },
];

const TABLES: [string, readonly FieldSpec[]][] = [
  ['metadata labels', METADATA_LABELS_FIELD_SPECS],
  ['template labels', TEMPLATE_LABELS_FIELD_SPECS],
  ['common labels', COMMON_LABELS_FIELD_SPECS],
  ['annotations', COMMON_ANNOTATIONS_FIELD_SPECS],
  ['images', IMAGES_FIELD_SPECS],
  ['replicas', REPLICAS_FIELD_SPECS],
  ['namespace', NAMESPACE_FIELD_SPECS],
  ['custom', CUSTOM],
  ['custom + common labels', [...CUSTOM, ...COMMON_LABELS_FIELD_SPECS]],
];

const HANDMADE: JsonObject[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: null }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b' }], initContainers: 'scalar' } },
  { apiVersion: 'v1', kind: 'Pod', metadata: 'scalar', spec: { containers: ['scalar'] } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: { nested: 1 } }] } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { b: 'y' } }, spec: { template: { metadata: null, spec: { containers: [{ image: 'r/x' }] } }, selector: 7 } },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { volumeClaimTemplates: [{ metadata: {} }, 3] } },
  { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: {} } } } },
  { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't' }, spec: { items: [{ name: 'a' }, null, 'x'], 'a/b': { c: 1 }, list: [1, 'two'] } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm' }, data: { x: 'v' } },
  { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'a' }, spec: { service: null } },
  { kind: 'Pod', spec: {} },
  { apiVersion: 3, kind: ['Pod'], metadata: {} } as unknown as JsonObject,
  { apiVersion: 'v1', kind: 'Pod', metadata: { __proto__: 'own', labels: {} } as unknown as JsonObject },
];

/** The result or the error of `fn`. */
function outcome(fn: () => JsonObject): { value?: JsonObject; error?: { name: string; message: string; path: unknown } } {
  try {
    return { value: fn() };
  } catch (e) {
    const err = e as Error & { path?: unknown };
    return { error: { name: err.name, message: err.message, path: err.path } };
  }
}

const corpus = corpusFiles().flatMap((f) => streamObjects(readFileSync(f, 'utf8')));
const objects = [...HANDMADE, ...corpus];

t.test('the compiled program answers as applyFieldSpecs (every table, setter and create kind)', async (t) => {
  let rows = 0;
  let mismatches = 0;
  for (const [tableName, specs] of TABLES) {
    for (const [setterName, kind, set] of SETTERS) {
      const program = compileFieldSpecs(specs, kind, set);
      for (const obj of objects) {
        const input = deepFreeze(structuredClone(obj));
        const want = outcome(() => applyFieldSpecs(input, specs, kind, set));
        const got = outcome(() => program.apply(input));
        rows++;
        const same = JSON.stringify(got) === JSON.stringify(want) && (got.value === input) === (want.value === input);
        if (!same) {
          mismatches++;
          t.fail(`${tableName} / ${setterName} / ${String(obj.kind)} ${JSON.stringify(obj.metadata ?? {}).slice(0, 60)}`, { got, want });
        }
      }
    }
  }
  t.equal(mismatches, 0, `${rows} rows agree (results, unchanged references, errors)`);
  t.ok(rows > 1000, 'the corpus is there');
});

t.test('a setter that changes the kind: later specs are selected against the new kind, as the reference does', async (t) => {
  const specs: FieldSpec[] = [
    { path: 'kind', create: true },
    { path: 'metadata/labels', create: true, kind: 'Deployment' },
    { path: 'metadata/labels', create: true, kind: 'Pod' },
  ];
  const set: FieldSetter = (current) => (current === 'Pod' ? 'Deployment' : { a: 'b' });
  const obj = deepFreeze({ apiVersion: 'v1', kind: 'Pod', metadata: {} });
  const want = applyFieldSpecs(obj, specs, 'map', set);
  t.same(compileFieldSpecs(specs, 'map', set).apply(obj), want);
  t.same(want, { apiVersion: 'v1', kind: 'Deployment', metadata: { labels: { a: 'b' } } }, 'only the Deployment spec applied');
});

t.test('more kinds than the plan table keeps: still the reference answers', async (t) => {
  const program = compileFieldSpecs(COMMON_LABELS_FIELD_SPECS, 'map', setEntries({ a: 'b' }));
  for (let i = 0; i < 600; i++) {
    const obj = { apiVersion: i % 2 ? 'apps/v1' : `g${i % 7}.example.com/v1`, kind: i % 3 ? 'Deployment' : `Kind${i}`, metadata: { name: 'x' }, spec: { selector: { matchLabels: {} }, template: { metadata: {} } } };
    const want = applyFieldSpecs(obj, COMMON_LABELS_FIELD_SPECS, 'map', setEntries({ a: 'b' }));
    if (JSON.stringify(program.apply(obj)) !== JSON.stringify(want)) t.fail(`kind ${i}`);
  }
  t.pass('600 kinds');
});

t.test('the last apiVersion and kind: runs of one kind, switches, and texts past the bound answer as the reference', async (t) => {
  // Specs that select by kind, group and version, so that a program answering with the wrong pair's plans differs.
  const specs: FieldSpec[] = [
    { path: 'metadata/labels', create: true, kind: 'Pod' },
    { path: 'metadata/annotations', create: true, kind: 'Deployment', group: 'apps' },
    { path: 'spec/selector', create: true, kind: 'Deployment', group: 'extensions' },
    { path: 'data', create: true, version: 'v2' },
  ];
  const set = setEntries({ a: 'b' });
  const long = 'k'.repeat(LAST_PAIR_MAX_CHARS);
  const pairs: [string, string][] = [
    ['v1', 'Pod'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'Deployment'], ['extensions/v1beta1', 'Deployment'],
    ['v1', 'Pod'], ['g.example.com/v2', 'Pod'], ['v1', 'Pod'], ['v1', long], ['v1', long], ['v1', 'Pod'],
    [`apps/${long}`, 'Deployment'], ['apps/v1', 'Deployment'], [`apps/${long}`, 'Deployment'], ['v2', 'Pod'], ['v1', 'Pod'],
  ];
  const program = compileFieldSpecs(specs, 'map', set);
  const seen = new Set<string>();
  for (const [apiVersion, kind] of pairs) {
    const obj = deepFreeze({ apiVersion, kind, metadata: { name: 'x' }, spec: {} });
    const want = applyFieldSpecs(obj, specs, 'map', set);
    seen.add(JSON.stringify(want).replace(/k{10,}/g, 'K'));
    t.equal(JSON.stringify(program.apply(obj)), JSON.stringify(want), `${apiVersion.slice(0, 20)} ${kind.slice(0, 20)}`);
  }
  t.ok(seen.size >= 5, 'the pairs select different specs');
});

t.test('the setter reads the path of the field it runs on', async (t) => {
  const paths: string[] = [];
  const set: FieldSetter = (current, at) => {
    paths.push(at.path);
    return current as JsonValue;
  };
  const obj = { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: 'a' }, { image: 'b' }], initContainers: [{ image: 'c' }] } };
  compileFieldSpecs(IMAGES_FIELD_SPECS, 'none', set).apply(obj);
  t.same(paths, ['/spec/containers/0/image', '/spec/containers/1/image', '/spec/initContainers/0/image']);
});
