/**
 * The static cost estimate of a CEL expression, computed once at policy load
 * (issue 13 item 3): an upper bound of the units src/expr/meter.ts can charge
 * one evaluation, for inputs (`object`, `oldObject`, `request`,
 * `namespaceObject`, `params`) of at most `inputBytes` characters of JSON each.
 * An expression whose estimate is over Kubernetes' per-expression limit
 * (PerCallLimit, 1,000,000) is refused at load, as the API server refuses a
 * CRD validation rule (apiextensions-apiserver
 * pkg/apiserver/schema/cel/compilation.go: `env.EstimateCost(ast, estimator)`
 * with cel-go checker/cost.go and apiserver pkg/cel/library/cost.go
 * EstimateCallCost).
 *
 * The size model (docs/cel.md, "Cost model"). cel-go sizes every list and
 * string of a `dyn` object independently from the request limit, which
 * prices `object.spec.containers.all(c, c.image.matches('^[a-z]+$'))` at
 * (max items x max length) and refuses it. Here sizes are bounded JOINTLY:
 * - a value read from the input has a budget `b` (its JSON characters): as a
 *   string at most b - 2 characters, as a list at most (b - 1) / 2 items whose
 *   sizes plus one sum to at most b; a field `x.f` has a budget of b - len(f) - 5
 *   (`{"f":...}`) and does not exist below 1 (reading it is an error: what
 *   would consume it is never charged);
 * - a comprehension over a list whose items' sizes plus one sum to at most W
 *   costs sum_i (1 + body(s_i)) <= W x max_s (1 + body(s)) / (s + 1): the body
 *   is estimated with the iteration variable of size s for s on a geometric
 *   grid (the body's bound is monotone in s, so each grid interval is bounded
 *   by its upper end over its lower end). One pass over the input is linear
 *   in its size, a comprehension over a part of the enclosing element
 *   (`containers.all(c, c.ports.all(...))`) stays within it, and a
 *   comprehension over a list that does not shrink with the element (the
 *   whole object again) multiplies;
 * - functions produce sizes bounded by their inputs (`split` items, `+`,
 *   `join`, `replace`, `format`), literals have exact sizes, and the checked
 *   type of each node (the engine's type checker) narrows a `dyn` value to a
 *   string, a list or a scalar;
 * - each charge bounds the one the meter makes at run time: one unit per
 *   iteration; each call and operator what src/expr/call-cost.ts charges it
 *   (Kubernetes' cost.go and cel-go's runtime cost, e.g. `matches`
 *   ceil((1 + n) * 0.1) * ceil(p * 0.25)) for inputs of the bounded sizes;
 *   nothing for what cel-go plans as a constant (`uint(1)`, `x in ['a']`);
 *   `variables.<name>` once per evaluation, the variable's own estimate.
 * So estimate >= the runtime cost of any evaluation whose inputs fit
 * `inputBytes` (test/expr/cost-estimate.test.ts checks it over random inputs).
 *
 * Cheap at load: each nested comprehension level samples fewer sizes (about
 * 18, then 9, then 5; a finer grid only for an expression the coarse one puts
 * over the limit); deeper levels, and any pass past WORK_LIMIT node visits,
 * fall back to (items x the largest element), still an upper bound (and
 * coarser: a huge nested expression may be refused for it).
 *
 * Not covered: `m[k]` inside `m.all(k, ...)` is read as k's own map entry
 * (Kubernetes' map idiom), so a list indexed by its own elements can cost
 * more than estimated; the runtime meter still bounds it.
 */
import { PER_CALL_LIMIT } from './meter.js';
import { isFoldedConstant, REGEX_LENGTH_FACTOR, STRING_TRAVERSAL_FACTOR } from './call-cost.js';
import { MAX_FORMAT_REGEX_SIZE } from './format.js';
import { MAX_RANGE_SIZE } from './lists-ext.js';
import { FORMAT_ARG, OPTIONAL_ENTRY, OPTIONAL_FIELD } from './structs.js';

/** Characters of JSON each input variable is assumed to hold at most: 128 KiB (docs/cel.md, "Cost model"). */
export const ESTIMATE_INPUT_BYTES = 128 * 1024;

/** Node visits after which comprehensions are bounded without sampling (items x the largest element): load stays cheap. */
const WORK_LIMIT = 50_000;

/** Characters a scalar (number, bool, null, duration, timestamp) takes at most as JSON or `string()`. */
const SCALAR_SIZE = 32;

/**
 * An upper bound of a value an expression produces: `absent` (reading it is an
 * error), a scalar, a string of at most `n` characters, a library object
 * (Quantity, URL, IP, ...) built from at most `n` characters, a JSON value of at most
 * `b` characters of any type (read from the input), a list of at most `len`
 * items whose sizes plus one sum to at most `w`, or a map likewise (`w` sums
 * key and value sizes plus one).
 */
export type Bound =
  | { readonly k: 'absent' }
  | { readonly k: 'scalar' }
  | { readonly k: 'str'; readonly n: number }
  | { readonly k: 'obj'; readonly n: number }
  | { readonly k: 'data'; readonly b: number; readonly origin?: Origin }
  | { readonly k: 'list'; readonly len: number; readonly w: number; readonly elem: Bound; readonly items?: readonly Bound[]; readonly origin?: Origin }
  | { readonly k: 'map'; readonly len: number; readonly w: number; readonly key: Bound; readonly val: Bound; readonly fields?: ReadonlyMap<string, Bound> };

/**
 * Where a value read from the input sits: the fields `keys` of the JSON
 * object `parent`. Distinct fields of one object share its budget, so
 * `spec.containers + spec.initContainers` is no larger than `spec`.
 */
export interface Origin {
  readonly parent: Bound;
  readonly keys: ReadonlySet<string>;
}

/** A static estimate: `cost` in meter units (upper bound), `value` the bound of the result. */
export interface CostEstimate {
  readonly cost: number;
  readonly value: Bound;
}

/** Engine AST node as read here (src/expr/cel.ts AstNode plus the checker's `checkedType`). */
interface Node {
  op: string;
  args: unknown;
  meta: Record<string, unknown>;
  checkedType?: { name?: string; kind?: string };
}

/** Options of estimateCost. */
export interface EstimateOptions {
  /** Top-level variables read from the input (each of at most inputBytes characters). */
  readonly roots: readonly string[];
  /** Estimates of `variables.<name>` (each charged once). */
  readonly variables?: ReadonlyMap<string, CostEstimate>;
  /** Characters of JSON per input variable. Default ESTIMATE_INPUT_BYTES. */
  readonly inputBytes?: number;
  /** Above this cost the estimate is refined (a finer grid). Default PER_CALL_LIMIT. */
  readonly limit?: number;
}

