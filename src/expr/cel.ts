/**
 * CEL evaluation for policies: `match.conditions`, `validate` rules and their
 * `messageExpression`s, with the variables and library Kubernetes users write in
 * ValidatingAdmissionPolicy and webhook `matchConditions`
 * (https://kubernetes.io/docs/reference/using-api/cel/).
 *
 * Engine: `@bufbuild/cel` (cel-spec conformance suite shipped with it; `matches`
 * runs on an RE2-semantics, linear-time engine, so a tenant's regex cannot
 * backtrack). See docs/cel.md for the comparison with `@marcbachmann/cel-js`.
 *
 * Three things are added on top of the engine:
 * - compile-time checks: syntax (with line and column) and undeclared
 *   variables (`params`, `variables`, `authorizer` and typos are errors at
 *   policy load, as the Kubernetes type checker would report them);
 * - JSON numbers that are integers become CEL `int` (as Kubernetes decodes
 *   unstructured objects), so `object.spec.replicas + 1` and `size(x) == 2`
 *   type-check at run time; other numbers are `double`;
 * - a cost bound: every iteration of every comprehension (`all`, `exists`,
 *   `exists_one`, `map`, `filter`) costs one unit and the evaluation fails once
 *   `costLimit` units are spent (Kubernetes bounds runtime cost per expression
 *   the same way, with a finer cost model);
 * - string building is bounded too: `replace` and `join` are linear-time
 *   replacements of the extension's (whose `replace` rebuilt the string once per
 *   match: quadratic, and a chain of `.replace('x', 'xxxxxxxxxx')` grew the
 *   string exponentially and stalled the event loop), cost one unit per
 *   `STRING_COST_CHARS` characters produced, and fail beyond
 *   `MAX_STRING_RESULT` characters;
 * - evaluation error messages never quote object data: the engine's messages
 *   may (`Cannot convert <value> to a BigInt`, `field not found: <value>`), so
 *   every string value of the variables found in one is replaced by
 *   `<redacted>` (issue 8: errors, warnings and logs carry no object values).
 */
import { createRequire } from 'node:module';
import type { CelFunc, CelList, CelValue } from '@bufbuild/cel';
import { RE2JS } from 're2js';

/** The engine's two entry points, as loaded by `celEngine`. */
interface CelEngine {
  cel: typeof import('@bufbuild/cel');
  ext: typeof import('@bufbuild/cel/ext');
}

let engine: CelEngine | undefined;

/**
 * Loads `@bufbuild/cel` on first use (its CommonJS build, synchronously):
 * loading it costs ~60-85 ms, which `kube-postrender run` with a
 * Kustomization or CEL-free policies never needs to pay. `serve` calls it at
 * startup (loadExpressionEngine) so no policy reload pays it on the event loop.
 */
function celEngine(): CelEngine {
  if (engine === undefined) {
    const require = createRequire(import.meta.url);
    engine = { cel: require('@bufbuild/cel') as CelEngine['cel'], ext: require('@bufbuild/cel/ext') as CelEngine['ext'] };
  }
  return engine;
}

/** Loads the CEL engine now (see celEngine); idempotent. */
export function loadExpressionEngine(): void {
  celEngine();
}

/** A CEL compile or evaluation error; `path` is where the expression sits in its policy, when known. */
export class ExprError extends Error {
  /**
   * `message`: the reason (compile errors include `line:column`); `path`: JSON
   * path of the expression in its policy ('' when unknown); `position`:
   * 1-based line and column of a compile error in the expression, when known.
   */
  constructor(message: string, readonly path = '', readonly position?: { line: number; column: number }) {
    super(message);
    this.name = 'ExprError';
  }
}

/** A compiled CEL program. */
export interface CompiledExpression {
  readonly source: string;
  /**
   * Evaluates with the given variables (plain JSON values: `object`,
   * `oldObject`, `request`, `namespaceObject`, ...). Bounded in cost; throws
   * ExprError on an evaluation error or when the bound is exceeded.
   */
  evaluate(vars: Record<string, unknown>): unknown;
}

