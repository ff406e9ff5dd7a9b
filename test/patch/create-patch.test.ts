import t from 'tap';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { createPatch, createPatchByKey, escapePointerToken, pathMemo, type Operation } from '../../src/patch/create-patch.js';
import type { JsonValue } from '../../src/kube/object.js';
import { smallJsonObjects } from '../helpers/generators.js';

/** Applies ops as the API server would (fast-json-patch with validation on: strict about missing parents/targets). */
function apply(doc: JsonValue, ops: Operation[]): JsonValue {
  const copy = structuredClone(doc);
  return jsonpatch.applyPatch(copy, ops as jsonpatch.Operation[], true, true).newDocument as JsonValue;
}

const cases: { name: string; a: JsonValue; b: JsonValue; ops: Operation[] }[] = [
  { name: 'equal', a: { x: [1, { y: 2 }] }, b: { x: [1, { y: 2 }] }, ops: [] },
  { name: 'add label under existing labels', a: { metadata: { labels: { a: '1' } } }, b: { metadata: { labels: { a: '1', b: '2' } } },
    ops: [{ op: 'add', path: '/metadata/labels/b', value: '2' }] },
  { name: 'add under missing parent adds the whole subtree', a: { metadata: {} }, b: { metadata: { labels: { b: '2' } } },
    ops: [{ op: 'add', path: '/metadata/labels', value: { b: '2' } }] },
  { name: 'escapes ~ and / in keys', a: { metadata: { annotations: {} } }, b: { metadata: { annotations: { 'a/b~c': 'v' } } },
    ops: [{ op: 'add', path: '/metadata/annotations/a~1b~0c', value: 'v' }] },
  { name: 'replace scalar', a: { spec: { replicas: 1 } }, b: { spec: { replicas: 3 } }, ops: [{ op: 'replace', path: '/spec/replicas', value: 3 }] },
  { name: 'remove key', a: { a: 1, b: 2 }, b: { a: 1 }, ops: [{ op: 'remove', path: '/b' }] },
  { name: 'type change map to list is a replace', a: { a: { x: 1 } }, b: { a: [1] }, ops: [{ op: 'replace', path: '/a', value: [1] }] },
  { name: 'null to map is a replace', a: { a: null }, b: { a: {} }, ops: [{ op: 'replace', path: '/a', value: {} }] },
  { name: 'array append', a: { l: [1] }, b: { l: [1, 2, 3] }, ops: [{ op: 'add', path: '/l/1', value: 2 }, { op: 'add', path: '/l/2', value: 3 }] },
  { name: 'array shrink removes from the end', a: { l: [1, 2, 3] }, b: { l: [1] }, ops: [{ op: 'remove', path: '/l/2' }, { op: 'remove', path: '/l/1' }] },
  { name: 'head insert cascades (index based)', a: { l: ['a', 'b'] }, b: { l: ['x', 'a', 'b'] },
    ops: [{ op: 'replace', path: '/l/0', value: 'x' }, { op: 'replace', path: '/l/1', value: 'a' }, { op: 'add', path: '/l/2', value: 'b' }] },
  { name: 'root type change', a: { a: 1 }, b: [1], ops: [{ op: 'replace', path: '', value: [1] }] },
  { name: 'empty key', a: { '': 1 }, b: { '': 2 }, ops: [{ op: 'replace', path: '/', value: 2 }] },
];

t.test('table', async (t) => {
  for (const c of cases) {
    const a = structuredClone(c.a);
    const b = structuredClone(c.b);
    const ops = createPatch(a, b);
    t.same(ops, c.ops, c.name);
    t.same(a, c.a, `${c.name}: original not mutated`);
    t.same(b, c.b, `${c.name}: mutated not mutated`);
    if (c.name !== 'root type change') t.same(apply(c.a, ops), c.b, `${c.name}: re-applies`);
  }
});

t.test('undefined values count as absent', async (t) => {
  const ops = createPatch({ a: 1, b: 2 } as JsonValue, { a: 1, b: undefined, c: undefined, d: { e: undefined, f: 1 } } as unknown as JsonValue);
  t.same(ops, [{ op: 'remove', path: '/b' }, { op: 'add', path: '/d', value: { f: 1 } }]);
});