type Scope = ReadonlyMap<string, Bound>;
interface Est {
  c: number;
  v: Bound;
}

const ABSENT: Bound = { k: 'absent' };
const SCALAR: Bound = { k: 'scalar' };
/** An optional without a value (`x.?f` when x cannot hold f): the smallest value, so bounds stay monotone in sizes. */
const NONE: Bound = { k: 'str', n: 0 };
const str = (n: number): Bound => ({ k: 'str', n: Math.max(0, n) });
const data = (b: number): Bound => ({ k: 'data', b: Math.max(0, b) });

/** Units charged for traversing `n` characters (call-cost.ts: ceil(n * 0.1)). */
const chars = (n: number): number => Math.ceil(n * STRING_TRAVERSAL_FACTOR);

/** A bound's size, in the unit its list `w` counts: characters (strings, JSON), 32 for a scalar. */
export function sizeOf(v: Bound): number {
  switch (v.k) {
    case 'absent':
      return 0;
    case 'scalar':
      return SCALAR_SIZE;
    case 'str':
    case 'obj':
      return v.n;
    case 'data':
      return v.b;
    default:
      return v.w + 2;
  }
}

/** Most characters `v` has if it is a string. */
function strLen(v: Bound): number {
  if (v.k === 'str') return v.n;
  return v.k === 'data' ? Math.max(0, v.b - 2) : 0;
}

/** Most items `v` has if it is a list (or entries if a map). */
function itemCount(v: Bound): number {
  if (v.k === 'list' || v.k === 'map') return v.len;
  return v.k === 'data' ? Math.max(0, Math.floor((v.b - 1) / 2)) : 0;
}

/** The JSON budget that covers `v` whatever its shape. */
function cover(v: Bound): number {
  switch (v.k) {
    case 'list':
      return Math.max(v.w, 2 * v.len) + 2;
    case 'map':
      return Math.max(v.w, 5 * v.len) + 2;
    case 'str':
      return v.n + 2;
    default:
      return sizeOf(v);
  }
}

/** An empty list (`[]`): any bound covers it. */
const isEmptyList = (v: Bound): boolean => v.k === 'list' && v.len === 0;

/** The least bound of both (the result of `c ? a : b`, `a.orValue(b)`). */
export function join(a: Bound, b: Bound): Bound {
  if (a.k === 'absent' || isEmptyList(a)) return b;
  if (b.k === 'absent' || isEmptyList(b)) return a;
  return a.k === b.k ? joinSame(a, b) : data(Math.max(cover(a), cover(b)));
}

/** join() of two bounds of the same kind. */
function joinSame(a: Bound, b: Bound): Bound {
  if (a.k === 'str' || a.k === 'obj') return { k: a.k, n: Math.max(a.n, (b as typeof a).n) };
  if (a.k === 'list' && b.k === 'list') return { k: 'list', len: Math.max(a.len, b.len), w: Math.max(a.w, b.w), elem: join(a.elem, b.elem) };
  if (a.k === 'map' && b.k === 'map') return { k: 'map', len: Math.max(a.len, b.len), w: Math.max(a.w, b.w), key: join(a.key, b.key), val: join(a.val, b.val) };
  return a.k === 'data' ? data(Math.max(a.b, sizeOf(b))) : a;
}

/** `v` restricted to size `s` (an element of size s of a list whose element bound is v). */
function scale(v: Bound, s: number): Bound {
  switch (v.k) {
    case 'str':
      return str(Math.min(v.n, s));
    case 'obj':
      return { k: 'obj', n: Math.min(v.n, s) };
    case 'data':
      return data(Math.min(v.b, s));
    case 'list':
      return { k: 'list', len: Math.min(v.len, s), w: Math.min(v.w, s), elem: scale(v.elem, s) };
    case 'map':
      return { k: 'map', len: Math.min(v.len, s), w: Math.min(v.w, s), key: scale(v.key, s), val: scale(v.val, s) };
    default:
      return v;
  }
}

const SCALAR_TYPES = new Set(['bool', 'int', 'uint', 'double', 'null', 'null_type', 'type', 'google.protobuf.Duration', 'google.protobuf.Timestamp']);

/** A JSON value read as a list: (b - 1) / 2 items, sizes plus one summing to b. */
function dataList(b: number, origin?: Origin): ListBound {
  return { k: 'list', len: itemCount(data(b)), w: b, elem: data(b - 2), origin };
}

type ListBound = Extract<Bound, { k: 'list' }>;

/** `v` as a list bound (a JSON value read as a list). */
function asList(v: Bound): ListBound {
  if (v.k === 'list') return v;
  return dataList(sizeOf(v), v.k === 'data' ? v.origin : undefined);
}

/** `v` narrowed by the node's checked type (`dyn` keeps it). */
function refine(v: Bound, type: Node['checkedType']): Bound {
  if (v.k === 'absent' || type === undefined) return v;
  const name = type.name ?? 'dyn';
  if (SCALAR_TYPES.has(name)) return SCALAR;
  if (name === 'string' || name === 'bytes') return asString(v);
  if (name === 'dyn' || name.startsWith('optional')) return v;
  return refineKind(v, type.kind);
}

/** `v` known to be a string. */
function asString(v: Bound): Bound {
  if (v.k === 'str') return v;
  return str(v.k === 'data' ? v.b - 2 : sizeOf(v));
}

/** refine() by the kind of a checked type: a JSON value typed as a list or map, a library object. */
function refineKind(v: Bound, kind: string | undefined): Bound {
  if (kind === 'list' && v.k === 'data') return dataList(v.b, v.origin);
  if (kind === 'map' && v.k === 'data') return { k: 'map', len: Math.floor((v.b - 1) / 5), w: v.b, key: str(v.b - 7), val: data(v.b - 5) };
  // a library type (Quantity, URL, IP, CIDR, Semver, Image, ...): neither a string nor a list at run time
  if (kind === 'message' && (v.k === 'data' || v.k === 'str')) return { k: 'obj', n: sizeOf(v) };
  return v;
}

/** The elements a comprehension ranges over: count, weight, largest element, smallest element size, literal items. */
interface Elements {
  len: number;
  w: number;
  elem: Bound;
  lo: number;
  items?: readonly Bound[];
}

