/**
 * Bounds on a JSON text's nesting depth from its bytes, so a review parsed
 * from them need not walk the parsed value to enforce `MAX_NESTING_DEPTH`.
 *
 * Two scans by a WebAssembly module of our own (SIMD, no imports, 64 KiB of
 * memory; its source with comments is [nesting-bound.wat](./nesting-bound.wat)),
 * instantiated on first use:
 * - the count of `{` and `[` bytes: no text nests deeper than it has
 *   openers. ~0.4 µs for a 10 KB Pod review (~180 of them), but past ~50 KB
 *   of a real object it proves nothing (a 1 MiB CRD review has ~37,000);
 * - `scannedNestingBound`: it follows JSON's strings exactly (a string opens
 *   and closes with an unescaped `"`; inside one a `\` escapes the next byte,
 *   and the hex digits of `\uXXXX` are neither `"` nor `\`), so brackets in
 *   strings count for nothing, and keeps the running depth of the brackets
 *   outside them, 64 bytes a step: exact at the end of each step, and within
 *   a step taken as the depth at its start plus the step's openers. Never
 *   below the text's depth and at most 63 levels above it; ~110 µs for a
 *   1 MiB CRD review against ~1,100 µs for the walk of its parsed object
 *   (docs/performance.md, session 19), ~2.5x the count on a Pod review.
 * `jsonNestingBound` takes the count when it is within the limit, else the
 * string scan.
 *
 * Both read a text `JSON.parse` accepts, decoded from these bytes as UTF-8:
 * the structural bytes `"`, `\`, `{`, `[`, `}`, `]` are ASCII, which UTF-8
 * decoding never changes or absorbs into another character (continuation
 * bytes are >= 0x80, a replaced invalid sequence too). Where WebAssembly or
 * its SIMD is unavailable (`--jitless`, `--no-expose-wasm`), both return
 * Infinity and reviews walk.
 */
import { MAX_NESTING_DEPTH } from './parse.js';

/** nesting-bound.wat as assembled by wabt 1.0.39's wat2wasm, base64 (919 bytes). */
const BOUND_WASM =
  'AGFzbQEAAAABDgNgAX8Bf2AAAGACf38AAwUEAAECAAUDAQABBhUEfwFBAAt/AUEAC38BQQALfwFBAAsHJAQGbWVtb3J5AgAHb3BlbmVycwAABXJlc2V0AAEFYm91bmQAAwqzBgR3AgN/AXsgAEFwcSEDAkADQCABIANPDQEgAf0ABAAhBCACIARB+wD9D/0jIARB2wD9D/0j/VD9ZGlqIQIgAUEQaiEBDAALCwJAA0AgASAATw0BIAIgAS0AAEH7AEYgAS0AAEHbAEZyaiECIAFBAWohAQwACwsgAgsSAEEAJABBACQBQQAkAkEAJAMLlgEBAX8CQANAIAAgAU8NASAALQAAIQIgAEEBaiEAIwMEQEEAJAMMAQsjAgRAIAJB3ABGBEBBASQDCyACQSJGBEBBACQCCwwBCyACQSJGBEBBASQCDAELIAJB+wBGIAJB2wBGcgRAIwBBAWokACMAIwFKBEAjACQBCwwBCyACQf0ARiACQd0ARnIEQCMAQQFrJAALDAALCwuNBAQCfwR7An4BfyAAQUBxIQICQANAIAEgAk8NASAB/QAEACEDIAH9AAQQIQQgAf0ABCAhBSAB/QAEMCEGIwMgA0HcAP0P/SMgBEHcAP0P/SP9UCAFQdwA/Q/9IyAGQdwA/Q/9I/1Q/VD9U3IEQCABIAFBwABqEAIFIANBIv0P/SP9ZK0gBEEi/Q/9I/1krUIQhoQgBUEi/Q/9I/1krUIghiAGQSL9D/0j/WStQjCGhIQhByAHIAdCAYaFIQcgByAHQgKGhSEHIAcgB0IEhoUhByAHIAdCCIaFIQcgByAHQhCGhSEHIAcgB0IghoUhByAHQQAjAmushSEHIAdCf4UhCCMAIAggA0H7AP0P/SMgA0HbAP0P/SP9UP1krSAEQfsA/Q/9IyAEQdsA/Q/9I/1Q/WStQhCGhCAFQfsA/Q/9IyAFQdsA/Q/9I/1Q/WStQiCGIAZB+wD9D/0jIAZB2wD9D/0j/VD9ZK1CMIaEhIN7p2ohCSAJIwFKBEAgCSQBCyAJIAggA0H9AP0P/SMgA0HdAP0P/SP9UP1krSAEQf0A/Q/9IyAEQd0A/Q/9I/1Q/WStQhCGhCAFQf0A/Q/9IyAFQd0A/Q/9I/1Q/WStQiCGIAZB/QD9D/0jIAZB3QD9D/0j/VD9ZK1CMIaEhIN7p2skACAHQj+IpyQCCyABQcAAaiEBDAALCyABIAAQAiMBCw==';

