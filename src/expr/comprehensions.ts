/**
 * cel-go's two-variable comprehensions (ext.TwoVarComprehensions, enabled by
 * base.go since 1.32) as macros of the engine: `all(k, v, p)`,
 * `exists(k, v, p)`, `existsOne(k, v, p)` (and `exists_one`),
 * `transformList(k, v, [filter,] e)`, `transformMap(k, v, [filter,] e)`,
 * `transformMapEntry(k, v, [filter,] e)`. Over a list `k` is the index and
 * `v` the element; over a map the key and the value. `all`/`exists` absorb an
 * error when another element decides the result, as the one-variable macros.
 * Each iteration costs one unit (src/expr/meter.ts).
 *
 * Also cel-go's optional-library macros `optMap(v, e)` and `optFlatMap(v, e)`
 * (`cel.OptionalTypes()`, enabled by base.go since 1.28): see `registerOptionalMacros`.
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
import type { AstNode, Evaluator } from './cel.js';
import { celError } from './cel.js';
import { charge } from './meter.js';

interface TypeDecl {
  kind: string;
  keyType?: TypeDecl;
  valueType?: TypeDecl;
}
interface Checker {
  check(n: AstNode, ctx: unknown): TypeDecl;
  getType(name: string): TypeDecl;
  createError(code: string, message: string, node: AstNode): Error;
  registry: { getOptionalType(t: TypeDecl): TypeDecl };
}
interface Ctx {
  forkWithVariable(name: string, type: TypeDecl): Ctx & { setIterValue(v: unknown, ev: Evaluator): Ctx };
}
interface Macro {
  receiver: AstNode;
  names: [string, string];
  filter?: AstNode;
  expr: AstNode;
  kind: Kind;
  types?: [TypeDecl, TypeDecl];
  typeCheck(checker: Checker, m: Macro, ctx: Ctx): TypeDecl;
  evaluate(ev: Evaluator, m: Macro, ctx: Ctx): unknown;
}
type Kind = 'all' | 'exists' | 'existsOne' | 'transformList' | 'transformMap' | 'transformMapEntry';

function identifier(node: AstNode, kind: string): string {
  if (node.op === 'id') return node.args as string;
  throw celError(`${kind}() variable names must be simple identifiers`);
}

function entries(coll: unknown): [unknown, unknown][] {
  if (Array.isArray(coll)) return coll.map((v, i) => [BigInt(i), v]);
  if (coll instanceof Map) return [...coll.entries()];
  if (coll !== null && typeof coll === 'object') return Object.entries(coll);
  throw celError('expression of this type cannot be range of a comprehension (must be list or map)');
}

function typeCheck(checker: Checker, m: Macro, ctx: Ctx): TypeDecl {
  const types = iterationTypes(checker, m, checker.check(m.receiver, ctx));
  m.types = types;
  const inner = ctx.forkWithVariable(m.names[0], types[0]).forkWithVariable(m.names[1], types[1]);
  if (m.filter) checker.check(m.filter, inner);
  return resultType(checker, m, checker.check(m.expr, inner));
}

/** The types of the two variables over `range`: (int, element) for a list, (key, value) for a map, dyn for dyn. */
function iterationTypes(checker: Checker, m: Macro, range: TypeDecl): [TypeDecl, TypeDecl] {
  const dyn = checker.getType('dyn');
  if (range.kind === 'list') return [checker.getType('int'), range.valueType ?? dyn];
  if (range.kind === 'map') return [range.keyType ?? dyn, range.valueType ?? dyn];
  if (range.kind === 'dyn') return [dyn, dyn];
  throw checker.createError('invalid_comprehension_range', `${m.kind}() range must be a list or a map`, m.receiver);
}

/** The macro's type given its expression's type `t`. */
function resultType(checker: Checker, m: Macro, t: TypeDecl): TypeDecl {
  switch (m.kind) {
    case 'all':
    case 'exists':
    case 'existsOne':
      return checker.getType('bool');
    case 'transformList':
      return checker.getType('list');
    default:
      return t.kind === 'map' && m.kind === 'transformMapEntry' ? t : checker.getType('map');
  }
}

function truth(v: unknown): boolean {
  if (typeof v !== 'boolean') throw celError('predicate must return bool');
  return v;
}

/** Evaluates `node` with the two variables bound to `k` and `v` (one cost unit). */
type Run = (k: unknown, v: unknown, node: AstNode) => unknown;