function elementsOf(range: Bound): Elements {
  switch (range.k) {
    case 'data':
      return { len: itemCount(range), w: range.b, elem: data(range.b - 2), lo: 1 };
    case 'list':
      return { len: range.len, w: range.w, elem: range.elem, lo: 0, items: range.items };
    case 'map':
      return { len: range.len, w: range.w, elem: join(range.key, range.val), lo: 0 };
    default:
      return { len: 0, w: 0, elem: ABSENT, lo: 0 };
  }
}

/** Result of iterating a body over a range: total cost (iterations included), total result weight, largest result. */
interface Iteration {
  c: number;
  w: number;
  top: Bound;
  len: number;
}

/**
 * Grid ratios of sampled element sizes per nesting depth (then no sampling):
 * a coarse pass first (a bound within 2x), a fine one (within 1.1x) only for
 * an expression the coarse pass puts over the limit.
 */
const COARSE_GRID = [2, 4, 16];
const FINE_GRID = [1.1, 1.5, 4];

/** The sizes sampled from lo to hi: lo, then a geometric grid, ending at hi. */
function grid(lo: number, hi: number, ratio: number): number[] {
  const out = [lo];
  for (let p = Math.max(lo + 1, lo * ratio); p < hi; p = Math.max(p + 1, Math.floor(p * ratio))) out.push(p);
  if (hi > lo) out.push(hi);
  return out;
}

/**
 * The estimator: one per expression. `est` returns the cost and value bound
 * of a node in a scope (iteration variables bound to element bounds).
 */
class Estimator {
  work = 0;
  depth = 0;
  readonly used = new Set<string>();
  /** The element bound of each comprehension in progress, by its range's bound: `m[k]` inside `m.all(k, ...)` is k's entry. */
  readonly entries = new Map<Bound, Set<Bound>>();

  constructor(
    readonly roots: ReadonlyMap<string, Bound>,
    readonly inputBytes: number,
    readonly variables: ReadonlyMap<string, CostEstimate>,
    readonly ratios: readonly number[],
  ) {}

  est(node: Node, scope: Scope): Est {
    this.work++;
    const handler = Object.prototype.hasOwnProperty.call(HANDLERS, node.op) ? HANDLERS[node.op] : children;
    const r = handler(this, node, scope);
    return { c: r.c, v: refine(r.v, node.checkedType) };
  }

  /** Costs of `nodes` in order; the value of the last. */
  seq(nodes: readonly Node[], scope: Scope): Est {
    let c = 0;
    let v: Bound = SCALAR;
    for (const n of nodes) {
      const r = this.est(n, scope);
      c += r.c;
      v = r.v;
    }
    return { c, v };
  }

  /** Iterates `body` over the elements of `range` (see the module comment); each iteration also costs 1. */
  iterate(range: Bound, each: (elem: Bound) => Est): Iteration {
    const el = elementsOf(range);
    const body = (elem: Bound): Est => this.entry(range, elem, each);
    if (el.len <= 0) return { c: 0, w: 0, top: ABSENT, len: 0 };
    if (el.items && this.work <= WORK_LIMIT) return this.iterateItems(el.items, body);
    this.depth++;
    try {
      return this.iterateSampled(el, body);
    } finally {
      this.depth--;
    }
  }

  private iterateItems(items: readonly Bound[], body: (elem: Bound) => Est): Iteration {
    let c = 0;
    let w = 0;
    let top: Bound = ABSENT;
    for (const item of items) {
      const r = body(item);
      c += 1 + r.c;
      w += sizeOf(r.v) + 1;
      top = join(top, r.v);
    }
    return { c, w, top, len: items.length };
  }

  /** `body` for one element of `range`, with `m[elem]` read as elem's own entry while it runs. */
  entry(range: Bound, elem: Bound, body: (elem: Bound) => Est): Est {
    let set = this.entries.get(range);
    if (!set) this.entries.set(range, (set = new Set()));
    set.add(elem);
    try {
      return body(elem);
    } finally {
      set.delete(elem);
    }
  }

  private iterateSampled(el: Elements, body: (elem: Bound) => Est): Iteration {
    const largest = body(el.elem);
    const naive = { c: el.len * (1 + largest.c), w: el.len * (sizeOf(largest.v) + 1), top: largest.v, len: el.len };
    const ratio = this.ratios[this.depth - 1];
    if (ratio === undefined || el.items || this.work > WORK_LIMIT) return naive;
    const points = grid(el.lo, sizeOf(el.elem), ratio);
    let mc = 0;
    let mw = 0;
    for (let i = 0; i < points.length; i++) {
      const upper = i + 1 < points.length ? points[i + 1] : points[i];
      const r = upper >= sizeOf(el.elem) ? largest : body(scale(el.elem, upper));
      mc = Math.max(mc, (1 + r.c) / (points[i] + 1));
      mw = Math.max(mw, (sizeOf(r.v) + 1) / (points[i] + 1));
    }
    return { c: Math.min(naive.c, mc * el.w), w: Math.min(naive.w, mw * el.w), top: largest.v, len: el.len };
  }
}

type Handler = (e: Estimator, node: Node, scope: Scope) => Est;

const nodeArgs = (node: Node): Node[] => node.args as Node[];

/** Any other node: the sum of its children's costs, a value bound covering theirs. */
function children(e: Estimator, node: Node, scope: Scope): Est {
  const kids = (Array.isArray(node.args) ? node.args : [node.args]).filter((a): a is Node => a !== null && typeof a === 'object' && typeof (a as Node).op === 'string');
  let c = 0;
  let v: Bound = SCALAR;
  for (const k of kids) {
    const r = e.est(k, scope);
    c += r.c;
    v = join(v, r.v);
  }
  return { c, v };
}

function literal(_e: Estimator, node: Node): Est {
  const a = node.args;
  if (typeof a === 'string') return { c: 0, v: str(a.length) };
  if (a instanceof Uint8Array) return { c: 0, v: str(a.length) };
  return { c: 0, v: SCALAR };
}

function identifier(e: Estimator, node: Node, scope: Scope): Est {
  const name = node.args as string;
  const bound = scope.get(name);
  if (bound) return { c: 0, v: bound };
  return { c: 0, v: e.roots.get(name) ?? SCALAR };
}

/** Fields already read, per object bound: the same path is the same bound (so Origin parents compare by identity). */
const fieldsRead = new WeakMap<Bound, Map<string, Bound>>();

