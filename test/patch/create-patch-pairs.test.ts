/**
 * createPatch diffs two maps whose keys share a prefix (a transformer's
 * `{...a}` copy) by pairing their values by index; createPatchByKey diffs
 * every map by key lookups, the reference. They must give the same
 * operations, in the same order, with the same errors (createPatchByKey also
 * builds every path: the reference of the path memo too).
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { createPatch, createPatchByKey } from '../../src/patch/create-patch.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { corpusFiles, streamObjects } from '../helpers/corpus.js';
import { deepFreeze } from '../helpers/laws.js';
import { smallJsonObjects } from '../helpers/generators.js';

function outcome(fn: () => unknown): string {
  try {
    return JSON.stringify(fn());
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const own = (o: JsonObject, k: string, v: JsonValue): JsonObject => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
};

/** `own`'s keys on an object whose prototype is `proto` (its keys enumerable, inherited: not members). */
const inherit = (proto: JsonObject, own: JsonObject): JsonObject => Object.assign(Object.create(proto) as JsonObject, own);

const rows: [string, JsonValue, JsonValue][] = [
  ['value changed in place', { a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'y' } }],
  ['keys appended', { a: 1 }, { a: 1, b: 2, c: { d: 3 } }],
  ['key removed at the end', { a: 1, b: 2 }, { a: 1 }],
  ['key removed in the middle', { a: 1, b: 2, c: 3 }, { a: 1, c: 3 }],
  ['keys reordered', { a: 1, b: 2 }, { b: 2, a: 3 }],
  ['undefined in the original', { a: undefined, b: 1 } as unknown as JsonValue, { a: 2, b: 1 }],
  ['undefined in the result', { a: 1, b: 1 }, { a: undefined, b: 1, c: undefined } as unknown as JsonValue],
  ['undefined on both sides', { a: undefined } as unknown as JsonValue, { a: undefined, b: undefined } as unknown as JsonValue],
  ['inherited names as keys', { constructor: 1, toString: 'x' }, { constructor: 2, toString: 'x', hasOwnProperty: true }],
  ['an inherited name only in the result', { a: 1 }, { a: 1, constructor: 'c' }],
  ['an inherited name only in the original', { a: 1, constructor: 'c' }, { a: 1 }],
  ['an own __proto__ key', own({ a: 1 }, '__proto__', 'x'), own({ a: 1 }, '__proto__', 'y')],
  ['an own __proto__ key added', { a: 1 }, own({ a: 1 }, '__proto__', { b: 1 })],
  ['escaped keys', { 'a/b': 1, 'c~d': 2 }, { 'a/b': 2, 'c~d': 2, 'e/~': 3 }],
  ['integer-like keys (sorted first by the engine)', { b: 1, 2: 'x' }, { b: 1, 2: 'y', 1: 'z' }],
  ['a bigint added', { a: 1 }, { a: 1, b: 2n as unknown as JsonValue }],
  ['a NaN in place', { a: 1 }, { a: Number.NaN }],
  ['type changes', { a: { b: 1 }, c: [1] }, { a: [1], c: { b: 1 } }],
  ['undefined in the original, then keys appended', { a: undefined, b: 1 } as unknown as JsonValue, { a: 2, b: 1, c: 3 }],
  ['undefined in the original, the result runs out', { a: undefined, b: 1, c: 2 } as unknown as JsonValue, { a: 1 }],
  ['out of step after keys in step, with additions', { a: 1, b: 2, c: 3 }, { a: 9, c: 3, b: 4, d: 5 }],
  ['out of step at the first key', { a: 1, b: 2 }, { z: 1, a: 1, b: 3 }],
  ['the result empty', { a: 1, b: { c: 2 } }, {}],
  ['the original empty', {}, { a: 1, b: { c: 2 } }],
  ['an inherited enumerable key in the result', { a: 1 }, inherit({ inherited: 1, a: 5 }, { a: 2, c: 3 })],
  ['an inherited enumerable key in the original', inherit({ a: 5, z: 1 }, { b: 1 }), { a: 1, b: 2 }],
  ['inherited enumerable keys on both sides', inherit({ x: 1 }, { a: 1 }), inherit({ y: 2 }, { a: 1, b: 2 })],
  ['a Pod: keyed lists inside', {
    apiVersion: 'v1', kind: 'Pod', metadata: { labels: { a: '1' } },
    spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'E', value: '1' }] }] },
  }, {
    apiVersion: 'v1', kind: 'Pod', metadata: { labels: { a: '1', b: '2' }, annotations: { c: '3' } },
    spec: { containers: [{ name: 'z' }, { name: 'a', image: 'y', env: [{ name: 'F' }, { name: 'E', value: '2' }] }], priorityClassName: 'p' },
  }],
];