/** Bytes the module reads per call: its one page of memory. */
const CHUNK = 64 * 1024;

/** The instantiated module: its memory as bytes and its functions; null when WebAssembly is unusable here. */
interface Scanner {
  memory: Uint8Array;
  openers: (len: number) => number;
  reset: () => void;
  bound: (len: number) => number;
}

let scanner: Scanner | null | undefined;

/** The part of the WebAssembly JS API used here (the project's TypeScript libs have no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; openers: (len: number) => number; reset: () => void; bound: (len: number) => number } };
}

function instantiate(): Scanner | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    if (!wasm) return null;
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(BOUND_WASM, 'base64')));
    return { memory: new Uint8Array(exports.memory.buffer), openers: exports.openers, reset: exports.reset, bound: exports.bound };
  } catch {
    return null;
  }
}

/**
 * An upper bound on the nesting depth of the JSON text `bytes` (UTF-8; the
 * text's top-level map or list is level 1, as in `nestingDepth`): the count
 * of its `{` and `[` bytes when that is at most `stopAbove` (default
 * MAX_NESTING_DEPTH), else `scannedNestingBound(bytes, stopAbove)`. A bound
 * past `stopAbove` proves nothing more: the scans stop once past it and
 * return a number above it. Infinity when WebAssembly is unusable in this
 * process. For bytes that are not a JSON text it returns some number,
 * meaning nothing. Never throws; `bytes` is only read. Cost: ~0.4 µs for a
 * 10 KB Pod review; ~0.1 ms per MiB of a text the count cannot bound.
 */
export function jsonNestingBound(bytes: Uint8Array, stopAbove = MAX_NESTING_DEPTH): number {
  const s = (scanner ??= instantiate());
  if (s === null) return Infinity;
  let n = 0;
  for (let at = 0; at < bytes.length && n <= stopAbove; at += CHUNK) n += s.openers(load(s, bytes, at));
  return n <= stopAbove ? n : scannedNestingBound(bytes, stopAbove);
}

/**
 * The string-following bound of the JSON text `bytes` (see the module's
 * comment): never below its nesting depth, at most 63 levels above it.
 * Stops once the bound passes `stopAbove` and then returns a number above
 * it. Infinity when WebAssembly is unusable. Never throws; `bytes` is only
 * read. Cost: ~0.1 ms per MiB.
 */
export function scannedNestingBound(bytes: Uint8Array, stopAbove = Infinity): number {
  const s = (scanner ??= instantiate());
  if (s === null) return Infinity;
  s.reset();
  let n = 0;
  for (let at = 0; at < bytes.length && n <= stopAbove; at += CHUNK) n = s.bound(load(s, bytes, at));
  return n;
}

/** Copies the chunk of `bytes` from `at` (at most CHUNK bytes) into the module's memory; returns its length. */
function load(s: Scanner, bytes: Uint8Array, at: number): number {
  const chunk = at === 0 && bytes.length <= CHUNK ? bytes : bytes.subarray(at, at + CHUNK);
  s.memory.set(chunk);
  return chunk.length;
}
