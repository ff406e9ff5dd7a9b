/**
 * Generators shared by table and property tests: a deterministic PRNG, so a
 * failure is reproducible from its seed, and fast-check's small JSON objects
 * for the patch tests.
 */
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';

/** A deterministic PRNG (mulberry32) seeded with `seed`: each call returns a number in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Small JSON objects (at most 5 keys, values nested a few levels: null,
 * booleans, integers, strings of at most 3 characters, lists of at most 4,
 * maps of at most 4 keys) whose keys come from `key`.
 */
export function smallJsonObjects(key: fc.Arbitrary<string>): fc.Arbitrary<JsonObject> {
  const json = fc.letrec<{ v: JsonValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 3 })),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(key, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  return fc.dictionary(key, json, { maxKeys: 5 }) as fc.Arbitrary<JsonObject>;
}