function evaluate(ev: Evaluator, m: Macro, ctx: Ctx): unknown {
  const [kt, vt] = m.types as [TypeDecl, TypeDecl];
  const kc = ctx.forkWithVariable(m.names[0], kt);
  const vc = kc.forkWithVariable(m.names[1], vt);
  const run: Run = (k, v, node) => {
    charge(1);
    (kc as unknown as { setIterValue(v: unknown, ev: Evaluator): unknown }).setIterValue(k, ev);
    vc.setIterValue(v, ev);
    return ev.run(node, vc);
  };
  return EVALUATORS[m.kind](m, entries(ev.run(m.receiver, ctx as unknown)), run);
}

/** Each macro over the (key, value) items of its range. */
const EVALUATORS: Readonly<Record<Kind, (m: Macro, items: [unknown, unknown][], run: Run) => unknown>> = {
  all: (m, items, run) => quantify(m, items, run, false),
  exists: (m, items, run) => quantify(m, items, run, true),
  existsOne: (m, items, run) => items.filter(([k, v]) => truth(run(k, v, m.expr))).length === 1,
  transformList,
  transformMap: (m, items, run) => new Map(transformed(m, items, run)),
  transformMapEntry,
};

/** The expression's result of each item the filter keeps, in order (transformed without the pairs). */
function transformList(m: Macro, items: [unknown, unknown][], run: Run): unknown[] {
  const out: unknown[] = [];
  for (const [k, v] of items) if (keep(m, run, k, v)) out.push(run(k, v, m.expr));
  return out;
}

/** (key, expression result) of each item the filter keeps; filter and expression run item by item, in order. */
function transformed(m: Macro, items: [unknown, unknown][], run: Run): [unknown, unknown][] {
  const out: [unknown, unknown][] = [];
  for (const [k, v] of items) if (keep(m, run, k, v)) out.push([k, run(k, v, m.expr)]);
  return out;
}

/**
 * `all` (`decisive` false) and `exists` (true): the first element whose
 * predicate is `decisive` decides; else an error of another element is
 * thrown, as cel-go's one-variable macros absorb errors.
 */
function quantify(m: Macro, items: [unknown, unknown][], run: Run, decisive: boolean): boolean {
  let error: unknown;
  for (const [k, v] of items) {
    try {
      if (truth(run(k, v, m.expr)) === decisive) return decisive;
    } catch (e) {
      error ??= e;
    }
  }
  if (error) throw error;
  return !decisive;
}

/** The optional filter of a transform macro: true when absent. */
function keep(m: Macro, run: Run, k: unknown, v: unknown): boolean {
  return !m.filter || truth(run(k, v, m.filter));
}

function transformMapEntry(m: Macro, items: [unknown, unknown][], run: Run): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const [k, v] of items) {
    if (!keep(m, run, k, v)) continue;
    for (const [ek, ev] of mapEntries(run(k, v, m.expr))) {
      if (out.has(ek)) throw celError('insert failed: key already exists');
      out.set(ek, ev);
    }
  }
  return out;
}

/** The entries of a map value (a Map or a plain object); throws a CEL error for anything else. */
function mapEntries(r: unknown): [unknown, unknown][] {
  if (r instanceof Map) return [...r.entries()];
  if (r !== null && typeof r === 'object' && !Array.isArray(r)) return Object.entries(r);
  throw celError('transformMapEntry() expression must return a map');
}

function expander(kind: Kind, withFilter: boolean) {
  return ({ args, receiver }: { args: AstNode[]; receiver: AstNode }): Macro => ({
    receiver,
    kind,
    names: [identifier(args[0], kind), identifier(args[1], kind)],
    filter: withFilter ? args[2] : undefined,
    expr: withFilter ? args[3] : args[2],
    typeCheck,
    evaluate,
  });
}

/** Registers the two-variable comprehension macros. */
export function registerTwoVarComprehensions(env: Environment): void {
  const macro = (sig: string, kind: Kind, withFilter = false): void => {
    env.registerFunction(sig, expander(kind, withFilter) as never);
  };
  macro('list.all(ast, ast, ast): bool', 'all');
  macro('list.exists(ast, ast, ast): bool', 'exists');
  macro('list.existsOne(ast, ast, ast): bool', 'existsOne');
  macro('list.exists_one(ast, ast, ast): bool', 'existsOne');
  macro('list.transformList(ast, ast, ast): list<dyn>', 'transformList');
  macro('list.transformList(ast, ast, ast, ast): list<dyn>', 'transformList', true);
  macro('list.transformMap(ast, ast, ast): map<dyn, dyn>', 'transformMap');
  macro('list.transformMap(ast, ast, ast, ast): map<dyn, dyn>', 'transformMap', true);
  macro('list.transformMapEntry(ast, ast, ast): map<dyn, dyn>', 'transformMapEntry');
  macro('list.transformMapEntry(ast, ast, ast, ast): map<dyn, dyn>', 'transformMapEntry', true);
}

