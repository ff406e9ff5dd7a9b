/**
 * `jsonNestingBound` (src/admission/nesting-bound.ts): the count of `{` and
 * `[` bytes of a JSON text, by a WebAssembly SIMD loop, against a byte loop on
 * every length and position around its 16-byte steps and 64 KiB chunks; never
 * below the text's nesting depth; `stopAbove`; Infinity without WebAssembly.
 * And `parseReview`'s use of it: a bound at most MAX_NESTING_DEPTH skips the
 * walk, any other bound walks.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonNestingBound } from '../../src/admission/nesting-bound.js';
import { MAX_NESTING_DEPTH, nestingDepth, parseReview } from '../../src/admission/parse.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview } from '../fuzz/helpers.js';

/** The reference: `{` and `[` bytes, one at a time. */
function openers(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 0x7b || b === 0x5b) n++;
  return n;
}

/** Deterministic bytes (a linear congruential generator), with `{` and `[` about one byte in `every`. */
function bytesOf(length: number, seed: number, every = 8): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = s >>> 8;
    out[i] = r % every === 0 ? (r & 1 ? 0x7b : 0x5b) : r % 251;
  }
  return out;
}

t.test('the count equals a byte loop: every length to 80, an opener at every position', async (t) => {
  let checked = 0;
  for (let len = 0; len <= 80; len++) {
    for (const fill of [0x20, 0x7a, 0x7c, 0x5a, 0x5c, 0xfb, 0xdb]) { // neighbours of both openers, and them with the high bit set
      const plain = new Uint8Array(len).fill(fill);
      if (jsonNestingBound(plain) !== 0) t.fail(`${len} bytes of ${fill}: ${jsonNestingBound(plain)}`);
      for (let at = 0; at < len; at++) {
        for (const opener of [0x7b, 0x5b]) {
          const b = plain.slice();
          b[at] = opener;
          if (jsonNestingBound(b) !== 1) t.fail(`${len} bytes, ${opener} at ${at}: ${jsonNestingBound(b)}`);
          checked++;
        }
      }
    }
  }
  t.equal(checked, 2 * 7 * (80 * 81) / 2, 'every case checked');
  for (let len = 0; len <= 80; len++) {
    const all = new Uint8Array(len).fill(0x7b);
    t.equal(jsonNestingBound(all), len, `${len} openers in a row`);
  }
});

t.test('the count equals a byte loop across chunks (64 KiB) and from an offset view', async (t) => {
  const sizes = [65_535, 65_536, 65_537, 65_536 + 15, 65_536 + 16, 2 * 65_536, 3 * 65_536 + 7, 300_001];
  for (const [i, n] of sizes.entries()) {
    const b = bytesOf(n, 7 + i);
    t.equal(jsonNestingBound(b), openers(b), `${n} bytes: ${openers(b)} openers`);
  }
  const big = bytesOf(200_000, 99);
  const view = big.subarray(12_345, 150_000);
  t.equal(jsonNestingBound(view), openers(view), 'a view into a larger buffer counts only its own bytes');
  t.equal(jsonNestingBound(Buffer.from(view)), openers(view), 'a Buffer the same');
});

t.test('stopAbove: exact when the count stays within it, above it otherwise', async (t) => {
  const b = bytesOf(5 * 65_536, 3, 4); // ~80,000 openers
  const n = openers(b);
  t.equal(jsonNestingBound(b, n), n, 'at the count: exact');
  t.equal(jsonNestingBound(b, Infinity), n, 'no stop: exact');
  const stopped = jsonNestingBound(b, 1000);
  t.ok(stopped > 1000 && stopped <= n, `past 1,000: ${stopped}, more than the stop and no more than the count`);
  const small = bytesOf(1000, 5);
  t.equal(jsonNestingBound(small, 0), openers(small), 'one chunk is counted whole');
});

t.test('never below the nesting depth of a JSON text', async (t) => {
  const dataDir = new URL('../data/admission/recorded/', import.meta.url).pathname;
  const texts = readdirSync(dataDir).filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(dataDir, f), 'utf8'));
  t.ok(texts.length > 5, `${texts.length} recorded reviews`);
  const nested = (open: string, close: string, n: number): string => `${open.repeat(n)}${close.repeat(n)}`;
  texts.push(
    nested('[', ']', 3000),
    nested('{"a":', '}', 1500).replace(/:}/, ':{}}'),
    `{"s":"${'{'.repeat(50)}","l":${nested('[', ']', 20)}}`, // openers inside a string count: a looser bound, still a bound
    `{"u":"\\u007b\\u005b","m":{"k":[{"x":[]}]}}`, // escaped openers do not count: they are not structure
    '"scalar"',
    '{"multibyte":"é{ü[ß"}',
  );
  for (const [i, text] of texts.entries()) {
    const bytes = Buffer.from(text);
    const depth = nestingDepth(JSON.parse(text), 1_000_000);
    const bound = jsonNestingBound(bytes);
    if (bound < depth) t.fail(`text ${i}: bound ${bound} < depth ${depth}`);
    else t.pass(`text ${i}: depth ${depth} <= bound ${bound}`);
  }
  t.equal(jsonNestingBound(Buffer.from('{"u":"\\u007b\\u005b","m":{"k":[{"x":[]}]}}')), 5, 'escaped openers: not counted (a map, a map, a list, a map, a list)');
});

t.test('without WebAssembly: Infinity (the review walks)', async (t) => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly');
  Object.defineProperty(globalThis, 'WebAssembly', { value: undefined, configurable: true, writable: true });
  try {
    const again = '../../src/admission/nesting-bound.js?no-wasm'; // a second instance of the module, instantiated without WebAssembly
    const fresh = (await import(again)) as typeof import('../../src/admission/nesting-bound.js');
    t.equal(fresh.jsonNestingBound(Buffer.from('{}')), Infinity, 'no bound');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'WebAssembly', saved);
  }
  t.equal(jsonNestingBound(Buffer.from('{}')), 1, 'the module loaded with WebAssembly still counts');
});

/** A ConfigMap whose data nests `levels` maps. */
function deep(levels: number): JsonObject {
  let v: JsonObject = {};
  for (let i = 0; i < levels; i++) v = { a: v };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: v };
}

t.test('parseReview: a bound within the limit skips the walk, any other walks', async (t) => {
  const tooDeep = admissionReview('u-deep', deep(MAX_NESTING_DEPTH));
  const rows: [string, number | undefined, boolean][] = [
    ['no bound: walks', undefined, false],
    ['Infinity: walks', Infinity, false],
    ['past the limit: walks', MAX_NESTING_DEPTH + 1, false],
    // Only a caller that lies gets here: the bound is the caller's proof (documented on parseReview).
    ['at the limit: trusted, no walk', MAX_NESTING_DEPTH, true],
    ['small: trusted, no walk', 3, true],
  ];
  for (const [name, bound, ok] of rows) {
    const r = parseReview(tooDeep, bound);
    t.equal(r.ok, ok, name);
    if (!r.ok) t.equal(r.error.code, 'ERR_TOO_DEEP', `${name}: ERR_TOO_DEEP`);
  }
  const text = JSON.stringify(admissionReview('u-ok', deep(20)));
  const bound = jsonNestingBound(Buffer.from(text));
  t.ok(bound <= MAX_NESTING_DEPTH, `an ordinary review's bound (${bound}) is within the limit`);
  t.equal(parseReview(JSON.parse(text), bound).ok, true, 'and it parses');
});
