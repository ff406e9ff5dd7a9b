/**
 * src/admission/nesting-bound.ts and its WebAssembly module
 * (nesting-bound.wat): `scannedNestingBound`, the scan that follows strings,
 * against a byte-by-byte reference and the depth of the parsed value (never
 * below it, at most 63 above it, exact for texts shorter than one 64-byte
 * step; brackets, quotes and backslash runs at every position around the
 * steps and the 64 KiB chunks); the count of openers against a byte loop;
 * `jsonNestingBound`, the count within `stopAbove` and the scan past it;
 * Infinity without WebAssembly. And `parseReview`'s use of it: a bound at
 * most MAX_NESTING_DEPTH skips the walk, any other bound walks.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonNestingBound, scannedNestingBound } from '../../src/admission/nesting-bound.js';
import { MAX_NESTING_DEPTH, nestingDepth, parseReview } from '../../src/admission/parse.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { admissionReview } from '../fuzz/helpers.js';

/** The reference: the depth of a JSON text's brackets outside strings, one byte at a time. */
function textDepth(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let str = false;
  let esc = false;
  for (const b of bytes) {
    if (esc) esc = false;
    else if (str) {
      if (b === 0x5c) esc = true;
      else if (b === 0x22) str = false;
    } else if (b === 0x22) str = true;
    else if (b === 0x7b || b === 0x5b) max = Math.max(max, ++depth);
    else if (b === 0x7d || b === 0x5d) depth--;
  }
  return max;
}

/** Checks the bound of `text` against the parsed value's depth (and the reference); a message when it is off, else undefined. */
function off(text: string): string | undefined {
  const bytes = Buffer.from(text);
  const depth = nestingDepth(JSON.parse(text), 1_000_000);
  const bound = scannedNestingBound(bytes);
  if (textDepth(bytes) !== depth) return `the reference reads ${textDepth(bytes)}, the value ${depth}`;
  if (bound < depth || bound > depth + 63) return `bound ${bound} for depth ${depth}`;
  if (bytes.length < 64 && bound !== depth) return `bound ${bound} for depth ${depth} in ${bytes.length} bytes (one scalar pass: exact)`;
  return undefined;
}

/** A deterministic generator (a linear congruential one): `next(n)` in [0, n). */
function generator(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
}

/** String contents made of what the scan must see through: brackets, quotes, backslash runs, escapes, multibyte characters. */
const PIECES = ['{', '}', '[', ']', '"', '\\', '\\\\', '\\"', 'a', ' ', 'é', '\\u007b', '{[', ']}', ']]]]', '}}}}'];

/** A random JSON value of strings from PIECES, numbers, maps and lists (at most `levels` deep). */
function randomValue(next: (n: number) => number, levels: number): JsonValue {
  const pick = next(levels <= 0 ? 2 : 5);
  if (pick === 0) return Array.from({ length: next(12) }, () => PIECES[next(PIECES.length)]).join('');
  if (pick === 1) return next(1000);
  if (pick === 2) return Object.fromEntries(Array.from({ length: next(5) }, () => [PIECES[next(PIECES.length)] + String(next(99)), randomValue(next, levels - 1)]));
  if (pick === 3) return Array.from({ length: next(5) }, () => randomValue(next, levels - 1));
  return null;
}

t.test('the bound against the parsed depth: strings full of brackets, quotes and escapes, at every alignment', async (t) => {
  const next = generator(7);
  const wrong: string[] = [];
  let checked = 0;
  for (let i = 0; i < 4000; i++) {
    const value = Array.from({ length: 1 + next(i < 2000 ? 2 : 40) }, () => randomValue(next, 9));
    const text = ' '.repeat(next(80)) + JSON.stringify(value, null, next(3) === 0 ? next(3) : undefined);
    const why = off(text);
    if (why !== undefined && wrong.push(`text ${i} (${text.length} bytes): ${why}`) > 5) break;
    checked++;
  }
  t.same(wrong, [], `${checked} texts: never below the depth, at most 63 above it, exact under 64 bytes`);
});