/** Options of `compileExpression`. */
export interface CompileExpressionOptions {
  /**
   * Maximum cost of one evaluation, in comprehension iterations (summed over
   * every `all`/`exists`/`exists_one`/`map`/`filter`, nested ones included).
   * Default `DEFAULT_COST_LIMIT`.
   */
  costLimit?: number;
  /** Variables an expression may reference. Default `KUBERNETES_VARIABLES`. */
  variables?: readonly string[];
  /** JSON path of the expression in its policy, copied into every ExprError. */
  path?: string;
}

/** The variables of Kubernetes admission CEL (ValidatingAdmissionPolicy), minus `params`, `variables` and `authorizer`. */
export const KUBERNETES_VARIABLES: readonly string[] = ['object', 'oldObject', 'request', 'namespaceObject'];

/**
 * Default evaluation bound: 100,000 comprehension iterations. Real policies
 * iterate containers, env vars or ports (tens to hundreds); the bound only
 * stops quadratic-and-worse expressions over large objects.
 */
export const DEFAULT_COST_LIMIT = 100_000;

/** Compiled `matches()` patterns kept (patterns usually are policy constants; a bound, because they may come from object data). */
const MAX_CACHED_PATTERNS = 256;
const patterns = new Map<string, RE2JS>();

/**
 * The engine behind CEL `matches()`: RE2 syntax and linear-time matching
 * (`re2js`, the port `@bufbuild/cel`'s own default is forked from), with
 * compiled patterns cached: the library compiles the pattern on every call,
 * which was most of a `matches()` rule's cost per admission. An invalid
 * pattern throws, which the engine turns into an evaluation error.
 */
const CACHED_RE2 = {
  compile(pattern: string): { test(input: string): boolean } {
    let re = patterns.get(pattern);
    if (re === undefined) {
      re = RE2JS.compile(pattern);
      if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
      patterns.set(pattern, re);
    }
    return re;
  },
};

/** Identifiers CEL itself defines: the type denotations (`type(x) == int`). */
const BUILTIN_IDENTIFIERS: readonly string[] = ['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn'];

/** Maximum length of an expression, in characters. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/** Longest string `replace` or `join` may produce (characters): above the largest object the API server stores. */
export const MAX_STRING_RESULT = 4 * 1024 * 1024;

/** Characters of produced string per cost unit (a maximal string costs ~42,000 units of the default 100,000). */
export const STRING_COST_CHARS = 100;

/** Name of the cost-counting function spliced into comprehension loop conditions; `@` cannot be written in CEL source. */
const COST_FN = '@cost';

/** The per-compiled-expression cost meter, read by the `@cost` function. */
interface Meter {
  spent: number;
  limit: number;
}

/** AST node, structurally as `cel.expr.Expr` (`@bufbuild/cel-spec`); only the fields read here. */
interface AstExpr {
  id: bigint | number | string;
  exprKind: { case: string | undefined; value?: unknown };
}

interface AstSourceInfo {
  positions: Record<string, number>;
}

/**
 * Compiles a CEL expression once (at policy load) into a reusable, bounded
 * program. Input: the expression source and options. Output: a
 * CompiledExpression whose `evaluate` takes plain JSON variables and returns a
 * plain JSON value (CEL `int` as a JS number, lists as arrays, maps as
 * objects). Throws ExprError (syntax error with line:column, undeclared
 * variable, expression too long).
 */
