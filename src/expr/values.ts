/**
 * CEL value semantics the Kubernetes libraries need on engine values
 * (`@marcbachmann/cel-js`: int = bigint, double = number, uint =
 * UnsignedInt, lists = arrays, maps = Map or plain objects):
 * heterogeneous equality (cel-spec: numbers compare by value across int,
 * uint and double), ordering for isSorted/min/max (cross-type numeric
 * comparisons, base.go `CrossTypeNumericComparisons`), and cel-go
 * ext.Strings `format`.
 */
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { celError } from './cel.js';

function numeric(v: unknown): number | bigint | undefined {
  if (typeof v === 'bigint' || typeof v === 'number') return v;
  if (v instanceof UnsignedInt) return (v as unknown as { value: bigint }).value;
  return undefined;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A duration's nanoseconds (the engine's Duration keeps seconds and nanos; its nanos may carry either sign). */
function durationNanos(d: Duration): bigint {
  return d.seconds * 1_000_000_000n + BigInt(d.nanos);
}

/** CEL `==` on engine values (heterogeneous numeric equality, deep lists and maps). */
// eslint-disable-next-line complexity -- one case per CEL type, as cel-go's per-type Equal; a dispatch table would read worse
export function celEquals(a: unknown, b: unknown): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) return na !== undefined && nb !== undefined && compareNumbers(na, nb) === 0;
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => celEquals(x, b[i]));
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Duration && b instanceof Duration) return durationNanos(a) === durationNanos(b);
  const ea = entries(a);
  const eb = entries(b);
  if (ea === undefined || eb === undefined) return false;
  if (ea.size !== eb.size) return false;
  for (const [k, v] of ea) if (!eb.has(k) || !celEquals(v, eb.get(k))) return false;
  return true;
}

function entries(v: object): Map<unknown, unknown> | undefined {
  if (v instanceof Map) return new Map(v.entries());
  if (Object.getPrototypeOf(v) === Object.prototype) return new Map(Object.entries(v));
  return undefined;
}

/** Ordering of two comparable CEL values (-1, 0, 1); throws for values CEL cannot order. */
// eslint-disable-next-line complexity -- one case per orderable CEL type, as cel-go's per-type Compare
export function celCompare(a: unknown, b: unknown): number {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined && nb !== undefined) return compareNumbers(na, nb);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a instanceof Date && b instanceof Date) return Math.sign(a.getTime() - b.getTime());
  if (a instanceof Duration && b instanceof Duration) return compareNumbers(durationNanos(a), durationNanos(b));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  const cmp = (a as { compareTo?: (o: unknown) => number } | null)?.compareTo;
  if (typeof cmp === 'function') return cmp.call(a, b);
  throw celError('no such overload: values are not comparable');
}

/** Go-style %e with a two-digit exponent (1.000000e+03). */
function goExp(x: number, precision: number): string {
  const s = x.toExponential(precision);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function fixed(x: number, precision: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return x.toFixed(precision);
}

/** The engine's type values (registry.js Type: `type(x)`), read by their name. */
function typeValueName(v: unknown): string | undefined {
  return v !== null && typeof v === 'object' && v.constructor?.name === 'Type' && typeof (v as { name?: unknown }).name === 'string' ? (v as { name: string }).name : undefined;
}

/**
 * cel-go ext.Strings `%s` of a value (ext/formatting.go FormatString): a
 * scalar as its `string()` conversion (a double as Go's `'g'` shortest form,
 * `1e+06`), a type as its name, lists and maps as CEL literals (formatList,
 * formatMap); any other value (an optional) is an error.
 */
// eslint-disable-next-line complexity -- one case per CEL type of FormatString (cel-go ext/formatting.go)
function asString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return goFloatString(v);
  if (v instanceof UnsignedInt) return String((v as unknown as { value: bigint }).value);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return formatList(v);
  if (isMapValue(v)) return formatMap(v);
  if (v instanceof Date) return timestampString(v);
  if (v instanceof Duration) return durationString(v);
  const type = typeValueName(v);
  if (type !== undefined) return type;
  throw celError('error during formatting: string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps');
}

/** A CEL map value: a Map or a plain object. */
function isMapValue(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype);
}

/** `[a, b]` with each item as a CEL literal (ext/formatting.go formatList). */
function formatList(l: unknown[]): string {
  return `[${l.map(literal).join(', ')}]`;
}

/** `{k:v, ...}` with keys and values as CEL literals, ordered by the key's text (ext/formatting.go formatMap). */
function formatMap(m: Map<unknown, unknown> | Record<string, unknown>): string {
  const entries = m instanceof Map ? [...m.entries()] : Object.entries(m);
  const pairs = entries.map(([k, x]) => [mapKey(k), literal(x)] as const);
  pairs.sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0));
  return `{${pairs.map(([k, x]) => `${k}:${x}`).join(', ')}}`;
}

