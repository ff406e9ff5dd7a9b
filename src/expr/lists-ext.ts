/**
 * cel-go's list extension (`ext.Lists(ext.ListsVersion(3))`), which
 * k8s.io/apiserver/pkg/cel/environment/base.go enables since 1.34
 * (kubernetes/kubernetes#131700): `slice`, `flatten`, `sort`, `sortBy`,
 * `reverse`, `distinct` and `lists.range` (cel-go ext/lists.go).
 *
 * Types as cel-go declares them: `list(T).slice(int, int)`,
 * `list(list(T)).flatten()` (so `[1, 2].flatten()` is refused at load, a
 * `dyn` list is flattened as it is), `list(dyn).flatten(int)`, `sort()` on
 * lists of int, uint, double, bool, duration, timestamp, string or bytes,
 * `sortBy(v, key)` a macro whose key must be one of those, `lists.range(int)`.
 *
 * Each call is charged, before it runs, what cel-go's version 3 cost trackers
 * charge (src/expr/call-cost.ts): the result's (or input's) size plus 11 (the
 * call and the list's allocation, `common.ListCreateBaseCost`), and
 * 2 x n^2 (2.1 x n^2 for strings and bytes) for `sort`, `sortBy`'s keys and
 * `distinct`. Errors never quote values or indexes.
 */
import { ParseError, type Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import type { AstNode, Evaluator } from './cel.js';
import { celError } from './cel.js';
import { charge } from './meter.js';
import { selfCompareCost } from './call-cost.js';
import { celCompare, celEquals } from './values.js';

/** cel-go ext/lists.go maxRangeSize: the most items `lists.range(n)` builds. */
export const MAX_RANGE_SIZE = 10_000_000;

/** cel-go ext/lists.go comparableTypes, by the engine's type names. */
const COMPARABLE_TYPES = ['int', 'uint', 'double', 'bool', 'google.protobuf.Duration', 'google.protobuf.Timestamp', 'string', 'bytes'];

/** `l.slice(start, end)` (ext/lists.go slice): items start to end - 1. */
function slice(l: unknown[], start: bigint, end: bigint): unknown[] {
  if (start < 0n || end < 0n) throw celError('cannot slice: negative indexes not supported');
  if (start > end) throw celError('cannot slice: start index must be less than or equal to end index');
  if (BigInt(l.length) < end) throw celError('cannot slice: end index is past the end of the list');
  return l.slice(Number(start), Number(end));
}

/** `l.flatten(depth)` (ext/lists.go flatten): nested lists spliced in, `depth` levels deep; other items kept. */
function flatten(l: unknown[], depth: bigint): unknown[] {
  if (depth < 0n) throw celError('level must be non-negative');
  const out: unknown[] = [];
  for (const x of l) {
    if (Array.isArray(x) && depth > 0n) {
      for (const y of flatten(x, depth - 1n)) out.push(y);
    } else out.push(x);
  }
  return out;
}

/** The CEL type of a comparable value (int, uint, double, bool, string, bytes, timestamp, duration: cel-go's traits.Comparer), else undefined. */
export function comparableType(v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
    case 'number':
    case 'boolean':
    case 'string':
      return typeof v;
    default:
      return v instanceof UnsignedInt || v instanceof Uint8Array || v instanceof Date || v instanceof Duration ? (v as object).constructor : undefined;
  }
}

/**
 * `list` ordered by `keys` (ext/lists.go sortListByAssociatedKeys): every key
 * of the first key's type, which must be comparable. Ties keep their order
 * (Go's sort.Slice does not promise it for more than 12 items).
 */
export function sortByKeys(list: unknown[], keys: unknown[]): unknown[] {
  if (list.length === 0) return list;
  const type = comparableType(keys[0]);
  if (type === undefined) throw celError('list elements must be comparable');
  if (keys.some((k) => comparableType(k) !== type)) throw celError('list elements must have the same type');
  const order = keys.map((_, i) => i);
  order.sort((i, j) => celCompare(keys[i], keys[j]) || 0);
  return order.map((i) => list[i]);
}

/** `l.distinct()` (ext/lists.go distinctList): the first of each set of equal items (CEL equality: `1 == 1.0`), in order. */
function distinct(l: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const x of l) if (!out.some((y) => celEquals(x, y))) out.push(x);
  return out;
}