/** The bound of field `key` of `v` (absent when the budget cannot hold it). */
function field(v: Bound, key: string): Bound {
  if (v.k === 'data') return dataField(v, key);
  if (v.k === 'map') return v.fields ? (v.fields.get(key) ?? ABSENT) : v.val;
  return ABSENT;
}

function dataField(v: Bound & { k: 'data' }, key: string): Bound {
  let known = fieldsRead.get(v);
  if (!known) fieldsRead.set(v, (known = new Map()));
  let f = known.get(key);
  if (!f) {
    f = v.b - key.length - 5 >= 1 ? { k: 'data', b: v.b - key.length - 5, origin: { parent: v, keys: new Set([key]) } } : ABSENT;
    known.set(key, f);
  }
  return f;
}

function select(e: Estimator, node: Node, scope: Scope): Est {
  const [recv, key] = node.args as [Node, string];
  if (recv.op === 'id' && recv.args === 'variables' && !scope.has('variables')) return variable(e, key);
  const r = e.est(recv, scope);
  const v = field(r.v, key);
  return { c: r.c, v: node.op === '.?' && v.k === 'absent' ? NONE : v };
}

/** `variables.<name>`: its cost is charged once per evaluation (added at the end), its value is its estimate's. */
function variable(e: Estimator, name: string): Est {
  const known = e.variables.get(name);
  e.used.add(name);
  return { c: 0, v: known ? known.value : data(e.inputBytes) };
}

/** `x[i]`: a list item, a map value (a literal key selects a literal map's field). */
function index(e: Estimator, node: Node, scope: Scope): Est {
  const [recvNode, keyNode] = nodeArgs(node);
  const r = e.est(recvNode, scope);
  const k = e.est(keyNode, scope);
  const v = e.entries.get(r.v)?.has(k.v) ? entryValue(r.v, k.v) : itemOf(r.v, literalString(keyNode));
  return { c: r.c + k.c, v: node.op === '[?]' && v.k === 'absent' ? NONE : v };
}

/**
 * `m[k]` inside `m.all(k, ...)`: k's own entry, within the same sampled size
 * (a map's key and value share the entry's characters). Read as a map: a
 * list indexed by its own elements is bounded by the runtime meter only
 * (docs/cel.md).
 */
function entryValue(range: Bound, key: Bound): Bound {
  return key.k === 'data' ? data(key.b) : elementsOf(range).elem;
}

/** An item of a list or a value of a map (a literal key selects a literal map's field). */
function itemOf(v: Bound, key: string | undefined): Bound {
  if (v.k === 'data') return v.b - 2 >= 1 ? data(v.b - 2) : ABSENT;
  if (v.k === 'list') return v.elem;
  if (v.k === 'map') return key !== undefined ? field(v, key) : v.val;
  return ABSENT;
}

function listLiteral(e: Estimator, node: Node, scope: Scope): Est {
  let c = 0;
  let w = 0;
  let elem: Bound = ABSENT;
  const items: Bound[] = [];
  for (const n of nodeArgs(node)) {
    const r = e.est(n, scope);
    c += r.c;
    w += sizeOf(r.v) + 1;
    elem = join(elem, r.v);
    items.push(r.v);
  }
  return { c, v: { k: 'list', len: items.length, w, elem, items } };
}

function mapLiteral(e: Estimator, node: Node, scope: Scope): Est {
  let c = 0;
  let w = 0;
  let key: Bound = ABSENT;
  let val: Bound = ABSENT;
  const fields = new Map<string, Bound>();
  const entries = node.args as [Node, Node][];
  for (const [kn, vn] of entries) {
    const k = e.est(kn, scope);
    const v = e.est(vn, scope);
    c += k.c + v.c;
    w += sizeOf(k.v) + sizeOf(v.v) + 1;
    key = join(key, k.v);
    val = join(val, v.v);
    if (kn.op === 'value' && typeof kn.args === 'string') fields.set(kn.args, v.v);
  }
  const literalKeys = fields.size === entries.length;
  return { c, v: { k: 'map', len: entries.length, w, key, val, fields: literalKeys ? fields : undefined } };
}

function ternary(e: Estimator, node: Node, scope: Scope): Est {
  const [cond, a, b] = nodeArgs(node);
  const rc = e.est(cond, scope);
  const ra = e.est(a, scope);
  const rb = e.est(b, scope);
  // Both branches are counted: a sum stays an upper bound when the grid of iterate() samples it.
  return { c: rc.c + ra.c + rb.c, v: join(ra.v, rb.v) };
}

function unary(e: Estimator, node: Node, scope: Scope): Est {
  const operand = node.args as Node;
  const r = e.est(operand, scope);
  // cel-go parses `-1` as a constant (cel.ts instrumentNode)
  return { c: r.c + (node.op === '-_' && operand.op === 'value' ? 0 : 1), v: SCALAR };
}

function binary(e: Estimator, node: Node, scope: Scope): Est {
  const [l, r] = nodeArgs(node);
  const a = e.est(l, scope);
  const b = e.est(r, scope);
  return { c: a.c + b.c + (isFoldedConstant(node) ? 0 : operatorBound(node.op, a.v, b.v)), v: SCALAR };
}

/** cel-go's actualSize at most: characters of a string, items of a list or map, 1 for a scalar. */
const celSizeBound = (v: Bound): number => Math.max(1, strLen(v), itemCount(v));

/** What call-cost.ts operatorCost charges at most for `a op b`. */
function operatorBound(op: string, a: Bound, b: Bound): number {
  // `in` a list: its size; `in` a map: 1
  if (op === 'in') return b.k === 'map' ? 1 : Math.max(1, itemCount(b));
  if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') return chars(Math.min(celSizeBound(a), celSizeBound(b)));
  return 1;
}

/** `a + b`: strings by their sizes (ceil((m + n) * 0.1), call-cost.ts operatorCost), lists and numbers one unit. */
function plus(e: Estimator, node: Node, scope: Scope): Est {
  const [l, r] = nodeArgs(node);
  const a = e.est(l, scope);
  const b = e.est(r, scope);
  const v = concat(a.v, b.v);
  return { c: a.c + b.c + Math.max(1, chars(strLen(a.v) + strLen(b.v))), v };
}

function concat(a: Bound, b: Bound): Bound {
  if (a.k === 'absent' || b.k === 'absent') return ABSENT;
  if (a.k === 'scalar' || b.k === 'scalar') return SCALAR;
  if (a.k === 'str' || b.k === 'str') return str(strLen(a) + strLen(b));
  return a.k === 'list' || b.k === 'list' ? concatLists(asList(a), asList(b)) : concatData(a, b);
}