function mapKey(k: unknown): string {
  if (typeof k === 'string') return goQuote(k);
  if (typeof k === 'boolean' || typeof k === 'bigint') return String(k);
  if (k instanceof UnsignedInt) return String((k as unknown as { value: bigint }).value);
  throw celError('error during formatting: no formatting function for this map key type');
}

/**
 * An item of a list or map as `%s` prints it (ext/formatting.go clauseForType
 * and quoteForCEL): strings and bytes quoted as Go's %q, doubles as %.6f
 * (NaN and infinities quoted), timestamps and durations as
 * `timestamp("...")` / `duration("...")`.
 */
function literal(v: unknown): string {
  if (typeof v === 'string') return goQuote(v);
  if (v instanceof Uint8Array) return `b${goQuote(Buffer.from(v).toString('utf8'))}`;
  if (typeof v === 'number') return Number.isFinite(v) ? v.toFixed(6) : goQuote(Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');
  if (v instanceof Date) return `timestamp(${goQuote(timestampString(v))})`;
  if (v instanceof Duration) return `duration(${goQuote(durationString(v))})`;
  return asString(v);
}

const GO_ESCAPES: Readonly<Record<string, string>> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's strconv.Quote for the characters CEL strings hold: the C escapes, other control characters as \xHH. */
function goQuote(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what Go escapes
  return `"${s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => GO_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/**
 * A double as cel-go's `string(double)` converts it (types.Double
 * ConvertToType: `%g`, strconv's shortest 'g'): the shortest digits that read
 * back, in exponent form (at least two exponent digits) when the exponent is
 * below -4 or at least 6 (ftoa.go: "if precision was the shortest possible,
 * use precision 6 for this decision"): `1.5`, `999999`, `1.234567e+06`,
 * `1e-05`, `+Inf`, `NaN`.
 */
export function goFloatString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const [mantissa, e] = x.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(x);
}

/**
 * `string(duration)` as cel-go converts it (types.Duration ConvertToType:
 * `strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"`): seconds with the
 * fraction's trailing zeros dropped, `1.5s`, `-1.5s`, `0.000000001s`, `3600s`.
 */
export function durationString(d: Duration): string {
  const nanos = durationNanos(d);
  const abs = nanos < 0n ? -nanos : nanos;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${nanos < 0n ? '-' : ''}${abs / 1_000_000_000n}${fraction ? `.${fraction}` : ''}s`;
}

/**
 * `string(timestamp)` as cel-go converts it (types.Timestamp ConvertToType:
 * `time.RFC3339Nano` in UTC): the fraction's trailing zeros dropped,
 * `2024-03-01T00:00:00.1Z`, no fraction when it is zero. The engine keeps
 * milliseconds, so at most three fraction digits.
 */
export function timestampString(t: Date): string {
  return t.toISOString().replace(/\.?0*Z$/, 'Z');
}

function intArg(v: unknown, verb: string): bigint {
  const n = numeric(v);
  if (typeof n === 'bigint') return n;
  throw celError(`error during formatting: ${verb} requires an int or uint argument`);
}

function floatArg(v: unknown, verb: string): number {
  const n = numeric(v);
  if (typeof n === 'number') return n;
  throw celError(`error during formatting: ${verb} requires a double argument`);
}

/**
 * cel-go ext.Strings `format` (strings.go, version 2 semantics): %s, %d, %f,
 * %e, %b, %o, %x, %X, with an optional `.N` precision for %f and %e, and `%%`.
 */
export function formatString(fmt: string, args: unknown[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    let j = i + 1;
    let precision: number | undefined;
    const m = /^\.(\d+)/.exec(fmt.slice(j));
    if (m) {
      precision = Number(m[1]);
      j += m[0].length;
    }
    const verb = fmt[j];
    if (verb === '%') {
      out += '%';
      i = j;
      continue;
    }
    if (verb === undefined) throw celError('error during formatting: unexpected end of format string');
    if (next >= args.length) throw celError('error during formatting: argument index out of range'); // cel-go quotes the index: a value (issue 13)
    out += formatOne(verb, args[next++], precision);
    i = j;
  }
  return out;
}

// eslint-disable-next-line complexity -- one case per verb of Kubernetes' format library (library/format.go)
function formatOne(verb: string, v: unknown, precision: number | undefined): string {
  switch (verb) {
    case 's':
      return asString(v);
    case 'd':
      return String(intArg(v, '%d'));
    case 'f':
      return fixed(floatArg(v, '%f'), precision ?? 6);
    case 'e':
      return goExp(floatArg(v, '%e'), precision ?? 6);
    case 'b':
      // ext/formatting.go Binary: a bool as a bit
      return typeof v === 'boolean' ? (v ? '1' : '0') : intArg(v, '%b').toString(2);
    case 'o':
      return intArg(v, '%o').toString(8);
    case 'x':
    case 'X': {
      const s = typeof v === 'string' ? Buffer.from(v, 'utf8').toString('hex') : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : intArg(v, '%x').toString(16);
      return verb === 'X' ? s.toUpperCase() : s;
    }
    default:
      throw celError('error during formatting: unrecognized formatting clause'); // the clause can come from object data: not quoted (issue 13)
  }
}