export function compileExpression(source: string, options: CompileExpressionOptions = {}): CompiledExpression {
  const path = options.path ?? '';
  if (source.length > MAX_EXPRESSION_LENGTH) throw new ExprError(`expression is ${source.length} characters long, over the limit of ${MAX_EXPRESSION_LENGTH}`, path);
  if (source.trim() === '') throw new ExprError('empty expression', path);
  const parsed = parseOrThrow(source, path);
  const declared = options.variables ?? KUBERNETES_VARIABLES;
  const scope: IdentScope = { allowed: new Set([...declared, ...BUILTIN_IDENTIFIERS]), declared, source, info: parsed.sourceInfo as unknown as AstSourceInfo, path };
  checkIdentifiers(parsed.expr as unknown as AstExpr, new Set(), scope);
  meterComprehensions(parsed.expr as unknown as AstExpr);
  const meter: Meter = { spent: 0, limit: options.costLimit ?? DEFAULT_COST_LIMIT };
  const { cel: { celEnv, celFunc, CelScalar, isCelError, plan }, ext: { strings } } = celEngine();
  const cost = celFunc(COST_FN, [CelScalar.BOOL], CelScalar.BOOL, (cond: boolean) => {
    meter.spent++;
    if (meter.spent > meter.limit) throw new Error('cost limit exceeded');
    return cond;
  });
  const env = celEnv({ funcs: [...strings.filter((f) => f.name !== 'replace' && f.name !== 'join'), ...boundedStringFuncs(meter), cost], re2: CACHED_RE2 });
  const program = plan(env, parsed);
  return {
    source,
    evaluate(vars: Record<string, unknown>): unknown {
      meter.spent = 0;
      const bindings: Record<string, CelValue> = {};
      for (const [k, v] of Object.entries(vars)) bindings[k] = toCelValue(v);
      const result = program(bindings as never);
      if (meter.spent > meter.limit) {
        throw new ExprError(`evaluation cost limit exceeded: more than ${meter.limit} comprehension iterations`, path);
      }
      if (isCelError(result)) throw new ExprError(redactValues(result.message, vars, source), path);
      return fromCel(result);
    },
  };
}

/** Shortest variable string value that is redacted from error messages (shorter ones cannot hide a secret and would mangle words). */
const MIN_REDACTED_LENGTH = 3;

/**
 * `message` with every string value of `vars` (at any depth, at least
 * MIN_REDACTED_LENGTH characters, not part of the expression's own source)
 * replaced by `<redacted>`, longest first. Runs only on the error path.
 */
export function redactValues(message: string, vars: Record<string, unknown>, source = ''): string {
  const found = new Set<string>();
  const seen = new Set<object>();
  const stack: unknown[] = Object.values(vars);
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length >= MIN_REDACTED_LENGTH && message.includes(v) && !source.includes(v)) found.add(v);
    } else if (typeof v === 'object' && v !== null && !seen.has(v)) {
      seen.add(v);
      for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push(x);
    }
  }
  let out = message;
  for (const v of [...found].sort((a, b) => b.length - a.length)) out = out.split(v).join('<redacted>');
  return out;
}

/** Charges a string of `length` characters to the meter; throws once over the cost limit or the size cap. */
function chargeString(meter: Meter, fn: string, length: number): void {
  if (length > MAX_STRING_RESULT) throw new Error(`${fn}: result of ${length} characters exceeds the limit of ${MAX_STRING_RESULT}`);
  meter.spent += Math.ceil(length / STRING_COST_CHARS);
  if (meter.spent > meter.limit) throw new Error('cost limit exceeded');
}

/**
 * `s.replace(old, new[, n])` as cel-go's strings extension (Go
 * `strings.Replace`): the first `n` non-overlapping matches, left to right;
 * `n` < 0 or absent replaces all; an empty `old` matches at the start and after
 * every character. Linear: the size is computed before the string is built.
 */
function linearReplace(meter: Meter, s: string, old: string, repl: string, n?: bigint): string {
  const limit = n === undefined || n < 0n ? Infinity : Number(n);
  const at: number[] = [];
  if (old === '') {
    const chars = Array.from(s);
    const pieces: string[] = [];
    chars.forEach((c, i) => pieces.push(i < limit ? repl + c : c));
    if (chars.length < limit) pieces.push(repl);
    const count = Math.min(limit, chars.length + 1);
    chargeString(meter, 'replace', s.length + count * repl.length);
    return pieces.join('');
  }
  for (let i = s.indexOf(old); i !== -1 && at.length < limit; i = s.indexOf(old, i + old.length)) at.push(i);
  chargeString(meter, 'replace', s.length + at.length * (repl.length - old.length));
  if (at.length === 0) return s;
  const pieces: string[] = [];
  let from = 0;
  for (const i of at) {
    pieces.push(s.slice(from, i), repl);
    from = i + old.length;
  }
  pieces.push(s.slice(from));
  return pieces.join('');
}