/** `a + b` of two JSON values (strings or lists): distinct fields of one object are no larger than it. */
function concatData(a: Bound, b: Bound): Bound {
  const origin = jointOrigin(a.k === 'data' ? a.origin : undefined, b.k === 'data' ? b.origin : undefined);
  const sum = sizeOf(a) + sizeOf(b);
  return origin ? { k: 'data', b: Math.min(sum, sizeOf(origin.parent)), origin } : data(sum);
}

/** The origin of two distinct fields of one object, or undefined. */
function jointOrigin(oa: Origin | undefined, ob: Origin | undefined): Origin | undefined {
  if (!oa || !ob || oa.parent !== ob.parent || [...oa.keys].some((k) => ob.keys.has(k))) return undefined;
  return { parent: oa.parent, keys: new Set([...oa.keys, ...ob.keys]) };
}

/** `a + b` of lists; distinct fields of one object (Origin) together are no larger than the object. */
function concatLists(a: ListBound, b: ListBound): ListBound {
  const items = a.items && b.items ? [...a.items, ...b.items] : undefined;
  const sum: ListBound = { k: 'list', len: a.len + b.len, w: a.w + b.w, elem: join(a.elem, b.elem), items };
  const origin = jointOrigin(a.origin, b.origin);
  if (!origin) return sum;
  const budget = sizeOf(origin.parent);
  return { ...sum, len: Math.min(sum.len, itemCount(data(budget))), w: Math.min(sum.w, budget), origin };
}

const HANDLERS: Record<string, Handler> = {
  value: literal,
  id: identifier,
  '.': select,
  '.?': select,
  '[]': index,
  '[?]': index,
  list: listLiteral,
  map: mapLiteral,
  '?:': ternary,
  '||': children,
  '&&': children,
  '!_': unary,
  '-_': unary,
  '+': plus,
  call: callNode,
  rcall: callNode,
};
for (const op of ['!=', '==', 'in', '-', '*', '/', '%', '<', '<=', '>', '>=']) HANDLERS[op] = binary;

// ---------------------------------------------------------------------------
// Calls

/** Receivers that are namespaces (`sets.contains(...)`): the engine's overloads, never the replaced string functions. */
const NAMESPACES = new Set(['sets', 'strings', 'format', 'ip', 'optional', 'jsonpatch', 'math', 'base64', 'lists', 'cel']);

/** A library function's model: what call-cost.ts charges for it at most, and its result bound. */
type CallModel = (recv: Bound | undefined, args: readonly Bound[], argNodes: readonly Node[]) => { inner: number; v: Bound };

/** A literal string argument's value, or undefined. */
function literalString(n: Node | undefined): string | undefined {
  return n?.op === 'value' && typeof n.args === 'string' ? n.args : undefined;
}

/** A literal int argument's value, or undefined. */
function literalInt(n: Node | undefined): number | undefined {
  if (n?.op === 'value' && typeof n.args === 'bigint') return Number(n.args);
  if (n?.op === '-_' && (n.args as Node).op === 'value' && typeof (n.args as Node).args === 'bigint') return -Number((n.args as Node).args);
  return undefined;
}

/** The first input of a call: the receiver of a method, else the first argument (call-cost.ts `args[at]`). */
const firstInput = (recv: Bound | undefined, args: readonly Bound[]): Bound => recv ?? args[0] ?? SCALAR;

/** Characters of the first input, at `factor` per character (cost.go: ceil(size * 0.1), or * 2 * 0.1). */
const traversed = (recv: Bound | undefined, args: readonly Bound[], twice = false): number => Math.max(1, Math.ceil(strLen(firstInput(recv, args)) * (twice ? 2 : 1) * STRING_TRAVERSAL_FACTOR));

/** cel-go matches / cost.go find, findAll: ceil((1 + n) * 0.1) * ceil(pattern * 0.25). */
const regexBound = (n: number, pattern: number): number => Math.ceil((1 + n) * STRING_TRAVERSAL_FACTOR) * Math.ceil(pattern * REGEX_LENGTH_FACTOR);

/** cel-go ext.Strings split (k8s-lib.ts splitN), charged ceil(n * 2 * 0.1) (cost.go). */
const split: CallModel = (recv, args, nodes) => {
  const n = strLen(recv ?? SCALAR);
  const sep = literalString(nodes[0]);
  const limit = literalInt(nodes[1]);
  const inner = traversed(recv, args, true);
  if (limit === 0) return { inner, v: { k: 'list', len: 0, w: 0, elem: ABSENT, items: [] } };
  const capped = limit !== undefined && limit > 0 ? limit : Infinity;
  if (sep === undefined || sep === '') {
    const parts = Math.min(n, capped);
    // a part is one code point (2 UTF-16 units) unless it is the limit's remainder
    const elem = str(capped === Infinity ? 2 : n);
    return { inner, v: { k: 'list', len: parts, w: n + parts, elem } };
  }
  const parts = Math.min(Math.floor(n / sep.length) + 1, capped);
  return { inner, v: { k: 'list', len: parts, w: n + parts, elem: str(n) } };
};

/** `list.join(sep)` (k8s-lib.ts join): ceil(result * 2 * 0.1) (cost.go). */
const joinCall: CallModel = (recv, _args, nodes) => {
  const list = recv ?? SCALAR;
  const sep = literalString(nodes[0]);
  const len = itemCount(list);
  const total = joinedChars(list) + len * (sep === undefined ? strLen(_args[0] ?? SCALAR) : sep.length);
  return { inner: Math.ceil(total * 2 * STRING_TRAVERSAL_FACTOR), v: str(total) };
};

/** Characters of the strings of a list, summed. */
function joinedChars(list: Bound): number {
  if (list.k === 'list' && list.items) return list.items.reduce((s, i) => s + strLen(i), 0);
  if (list.k === 'list') return Math.min(list.w, list.len * strLen(list.elem));
  return list.k === 'data' ? list.b : 0;
}

/** `s.replace(old, new[, n])` (k8s-lib.ts replace): ceil(n * 2 * 0.1) (cost.go); the result's size. */
const replaceCall: CallModel = (recv, args, nodes) => {
  const n = strLen(recv ?? SCALAR);
  const old = literalString(nodes[0]);
  const repl = strLen(args[1] ?? SCALAR);
  const limit = literalInt(nodes[2]);
  let count = old === undefined || old === '' ? n + 1 : Math.floor(n / old.length);
  if (limit !== undefined && limit >= 0) count = Math.min(count, limit);
  const size = n + count * Math.max(0, repl - (old?.length ?? 0));
  return { inner: traversed(recv, args, true), v: str(size) };
};

