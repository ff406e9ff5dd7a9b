/**
 * Scalar typing of go-yaml v3 (resolve.go), as kustomize v5.5 decodes a
 * resource into `interface{}`: YAML 1.2 core booleans and nulls (`yes`/`on`
 * stay strings), but Go's `strconv.ParseInt` with base 0 for integers, so
 * legacy octal `0755`, `0x1F`, `0o17`, `0b11` and `1_000` are integers. Both
 * manifest readers (yaml-reference-reader.ts, yaml-fast-reader.ts) type every
 * scalar with these functions.
 */
import type { JsonValue } from './object.js';

/** go-yaml v3 `resolveMapList`: the words with a fixed value (null, bool, float specials). */
const WORDS = new Map<string, JsonValue>([
  ['', null], ['~', null], ['null', null], ['Null', null], ['NULL', null],
  ['true', true], ['True', true], ['TRUE', true],
  ['false', false], ['False', false], ['FALSE', false],
  ['.nan', NaN], ['.NaN', NaN], ['.NAN', NaN],
  ['.inf', Infinity], ['.Inf', Infinity], ['.INF', Infinity],
  ['+.inf', Infinity], ['+.Inf', Infinity], ['+.INF', Infinity],
  ['-.inf', -Infinity], ['-.Inf', -Infinity], ['-.INF', -Infinity],
]);
/**
 * First characters (ASCII codes) above '9' that can start a typed scalar:
 * `~`, `n`/`N` (null), `t`/`T`/`f`/`F` (bool). Every other scalar starting
 * above '9' is a string (go-yaml v3 `resolveTable`).
 */
const TYPED_LETTERS = new Uint8Array(128);
for (const c of '~nNtTfF') TYPED_LETTERS[c.charCodeAt(0)] = 1;
/** go-yaml v3 `yamlStyleFloat`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Go's `strconv.ParseInt(s, 0, 64)` syntax (then `ParseUint` for the positive
 * range up to 2^64-1): optional sign, `0x`/`0o`/`0b` prefixes, a leading `0`
 * meaning octal. Returns undefined when go would fail (syntax or range).
 */
export function parseGoInt(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  let v: bigint;
  if (/^0[oO]/.test(body)) v = BigInt('0o' + body.slice(2));
  else if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
  else v = BigInt(body.toLowerCase());
  if (m[1] === '-') v = -v;
  if (v >= INT64_MIN && v <= INT64_MAX) return v;
  // ParseUint takes no sign.
  return m[1] === '' && v <= UINT64_MAX ? v : undefined;
}

/** A bigint as a number when that is exact, else the bigint (JsonValue keeps huge ints). */
function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * The value of an untagged plain scalar, as go-yaml v3 `resolve("", s)` decodes
 * it into `interface{}`: null, bool, int (number, or bigint beyond 2^53), float,
 * or the string itself. Timestamps stay strings (v3 keeps them as strings when
 * decoding into `interface{}`). `.inf`/`.nan` give Infinity/NaN.
 */
export function resolvePlainScalar(s: string): JsonValue {
  const c0 = s.charCodeAt(0);
  // Only '', '~', n/N (null), t/T/f/F (bool), '.', '+', '-' and digits can be anything but a string.
  if (c0 > 0x39 && TYPED_LETTERS[c0] !== 1) return s;
  const word = WORDS.get(s);
  if (word !== undefined) return word;
  return resolveNumber(s);
}

/** A scalar starting with '.', '+', '-', a digit or a letter of `TYPED_LETTERS` that is no fixed word: a number or the string. */
function resolveNumber(s: string): JsonValue {
  const c = s[0];
  if (c === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? finiteOrString(s) : s;
  if (!/^[-+0-9]$/.test(c)) return s;
  const plain = s.replace(/_/g, '');
  const i = parseGoInt(plain);
  if (i !== undefined) return intValue(i);
  if (YAML_STYLE_FLOAT.test(plain)) return finiteOrString(plain);
  return s;
}

/** Go's ParseFloat fails (ErrRange) on overflow: the scalar then stays a string. */
function finiteOrString(s: string): JsonValue {
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

/** Explicit tags whose scalar keeps its text as a string (go-yaml v3: `!!str` and the non-specific `!`). */
export const STR_TAGS: ReadonlySet<string> = new Set(['tag:yaml.org,2002:str', '!']);

/**
 * Explicit core tags and the check the resolved value must pass (go-yaml v3
 * decode.go: "cannot decode !!str `x` as a !!int"). Other tags keep the text.
 */
export const CHECKED_TAGS: Readonly<Record<string, (v: JsonValue) => boolean>> = {
  'tag:yaml.org,2002:null': (v) => v === null,
  'tag:yaml.org,2002:bool': (v) => typeof v === 'boolean',
  'tag:yaml.org,2002:int': (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)),
  'tag:yaml.org,2002:float': (v) => typeof v === 'number' || typeof v === 'bigint',
};