t.test('a bracket, a quote or an escape at every position around the 64-byte steps', async (t) => {
  // Strings of every length 0..140 followed by 30 levels of lists, after a string holding the piece:
  // closers in a string must not lower the depth, openers not raise it, an escaped quote not end the string.
  const wrong: string[] = [];
  let checked = 0;
  for (const piece of ['}]}]', '{[{[', '\\"', '\\\\', '\\\\\\"', '\\u005d', 'é]']) {
    for (let pad = 0; pad <= 140; pad++) {
      const text = `{"s":"${'x'.repeat(pad)}${piece}","l":${'['.repeat(30)}${']'.repeat(30)}}`;
      const why = off(text);
      if (why !== undefined) wrong.push(`${JSON.stringify(piece)} after ${pad}: ${why}`);
      checked++;
    }
  }
  t.same(wrong, [], `${checked} texts`);
  t.equal(scannedNestingBound(Buffer.from(`["${']'.repeat(200)}",${'['.repeat(40)}${']'.repeat(40)}]`)), 41, 'closers in a string lower nothing (here the bound is exact)');
});

t.test('across 64 KiB chunks, and from an offset view', async (t) => {
  // A string holding closers and an escaped quote straddles the chunk boundary at every offset; deep lists follow it.
  const wrong: string[] = [];
  for (let back = 0; back <= 80; back++) {
    const head = `["${'x'.repeat(65_536 - 2 - back)}`; // the string's content reaches the boundary `back` bytes early
    const text = `${head}]]\\"}}\\\\",${'['.repeat(50)}${']'.repeat(50)}]`;
    const why = off(text);
    if (why !== undefined) wrong.push(`boundary ${back} bytes into the string's tail: ${why}`);
  }
  t.same(wrong, [], '81 boundaries');
  const next = generator(11);
  const big = JSON.stringify(Array.from({ length: 6000 }, () => randomValue(next, 12)));
  t.ok(big.length > 3 * 65_536, `a generated text of ${big.length} bytes`);
  t.equal(off(big), undefined, 'its bound');
  const bytes = Buffer.from(`   ${big}   `);
  const view = bytes.subarray(3, bytes.length - 3);
  t.equal(scannedNestingBound(view), scannedNestingBound(Buffer.from(big)), 'a view into a larger buffer reads only its own bytes');
  t.equal(scannedNestingBound(new Uint8Array(view)), scannedNestingBound(view), 'a Uint8Array the same');
});

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

t.test('within stopAbove, the count of openers: it equals a byte loop at every length to 80, an opener at every position', async (t) => {
  let checked = 0;
  for (let len = 0; len <= 80; len++) {
    for (const fill of [0x20, 0x7a, 0x7c, 0x5a, 0x5c, 0xfb, 0xdb]) { // neighbours of both openers, and them with the high bit set
      const plain = new Uint8Array(len).fill(fill);
      if (jsonNestingBound(plain, Infinity) !== 0) t.fail(`${len} bytes of ${fill}: ${jsonNestingBound(plain, Infinity)}`);
      for (let at = 0; at < len; at++) {
        for (const opener of [0x7b, 0x5b]) {
          const b = plain.slice();
          b[at] = opener;
          if (jsonNestingBound(b, Infinity) !== 1) t.fail(`${len} bytes, ${opener} at ${at}: ${jsonNestingBound(b, Infinity)}`);
          checked++;
        }
      }
    }
  }
  t.equal(checked, 2 * 7 * (80 * 81) / 2, 'every case checked');
  for (let len = 0; len <= 80; len++) {
    const all = new Uint8Array(len).fill(0x7b);
    t.equal(jsonNestingBound(all, Infinity), len, `${len} openers in a row`);
  }
});

t.test('the count equals a byte loop across chunks (64 KiB) and from an offset view', async (t) => {
  const sizes = [65_535, 65_536, 65_537, 65_536 + 15, 65_536 + 16, 2 * 65_536, 3 * 65_536 + 7, 300_001];
  for (const [i, n] of sizes.entries()) {
    const b = bytesOf(n, 7 + i);
    t.equal(jsonNestingBound(b, Infinity), openers(b), `${n} bytes: ${openers(b)} openers`);
  }
  const big = bytesOf(200_000, 99);
  const view = big.subarray(12_345, 150_000);
  t.equal(jsonNestingBound(view, Infinity), openers(view), 'a view into a larger buffer counts only its own bytes');
  t.equal(jsonNestingBound(Buffer.from(view), Infinity), openers(view), 'a Buffer the same');
});