/**
 * Characters `%s` (or any verb) can print for a value: strings as they are,
 * a number up to 130 (`%.100f`), lists and maps as literals (quoted and
 * escaped strings: at most 6 characters per character of their JSON).
 */
function formatted(v: Bound): number {
  if (v.k === 'str') return v.n;
  if (v.k === 'scalar' || v.k === 'absent') return 130;
  return 6 * sizeOf(v) + 130;
}

/** `fmt.format(args)` (k8s-lib.ts): ceil(size(fmt) * 0.1) (cel-go ExtFormatString); the output's size. */
const formatCall: CallModel = (recv, args) => {
  const fmt = strLen(recv ?? SCALAR);
  const list = args[0] ?? SCALAR;
  const each = list.k === 'list' && list.items ? list.items.reduce((s, i) => s + formatted(i), 0) : formatted(list);
  return { inner: traversed(recv, args), v: str(fmt + each) };
};

/** `s.find(p)` / `s.findAll(p[, n])` / `s.matches(p)`: the regex product; findAll at most one match per position. */
const regexCall =
  (result: 'list' | 'str' | 'bool'): CallModel =>
  (recv, args, nodes) => {
    const n = strLen(recv ?? SCALAR);
    const inner = regexBound(n, strLen(args[0] ?? SCALAR));
    if (result === 'bool') return { inner, v: SCALAR };
    if (result === 'str') return { inner, v: str(n) };
    const limit = literalInt(nodes[1]);
    const count = limit !== undefined && limit >= 0 ? Math.min(limit, n + 1) : n + 1;
    return { inner, v: { k: 'list', len: count, w: n + count, elem: str(n) } };
  };

/** sets.contains / sets.intersects / sets.equivalent (cel-go ext/sets.go): 1 + factor x the product of the sizes. */
const setsCall =
  (factor: number): CallModel =>
  (_recv, args) => ({ inner: 1 + factor * itemCount(args[0] ?? SCALAR) * itemCount(args[1] ?? SCALAR), v: SCALAR });

/** A JSON value's traversal cost at most (cost.go traversalCost: floor(UTF-8 bytes * 0.1) per string, at most 3 per UTF-16 unit). */
function traversalBound(v: Bound): number {
  switch (v.k) {
    case 'str':
      return Math.floor(3 * v.n * STRING_TRAVERSAL_FACTOR);
    case 'data':
      return v.b;
    case 'list':
    case 'map':
      return v.len + v.w;
    case 'absent':
      return 0;
    default:
      return 1;
  }
}

/**
 * A result no larger than the call's inputs plus a scalar's size (`growth`
 * times for functions that escape: `strings.quote`, `jsonpatch.escapeKey`),
 * charged `inner(recv, args)`.
 */
const model =
  (inner: (recv: Bound | undefined, args: readonly Bound[]) => number, growth = 1): CallModel =>
  (recv, args) => {
    let size = SCALAR_SIZE;
    for (const x of recv ? [recv, ...args] : args) size += growth * sizeOf(x);
    return { inner: inner(recv, args), v: data(size) };
  };

/** Any other function: one unit (cel-go's default), a result no larger than its inputs. */
const generic = model(() => 1);
/** Functions charged ceil(size(first input) * 0.1) (cost.go url, lowerAscii, ..., cel-go startsWith, quote, conversions). */
const scanned = model((recv, args) => traversed(recv, args));

/** Kubernetes' list functions (library/lists.go) and string indexOf: one traversal of the receiver (cost.go traversalCost). */
const listFunction = model((recv, args) => traversalBound(firstInput(recv, args)));

/** Functions whose result is one of their inputs (`dyn`, optionals), or an element of the receiver (`min`, `max`). */
const passThrough: CallModel = (recv, args) => ({ inner: 1, v: [recv ?? ABSENT, ...args].reduce(join, ABSENT) });
const element: CallModel = (recv, args) => ({ inner: traversalBound(firstInput(recv, args)), v: elementsOf(recv ?? SCALAR).elem });

/** structs.ts's internal wrappers (optional entries, `format` arguments): no call in cel-go, free; the wrapped value's bound. */
const optionalEntry: CallModel = (_recv, args) => ({ inner: 0, v: args[0] ?? ABSENT });

/** ext/lists.go: the call's unit and the result list's allocation (`common.ListCreateBaseCost`). */
const LIST_CALL = 11;

/** trackListSelfCompare at most for a list of `n` items: 2.1 x n^2 + 11 (2 x n^2 unless the items are strings or bytes). */
const selfCompare = (n: number): number => Math.floor(n * n * (2 + STRING_TRAVERSAL_FACTOR)) + LIST_CALL;

/** `reverse`, `sort`, `distinct` (ext/lists.go version 3): a list no larger than the receiver, charged by its items (`per`). */
const sameList =
  (per: (n: number) => number): CallModel =>
  (recv) => ({ inner: per(itemCount(recv ?? SCALAR)), v: recv ?? ABSENT });

/** `l.slice(start, end)`: end - start items when both are literals (within the list), else the list's; items of `l`. */
const sliceCall: CallModel = (recv, _args, nodes) => {
  const list = recv ?? ABSENT;
  const n = itemCount(list);
  const start = literalInt(nodes[0]);
  const end = literalInt(nodes[1]);
  if (start === undefined || end === undefined) return { inner: n + LIST_CALL, v: list };
  const len = Math.max(0, Math.min(n, end) - Math.max(0, start));
  return { inner: len + LIST_CALL, v: { k: 'list', len, w: sizeOf(list), elem: elementsOf(list).elem } };
};

/**
 * `l.flatten([depth])`: the receiver's items times the depth (a depth that is
 * not a literal is unbounded, as cel-go's estimateListFlatten takes it); the
 * result's JSON is no larger than the receiver's.
 */
const flattenCall: CallModel = (recv, args, nodes) => {
  const depth = args.length === 0 ? 1 : literalInt(nodes[0]);
  const inner = depth === undefined ? Infinity : itemCount(recv ?? SCALAR) * Math.max(0, depth) + LIST_CALL;
  return { inner, v: data(cover(recv ?? SCALAR)) };
};

