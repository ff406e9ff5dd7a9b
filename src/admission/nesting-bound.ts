/**
 * A bound on a JSON text's nesting depth from its bytes, so a review parsed
 * from them need not walk the parsed value to enforce `MAX_NESTING_DEPTH`.
 *
 * Every map or list in a JSON text opens with a `{` or `[` byte, so the text's
 * nesting depth is at most the number of those bytes in it; bytes inside
 * strings only make the count larger (UTF-8 continuation bytes are >= 0x80,
 * and an escaped `\u007b` is six other bytes), never smaller. A Pod review of
 * 10 KB has about 180 of them against a limit of 1,000: counting them with a
 * SIMD loop takes ~0.4 µs in process, the walk of the parsed object ~2 µs
 * (~4-5 µs of server CPU under load, where the walk was the largest single
 * item of a review that no policy matches: docs/performance.md, session 13).
 * A text with more openers than the limit proves nothing; its review walks.
 *
 * The count runs in a WebAssembly module of our own (no imports, 64 KiB of
 * memory, one function), instantiated on first use. Its text form:
 *
 * ```wat
 * (module
 *   (memory (export "memory") 1)
 *   (func (export "openers") (param $len i32) (result i32)
 *     (local $i i32) (local $n i32) (local $end i32) (local $v v128)
 *     (local.set $end (i32.and (local.get $len) (i32.const -16)))
 *     (block $done (loop $chunk                           ;; 16 bytes a step
 *       (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
 *       (local.set $v (v128.load (local.get $i)))
 *       (local.set $n (i32.add (local.get $n) (i32.popcnt (i8x16.bitmask (v128.or
 *         (i8x16.eq (local.get $v) (i8x16.splat (i32.const 123)))    ;; {
 *         (i8x16.eq (local.get $v) (i8x16.splat (i32.const 91))))))))  ;; [
 *       (local.set $i (i32.add (local.get $i) (i32.const 16)))
 *       (br $chunk)))
 *     (block $tdone (loop $tail                           ;; the last < 16 bytes
 *       (br_if $tdone (i32.ge_u (local.get $i) (local.get $len)))
 *       (local.set $n (i32.add (local.get $n) (i32.or
 *         (i32.eq (i32.load8_u (local.get $i)) (i32.const 123))
 *         (i32.eq (i32.load8_u (local.get $i)) (i32.const 91)))))
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br $tail)))
 *     (local.get $n)))
 * ```
 *
 * (`OPENERS_WASM` is that module as assembled by wabt 1.0.39's wat2wasm with
 * SIMD enabled; test/admission/nesting-bound.test.ts checks the count against
 * a byte loop.) Where WebAssembly or its SIMD is unavailable (`--jitless`,
 * `--no-expose-wasm`), `jsonNestingBound` returns Infinity and reviews walk.
 */

/** The module above, base64 (170 bytes). */
const OPENERS_WASM =
  'AGFzbQEAAAABBgFgAX8BfwMCAQAFAwEAAQcUAgZtZW1vcnkCAAdvcGVuZXJzAAAKeQF3AgN/AXsgAEFwcSEDAkADQCABIANPDQEgAf0ABAAhBCACIARB+wD9D/0jIARB2wD9D/0j/VD9ZGlqIQIgAUEQaiEBDAALCwJAA0AgASAATw0BIAIgAS0AAEH7AEYgAS0AAEHbAEZyaiECIAFBAWohAQwACwsgAgs=';

/** Bytes the module counts per call: its one page of memory. */
const CHUNK = 64 * 1024;

/** The instantiated counter: its memory as bytes and its function; null when WebAssembly is unusable here. */
interface Counter {
  memory: Uint8Array;
  openers: (len: number) => number;
}

let counter: Counter | null | undefined;

/** The part of the WebAssembly JS API used here (the project's TypeScript libs have no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; openers: (len: number) => number } };
}

function instantiate(): Counter | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    if (!wasm) return null;
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(OPENERS_WASM, 'base64')));
    return { memory: new Uint8Array(exports.memory.buffer), openers: exports.openers };
  } catch {
    return null;
  }
}

/**
 * An upper bound on the nesting depth of the JSON text `bytes` (UTF-8): the
 * number of `{` and `[` bytes in it (the text's top-level map or list is
 * level 1, as in `nestingDepth`). Stops counting once the count passes
 * `stopAbove` (a bound past a limit proves nothing more) and then returns a
 * number above it. Infinity when WebAssembly is unusable in this process.
 * Never throws; `bytes` is only read. Cost: ~0.4 µs for 10 KB.
 */
export function jsonNestingBound(bytes: Uint8Array, stopAbove = Infinity): number {
  counter ??= instantiate();
  if (counter === null) return Infinity;
  const { memory, openers } = counter;
  let n = 0;
  for (let at = 0; at < bytes.length && n <= stopAbove; at += CHUNK) {
    const chunk = at === 0 && bytes.length <= CHUNK ? bytes : bytes.subarray(at, at + CHUNK);
    memory.set(chunk);
    n += openers(chunk.length);
  }
  return n;
}
