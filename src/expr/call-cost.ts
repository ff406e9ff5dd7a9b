/**
 * The runtime cost of one CEL function call or operator, exactly as the
 * Kubernetes API server charges it: `k8s.io/apiserver/pkg/cel/library/cost.go`
 * (`CostEstimator.CallCost`) first, then cel-go's overload trackers of the
 * extensions Kubernetes enables (`ext/sets.go` trackSetsCost, `ext/lists.go`
 * version 3's trackers), then cel-go's
 * defaults (`interpreter/runtimecost.go` costCall): one unit for any other call.
 *
 * Sizes are cel-go's `actualSize`: code points of a string, bytes of a bytes
 * value, items of a list, entries of a map, the value of a present optional;
 * 1 for anything else (numbers, Quantity, URL, IP, ...). Factors are cel-go's
 * `common.StringTraversalCostFactor` (0.1) and `RegexStringLengthCostFactor`
 * (0.25), multiplied in Go's float64 order (JavaScript numbers are the same
 * IEEE doubles, so `Math.ceil(n * 0.1)` is Go's `math.Ceil(float64(n) * 0.1)`).
 *
 * What cel-go charges besides calls (an identifier or field read, an index, a
 * list/map literal, the accumulator of a comprehension) is not charged here:
 * the meter charges one unit per comprehension iteration instead (docs/cel.md,
 * "Differences from Kubernetes").
 */
import { Optional } from '@marcbachmann/cel-js';

/** cel-go common.StringTraversalCostFactor. */
export const STRING_TRAVERSAL_FACTOR = 0.1;