/** `lists.range(n)` (ext/lists.go genRange): 0 to n - 1. */
function range(n: bigint): bigint[] {
  if (n < 0n) throw celError('lists.range: size must be non-negative');
  if (n > BigInt(MAX_RANGE_SIZE)) throw celError('lists.range: size exceeds the maximum allowed');
  return Array.from({ length: Number(n) }, (_, i) => BigInt(i));
}

interface TypeDecl {
  kind: string;
  name?: string;
  valueType?: TypeDecl;
}
interface Checker {
  check(n: AstNode, ctx: unknown): TypeDecl;
  getType(name: string): TypeDecl;
  createError(code: string, message: string, node: AstNode): Error;
}
interface Ctx {
  forkWithVariable(name: string, type: TypeDecl): Ctx & { setIterValue(v: unknown, ev: Evaluator): Ctx };
}

/** `target.sortBy(name, key)`: the macro object (src/expr/cost-estimate.ts estimates it by `kind`). */
interface SortByMacro {
  kind: 'sortBy';
  receiver: AstNode;
  name: string;
  expr: AstNode;
  /** The element type the key expression sees, set by the type check. */
  elemType?: TypeDecl;
  typeCheck(checker: Checker, m: SortByMacro, ctx: Ctx): TypeDecl;
  evaluate(ev: Evaluator, m: SortByMacro, ctx: Ctx): unknown;
}

/** A key type `sortBy` accepts: one of the `@sortByAssociatedKeys` overloads' (comparableTypes), dyn (checked when evaluated) or a type parameter. */
function isKeyType(t: TypeDecl): boolean {
  return t.kind === 'dyn' || t.kind === 'param' || COMPARABLE_TYPES.includes(String(t));
}

/**
 * The receiver must be a list (or dyn); the key expression, checked with the
 * variable bound to the element type, must be comparable (or dyn). The result
 * is the receiver's type.
 */
function typeCheckSortBy(checker: Checker, m: SortByMacro, ctx: Ctx): TypeDecl {
  const recv = checker.check(m.receiver, ctx);
  const dyn = checker.getType('dyn');
  if (recv.kind !== 'list' && recv.kind !== 'dyn') throw checker.createError('invalid_comprehension_range', `sortBy() range must be a list, got '${String(recv)}'`, m.receiver);
  m.elemType = recv.kind === 'list' ? (recv.valueType ?? dyn) : dyn;
  const key = checker.check(m.expr, ctx.forkWithVariable(m.name, m.elemType));
  if (!isKeyType(key)) throw checker.createError('no_matching_overload', `found no matching overload for 'sortBy' with a key of type '${String(key)}'`, m.expr);
  return recv.kind === 'list' ? recv : checker.getType('list');
}

/**
 * cel-go's expansion `target.@sortByAssociatedKeys(target.map(v, key))`
 * (ext/lists.go sortByMacro): one unit per key computed (the map's iteration),
 * then the sort, charged 2 x n^2 (2.1 x n^2 for string or bytes keys) + 11
 * before it runs (trackListSortBy).
 */
function evaluateSortBy(ev: Evaluator, m: SortByMacro, ctx: Ctx): unknown {
  const list = ev.run(m.receiver, ctx as unknown);
  if (!Array.isArray(list)) throw celError('sortBy() range must be a list');
  const inner = ctx.forkWithVariable(m.name, m.elemType as TypeDecl);
  const keys = list.map((x) => {
    charge(1);
    return ev.run(m.expr, inner.setIterValue(x, ev));
  });
  charge(selfCompareCost(keys));
  return sortByKeys(list, keys);
}

/** A parse error at `node` (the engine reads its range, src/expr/cel.ts parseText gives its line and column). */
function macroError(message: string, node: AstNode): Error {
  return new ParseError(message, node as never);
}

/** `sortBy(v, key)`: a literal receiver (a constant, a map) is refused as cel-go's macro refuses it; `v` must be an identifier. */
function sortByExpander({ args, receiver }: { args: AstNode[]; receiver: AstNode }): SortByMacro {
  if (receiver.op === 'value' || receiver.op === 'map') throw macroError('sortBy can only be applied to a list, identifier, comprehension, call or select expression', receiver);
  if (args[0].op !== 'id') throw macroError('sortBy() variable name must be a simple identifier', args[0]);
  return { kind: 'sortBy', receiver, name: args[0].args as string, expr: args[1], typeCheck: typeCheckSortBy, evaluate: evaluateSortBy };
}