/** `optMap` or `optFlatMap` on its receiver: the bound variable's name and the expression. */
interface OptionalMacro {
  kind: 'optMap' | 'optFlatMap';
  receiver: AstNode;
  name: string;
  expr: AstNode;
  /** The bound variable's type (the receiver's value type), set by the type check. */
  valueType?: TypeDecl;
  typeCheck(checker: Checker, m: OptionalMacro, ctx: Ctx): TypeDecl;
  evaluate(ev: Evaluator, m: OptionalMacro, ctx: Ctx): unknown;
}

/**
 * The receiver must be an optional (or dyn); the expression is checked with
 * the variable bound to its value type. `optMap`'s result is an optional of
 * the expression's type; `optFlatMap`'s expression must itself be an optional
 * (or dyn), which is the result.
 */
function typeCheckOptional(checker: Checker, m: OptionalMacro, ctx: Ctx): TypeDecl {
  const recv = checker.check(m.receiver, ctx);
  if (recv.kind !== 'optional' && recv.kind !== 'dyn') throw checker.createError('optional_expected', `${m.kind}() receiver must be optional, got '${String(recv)}'`, m.receiver);
  const dyn = checker.getType('dyn');
  m.valueType = recv.kind === 'optional' ? (recv.valueType ?? dyn) : dyn;
  const t = checker.check(m.expr, ctx.forkWithVariable(m.name, m.valueType));
  if (m.kind === 'optMap') return checker.registry.getOptionalType(t);
  if (t.kind === 'optional') return t;
  if (t.kind === 'dyn') return checker.registry.getOptionalType(dyn);
  throw checker.createError('optional_expected', `optFlatMap() expression must return an optional, got '${String(t)}'`, m.expr);
}

/**
 * cel-go's expansion (ext optional library `optMap`/`optFlatMap`):
 * `r.hasValue() ? optional.of(e[v := r.value()]) : optional.none()` (without
 * `optional.of` for optFlatMap). Charged as that expansion: `hasValue`, then
 * `optional.none()` (1 each), or the receiver evaluated a second time for
 * `value()` (its charges again, and 1), the expression, and `optional.of` (1).
 * A receiver that is not an optional when evaluated (a dyn) is an error.
 */
function evaluateOptional(ev: Evaluator, m: OptionalMacro, ctx: Ctx): unknown {
  const recv = optionalReceiver(ev.run(m.receiver, ctx as unknown), m.kind);
  charge(1);
  if (!recv.hasValue()) {
    charge(1);
    return Optional.none();
  }
  const again = optionalReceiver(ev.run(m.receiver, ctx as unknown), m.kind);
  charge(1);
  const inner = ctx.forkWithVariable(m.name, m.valueType as TypeDecl);
  inner.setIterValue(again.value(), ev);
  const r = ev.run(m.expr, inner);
  if (m.kind === 'optFlatMap') return optionalReceiver(r, m.kind);
  charge(1);
  return Optional.of(r);
}

function optionalReceiver(v: unknown, kind: string): Optional {
  if (v instanceof Optional) return v;
  throw celError(`${kind}() receiver must be optional`);
}

function optionalExpander(kind: OptionalMacro['kind']) {
  return ({ args, receiver }: { args: AstNode[]; receiver: AstNode }): OptionalMacro => ({
    kind,
    receiver,
    name: identifier(args[0], kind),
    expr: args[1],
    typeCheck: typeCheckOptional,
    evaluate: evaluateOptional,
  });
}

/** Registers `optMap` and `optFlatMap` (cel-go ext optional library, versions 0 and 1). */
export function registerOptionalMacros(env: Environment): void {
  env.registerFunction('optional.optMap(ast, ast): optional<dyn>', optionalExpander('optMap') as never);
  env.registerFunction('optional.optFlatMap(ast, ast): optional<dyn>', optionalExpander('optFlatMap') as never);
}