/** `lists.range(n)`: n ints; n not a literal is bounded by MAX_RANGE_SIZE only (cel-go's estimateListsRange: unbounded). */
const rangeCall: CallModel = (_recv, _args, nodes) => {
  const n = Math.min(MAX_RANGE_SIZE, Math.max(0, literalInt(nodes[0]) ?? MAX_RANGE_SIZE));
  return { inner: n + LIST_CALL, v: { k: 'list', len: n, w: n * (SCALAR_SIZE + 1), elem: SCALAR } };
};

const CALLS: Record<string, CallModel> = {
  [OPTIONAL_ENTRY]: optionalEntry,
  [OPTIONAL_FIELD]: optionalEntry,
  [FORMAT_ARG]: optionalEntry,
  split,
  join: joinCall,
  replace: replaceCall,
  format: formatCall,
  find: regexCall('str'),
  findAll: regexCall('list'),
  matches: regexCall('bool'),
  contains: model((recv, args) => chars(strLen(recv ?? SCALAR)) * chars(strLen(args[0] ?? SCALAR))),
  dyn: passThrough,
  orValue: passThrough,
  or: passThrough,
  value: passThrough,
  of: passThrough,
  ofNonZeroValue: passThrough,
  min: element,
  max: element,
  quote: model((recv, args) => traversed(recv, args), 2),
  escapeKey: model((recv, args) => traversed(recv, args), 2),
  isCanonical: model((recv, args) => traversed(recv, args, true)),
  containsIP: model((_recv, args) => 1 + chars(strLen(args[0] ?? SCALAR))),
  containsCIDR: model((_recv, args) => 3 + chars(strLen(args[0] ?? SCALAR))),
  validate: model((_recv, args) => regexBound(strLen(args[0] ?? SCALAR), MAX_FORMAT_REGEX_SIZE)),
  slice: sliceCall,
  flatten: flattenCall,
  reverse: sameList((n) => n + LIST_CALL),
  sort: sameList(selfCompare),
  distinct: sameList(selfCompare),
  range: rangeCall,
};
for (const name of ['url', 'lowerAscii', 'upperAscii', 'substring', 'trim', 'cidr', 'isIP', 'isCIDR', 'ip', 'quantity', 'isQuantity', 'semver', 'isSemver', 'startsWith', 'endsWith', 'bytes', 'string']) CALLS[name] = scanned;
for (const name of ['isSorted', 'sum', 'indexOf', 'lastIndexOf']) CALLS[name] = listFunction;

/** The model of a call: sets' functions by namespace, else by name. */
function modelOf(name: string, namespace: string | undefined): CallModel {
  if (namespace === 'sets') return setsCall(name === 'equivalent' ? 2 : 1);
  return Object.prototype.hasOwnProperty.call(CALLS, name) ? CALLS[name] : generic;
}

function callNode(e: Estimator, node: Node, scope: Scope): Est {
  if (node.meta.alternate) return macro(e, node, scope);
  if (node.meta.macro) return twoVariableOrHas(e, node, scope);
  const rcall = node.op === 'rcall';
  const [name, recvNode, argNodes] = (rcall ? node.args : [(node.args as unknown[])[0], undefined, (node.args as unknown[])[1]]) as [string, Node | undefined, Node[]];
  const namespace = namespaceOf(recvNode, scope);
  const inputs = callInputs(e, namespace ? undefined : recvNode, argNodes, scope);
  if (inputs.absent) return { c: inputs.c, v: ABSENT };
  const r = modelOf(name, namespace)(inputs.recv, inputs.args, argNodes);
  return { c: inputs.c + (isFoldedConstant(node) ? 0 : r.inner), v: refine(r.v, node.checkedType) };
}

/** A call's receiver and arguments, evaluated: their cost, their bounds, whether one cannot exist (the call never runs). */
function callInputs(e: Estimator, recvNode: Node | undefined, argNodes: readonly Node[], scope: Scope): { c: number; recv?: Bound; args: Bound[]; absent: boolean } {
  const recv = recvNode ? e.est(recvNode, scope) : undefined;
  const args = argNodes.map((a) => e.est(a, scope));
  const all = recv ? [recv, ...args] : args;
  return { c: all.reduce((s, a) => s + a.c, 0), recv: recv?.v, args: args.map((a) => a.v), absent: all.some((a) => a.v.k === 'absent') };
}

/** The namespace a call's receiver names (`sets`, `strings`, ...), unless an iteration variable shadows it. */
function namespaceOf(recvNode: Node | undefined, scope: Scope): string | undefined {
  if (recvNode?.op !== 'id') return undefined;
  const name = recvNode.args as string;
  return NAMESPACES.has(name) && !scope.has(name) ? name : undefined;
}

/** One-variable macros (`all`, `exists`, `exists_one`, `map`, `filter`): the engine's comprehension, one unit per iteration. */
function macro(e: Estimator, node: Node, scope: Scope): Est {
  const [name, recvNode, args] = node.args as [string, Node, Node[]];
  const range = e.est(recvNode, scope);
  if (range.v.k === 'absent') return range;
  const iterVar = args[0].args as string;
  const body = args.slice(1);
  const it = e.iterate(range.v, (x) => e.seq(body, new Map(scope).set(iterVar, x)));
  const c = range.c + it.c;
  if (name === 'map') return { c, v: { k: 'list', len: it.len, w: it.w, elem: it.top } };
  if (name === 'filter') return { c, v: range.v.k === 'data' ? dataList(range.v.b) : range.v };
  return { c, v: SCALAR };
}

/** The engine's `has()` macro object, or a two-variable comprehension (comprehensions.ts Macro). */
interface MacroObject {
  args?: Node[];
  receiver?: Node;
  names?: [string, string];
  /** optMap / optFlatMap (comprehensions.ts): the bound variable. */
  name?: string;
  /** The engine's `or` / `orValue` (its optional.js macros): the alternative. */
  arg?: Node;
  filter?: Node;
  expr?: Node;
  kind?: string;
}

/** A macro of ours or the engine's other than the one-variable comprehensions: by the fields of its macro object. */
function twoVariableOrHas(e: Estimator, node: Node, scope: Scope): Est {
  const m = node.meta.macro as MacroObject;
  if (m.receiver) {
    const r = receiverMacro(e, m as MacroObject & { receiver: Node }, scope);
    if (r) return r;
  }
  // has(x.f): the engine walks a chain of selections from an identifier for free; any other operand is evaluated (cel.ts patchHas)
  const sel = m.args?.[0];
  const operand = sel?.op === '.' ? (sel.args as [Node])[0] : undefined;
  return { c: operand ? e.est(operand, scope).c : 0, v: SCALAR };
}