/** `list.join([sep])` as the extension's, with the produced size charged and capped. */
function boundedJoin(meter: Meter, list: CelList, sep: string): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; i < list.size; i++) {
    const item = list.get(i);
    if (typeof item !== 'string') throw new Error('join: list contains non-string value');
    length += item.length + (i > 0 ? sep.length : 0);
    if (length > MAX_STRING_RESULT) chargeString(meter, 'join', length);
    parts.push(item);
  }
  chargeString(meter, 'join', length);
  return parts.join(sep);
}

/** The bounded `replace` and `join` overloads (see the module comment), bound to one expression's meter. */
function boundedStringFuncs(meter: Meter): CelFunc[] {
  const { celMethod, CelScalar, listType } = celEngine().cel;
  const { STRING, INT, DYN } = CelScalar;
  return [
    celMethod('replace', STRING, [STRING, STRING], STRING, function (old, repl) {
      return linearReplace(meter, this, old, repl);
    }),
    celMethod('replace', STRING, [STRING, STRING, INT], STRING, function (old, repl, n) {
      return linearReplace(meter, this, old, repl, n);
    }),
    celMethod('join', listType(DYN), [], STRING, function () {
      return boundedJoin(meter, this, '');
    }),
    celMethod('join', listType(DYN), [STRING], STRING, function (sep) {
      return boundedJoin(meter, this, sep);
    }),
  ];
}

function parseOrThrow(source: string, path: string): ReturnType<CelEngine['cel']['parse']> {
  try {
    return celEngine().cel.parse(source);
  } catch (e) {
    const err = e as { message?: string; location?: { start?: { line: number; column: number } } };
    const start = err.location?.start;
    const raw = String(err.message ?? e).replace(/^<input>:\d+:\d+:\s*/, '');
    const where = start ? ` at ${start.line}:${start.column}` : '';
    throw new ExprError(`syntax error${where}: ${raw}`, path, start ? { line: start.line, column: start.column } : undefined);
  }
}

/** 1-based line and column of a character offset in `source`. */
function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Children of an AST node, with the comprehension variables they see bound. */
function children(e: AstExpr): { expr: AstExpr; binds: string[] }[] {
  const v = e.exprKind.value as Record<string, unknown> | undefined;
  if (!v) return [];
  const one = (x: unknown, binds: string[] = []): { expr: AstExpr; binds: string[] }[] => (x ? [{ expr: x as AstExpr, binds }] : []);
  switch (e.exprKind.case) {
    case 'selectExpr':
      return one(v.operand);
    case 'callExpr':
      return [...one(v.target), ...(v.args as AstExpr[]).flatMap((a) => one(a))];
    case 'listExpr':
      return (v.elements as AstExpr[]).flatMap((a) => one(a));
    case 'structExpr':
      return (v.entries as { mapKey?: AstExpr; value?: AstExpr }[]).flatMap((en) => [...one(en.mapKey), ...one(en.value)]);
    case 'comprehensionExpr': {
      const loopVars = [v.iterVar, v.iterVar2, v.accuVar].filter((x): x is string => typeof x === 'string' && x !== '');
      return [...one(v.iterRange), ...one(v.accuInit), ...one(v.loopCondition, loopVars), ...one(v.loopStep, loopVars), ...one(v.result, [String(v.accuVar)])];
    }
    default:
      return [];
  }
}

/** What identifier checking needs besides the node: the names allowed and where the expression is. */
interface IdentScope {
  allowed: Set<string>;
  declared: readonly string[];
  source: string;
  info: AstSourceInfo;
  path: string;
}

/** Throws ExprError for the first identifier that is neither a declared variable nor a comprehension variable in scope. */
function checkIdentifiers(e: AstExpr, bound: Set<string>, scope: IdentScope): void {
  if (e.exprKind.case === 'identExpr') {
    const name = (e.exprKind.value as { name: string }).name;
    if (!bound.has(name) && !scope.allowed.has(name)) {
      const offset = scope.info.positions[String(e.id)];
      const pos = offset === undefined ? undefined : lineColumn(scope.source, offset);
      const where = pos ? ` at ${pos.line}:${pos.column}` : '';
      throw new ExprError(`undeclared reference to '${name}'${where} (variables: ${scope.declared.join(', ')})`, scope.path, pos);
    }
    return;
  }
  for (const c of children(e)) {
    checkIdentifiers(c.expr, c.binds.length ? new Set([...bound, ...c.binds]) : bound, scope);
  }
}