const comparable = (elem: TypeDecl): boolean => COMPARABLE_TYPES.includes(String(elem));

/**
 * Element types of the receivers the overloads accept: `flatten()` lists
 * (`list(list(T))`), `sort()` comparable types, and Kubernetes' `min()`,
 * `max()`, `isSorted()` (library/lists.go comparableTypes, the same eight).
 */
const RECEIVER_ELEMENTS: Readonly<Record<string, (elem: TypeDecl) => boolean>> = {
  flatten: (elem) => elem.kind === 'list',
  sort: comparable,
  min: comparable,
  max: comparable,
  isSorted: comparable,
};

/**
 * `flatten()`, `sort()`, `min()`, `max()` or `isSorted()` on a list whose
 * element type is known and not one the overloads declare (`[1, 2].flatten()`,
 * `[[1]].sort()`, `[{'a': 1}].min()`): refused at load, as
 * cel-go's checker finds no overload. The engine's `list<dyn>` and `list<A>` overloads
 * (which take any list) would accept it, so the checked
 * receiver is read after the engine's check. Returns the call node and the
 * message, or undefined.
 */
export function listsTypeError(nodes: readonly AstNode[]): { node: AstNode; message: string } | undefined {
  for (const node of nodes) {
    const message = node.op === 'rcall' ? refusedReceiver(node.args as [string, AstNode, AstNode[]]) : undefined;
    if (message) return { node, message };
  }
  return undefined;
}

/** The message refusing `receiver.name(args)` when its receiver's element type is known and not one the overloads accept. */
function refusedReceiver([name, receiver, args]: [string, AstNode, AstNode[]]): string | undefined {
  const accepts = Object.prototype.hasOwnProperty.call(RECEIVER_ELEMENTS, name) && args.length === 0 ? RECEIVER_ELEMENTS[name] : undefined;
  if (!accepts) return undefined;
  const type = (receiver as AstNode & { checkedType?: TypeDecl }).checkedType;
  const elem = type?.kind === 'list' ? type.valueType : undefined;
  if (!elem || elem.kind === 'dyn' || elem.kind === 'param' || accepts(elem)) return undefined;
  return `found no matching overload for '${String(type)}.${name}()'`;
}

/** Registers cel-go's list extension, version 3 (base.go since 1.34). */
export function registerListsExtension(env: Environment): void {
  // Each typed overload first, then a list<dyn> one: a dyn receiver (an object's list) is typed a list of dyn, never a list of
  // an unbound parameter (the engine's first match); a typed receiver cel-go refuses is refused by listsTypeError.
  env.registerFunction('list<A>.slice(int, int): list<A>', slice);
  env.registerFunction('list<dyn>.slice(int, int): list<dyn>', slice);
  env.registerFunction('list<list<A>>.flatten(): list<A>', (l: unknown[]) => flatten(l, 1n));
  // a dyn list whatever its items (cel-go disables the type guards)
  env.registerFunction('list<dyn>.flatten(): list<dyn>', (l: unknown[]) => flatten(l, 1n));
  env.registerFunction('list<dyn>.flatten(int): list<dyn>', flatten);
  env.registerFunction('list<A>.sort(): list<A>', (l: unknown[]) => sortByKeys(l, l));
  env.registerFunction('list<dyn>.sort(): list<dyn>', (l: unknown[]) => sortByKeys(l, l));
  env.registerFunction('list<A>.reverse(): list<A>', (l: unknown[]) => [...l].reverse());
  env.registerFunction('list<dyn>.reverse(): list<dyn>', (l: unknown[]) => [...l].reverse());
  env.registerFunction('list<A>.distinct(): list<A>', distinct);
  env.registerFunction('list<dyn>.distinct(): list<dyn>', distinct);
  env.registerFunction('list.sortBy(ast, ast): list<dyn>', sortByExpander as never);
  class ListsNamespace {}
  env.registerType('ListsNamespace', ListsNamespace as never);
  env.registerConstant('lists', 'ListsNamespace', new ListsNamespace());
  env.registerFunction('ListsNamespace.range(int): list<int>', (_ns: unknown, n: bigint) => range(n));
}