t.test('table: paired values answer as key lookups', async (t) => {
  for (const [name, a, b] of rows) {
    const want = outcome(() => createPatchByKey(a, b));
    t.equal(outcome(() => createPatch(a, b)), want, name);
  }
});

t.test('table, with an enumerable key on Object.prototype: still only own keys', async (t) => {
  Object.defineProperty(Object.prototype, 'polluted', { value: 'p', enumerable: true, configurable: true, writable: true });
  try {
    for (const [name, a, b] of rows) {
      const want = outcome(() => createPatchByKey(a, b));
      t.equal(outcome(() => createPatch(a, b)), want, name);
    }
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
  }
});

/** The edits a transformer makes to a copy: values replaced, keys appended, set undefined or deleted. */
function edit(v: JsonValue, seed: number): JsonValue {
  if (Array.isArray(v)) return v.map((x, i) => (i % 3 === seed % 3 ? edit(x, seed + i) : x));
  if (v === null || typeof v !== 'object') return seed % 5 === 0 ? `edited-${seed}` : v;
  const out: JsonObject = { ...v };
  Object.keys(out).forEach((k, i) => {
    const s = seed + i * 7;
    if (s % 11 === 0) delete out[k];
    else if (s % 13 === 0) out[k] = undefined as unknown as JsonValue;
    else if (s % 2 === 0) out[k] = edit(out[k] as JsonValue, s);
  });
  if (seed % 4 === 0) out[`added-${seed}`] = { x: seed };
  return out;
}

t.test('corpus objects, edited as transformers do: the same patches', async (t) => {
  let n = 0;
  for (const file of corpusFiles()) {
    for (const obj of streamObjects(readFileSync(file, 'utf8'))) {
      deepFreeze(obj);
      for (const seed of [1, 2, 4, 8]) {
        const b = edit(obj, seed);
        n++;
        const want = outcome(() => createPatchByKey(obj, b));
        if (outcome(() => createPatch(obj, b)) !== want) t.fail(`${file} ${String(obj.kind)} seed ${seed}`);
      }
    }
  }
  t.ok(n > 100, `${n} pairs agree`);
});

t.test('property: random pairs and their edits give the same patches', async (t) => {
  const key = fc.oneof(fc.constantFrom('a', 'b', 'a/b', '~1', '', '0', '1', 'constructor', '__proto__'), fc.string({ maxLength: 3 }));
  const objects = smallJsonObjects(key);
  fc.assert(fc.property(objects, objects, fc.nat(1000), (a, b, seed) => {
    const e = edit(a, seed);
    return outcome(() => createPatch(a, b)) === outcome(() => createPatchByKey(a, b)) && outcome(() => createPatch(a, e)) === outcome(() => createPatchByKey(a, e));
  }), { numRuns: 1000 });
  t.pass('1000 random pairs');
});

t.test('added values are copied as JSON writes them: own keys only, undefined keys left out, undefined items null', async (t) => {
  const value = inherit({ inherited: 1 }, { y: 2, z: undefined as unknown as JsonValue, list: [1, undefined as unknown as JsonValue, inherit({ w: 1 }, { v: 3 })] });
  const ops = createPatch({ a: 1 }, { a: 1, added: value });
  t.equal(JSON.stringify(ops), JSON.stringify([{ op: 'add', path: '/added', value }]), 'the copy writes as the value does');
  t.same(Object.keys((ops[0] as { value: JsonObject }).value), ['y', 'list'], 'the copy has the own defined keys, in order');
  t.equal(JSON.stringify((ops[0] as { value: JsonObject }).value), '{"y":2,"list":[1,null,{"v":3}]}');
});