/** Wraps every comprehension's loop condition in `@cost(...)`, which counts one unit per iteration. Mutates the (private) AST. */
function meterComprehensions(e: AstExpr): void {
  for (const c of children(e)) meterComprehensions(c.expr);
  if (e.exprKind.case !== 'comprehensionExpr') return;
  const v = e.exprKind.value as { loopCondition: AstExpr };
  v.loopCondition = { id: v.loopCondition.id, exprKind: { case: 'callExpr', value: { function: COST_FN, args: [v.loopCondition] } } } as AstExpr;
}

/**
 * A read-only view of a plain JSON object as the native map `celMap` wraps:
 * values are converted when an expression reads them (and cached in the view),
 * so a rule that reads `object.spec.containers` never converts `object.data`
 * or `metadata.managedFields`. Keys are the object's own enumerable keys, in
 * order; lookups by non-string keys find nothing (JSON keys are strings).
 */
class JsonObjectView implements ReadonlyMap<string, CelValue> {
  private children: Map<string, CelValue> | undefined;

  constructor(private readonly obj: Record<string, unknown>) {}

  get size(): number {
    return Object.keys(this.obj).length;
  }

  private value(key: string): CelValue {
    const v = this.obj[key];
    if (typeof v !== 'object' || v === null) return toCelValue(v);
    this.children ??= new Map();
    let c = this.children.get(key);
    if (c === undefined) {
      c = toCelValue(v);
      this.children.set(key, c);
    }
    return c;
  }

  get(key: unknown): CelValue | undefined {
    if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(this.obj, key)) return undefined;
    return this.value(key);
  }

  has(key: unknown): boolean {
    return typeof key === 'string' && Object.prototype.hasOwnProperty.call(this.obj, key);
  }

  forEach(callback: (value: CelValue, key: string, map: ReadonlyMap<string, CelValue>) => void, thisArg?: unknown): void {
    for (const k of Object.keys(this.obj)) callback.call(thisArg, this.value(k), k, this);
  }

  *entries(): MapIterator<[string, CelValue]> {
    for (const k of Object.keys(this.obj)) yield [k, this.value(k)];
  }

  keys(): MapIterator<string> {
    return Object.keys(this.obj)[Symbol.iterator]() as MapIterator<string>;
  }

  *values(): MapIterator<CelValue> {
    for (const k of Object.keys(this.obj)) yield this.value(k);
  }

  [Symbol.iterator](): MapIterator<[string, CelValue]> {
    return this.entries();
  }
}

/**
 * Converts a plain JSON value to the CEL value Kubernetes would see: integral
 * numbers to `int` (bigint), objects to maps, arrays to lists. Objects are
 * converted lazily (a `celMap` over a JsonObjectView: a field is converted when
 * an expression reads it, then kept in the view), arrays one level at a time,
 * so the cost follows what the expression reads, not the object's size.
 *
 * Nothing is cached across calls: an identity cache (a WeakMap keyed by the
 * request's objects) cost more in garbage-collector work (~17 µs per
 * admission: ephemeron tables of short-lived keys) than it saved.
 */
export function toCelValue(v: unknown): CelValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? BigInt(v) : v;
    case 'string':
    case 'boolean':
    case 'bigint':
      return v;
    case 'object':
      return Array.isArray(v)
        ? celEngine().cel.celList(v.map(toCelValue))
        : celEngine().cel.celMap(new JsonObjectView(v as Record<string, unknown>) as unknown as ReadonlyMap<string, CelValue>);
    default:
      throw new ExprError(`unsupported variable value of type ${typeof v}`);
  }
}

/** Converts a CEL value (or a `toCelValue` result) back to plain JSON: int/uint to number, lists to arrays, maps to objects. */
export function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  const { isCelList, isCelMap, isCelUint } = celEngine().cel;
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v) || Array.isArray(v)) return Array.from(v as Iterable<unknown>, fromCel);
  if (isCelMap(v) || v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of (v as ReadonlyMap<unknown, unknown>).entries()) out[String(fromCel(k))] = fromCel(x);
    return out;
  }
  return v;
}