/** Two-variable comprehensions, optMap/optFlatMap, or/orValue; undefined for another macro. */
function receiverMacro(e: Estimator, m: MacroObject & { receiver: Node }, scope: Scope): Est | undefined {
  if (m.kind === 'sortBy' && m.name !== undefined && m.expr) return sortBy(e, m as Required<Pick<MacroObject, 'name' | 'receiver' | 'expr'>> & MacroObject, scope);
  if (m.names && m.expr) return twoVariable(e, m as Required<Pick<MacroObject, 'names' | 'receiver' | 'expr'>> & MacroObject, scope);
  if (m.name !== undefined && m.expr) return optionalMacro(e, m as Required<Pick<MacroObject, 'name' | 'receiver' | 'expr'>> & MacroObject, scope);
  if (m.arg) return optionalOr(e, m.receiver, m.arg, scope);
  return undefined;
}

/**
 * `l.sortBy(v, key)` (src/expr/lists-ext.ts): the receiver, one unit and the
 * key per item (cel-go's expansion maps the keys), then the sort of the keys
 * (2.1 x n^2 + 11 at most); the result is the receiver's items.
 */
function sortBy(e: Estimator, m: MacroObject & { name: string; receiver: Node; expr: Node }, scope: Scope): Est {
  const range = e.est(m.receiver, scope);
  if (range.v.k === 'absent') return range;
  const it = e.iterate(range.v, (x) => e.est(m.expr, new Map(scope).set(m.name, x)));
  return { c: range.c + it.c + selfCompare(itemCount(range.v)), v: range.v };
}

/**
 * `optMap` / `optFlatMap` (comprehensions.ts) as cel-go estimates their
 * expansion `r.hasValue() ? optional.of(e[v := r.value()]) : optional.none()`:
 * the receiver, `hasValue`, then the larger branch: the receiver again,
 * `value()`, the expression and `optional.of` (optMap only), or
 * `optional.none()`. The result is bounded by the expression's.
 */
function optionalMacro(e: Estimator, m: MacroObject & { name: string; receiver: Node; expr: Node }, scope: Scope): Est {
  const recv = e.est(m.receiver, scope);
  if (recv.v.k === 'absent') return { c: recv.c + 2, v: ABSENT };
  const body = e.est(m.expr, new Map(scope).set(m.name, recv.v));
  const present = recv.c + 1 + body.c + (m.kind === 'optMap' ? 1 : 0);
  return { c: recv.c + 1 + Math.max(present, 1), v: body.v };
}

/**
 * The engine's `or` / `orValue` macros: cel-go's checker estimates them as the
 * functions they are there (`optional_or_optional`, `optional_orValue_value`:
 * the receiver, the argument and one unit for the call). The result is bounded
 * by either side.
 */
function optionalOr(e: Estimator, receiver: Node, arg: Node, scope: Scope): Est {
  const r = e.est(receiver, scope);
  const a = e.est(arg, scope);
  return { c: r.c + a.c + 1, v: join(r.v, a.v) };
}

/** cel-go's two-variable comprehensions (comprehensions.ts): one unit per evaluated body (filter and expression each). */
function twoVariable(e: Estimator, m: MacroObject & { names: [string, string]; receiver: Node; expr: Node }, scope: Scope): Est {
  const range = e.est(m.receiver, scope);
  if (range.v.k === 'absent') return range;
  const nodes = m.filter ? [m.filter, m.expr] : [m.expr];
  const it = e.iterate(range.v, (x) => {
    const inner = new Map(scope).set(m.names[0], x).set(m.names[1], x);
    const r = e.seq(nodes, inner);
    // the filter is charged one more unit than iterate() counts
    return { c: r.c + (m.filter ? 1 : 0), v: r.v };
  });
  const c = range.c + it.c;
  if (m.kind === 'transformList') return { c, v: { k: 'list', len: it.len, w: it.w, elem: it.top } };
  if (m.kind === 'transformMap') return { c, v: { k: 'map', len: it.len, w: 2 * it.w, key: elementsOf(range.v).elem, val: it.top } };
  if (m.kind === 'transformMapEntry') return { c, v: data(cover(range.v) + it.w * 2) };
  return { c, v: SCALAR };
}

/**
 * The estimate of a checked expression (its AST after the engine's type
 * check). Never throws; a cost may be Infinity (then the expression is refused).
 */
export function estimateCost(ast: unknown, options: EstimateOptions): CostEstimate {
  const coarse = estimatePass(ast as Node, options, COARSE_GRID);
  if (coarse.cost <= (options.limit ?? PER_CALL_LIMIT)) return coarse;
  const fine = estimatePass(ast as Node, options, FINE_GRID);
  return fine.cost <= coarse.cost ? fine : coarse;
}

function estimatePass(ast: Node, options: EstimateOptions, ratios: readonly number[]): CostEstimate {
  const inputBytes = options.inputBytes ?? ESTIMATE_INPUT_BYTES;
  const roots = new Map(options.roots.map((name) => [name, data(inputBytes)]));
  const e = new Estimator(roots, inputBytes, options.variables ?? new Map(), ratios);
  const r = e.est(ast, new Map());
  let cost = r.c;
  for (const name of e.used) cost += options.variables?.get(name)?.cost ?? 0;
  return { cost, value: r.v };
}

/**
 * Kubernetes' words for an estimate over the limit (apiextensions
 * validation.go getCostErrorMessage): `<costName> exceeds budget by factor of
 * <f>` with `more than 100x`, `%fx` under 1.5 and `%.1fx` otherwise, followed
 * here by the estimate, the limit and the input size it assumes.
 */
export function costErrorMessage(costName: string, cost: number, limit = PER_CALL_LIMIT, inputBytes = ESTIMATE_INPUT_BYTES): string {
  const f = cost / limit;
  const factor = f > 100 ? 'more than 100x' : f < 1.5 ? `${f.toFixed(6)}x` : `${f.toFixed(1)}x`;
  const shown = Number.isFinite(cost) ? Math.ceil(cost).toLocaleString('en-US') : 'unbounded';
  return `${costName} exceeds budget by factor of ${factor} (estimated cost ${shown} units for inputs of up to ${Math.round(inputBytes / 1024)} KiB, over the per-expression limit of ${limit.toLocaleString('en-US')}; try simplifying the rule: a comprehension inside a comprehension over the same data, split('') or a large join multiply the cost)`;
}
