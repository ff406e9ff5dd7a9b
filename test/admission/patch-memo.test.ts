/**
 * patchBase64 (the answer's `patch`, remembering the last operations and
 * their text) against its reference, `base64Utf8(JSON.stringify(ops))`, over
 * sequences where each patch follows one that differs from it in one detail
 * (the memo must not answer the previous text), random patches, and its bound.
 */
import t from 'tap';
import fc from 'fast-check';
import { base64Utf8, patchBase64, patchMemoChars, PATCH_MEMO_MAX_CHARS } from '../../src/admission/review.js';
import { createPatch, type Operation } from '../../src/patch/create-patch.js';
import type { JsonValue } from '../../src/kube/object.js';
import { smallJsonObjects } from '../helpers/generators.js';

const reference = (ops: readonly Operation[]): string => base64Utf8(JSON.stringify(ops));
const add = (path: string, value: JsonValue): Operation => ({ op: 'add', path, value });

const ownProto = (value: JsonValue): JsonValue => {
  const o = {};
  Object.defineProperty(o, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return o;
};

/** Pairs of patches that are close: the second must not be answered the first's text. */
const pairs: [string, Operation[], Operation[]][] = [
  ['the same', [add('/a', 1)], [add('/a', 1)]],
  ['op differs', [add('/a', 1)], [{ op: 'replace', path: '/a', value: 1 }]],
  ['remove against add', [{ op: 'remove', path: '/a' }], [add('/a', null)]],
  ['path differs', [add('/a', 1)], [add('/b', 1)]],
  ['an operation more', [add('/a', 1)], [add('/a', 1), add('/b', 2)]],
  ['an operation less', [add('/a', 1), add('/b', 2)], [add('/a', 1)]],
  ['keys in another order', [add('/a', { x: 1, y: 2 })], [add('/a', { y: 2, x: 1 })]],
  ['a key more', [add('/a', { x: 1 })], [add('/a', { x: 1, y: 2 })]],
  ['a key renamed', [add('/a', { x: 1 })], [add('/a', { y: 1 })]],
  ['0 and -0 (both write 0)', [add('/a', 0)], [add('/a', -0)]],
  ['number and string', [add('/a', 1)], [add('/a', '1')]],
  ['boolean and string', [add('/a', true)], [add('/a', 'true')]],
  ['null and map', [add('/a', null)], [add('/a', {})]],
  ['empty map and empty list', [add('/a', {})], [add('/a', [])]],
  ['list and map with index keys', [add('/a', ['x'])], [add('/a', { 0: 'x' })]],
  ['map with index keys and list', [add('/a', { 0: 'x' })], [add('/a', ['x'])]],
  ['list items differ deep', [add('/a', [{ b: [1, 2] }])], [add('/a', [{ b: [1, 3] }])]],
  ['list longer', [add('/a', [1])], [add('/a', [1, 2])]],
  ['an own __proto__ key', [add('/a', { x: 1 })], [add('/a', ownProto(1))]],
  ['an own __proto__ value differs', [add('/a', ownProto(1))], [add('/a', ownProto(2))]],
  ['non-ASCII', [add('/a', 'é')], [add('/a', 'e')]],
  ['a key less', [add('/a', { x: 1, y: 2 })], [add('/a', { x: 1 })]],
  ['nested maps, an inner key more', [add('/a', { x: { p: 1 }, y: 2 })], [add('/a', { x: { p: 1, q: 2 }, y: 2 })]],
  ['nested maps, an inner key less', [add('/a', { x: { p: 1, q: 2 }, y: 2 })], [add('/a', { x: { p: 1 }, y: 2 })]],
  ['nested maps, the outer key after them differs', [add('/a', { x: { p: { r: 1 } }, y: 2 })], [add('/a', { x: { p: { r: 1 } }, z: 2 })]],
  ['nested maps in two operations', [add('/a', { x: { p: 1 } }), add('/b', { y: 1 })], [add('/a', { x: { p: 1 } }), add('/b', { y: 1, z: 1 })]],
  ['an inherited enumerable key (not written)', [add('/a', { x: 1 })], [add('/a', Object.assign(Object.create({ y: 2 }) as Record<string, JsonValue>, { x: 1 }))]],
  ['an inherited enumerable key against an own one', [add('/a', Object.assign(Object.create({ y: 2 }) as Record<string, JsonValue>, { x: 1 }))], [add('/a', { x: 1, y: 2 })]],
  ['a path built by concatenation against a literal', [add(`/${'metadata'}/${'labels'.slice(0)}`, 'x')], [add('/metadata/labels', 'x')]],
];

t.test('table: each patch after a close one', async (t) => {
  for (const [name, first, second] of pairs) {
    t.equal(patchBase64(first), reference(first), `${name}: first`);
    t.equal(patchBase64(second), reference(second), `${name}: second`);
    t.equal(patchBase64(first), reference(first), `${name}: first again`);
    t.equal(patchBase64(first), reference(first), `${name}: first once more (remembered)`);
  }
});

t.test('property: random patches in a row give their own text', async (t) => {
  const key = fc.oneof(fc.constantFrom('a', 'b', 'a/b', '~1', '', '0', '1', '__proto__'), fc.string({ maxLength: 3 }));
  const objects = smallJsonObjects(key);
  fc.assert(fc.property(fc.array(fc.tuple(objects, objects), { minLength: 1, maxLength: 6 }), (rows) => {
    for (const [a, b] of rows) {
      for (const ops of [createPatch(a, b), createPatch(b, a), createPatch(a, b)]) if (patchBase64(ops) !== reference(ops)) return false;
    }
    return true;
  }), { numRuns: 1000 });
  t.pass('1000 sequences');
});

t.test('bound: a patch text longer than PATCH_MEMO_MAX_CHARS is not kept', async (t) => {
  const small = [add('/a', 'x')];
  patchBase64(small);
  t.equal(patchMemoChars(), reference(small).length, 'a small patch is kept');
  const big = [add('/a', 'x'.repeat(PATCH_MEMO_MAX_CHARS))];
  t.equal(patchBase64(big), reference(big));
  t.equal(patchMemoChars(), 0, 'a large patch empties the memo');
  t.equal(patchBase64(big), reference(big), 'and is written again');
  const overhead = JSON.stringify([add('/a', '')]).length;
  const edge = [add('/a', 'x'.repeat(((PATCH_MEMO_MAX_CHARS / 4) * 3) - overhead))];
  t.equal(reference(edge).length, PATCH_MEMO_MAX_CHARS, 'a patch of exactly the bound');
  patchBase64(edge);
  t.equal(patchMemoChars(), PATCH_MEMO_MAX_CHARS, 'is kept');
});