t.test('bigint and non-finite numbers throw', async (t) => {
  t.throws(() => createPatch({ a: 1 }, { a: 10n }), TypeError);
  t.throws(() => createPatch({ a: 1 }, { a: { b: 10n } }), TypeError);
  t.throws(() => createPatch({ a: 1 }, { a: Number.NaN }), TypeError);
});

t.test('escapePointerToken', async (t) => {
  const rows: [string, string][] = [
    ['~/', '~0~1'], ['a~1b', 'a~01b'], ['', ''], ['plain', 'plain'], ['/', '~1'], ['~', '~0'],
    ['platform.example.com/team', 'platform.example.com~1team'], ['//~~', '~1~1~0~0'], ['a/b~c/', 'a~1b~0c~1'],
  ];
  for (const [token, want] of rows) t.equal(escapePointerToken(token), want, JSON.stringify(token));
  t.test('property: the RFC 6901 replaces', async (t) => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '/', '~', '0', '1', 'é'), maxLength: 12 }), (s) => escapePointerToken(s) === s.replace(/~/g, '~0').replace(/\//g, '~1')));
    t.pass('agrees');
  });
});

t.test('the root schema follows the kind of each diff (last kind cached)', async (t) => {
  // env is keyed by name in a Pod (one add at its index), by index in a custom resource (every item replaced).
  const pod = (env: string[]): JsonValue => ({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', env: env.map((name) => ({ name })) }] } });
  const cr = (env: string[]): JsonValue => ({ apiVersion: 'example.com/v1', kind: 'Thing', spec: { containers: [{ name: 'a', env: env.map((name) => ({ name, value: name })) }] } });
  for (let i = 0; i < 2; i++) {
    t.equal(createPatch(pod(['x', 'y']), pod(['w', 'x', 'y'])).length, 1, 'Pod: one keyed add');
    t.equal(createPatch(cr(['x', 'y']), cr(['w', 'x', 'y'])).length, 1, 'custom resource: named items keyed too');
    const nokey = (env: string[]): JsonValue => ({ apiVersion: 'example.com/v1', kind: 'Thing', spec: { list: env } });
    t.equal(createPatch(nokey(['x', 'y']), nokey(['w', 'x', 'y'])).length, 3, 'custom resource: scalar list by index');
    const svc = (ports: number[]): JsonValue => ({ apiVersion: 'v1', kind: 'Service', spec: { ports: ports.map((port) => ({ port, protocol: 'TCP' })) } });
    t.equal(createPatch(svc([80, 81]), svc([79, 80, 81])).length, 1, 'Service: ports keyed by port');
    const cm = (ports: number[]): JsonValue => ({ apiVersion: 'v1', kind: 'ConfigMap', spec: { ports: ports.map((port) => ({ port, protocol: 'TCP' })) } });
    t.equal(createPatch(cm([80, 81]), cm([79, 80, 81])).length, 3, 'ConfigMap: no schema for spec, by index');
  }
});

t.test('property: every generated patch re-applies with validation and yields mutated', async (t) => {
  const key = fc.oneof(fc.constantFrom('a', 'b', 'a/b', '~1', '~', '', '0', '-'), fc.string({ maxLength: 4 }));
  const objects = smallJsonObjects(key);
  fc.assert(
    fc.property(objects, objects, (a, b) => {
      const ops = createPatch(a, b);
      const out = apply(a, ops);
      if (JSON.stringify(sortKeys(out)) !== JSON.stringify(sortKeys(b))) throw new Error('mismatch');
      if (ops.length === 0 && JSON.stringify(sortKeys(a)) !== JSON.stringify(sortKeys(b))) throw new Error('empty patch for different docs');
    }),
    { numRuns: 500 },
  );
  t.pass('500 random pairs');
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

t.test('paths remembered: right across the memo filling up, and within its bounds', async (t) => {
  const { maxEntries, maxChars } = pathMemo();
  // More distinct keys than the memo holds (it forgets all when full), each with a `/` and a `~` to escape, under two parents.
  const keys = Array.from({ length: maxEntries * 2 + 7 }, (_, i) => `k${i}/x~y`);
  for (let round = 0; round < 2; round++) {
    for (let from = 0; from < keys.length; from += 97) {
      const part = keys.slice(from, from + 97);
      const b: Record<string, string> = {};
      for (const k of part) b[k] = 'v';
      const ops = createPatch({ m: { x: 1 }, l: [{ a: 1 }] }, { m: { x: 1, ...b }, l: [{ a: 2 }], ...b });
      const want = [...part.map((k) => `/m/${escapePointerToken(k)}`), '/l/0/a', ...part.map((k) => `/${escapePointerToken(k)}`)];
      if (JSON.stringify(ops.map((o) => o.path)) !== JSON.stringify(want)) t.fail(`round ${round} from ${from}: paths`);
      t.ok(pathMemo().size <= maxEntries, `at most ${maxEntries} paths remembered`);
    }
  }
  const before = pathMemo().size;
  const long = `${'a/'.repeat(maxChars)}~`;
  t.same(createPatch({}, { [long]: 1 }), [{ op: 'add', path: `/${escapePointerToken(long)}`, value: 1 }], 'a long key: escaped');
  t.equal(pathMemo().size, before, `a path longer than ${maxChars} characters is not remembered`);
  const at = 'b'.repeat(maxChars - 1);
  createPatch({}, { [at]: 1 });
  t.equal(pathMemo().size, (before + 1) % maxEntries || maxEntries, `a path of ${maxChars} characters is`);
  t.same(createPatch({}, { [at]: 2 }), [{ op: 'add', path: `/${at}`, value: 2 }], 'and found again');
});

t.test('paths remembered as a tree: the memo forgotten in the middle of a walk, deep under a parent that is no longer the root', async (t) => {
  const { maxEntries } = pathMemo();
  // Nested maps and lists with the same keys at every level (a path remembered under the wrong parent would be found
  // again), keys to escape, and new keys in every walk: many new paths asked below others.
  const deep = (v: number): JsonValue => ({ x: { 'x/~': [{ name: 'x', x: { x: v } }, { name: 'y', x: { x: v } }], y: { x: v } } });
  let cleared = 0;
  for (let i = 0; i < maxEntries / 2; i++) {
    const before = pathMemo().size;
    const a: JsonValue = { x: 1, [`k${i}`]: deep(1), y: { x: deep(1), [`n${i}`]: 1 } };
    const b: JsonValue = { x: 2, [`k${i}`]: deep(2), y: { x: deep(2), [`n${i}`]: 2, [`o${i}`]: { x: 3 } } };
    const want = JSON.stringify(createPatchByKey(a, b));
    if (JSON.stringify(createPatch(a, b)) !== want) t.fail(`walk ${i}: paths (memo cold)`);
    if (JSON.stringify(createPatch(a, b)) !== want) t.fail(`walk ${i}: paths (memo warm)`);
    if (pathMemo().size < before) cleared++;
    if (pathMemo().size > maxEntries) t.fail(`walk ${i}: ${pathMemo().size} paths remembered`);
  }
  t.ok(cleared >= 2, `the memo was forgotten during walks (${cleared} times), the answers unchanged`);
  t.ok(pathMemo().size <= maxEntries, `at most ${maxEntries} paths remembered`);
});

t.test('list items: shared and equal items skipped, the others diffed at their index', async (t) => {
  const shared = { name: 'x' };
  const a: JsonValue = { l: [shared, 'same', true, 1, { name: 'y', v: 1 }], c: [{ name: 'a' }, { name: 'b', v: 1 }] };
  const b: JsonValue = { l: [shared, 'same', true, 1, { name: 'y', v: 2 }], c: [{ name: 'b', v: 2 }, { name: 'a' }] };
  // `c` is keyed by name (no kind: lists of named items): `b` is kept and diffed at its new index 0.
  t.same(createPatch(a, b), [
    { op: 'replace', path: '/l/4/v', value: 2 }, { op: 'remove', path: '/c/0' }, { op: 'replace', path: '/c/0/v', value: 2 }, { op: 'add', path: '/c/1', value: { name: 'a' } },
  ]);
  t.throws(() => createPatch({ l: [Infinity] }, { l: [Infinity] }), /non-finite number at \/l\/0/, 'an equal non-finite number still throws');
});