/** cel-go common.RegexStringLengthCostFactor: "each expression in a regex is typically at least 4 chars". */
export const REGEX_LENGTH_FACTOR = 0.25;

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code points of `s` (Go utf8.RuneCountInString, cel-go types.String Size()). */
export function codePoints(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/** cel-go actualSize: code points, bytes, items, entries, a present optional's value; 1 otherwise. */
export function celSize(v: unknown): number {
  if (typeof v === 'string') return codePoints(v);
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
  if (v instanceof Map) return v.size;
  if (v instanceof Optional && v.hasValue()) return celSize(v.value());
  return 1;
}

/** `math.Ceil(float64(size) * factor)`. */
const scaled = (size: number, factor: number): number => Math.ceil(size * factor);

/**
 * Longest string whose traversal cost needs no count of its code points: a
 * string of at most 10 UTF-16 units has 1 to 10 code points when not empty,
 * and ceil(n * 0.1) is 1 for each of them (10 * 0.1 is exactly 1 in IEEE
 * doubles), so it costs 1 (0 when empty).
 */
const SHORT_STRING = 10;

/** ceil(codePoints(s) * 0.1), without counting the code points of a short string (SHORT_STRING). */
function stringTraversal(s: string): number {
  if (s.length <= SHORT_STRING) return s.length === 0 ? 0 : 1;
  return scaled(codePoints(s), STRING_TRAVERSAL_FACTOR);
}

/** ceil((codePoints(a) + codePoints(b)) * 0.1), without counting when both together are short (SHORT_STRING). */
function stringTraversalOfTwo(a: string, b: string): number {
  const n = a.length + b.length;
  if (n <= SHORT_STRING) return n === 0 ? 0 : 1;
  return scaled(codePoints(a) + codePoints(b), STRING_TRAVERSAL_FACTOR);
}

/** Characters traversed at cel-go's string factor: ceil(size(v) * 0.1). */
const traversal = (v: unknown): number => (typeof v === 'string' ? stringTraversal(v) : scaled(celSize(v), STRING_TRAVERSAL_FACTOR));

/**
 * library/cost.go traversalCost: a data tree walked once, `floor(len * 0.1)`
 * per string (UTF-8 bytes, as Go's len), the sum over list items and over map
 * keys and values, 1 for any other value.
 */
export function traversalCost(v: unknown): number {
  if (typeof v === 'string') return Math.floor(Buffer.byteLength(v, 'utf8') * STRING_TRAVERSAL_FACTOR);
  if (v instanceof Uint8Array) return Math.floor(v.length * STRING_TRAVERSAL_FACTOR);
  if (Array.isArray(v)) {
    let c = 0;
    for (const x of v) c += traversalCost(x);
    return c;
  }
  if (v instanceof Map) {
    let c = 0;
    for (const [k, x] of v) c += traversalCost(k) + traversalCost(x);
    return c;
  }
  return 1;
}

/** cel-go matches/find/findAll: ceil((1 + size(s)) * 0.1) * ceil(size(pattern) * 0.25). */
export function regexCost(s: unknown, patternSize: number): number {
  return Math.ceil((1 + celSize(s)) * STRING_TRAVERSAL_FACTOR) * scaled(patternSize, REGEX_LENGTH_FACTOR);
}

/** ext/sets.go trackSetsCost: 1 + uint64(float64(m * n) * factor). */
function setsCost(a: unknown, b: unknown, factor: number): number {
  return 1 + Math.floor(celSize(a) * celSize(b) * factor);
}

/** cel-go `common.ListCreateBaseCost` plus the call's unit (ext/lists.go trackAllocatingListCall). */
const LIST_CALL = 11;

/**
 * ext/lists.go trackListSelfCompare (`sort`, `distinct`, `sortBy`'s keys):
 * `uint64(float64(n * n) * 2)` (factor 2.1 when the first item is a string or
 * bytes) plus 11.
 */
export function selfCompareCost(list: readonly unknown[]): number {
  const n = list.length;
  if (n === 0) return LIST_CALL;
  const first = list[0];
  const factor = typeof first === 'string' || first instanceof Uint8Array ? 2 + STRING_TRAVERSAL_FACTOR : 2;
  return Math.floor(n * n * factor) + LIST_CALL;
}

/** An int argument as a number (a bigint from the engine), 0 when it is not one. */
const intAt = (a: readonly unknown[], i: number): number => (typeof a[i] === 'bigint' ? Number(a[i]) : 0);

/** ext/lists.go trackListFlatten: `uint64(float64(size) * depth)` plus 11 (depth 1 without the argument; a negative depth fails). */
function flattenCost(a: readonly unknown[], at: number): number {
  const depth = a.length > at + 1 ? intAt(a, at + 1) : 1;
  return Math.floor(celSize(a[at]) * Math.max(0, depth)) + LIST_CALL;
}

/** ext/lists.go trackListOutputSize of `slice(start, end)`: the items it returns (end - start within the list) plus 11. */
function sliceCost(a: readonly unknown[], at: number): number {
  const end = Math.min(intAt(a, at + 2), celSize(a[at]));
  return Math.max(0, end - Math.max(0, intAt(a, at + 1))) + LIST_CALL;
}

/** A named format's longest regex (library/format.go MaxRegexSize), read from the Format value. */
function formatRegexSize(f: unknown): number {
  const size = (f as { maxRegexSize?: unknown } | null)?.maxRegexSize;
  return typeof size === 'number' ? size : 1;
}

type Cost = (a: readonly unknown[], at: number) => number;

const one: Cost = () => 1;
const firstTraversed: Cost = (a, at) => traversal(a[at]);
const firstTwice: Cost = (a, at) => scaled(celSize(a[at]) * 2, STRING_TRAVERSAL_FACTOR);
const listTraversal: Cost = (a, at) => traversalCost(a[at]);
const stringArg = (a: readonly unknown[], i: number): number => (typeof a[i] === 'string' ? traversal(a[i]) : 0);

/** cost.go CallCost (k8s), by function name; `_==_` of Kubernetes types is 1, as cel-go's default gives them. */
const KUBERNETES: Record<string, Cost> = {
  // library/lists.go, and ext.Strings indexOf/lastIndexOf (one traversal)
  isSorted: listTraversal,
  sum: listTraversal,
  max: listTraversal,
  min: listTraversal,
  indexOf: listTraversal,
  lastIndexOf: listTraversal,
  url: firstTraversed,
  lowerAscii: firstTraversed,
  upperAscii: firstTraversed,
  substring: firstTraversed,
  trim: firstTraversed,
  'jsonpatch.escapeKey': firstTraversed,
  replace: firstTwice,
  split: firstTwice,
  find: (a, at) => regexCost(a[at], celSize(a[at + 1])),
  findAll: (a, at) => regexCost(a[at], celSize(a[at + 1])),
  cidr: firstTraversed,
  isIP: firstTraversed,
  isCIDR: firstTraversed,
  // ip(string) parses; cidr.ip() (overload cidr_ip) reads a field
  ip: (a, at) => (typeof a[at] === 'string' ? traversal(a[at]) : 1),
  'ip.isCanonical': firstTwice,
  containsIP: (a, at) => scaled(2, STRING_TRAVERSAL_FACTOR) + stringArg(a, at + 1),
  containsCIDR: (a, at) => scaled(2, STRING_TRAVERSAL_FACTOR) + scaled(1, STRING_TRAVERSAL_FACTOR) + 1 + stringArg(a, at + 1),
  quantity: firstTraversed,
  isQuantity: firstTraversed,
  semver: firstTraversed,
  isSemver: firstTraversed,
  validate: (a, at) => regexCost(a[at + 1], formatRegexSize(a[at])),
  'format.named': one,
  // cel-go ext/sets.go trackers
  'sets.contains': (a, at) => setsCost(a[at], a[at + 1], 1),
  'sets.intersects': (a, at) => setsCost(a[at], a[at + 1], 1),
  'sets.equivalent': (a, at) => setsCost(a[at], a[at + 1], 2),
  // cel-go ext/lists.go (version 3) trackers: by the result's or the input's size, and the list's allocation
  slice: sliceCost,
  flatten: flattenCost,
  reverse: (a, at) => celSize(a[at]) + LIST_CALL,
  'lists.range': (a, at) => Math.max(0, intAt(a, at)) + LIST_CALL,
  distinct: (a, at) => (Array.isArray(a[at]) ? selfCompareCost(a[at] as unknown[]) : LIST_CALL),
  sort: (a, at) => (Array.isArray(a[at]) ? selfCompareCost(a[at] as unknown[]) : LIST_CALL),
  // cel-go runtimecost.go defaults that are not 1
  startsWith: firstTraversed,
  endsWith: firstTraversed,
  'strings.quote': firstTraversed,
  format: firstTraversed,
  matches: (a, at) => regexCost(a[at], celSize(a[at + 1])),
  contains: (a, at) => traversal(a[at]) * traversal(a[at + 1]),
  bytes: (a, at) => (typeof a[at] === 'string' ? traversal(a[at]) : 1),
  string: (a, at) => (a[at] instanceof Uint8Array ? traversal(a[at]) : 1),
};

/**
 * Units of one call of `fn` (`name`, or `namespace.name` for `sets.*`,
 * `strings.quote`, `ip.isCanonical`, `format.named`, `jsonpatch.escapeKey`)
 * with its receiver (for a method) and arguments `args`, from index `at`.
 * `join` costs by its result (joinCost).
 */
export function callCost(fn: string, args: readonly unknown[], at = 0): number {
  return callCostOf(fn)(args, at);
}

/**
 * The cost function of `fn` (see callCost): `(args, at)` to units. Resolved
 * once where a call site is compiled, instead of by name on every call.
 */
export function callCostOf(fn: string): (args: readonly unknown[], at: number) => number {
  return (Object.prototype.hasOwnProperty.call(KUBERNETES, fn) ? KUBERNETES[fn] : undefined) ?? one;
}

/** cost.go `join`: ceil(size(result) * 2 * 0.1). */
export function joinCost(result: string): number {
  return scaled(codePoints(result) * 2, STRING_TRAVERSAL_FACTOR);
}

const bothStrings = (l: unknown, r: unknown): boolean => (typeof l === 'string' && typeof r === 'string') || (l instanceof Uint8Array && r instanceof Uint8Array);
const minSize = (l: unknown, r: unknown): number => {
  // both strings and one of them short (SHORT_STRING): the smaller size is 0 (one is empty) or 1 to 10 code points
  if (typeof l === 'string' && typeof r === 'string' && (l.length <= SHORT_STRING || r.length <= SHORT_STRING)) return l.length === 0 || r.length === 0 ? 0 : 1;
  return scaled(Math.min(celSize(l), celSize(r)), STRING_TRAVERSAL_FACTOR);
};

/** Operators whose cost is not 1 (cel-go runtimecost.go: Equals, NotEquals, Less*String, InList, AddString). */
const OPERATORS: Record<string, (l: unknown, r: unknown) => number> = {
  '==': minSize,
  '!=': minSize,
  '<': (l, r) => (bothStrings(l, r) ? minSize(l, r) : 1),
  '<=': (l, r) => (bothStrings(l, r) ? minSize(l, r) : 1),
  '>': (l, r) => (bothStrings(l, r) ? minSize(l, r) : 1),
  '>=': (l, r) => (bothStrings(l, r) ? minSize(l, r) : 1),
  in: (_l, r) => (Array.isArray(r) ? r.length : 1),
  '+': (l, r) => (typeof l === 'string' && typeof r === 'string' ? stringTraversalOfTwo(l, r) : bothStrings(l, r) ? scaled(celSize(l) + celSize(r), STRING_TRAVERSAL_FACTOR) : 1),
};

/**
 * Units of one binary operator (cel-go runtimecost.go, operators are calls):
 * `==`/`!=` ceil(min(size) * 0.1); `<` `<=` `>` `>=` the same on strings and
 * bytes; `in` a list: its size; string or bytes `+`: ceil((m + n) * 0.1);
 * anything else 1.
 */
export function operatorCost(op: string, l: unknown, r: unknown): number {
  return operatorCostOf(op)(l, r);
}

/** The cost function of operator `op` (see operatorCost): `(l, r)` to units, resolved once per operator node. */
export function operatorCostOf(op: string): (l: unknown, r: unknown) => number {
  return (Object.prototype.hasOwnProperty.call(OPERATORS, op) ? OPERATORS[op] : undefined) ?? oneOperator;
}

const oneOperator = (): number => 1;

/** An AST node as the helpers below read it (src/expr/cel.ts AstNode). */
interface Node {
  op: string;
  args: unknown;
}

/** A literal: a constant, or a negated number constant (cel-go's parser reads `-1` as a constant). */
function isLiteral(n: Node | undefined): boolean {
  return n?.op === 'value' || (n?.op === '-_' && (n.args as Node).op === 'value');
}

/** cel-go overloads.IsTypeConversionFunction. */
const CONVERSIONS = new Set(['bool', 'bytes', 'double', 'duration', 'dyn', 'int', 'string', 'timestamp', 'type', 'uint']);

/**
 * Nodes Kubernetes' evaluation never charges, because cel-go plans them as
 * constants with `OptOptimize` (which base.go enables; interpreter/decorators.go
 * decOptimize): a type conversion of a literal (`uint(1)`, `duration('1s')`),
 * and `x in [literals...]`, a set lookup the cost tracker does not see.
 * (List and map literals of constants are constants too: the meter never
 * charges literals.)
 */
export function isFoldedConstant(node: Node): boolean {
  if (node.op === 'in') {
    const list = (node.args as Node[])[1];
    return list?.op === 'list' && (list.args as Node[]).every(isLiteral);
  }
  if (node.op !== 'call') return false;
  const [name, args] = node.args as [string, Node[]];
  return CONVERSIONS.has(name) && args.length === 1 && isLiteral(args[0]);
}