t.test('jsonNestingBound: the count within stopAbove, the scan past it; each stops once past it', async (t) => {
  // A shallow text with more openers than the limit (a real large object): the count proves nothing, the scan does.
  const many = Buffer.from(JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ k: [i] }))));
  t.ok(openers(many) > MAX_NESTING_DEPTH, `${openers(many)} openers`);
  t.equal(jsonNestingBound(many), scannedNestingBound(many), 'past the limit (the default stop): the scan');
  t.ok(jsonNestingBound(many) <= 3 + 63, `which bounds it within the limit (${jsonNestingBound(many)})`);
  const few = Buffer.from(JSON.stringify({ a: [[1]], s: '[[[[' }));
  t.equal(jsonNestingBound(few), openers(few), 'within the limit: the count (7 here, the depth 3)');
  t.equal(scannedNestingBound(few), 3);
  const deepFirst = Buffer.from(`[${'['.repeat(2000)}${']'.repeat(2000)},"${'y'.repeat(200_000)}"]`);
  const whole = scannedNestingBound(deepFirst);
  t.ok(whole >= 2001 && whole <= 2001 + 63, `the scan without a stop: ${whole}`);
  t.ok(scannedNestingBound(deepFirst, 1000) > 1000, 'the scan past its stop in the first chunk: above the stop');
  t.ok(jsonNestingBound(deepFirst) > MAX_NESTING_DEPTH, 'and so jsonNestingBound: above the limit (the review walks)');
  const shallow = Buffer.from(`[${'"z",'.repeat(50_000)}[[1]]]`);
  t.equal(scannedNestingBound(shallow, 1000), scannedNestingBound(shallow), 'the scan within its stop: the whole text, the same bound');
  t.equal(scannedNestingBound(shallow), 3);
});

t.test('never below the nesting depth of a JSON text', async (t) => {
  const dataDir = new URL('../data/admission/recorded/', import.meta.url).pathname;
  const texts = readdirSync(dataDir).filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(dataDir, f), 'utf8'));
  t.ok(texts.length > 5, `${texts.length} recorded reviews`);
  const nested = (open: string, close: string, n: number): string => `${open.repeat(n)}${close.repeat(n)}`;
  texts.push(
    nested('[', ']', 3000),
    nested('{"a":', '}', 1500).replace(/:}/, ':{}}'),
    `{"s":"${'{'.repeat(50)}","l":${nested('[', ']', 20)}}`, // openers inside a string: not structure
    `{"u":"\\u007b\\u005b","m":{"k":[{"x":[]}]}}`, // escaped openers: not structure
    '"scalar"',
    '{"multibyte":"é{ü[ß"}',
  );
  for (const [i, text] of texts.entries()) {
    const why = off(text);
    if (why !== undefined) t.fail(`text ${i}: ${why}`);
    else t.pass(`text ${i}`);
  }
  t.equal(scannedNestingBound(Buffer.from('{"u":"\\u007b\\u005b","m":{"k":[{"x":[]}]}}')), 5, 'escaped openers: not counted (a map, a map, a list, a map, a list)');
  t.equal(scannedNestingBound(Buffer.from(`{"s":"${'{'.repeat(50)}"}`)), 1, 'openers in a string: not counted');
  t.equal(jsonNestingBound(Buffer.from(`{"s":"${'{'.repeat(50)}"}`)), 51, 'by the count, within the limit: counted');
});

t.test('without WebAssembly: Infinity (the review walks)', async (t) => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly');
  Object.defineProperty(globalThis, 'WebAssembly', { value: undefined, configurable: true, writable: true });
  try {
    const again = '../../src/admission/nesting-bound.js?no-wasm'; // a second instance of the module, instantiated without WebAssembly
    const fresh = (await import(again)) as typeof import('../../src/admission/nesting-bound.js');
    t.equal(fresh.jsonNestingBound(Buffer.from('{}')), Infinity, 'no bound');
    t.equal(fresh.scannedNestingBound(Buffer.from('{}')), Infinity, 'no scan either');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'WebAssembly', saved);
  }
  t.equal(jsonNestingBound(Buffer.from('{}')), 1, 'the module loaded with WebAssembly still scans');
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
