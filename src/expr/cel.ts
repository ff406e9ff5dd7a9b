/**
 * CEL for policies, as the Kubernetes API server compiles and runs it:
 * `match.conditions`, `validate` rules and their `messageExpression`s, sidecar
 * templates, and (for the admission-policies dialect) MutatingAdmissionPolicy
 * and ValidatingAdmissionPolicy expressions with `params` and `variables`.
 *
 * Engine: `@marcbachmann/cel-js` (an Environment with declared variables, a
 * type checker, overloads and optional types; ~4x faster than `@bufbuild/cel`
 * on our rules). docs/cel.md records the measurements and the choice.
 *
 * What this module adds to the engine (the environment of
 * `k8s.io/apiserver/pkg/cel/environment/base.go` at v1.36):
 * - type checking at compile time, with the expected result type (`bool` for
 *   rules and conditions, `string` for messageExpression; `dyn` is accepted
 *   and checked at run time, as the API server does), and positions (line and
 *   column) in every compile error;
 * - the Kubernetes libraries (src/expr/k8s-lib.ts) and nothing base.go does
 *   not enable: the engine's own extras (`cel.bind`, `bytes.json()`, ...)
 *   are refused at compile time;
 * - `matches` on an RE2 (linear-time) engine instead of JavaScript's
 *   backtracking RegExp; regex, duration and timestamp literals validated at
 *   compile time (cel-go ValidateRegexLiterals & co.);
 * - the runtime cost of src/expr/meter.ts (each call and operator charged as
 *   Kubernetes charges it, src/expr/call-cost.ts; one unit per iteration;
 *   Kubernetes' PerCallLimit) plus a wall-clock bound per evaluation;
 * - JSON numbers that are integers read as CEL `int` (as Kubernetes decodes
 *   unstructured objects), objects read lazily (a field is converted when an
 *   expression reads it);
 * - evaluation error messages never quote a runtime value: rebuilt from the
 *   error's code with the function/overload, types and line:column
 *   (eval-errors.ts), then redactValues as a second net.
 *
 * API for dialects (see also compileVariables):
 *   compileExpression(source, { variables: ['object', 'oldObject', 'request',
 *     'namespaceObject', 'params'], compositionVariables: compiled.declarations,
 *     expectedType: 'bool', mutation: true, path })
 *   .evaluate({ object, oldObject, request, namespaceObject, params,
 *               variables: compiled.bind(vars) })  -> plain JSON
 */
import { Environment, EvaluationError, Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { registerKubernetesLibraries, replacedMethod, checkLiteral } from './k8s-lib.js';
import { FORMAT_ARG, OPTIONAL_ENTRY, OPTIONAL_FIELD, rewriteLiterals } from './structs.js';
import { literalTypeError } from './literal-types.js';
import { evaluationReason } from './eval-errors.js';
import { activeMeter, beforeLargeCall, charge, chargedAtOnce, chargeWithinBounds, CostLimitError, DEFAULT_MAX_EVAL_MS, LARGE_INPUT_CHARS, LIBRARY_NS_PER_CHAR, PER_CALL_LIMIT, recordCharges, replayCharges, replayRecorded, spent, startMeter, stopMeter, tripped, type ChargeRecord } from './meter.js';
import { listsTypeError } from './lists-ext.js';
import { goFloatString } from './values.js';
import { EvaluationMemo, firstOwnKey, MAX_CHARGES, ReadRecorder, recording, stringChars, withRecorder, type Leaf } from './memo.js';
import { callCostOf, isFoldedConstant, operatorCostOf } from './call-cost.js';
import { costErrorMessage, ESTIMATE_INPUT_BYTES, estimateCost, type CostEstimate } from './cost-estimate.js';
import { ExprError, KUBERNETES_VARIABLES, registerCelEngine } from './engine.js';
import { deepClone, deepFreeze, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import { CONVERTED_VALUES, type ConvertedValues, type SharedVars } from './vars.js';

export { PER_CALL_LIMIT } from './meter.js';

/** Kept for callers that warm the engine at startup; the engine is loaded with this module. */
export function loadExpressionEngine(): void {
  baseEnvironment();
}

export { ExprError, KUBERNETES_VARIABLES };

/** A compiled CEL program. */
export interface CompiledExpression {
  readonly source: string;
  /** The checked result type (`bool`, `string`, `int`, `list<string>`, `map`, `dyn`, ...). */
  readonly type: string;
  /**
   * Evaluates with the given variables (plain JSON values: `object`,
   * `oldObject`, `request`, `namespaceObject`, `params`; `variables` a
   * VariableStore from compileVariables). Returns plain JSON (int as number,
   * lists as arrays, maps as objects). Throws ExprError on an evaluation
   * error, a cost limit or the wall-clock bound.
   */
  evaluate(vars: Record<string, unknown>): unknown;
  /**
   * As evaluate, but a constant's result is its kept JSON itself, shared by
   * every evaluation and deep-frozen: the caller must neither change it nor
   * put it (or a part of it) into a result without copying. Other
   * expressions: as evaluate.
   */
  evaluateShared(vars: Record<string, unknown>): unknown;
  /** As evaluate, but returns the engine's value (bigint ints, Maps): for composition variables. @internal */
  evaluateNative(vars: Record<string, unknown>): unknown;
  /** The static cost estimate (src/expr/cost-estimate.ts): units at most, and the result's size bound. */
  readonly estimate?: CostEstimate;
  /**
   * True when the expression reads no variable and was evaluated once at
   * compile time (see `foldConstant`): each evaluation replays its charges and
   * returns a fresh copy of the kept result.
   */
  readonly constant: boolean;
  /**
   * A constant whose evaluation outside any expression charges its cost at
   * once (its recorded total below the first clock read and within its
   * limit: meter.ts chargeWithinBounds): that total, and the kept JSON
   * `evaluateShared` returns. Several such constants evaluated one after the
   * other charge the sum of their totals to the policy's budget, or the
   * first one that does not fit replays its charges (chargeAllWithinBounds).
   * Undefined for any other expression.
   */
  readonly atOnce?: { readonly total: number; readonly json: unknown };
  /**
   * The top-level variables the expression reads (see `variablesRead`): an
   * evaluation converts only these, and can be given only these.
   */
  readonly reads: readonly string[];
}

/** A `variables.<name>` declaration: its name and checked type. */
export interface CompositionVariable {
  name: string;
  type: string;
  /** The variable's static cost estimate: charged once to an expression that reads it. */
  estimate?: CostEstimate;
}

/** Options of `compileExpression`. */
export interface CompileExpressionOptions {
  /** Runtime cost limit of one evaluation, in units of src/expr/meter.ts. Default PER_CALL_LIMIT (1,000,000). */
  costLimit?: number;
  /** Wall-clock bound of one evaluation in milliseconds. Default 50. */
  maxEvalMs?: number;
  /**
   * Refuse at compile time (ExprError with code ERR_POLICY_EXPRESSION_COST) an
   * expression whose static cost estimate (src/expr/cost-estimate.ts) is over
   * this many units. Default PER_CALL_LIMIT; Infinity turns the estimate off.
   */
  estimatedCostLimit?: number;
  /** Characters of JSON per input variable the estimate assumes. Default ESTIMATE_INPUT_BYTES (256 KiB). */
  estimateInputBytes?: number;
  /** Top-level variables, all `dyn`. Default KUBERNETES_VARIABLES. `authorizer` is refused at compile time. */
  variables?: readonly string[];
  /** Names (and types) of `variables.<name>`; when set, `variables` is declared. */
  compositionVariables?: readonly CompositionVariable[];
  /** Required result type: a rule `bool`, a messageExpression `string`; `dyn` results pass and are checked at run time. */
  expectedType?: 'bool' | 'string';
  /** MutatingAdmissionPolicy: `Object{...}`, `JSONPatch{...}` and `jsonpatch.escapeKey` (results are plain JSON maps). */
  mutation?: boolean;
  /** JSON path of the expression in its policy, copied into every ExprError. */
  path?: string;
}

/** Default evaluation bound (units): Kubernetes' PerCallLimit. */
export const DEFAULT_COST_LIMIT = PER_CALL_LIMIT;

/** Maximum length of an expression, in characters. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/** Longest string or list an operation may produce (characters or items): above the largest object the API server stores. */
export const MAX_STRING_RESULT = 4 * 1024 * 1024;

/** Engine AST node (`@marcbachmann/cel-js` 8 parser.js ASTNode): only what is read here. */
export interface AstNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
  readonly meta: Record<string, unknown> & { alternate?: AstNode; evaluate?: EvalFn };
  setMeta(key: string, value: unknown): AstNode;
}

/** Engine evaluator (operators.js Base): `run` evaluates a node. */
export interface Evaluator {
  run(node: AstNode, ctx: unknown): unknown;
}

/** An AST node's evaluate hook. */
export type EvalFn = (ev: Evaluator, ast: AstNode, ctx: unknown) => unknown;

interface ParsedProgram {
  (ctx?: Record<string, unknown>): unknown;
  ast: AstNode;
  check(): { valid: boolean; type?: string; error?: CelEngineError };
}

interface CelEngineError extends Error {
  summary?: string;
  range?: { start: number; end: number };
}

let base: Environment | undefined;
const environments = new Map<string, Environment>();

/** The base environment: Kubernetes' libraries and options, no variables. Frozen once cloned. */
function baseEnvironment(): Environment {
  if (base === undefined) {
    // Homogeneous aggregate literals as cel-go joins them: checked after the engine's typing (literal-types.ts), not by the engine's stricter check.
    base = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false, limits: { maxListElements: 10_000, maxMapEntries: 10_000 } });
    registerKubernetesLibraries(base);
    registerRewriteInternals(base);
    registerOptionalAdditions(base);
  }
  return base;
}

/** One class per environment for `variables`: its fields are the declared names (getters into the VariableStore). */
const variableClasses = new WeakMap<Environment, new (store: VariableStore) => object>();

function environmentFor(vars: readonly string[], composition: readonly CompositionVariable[] | undefined, mutation: boolean): Environment {
  const key = JSON.stringify([vars, composition?.map((c) => [c.name, c.type]) ?? null, mutation]);
  let env = environments.get(key);
  if (env !== undefined) return env;
  env = baseEnvironment().clone();
  for (const v of vars) if (v !== 'authorizer') env.registerVariable(v, 'dyn');
  if (composition) {
    const cls = variablesClass(composition);
    const fields: Record<string, string> = {};
    for (const c of composition) fields[c.name] = c.type;
    env.registerType('kubernetes.variables', { ctor: cls, fields } as never);
    env.registerVariable('variables', 'kubernetes.variables');
    variableClasses.set(env, cls);
  }
  if (mutation) registerMutationLibrary(env);
  if (environments.size > 256) environments.clear();
  environments.set(key, env);
  return env;
}

function variablesClass(composition: readonly CompositionVariable[]): new (store: VariableStore) => object {
  class Variables {
    constructor(readonly store: VariableStore) {}
  }
  for (const c of composition) {
    Object.defineProperty(Variables.prototype, c.name, {
      get(this: Variables) {
        return this.store.get(c.name);
      },
    });
  }
  return Variables;
}

/** `jsonpatch.escapeKey` and the struct literal helper of MutatingAdmissionPolicy expressions. */
function registerMutationLibrary(env: Environment): void {
  class JsonPatchNamespace {}
  env.registerType('JsonPatchNamespace', JsonPatchNamespace as never);
  env.registerConstant('jsonpatch', 'JsonPatchNamespace', new JsonPatchNamespace());
  // k8s.io/apiserver/pkg/cel/library/jsonpatch.go: RFC 6901 escaping, '~' first.
  env.registerFunction('JsonPatchNamespace.escapeKey(string): string', (_ns: unknown, k: string) => k.replaceAll('~', '~0').replaceAll('/', '~1'));
}

/** Lines and columns (1-based) of a character offset. */
function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function compileError(reason: string, source: string, offset: number | undefined, path: string): ExprError {
  const pos = offset === undefined ? undefined : lineColumn(source, offset);
  return new ExprError(pos ? `${reason} at ${pos.line}:${pos.column}` : reason, path, pos);
}

/**
 * Where a type error points: for a method call (`x.startswith(...)`) the
 * method name, as the API server's message does; else the node's start.
 */
function errorOffset(err: CelEngineError, text: string): number | undefined {
  const node = (err as { node?: AstNode }).node;
  if (node?.op === 'rcall') {
    const [name, receiver] = node.args as [string, AstNode];
    const at = text.indexOf(name, receiver?.end ?? node.start);
    if (at >= 0) return at;
  }
  return err.range?.start;
}

/** Message of an engine compile error in cel-go's words where they differ. */
function reason(e: CelEngineError): string {
  const summary = (e.summary ?? e.message).split('\n')[0];
  const unknown = /^Unknown variable: (.*)$/.exec(summary);
  if (unknown) return `undeclared reference to '${unknown[1]}'`;
  // An optional entry's value that is not an optional (structs.ts wraps it): cel-go checker typeMismatch.
  const entry = /^found no matching overload for '__kpr_optional_(?:entry|field)\((.*)\)'$/.exec(summary);
  if (entry) return `expected type 'optional_type(${entry[1]})' but found '${entry[1]}'`;
  return summary;
}

/**
 * Compiles a CEL expression once (at policy load) into a reusable, bounded
 * program. Throws ExprError (syntax error, type error, undeclared reference,
 * a function Kubernetes does not have, an invalid regex/duration/timestamp
 * literal, a wrong result type, expression too long), with line:column.
 */
export function compileExpression(source: string, options: CompileExpressionOptions = {}): CompiledExpression {
  const path = options.path ?? '';
  checkSourceText(source, path);
  const vars = options.variables ?? KUBERNETES_VARIABLES;
  const env = environmentFor(vars, options.compositionVariables, options.mutation === true);
  const rewritten = rewriteLiterals(source, { structs: options.mutation === true }, (msg, at) => compileError(msg, source, at, path));
  const text = rewritten.text;
  const at: SourceAt = { source, path, sourceOffset: rewritten.sourceOffset };
  const parsed = parseText(env, text, at);
  const instrument = checkNodes(parsed, vars, at);
  const checked = parsed.check();
  if (!checked.valid) {
    const err = checked.error as CelEngineError;
    const at = errorOffset(err, text);
    throw compileError(reason(err), source, at === undefined ? undefined : rewritten.sourceOffset(at), path);
  }
  checkTypedNodes(nodesOf(parsed.ast), text, at);
  const type = checked.type ?? 'dyn';
  checkResultType(type, options.expectedType, path);
  const estimate = checkEstimate(parsed.ast, source, vars, options);
  for (const node of instrument) instrumentNode(node);
  return { ...program(parsed, { source, text, sourceOffset: rewritten.sourceOffset, type, env, roots: vars }, options), estimate };
}

/**
 * The checks of cel-go's checker that read the engine's checked types:
 * homogeneous aggregate literals (literal-types.ts) and the receivers of the
 * list extension's `flatten()` and `sort()` (lists-ext.ts). Throws ExprError
 * at the literal, or at the method's name.
 */
function checkTypedNodes(nodes: readonly AstNode[], text: string, { source, path, sourceOffset }: SourceAt): void {
  const literal = literalTypeError(nodes);
  if (literal) throw compileError(literal.message, source, sourceOffset(literal.node.start), path);
  const call = listsTypeError(nodes);
  if (call) throw compileError(call.message, source, sourceOffset(errorOffset({ node: call.node } as unknown as CelEngineError, text) ?? call.node.start), path);
}

/** Throws ExprError for an empty expression or one over MAX_EXPRESSION_LENGTH characters. */
function checkSourceText(source: string, path: string): void {
  if (source.length > MAX_EXPRESSION_LENGTH) throw new ExprError(`expression is ${source.length} characters long, over the limit of ${MAX_EXPRESSION_LENGTH}`, path);
  if (source.trim() === '') throw new ExprError('empty expression', path);
}

/** Throws ExprError when the checked type is neither the expected one nor dyn (checked at run time). */
function checkResultType(type: string, expected: string | undefined, path: string): void {
  if (expected && type !== expected && type !== 'dyn') throw new ExprError(`expression must return ${expected}, but returns ${type}`, path);
}

/** Parses `text` (the source, or its struct-literal rewrite); throws ExprError `syntax error at line:column`. */
/** An expression's source text, its policy path, and the source offset of an offset in the parsed text (structs.ts RewrittenText). */
interface SourceAt {
  source: string;
  path: string;
  sourceOffset: (at: number) => number;
}

function parseText(env: Environment, text: string, { source, path, sourceOffset }: SourceAt): ParsedProgram {
  try {
    return env.parse(text) as unknown as ParsedProgram;
  } catch (e) {
    const err = e as CelEngineError;
    const start = err.range?.start;
    const pos = start === undefined ? undefined : lineColumn(source, sourceOffset(start));
    throw new ExprError(`syntax error${pos ? ` at ${pos.line}:${pos.column}` : ''}: ${reason(err)}`, path, pos);
  }
}

/**
 * Checks every node of the parsed program (functions Kubernetes does not
 * have, bad literals; throws ExprError at the node), widens `has()`, and
 * returns the nodes to instrument once the program type-checks.
 */
function checkNodes(parsed: ParsedProgram, vars: readonly string[], { source, path, sourceOffset }: SourceAt): AstNode[] {
  const instrument: AstNode[] = [];
  walk(parsed.ast, (node) => {
    const refused = refusedReason(node, vars);
    if (refused) throw compileError(refused, source, sourceOffset(node.start), path);
    if (node.op === 'call' && (node.args as [string])[0] === 'has' && node.meta.macro) patchHas(node.meta.macro as HasMacro);
    const bad = checkLiteral(node);
    if (bad) throw compileError(bad, source, sourceOffset(node.start), path);
    instrument.push(node);
  });
  return instrument;
}

/**
 * The static cost estimate of a checked expression; throws ExprError (code
 * ERR_POLICY_EXPRESSION_COST, Kubernetes' words, the expression quoted) when
 * it is over `options.estimatedCostLimit`.
 */
function checkEstimate(ast: AstNode, source: string, vars: readonly string[], options: CompileExpressionOptions): CostEstimate {
  const inputBytes = options.estimateInputBytes ?? ESTIMATE_INPUT_BYTES;
  const variables = new Map<string, CostEstimate>();
  for (const c of options.compositionVariables ?? []) if (c.estimate) variables.set(c.name, c.estimate);
  const limit = options.estimatedCostLimit ?? PER_CALL_LIMIT;
  const estimate = estimateCost(ast, { roots: vars, variables, inputBytes, limit });
  if (estimate.cost <= limit) return estimate;
  const path = options.path ?? '';
  const costName = path.endsWith('messageExpression') ? 'estimated messageExpression cost' : 'estimated rule cost';
  const shown = source.length > 200 ? `${source.slice(0, 200)}...` : source;
  throw new ExprError(`${costErrorMessage(costName, estimate.cost, limit, inputBytes)}: ${JSON.stringify(shown)}`, path, undefined, 'ERR_POLICY_EXPRESSION_COST');
}

/** A checked program: its source text, result type and environment. */
interface CheckedProgram {
  source: string;
  /** The text the engine parsed (structs.ts's rewrite of `source`), and the source offset of an offset in it. */
  text: string;
  sourceOffset: (at: number) => number;
  type: string;
  env: Environment;
  /** The declared top-level variables (`variables` and `authorizer` are variables too). */
  roots: readonly string[];
}

function program(parsed: ParsedProgram, { source, text, sourceOffset, type, env, roots }: CheckedProgram, options: CompileExpressionOptions): CompiledExpression {
  const limit = options.costLimit ?? DEFAULT_COST_LIMIT;
  const maxMs = options.maxEvalMs ?? DEFAULT_MAX_EVAL_MS;
  const reads = variablesRead(parsed.ast, roots);
  const run: Run = { parsed, reads, variablesClass: variableClasses.get(env), limit, maxMs, source, text, sourceOffset, path: options.path ?? '' };
  const folded = reads.length === 0 && folding ? foldConstant(parsed, limit, maxMs) : undefined;
  if (folded) {
    const native = foldedProgram(folded, run);
    const json = folded.json;
    const total = folded.charges.reduce((a, u) => a + u, 0);
    const atOnce = chargedAtOnce(total, limit) ? { total, json } : undefined;
    return { source, type, constant: true, atOnce, reads, evaluateNative: native, evaluate: (vars) => (native(vars), deepClone(json)), evaluateShared: (vars) => (native(vars), json) };
  }
  if (memoizing && memoEligible(reads)) return { source, type, constant: false, reads, ...memoizedProgram(run, new EvaluationMemo()) };
  const evaluateNative = (vars: Record<string, unknown>): unknown => evaluateOnce(run, vars);
  const evaluate = (vars: Record<string, unknown>): unknown => fromCel(evaluateOnce(run, vars));
  return { source, type, constant: false, reads, evaluateNative, evaluate, evaluateShared: evaluate };
}

/** What one evaluation of a checked program needs. */
interface Run {
  readonly parsed: ParsedProgram;
  /** The variables the expression reads (variablesRead). */
  readonly reads: readonly string[];
  readonly variablesClass: (new (store: VariableStore) => object) | undefined;
  /** Cost limit (units) and wall-clock bound (ms) of one evaluation. */
  readonly limit: number;
  readonly maxMs: number;
  readonly source: string;
  /** The parsed text and the map of its offsets to `source` (CheckedProgram). */
  readonly text: string;
  readonly sourceOffset: (at: number) => number;
  readonly path: string;
}

/**
 * One evaluation: the activation of `vars`, the engine under a fresh meter
 * (or the enclosing expression's, for a composition variable), the bound it
 * tripped thrown. `record`: the fresh meter records its charges there.
 * Returns the engine's value; throws ExprError.
 */
function evaluateOnce(run: Run, vars: Record<string, unknown>, record?: ChargeRecord): unknown {
  const ctx = celActivation(vars, run.reads, run.variablesClass);
  const nested = activeMeter() !== undefined;
  const previous = nested ? undefined : startMeter(run.limit, run.maxMs, record);
  try {
    const result = run.parsed(ctx);
    const bound = tripped();
    if (bound) throw bound;
    return result;
  } catch (e) {
    throw evaluationError(e, vars, run);
  } finally {
    if (!nested) stopMeter(previous);
  }
}

// ---------------------------------------------------------------------------
// Evaluations replayed when what they read is the same (src/expr/memo.ts)

let memoizing = true;
let replays = 0;

/** How many evaluations were replayed from a memo so far, a replay stopped by a deadline included (tests: that the memo is used). */
export function evaluationMemoReplays(): number {
  return replays;
}

/**
 * Turns the evaluation memo (src/expr/memo.ts) on or off for the expressions
 * compiled from now on (default on) and returns the previous setting. For
 * tests, which compare programs with and without it: the results, errors
 * and costs must agree.
 */
export function setEvaluationMemo(on: boolean): boolean {
  const previous = memoizing;
  memoizing = on;
  return previous;
}

/** An expression whose evaluations may be kept: it reads variables, and only plain JSON ones (not `variables`, `authorizer`). */
function memoEligible(reads: readonly string[]): boolean {
  return reads.length > 0 && !reads.includes('variables') && !reads.includes('authorizer');
}

/**
 * The three evaluations of a program with a memo: a kept evaluation whose
 * reads give the same answers is replayed (its charges, then its value: the
 * engine's value shared, as a folded constant's; `evaluate` a fresh copy of
 * its JSON, `evaluateShared` the kept frozen JSON); any other is evaluated,
 * recording its reads and charges, and kept when it may be
 * (rememberEvaluation).
 */
function memoizedProgram(run: Run, memo: EvaluationMemo): Pick<CompiledExpression, 'evaluate' | 'evaluateNative' | 'evaluateShared'> {
  const evaluated = (vars: Record<string, unknown>, leaf: Leaf | null | undefined): unknown => (leaf === null ? evaluateOnce(run, vars) : evaluateRecorded(run, memo, vars));
  return {
    evaluateNative: (vars) => {
      const leaf = keptEvaluation(run, memo, vars);
      return leaf ? leaf.value : evaluated(vars, leaf);
    },
    evaluate: (vars) => {
      const leaf = keptEvaluation(run, memo, vars);
      return leaf ? deepClone(leaf.json) : fromCel(evaluated(vars, leaf));
    },
    evaluateShared: (vars) => {
      const leaf = keptEvaluation(run, memo, vars);
      return leaf ? leaf.json : fromCel(evaluated(vars, leaf));
    },
  };
}

/**
 * The kept evaluation of `vars`, its charges replayed (replayRecorded);
 * undefined when there is none or its charges would exceed a bound (evaluate
 * and record); null when the memo is not used now (inside another
 * expression, or resting): evaluate without recording. Throws ExprError when
 * a replayed clock read finds a deadline passed.
 */
function keptEvaluation(run: Run, memo: EvaluationMemo, vars: Record<string, unknown>): Leaf | null | undefined {
  if (activeMeter() !== undefined || !memo.active()) return null;
  const leaf = memo.lookup(vars);
  if (leaf === undefined) return undefined;
  try {
    if (!replayRecorded(leaf.charges, leaf.total, run.limit, run.maxMs)) return undefined;
    replays++;
    return leaf;
  } catch (e) {
    replays++;
    throw evaluationError(e, vars, run);
  }
}

/** Evaluates `vars` recording its reads and charges; keeps the evaluation when it may be (rememberEvaluation). Throws ExprError. */
function evaluateRecorded(run: Run, memo: EvaluationMemo, vars: Record<string, unknown>): unknown {
  const recorder = new ReadRecorder(vars);
  const record: ChargeRecord = { units: [], large: false };
  const value = withRecorder(recorder, () => evaluateOnce(run, vars, record));
  rememberEvaluation(memo, recorder, record, value);
  return value;
}

/**
 * Keeps a successful evaluation (its reads, charges and value) unless its
 * reads could not all be described, a large-input call read the clock, its
 * charges are too many to replay, or its value is not plain data of its own
 * (keepableValue) whose JSON is plain (isJson).
 */
function rememberEvaluation(memo: EvaluationMemo, recorder: ReadRecorder, record: ChargeRecord, value: unknown): void {
  if (recorder.failed || record.large || record.units.length > MAX_CHARGES || !keepableValue(value)) return;
  const json = fromCel(value);
  if (!isJson(json)) return;
  let total = 0;
  for (const u of record.units) total += u;
  memo.insert(recorder.steps, { value, json: deepFreeze(json as JsonValue), charges: record.units, total, chars: recorder.chars + stringChars(json) });
}

/**
 * An engine value that holds nothing of the evaluation's input and nothing
 * mutable beyond plain data: scalars, lists, the engine's map literals
 * (plain objects) and Maps of them. Not a JsonMap (a map of the input: its
 * JSON is the input's own), bytes, timestamps, durations, optionals or
 * other objects.
 */
function keepableValue(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return typeof v !== 'function' && typeof v !== 'symbol';
  if (Array.isArray(v)) return v.every(keepableValue);
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype) return Object.values(v).every(keepableValue);
  if (proto !== Map.prototype) return false;
  for (const [k, x] of v as Map<unknown, unknown>) if (!keepableValue(k) || !keepableValue(x)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Constant expressions, evaluated once at compile time

/**
 * The variables an expression reads: the declared top-level variables (and
 * `variables`, `authorizer`) that one of its identifiers names, in
 * declaration order. None: the expression is a constant, its value and its
 * charges the same on every evaluation. An iteration variable that shadows a
 * variable's name counts as a read (a superset is safe: the activation
 * converts what is read, a constant is folded).
 */
function variablesRead(ast: AstNode, roots: readonly string[]): string[] {
  const ids = new Set<string>();
  walk(ast, (n) => {
    if (n.op === 'id') ids.add(n.args as string);
  });
  return [...roots, 'variables', 'authorizer'].filter((name, i, all) => ids.has(name) && all.indexOf(name) === i);
}

let folding = true;

/**
 * Turns constant folding on or off for the expressions compiled from now on
 * (default on) and returns the previous setting. For tests, which compare
 * folded and unfolded programs: the results, errors and costs must agree.
 */
export function setConstantFolding(on: boolean): boolean {
  const previous = folding;
  folding = on;
  return previous;
}

/** A constant's kept engine value, its plain JSON (fromCel) and the charges of its evaluation, in order. */
interface Folded {
  value: unknown;
  json: JsonValue;
  charges: readonly number[];
}

/** Longest charge record a folded constant replays; a longer one is evaluated each time (no constant Kubernetes users write comes close). */
const MAX_FOLDED_CHARGES = 1024;

/**
 * Evaluates a constant expression once, with no variables at all (a read of
 * one throws, and the expression is not folded), under the per-expression
 * limit and outside any policy budget, recording its charges. Undefined
 * (evaluated each time, as before) when it fails (an error or a bound: the
 * same error must come per evaluation, under the policy's budget and the
 * admission deadline), when a large-input call read the clock, when its
 * charges are too many to replay, or when its value is not plain JSON once
 * converted (fromCel: bytes, timestamps, durations, types stay evaluated).
 */
function foldConstant(parsed: ParsedProgram, limit: number, maxMs: number): Folded | undefined {
  const run = recordCharges(() => parsed({}), limit, maxMs);
  if (run === undefined || run.record.large || run.record.units.length > MAX_FOLDED_CHARGES) return undefined;
  const json = fromCel(run.value);
  return isJson(json) ? { value: run.value, json: deepFreeze(json as JsonValue), charges: run.record.units } : undefined;
}


/** Plain JSON: null, booleans, finite numbers, strings, arrays and plain objects of them. */
function isJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isJson);
}

/**
 * The evaluation of a folded constant: its recorded charges replayed on the
 * evaluation's meter (a fresh one, or the enclosing expression's for a
 * composition variable read inside it), so cost limits, the policy's runtime
 * budget and the admission deadline stop it exactly where the evaluation
 * would stop (the same ExprError), then the kept value. The engine value is
 * shared between evaluations (CEL values are immutable); `evaluate` returns
 * a fresh deep copy of the kept JSON, as fromCel makes fresh JSON each time.
 */
function foldedProgram(folded: Folded, at: Pick<Run, 'limit' | 'maxMs' | 'source' | 'text' | 'sourceOffset' | 'path'>): (vars: Record<string, unknown>) => unknown {
  const { value, charges } = folded;
  let total = 0;
  for (const u of charges) total += u;
  return (vars) => {
    // outside any expression, charges that cannot reach a bound: charged at once (meter.ts chargeWithinBounds)
    if (chargeWithinBounds(total, at.limit)) return value;
    const nested = activeMeter() !== undefined;
    const previous = nested ? undefined : startMeter(at.limit, at.maxMs);
    try {
      replayCharges(charges);
      return value;
    } catch (e) {
      throw evaluationError(e, vars, at);
    } finally {
      if (!nested) stopMeter(previous);
    }
  };
}

/**
 * The engine's activation for `vars`: the variables the expression reads
 * (`reads`, see variablesRead; an unread one is never converted), values
 * converted (`toCelValue`), a VariableStore wrapped in the environment's
 * `variables` class. A variable missing from `vars` stays missing (the
 * engine's unknown-variable error if it is read).
 */
function celActivation(vars: Record<string, unknown>, reads: readonly string[], variablesClass: (new (store: VariableStore) => unknown) | undefined): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  const kept = (vars as SharedVars)[CONVERTED_VALUES];
  for (const k of reads) {
    if (hasOwn.call(vars, k)) {
      const v = vars[k];
      if (k === 'variables' && v instanceof VariableStore) ctx[k] = variablesClass ? new variablesClass(v) : null;
      else ctx[k] = kept === undefined ? toCelValue(v) : convertedOnce(kept, k, v);
    }
    recording?.get(vars, vars, k, ctx[k]);
  }
  return ctx;
}

/** `toCelValue(v)` of variable `k`, kept in `kept` while `k` holds the same value (vars.ts shareConversions). */
function convertedOnce(kept: ConvertedValues, k: string, v: unknown): unknown {
  const e = kept.get(k);
  if (e !== undefined && e.json === v) return e.cel;
  const cel = toCelValue(v);
  kept.set(k, { json: v, cel });
  return cel;
}

/**
 * An evaluation failure as ExprError: cost bound messages as they are, engine
 * errors rebuilt value-free from their code (eval-errors.ts) with line:column,
 * redactValues as a second net.
 */
function evaluationError(e: unknown, vars: Record<string, unknown>, at: Pick<Run, 'source' | 'text' | 'sourceOffset' | 'path'>): ExprError {
  const { source, path } = at;
  if (e instanceof CostLimitError) return new ExprError(e.message, path);
  if (e instanceof ExprError) return e;
  const reason = evaluationReason(e);
  const offset = reason.offset === undefined ? undefined : errorOffset(e as CelEngineError, at.text);
  const pos = offset === undefined ? undefined : lineColumn(source, at.sourceOffset(offset));
  const message = redactValues(reason.message, vars, source);
  return new ExprError(pos ? `${message} at ${pos.line}:${pos.column}` : message, path, pos);
}

/** Every node of `ast` (macro expansions included), parents before children. */
function nodesOf(ast: AstNode): AstNode[] {
  const nodes: AstNode[] = [];
  walk(ast, (n) => nodes.push(n));
  return nodes;
}

/** Visits every node (macro expansions included), parents before children. */
export function walk(node: unknown, visit: (n: AstNode) => void, seen = new Set<object>()): void {
  if (!firstVisit(node, seen)) return;
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit, seen);
    return;
  }
  const n = node as AstNode;
  if (typeof n.op !== 'string') return;
  visit(n);
  if (n.op === 'value' || n.op === 'id') return;
  for (const child of childNodes(n)) walk(child, visit, seen);
}

/** True (and recorded in `seen`) for an object or array not visited yet. */
function firstVisit(node: unknown, seen: Set<object>): node is object {
  if (node === null || typeof node !== 'object' || seen.has(node)) return false;
  seen.add(node);
  return true;
}

/** What `walk` descends into from a node: its arguments (a list, a record of nodes, or one node), then its macro's alternate. */
function childNodes(n: AstNode): unknown[] {
  const args = n.args;
  const out: unknown[] = Array.isArray(args) ? [...args] : args && typeof args === 'object' && !('op' in args) ? Object.values(args) : [args];
  if (n.meta.alternate) out.push(n.meta.alternate);
  return out;
}

/** Functions of the engine that base.go does not enable (cel-go has no such overloads, or only in extensions Kubernetes leaves out). */
const REFUSED_METHODS = new Set(['json', 'hex', 'base64', 'at', 'bind']);

/** Receivers of namespaced functions of extensions base.go does not enable (`math.greatest`, `base64.encode`). */
const REFUSED_RECEIVERS = new Set(['math', 'base64']);

/** Why a node is refused at compile time, or undefined. */
function refusedReason(node: AstNode, vars: readonly string[]): string | undefined {
  if (node.op === 'id') return node.args === 'authorizer' ? authorizerRefusal(vars) : undefined;
  if (node.op === 'rcall') return refusedMethod(node.args as [string, AstNode]);
  if (node.op === 'call') return refusedName((node.args as [string])[0]);
  return undefined;
}

function authorizerRefusal(vars: readonly string[]): string {
  return vars.includes('authorizer')
    ? "'authorizer' is not supported: kube-postrender does not call the API server's authorizer"
    : "undeclared reference to 'authorizer' (kube-postrender does not support the authorizer library)";
}

/** A method call `receiver.name(...)`: refused engine methods, namespaced extension functions, engine internals. */
function refusedMethod([name, receiver]: [string, AstNode]): string | undefined {
  if (REFUSED_METHODS.has(name)) return `undeclared reference to '${name}'`;
  if (receiver?.op === 'id' && REFUSED_RECEIVERS.has(receiver.args as string)) return `undeclared reference to '${String(receiver.args)}.${name}'`;
  return refusedName(name);
}

/**
 * The engine's internal functions (`__...`) are not callable. The two our
 * literal rewrite writes (structs.ts OPTIONAL_ENTRY, OPTIONAL_FIELD) pass: the
 * rewrite refuses them when the expression itself names them.
 */
function refusedName(name: string): string | undefined {
  return name.startsWith('__') && !INTERNAL_FUNCTIONS.has(name) ? `undeclared reference to '${name}'` : undefined;
}

/** structs.ts's internal functions of optional entries. */
const OPTIONAL_FUNCTIONS: ReadonlySet<string> = new Set([OPTIONAL_ENTRY, OPTIONAL_FIELD]);

/** Every internal function structs.ts's rewrite writes: callable only from its rewrite, never charged (cel-go has no such call). */
const INTERNAL_FUNCTIONS: ReadonlySet<string> = new Set([...OPTIONAL_FUNCTIONS, FORMAT_ARG]);

/**
 * Declares the internal functions structs.ts's rewrite wraps values in:
 * an optional entry's value, `optional<A>` to A (map and list literals) or to
 * dyn (struct fields), so the checker types the literal as cel-go's checker
 * does (the entry contributes the optional's parameter; a value that is not
 * optional is a type error, dyn passes and is checked when evaluated); and a
 * `format` argument list's element, typed dyn (FORMAT_ARG, the value itself).
 * The optional entries only type: the literal is evaluated by
 * `evaluateMapLiteral` / `evaluateListLiteral`, which read the wrapped value
 * directly; their handlers throw if reached.
 */
function registerRewriteInternals(env: Environment): void {
  const unreachable = (): never => {
    throw new EvaluationError('internal error: an optional entry evaluated outside its literal');
  };
  env.registerFunction(`${OPTIONAL_ENTRY}(optional<A>): A`, unreachable);
  env.registerFunction(`${OPTIONAL_FIELD}(optional<A>): dyn`, unreachable);
  env.registerFunction(`${FORMAT_ARG}(A): dyn`, (v: unknown) => v);
}

/** cel-go's `optional.ofNonZeroValue(v)` (ext optional library), which the engine lacks: none for a zero value (`isZeroValue`), else `optional.of(v)`. */
function registerOptionalAdditions(env: Environment): void {
  env.registerFunction('OptionalNamespace.ofNonZeroValue(A): optional<A>', (_ns: unknown, v: unknown) => (isZeroValue(v) ? Optional.none() : Optional.of(v)));
}

/** Go's zero time (0001-01-01T00:00:00Z), ms since the epoch: cel-go's zero Timestamp. */
const ZERO_TIME_MS = new Date(0).setUTCFullYear(1, 0, 1);

/**
 * cel-go's `traits.Zeroer` (`optional.ofNonZeroValue`, cel-go ext optional
 * library): false, 0, 0u, 0.0 and -0.0, '', b'', null, an empty list or map,
 * an empty optional, a zero duration, Go's zero time. Anything else (a type
 * value) is never zero.
 */
function isZeroValue(v: unknown): boolean {
  if (v === null || v === false || v === 0 || v === 0n || v === '') return true;
  return typeof v === 'object' && isZeroObject(v);
}

/** A zero uint, duration or time (`isZeroValue`). */
function isZeroScalar(v: UnsignedInt | Duration | Date): boolean {
  if (v instanceof UnsignedInt) return (v as unknown as { value: bigint }).value === 0n;
  if (v instanceof Duration) return v.seconds === 0n && v.nanos === 0;
  return v.getTime() === ZERO_TIME_MS;
}

/** `isZeroValue` of an object value: a container without items, an empty optional, a zero uint, duration or time, an empty plain map. */
function isZeroObject(v: object): boolean {
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  if (v instanceof Optional) return !v.hasValue();
  if (v instanceof UnsignedInt || v instanceof Duration || v instanceof Date) return isZeroScalar(v);
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.keys(v).length === 0;
}

/** The engine's `has()` macro object (macros.js createHasExpander). */
interface HasMacro {
  args: AstNode[];
  typeCheck(checker: unknown, macro: HasMacro, ctx: unknown): unknown;
  evaluate(ev: Evaluator, macro: HasMacro, ctx: unknown): unknown;
}

/**
 * `has(e.f)` for any operand `e` (the engine's macro accepts only chains of
 * field selections from an identifier; cel-go accepts `has(a[1].b)`): the
 * operand is checked and evaluated as an expression, then the field tested.
 */
function patchHas(macro: HasMacro): void {
  const [sel] = macro.args;
  if (sel?.op !== '.') return;
  const original = macro.typeCheck;
  let root = sel;
  while (root.op === '.' || root.op === '.?') root = (root.args as [AstNode])[0];
  const chainFromIdentifier = root.op === 'id';
  macro.typeCheck = (checker, m, ctx): unknown => {
    const chk = checker as { check(n: AstNode, c: unknown): unknown; getType(n: string): unknown };
    if (chainFromIdentifier) return original.call(macro, checker, m, ctx);
    chk.check((sel.args as [AstNode])[0], ctx);
    return chk.getType('bool');
  };
  if (chainFromIdentifier) return;
  macro.evaluate = (ev, _m, ctx): unknown => {
    const [operand, key] = sel.args as [AstNode, string];
    return hasField(ev.run(operand, ctx), key);
  };
}

function hasField(obj: unknown, key: string): boolean {
  if (obj instanceof Optional) return obj.hasValue() && hasField(obj.value(), key);
  if (obj instanceof Map) return obj.has(key);
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) return Object.prototype.hasOwnProperty.call(obj, key) || key in obj;
  throw new EvaluationError(`no such key: ${key}`);
}

/** Comprehension arguments as the engine's macros build them (macros.js). */
interface ComprehensionArgs {
  condition?: (accu: unknown) => boolean;
  kind?: string;
}

const chargeIteration = (): boolean => {
  charge(1);
  return true;
};

/** Operators cel-go charges as calls (runtimecost.go): binary ones by their operands (call-cost.ts operatorCost). */
const CHARGED_OPERATORS = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', '+', '-', '*', '/', '%']);

/** A checked node's handler (operators.js: `ast.handle`), called with the evaluated operands. */
type Handle = (a: unknown, b: unknown, c?: unknown, d?: unknown) => unknown;

/**
 * Adds runtime cost charging (and the RE2 replacements of engine methods) to
 * one checked node: calls and operators as cel-go charges them (a negative
 * number literal is a constant in cel-go's parser: its `-` is free).
 */
function instrumentNode(node: AstNode): void {
  const literal = literalEvaluator(node);
  if (literal) node.setMeta('evaluate', literal);
  if (isInternalCall(node)) return;
  overrideCall(node);
  if (isFoldedConstant(node)) return;
  if (node.op === 'comprehension') {
    const args = node.args as ComprehensionArgs;
    const cond = args.condition;
    args.condition = cond ? (accu: unknown): boolean => (charge(1), cond(accu)) : chargeIteration;
    return;
  }
  if ((node.op === 'rcall' || node.op === 'call') && !node.meta.macro && !node.meta.alternate) instrumentCall(node);
  else instrumentOperator(node);
}

/**
 * The keys the engine's map literal leaves out (`@marcbachmann/cel-js`
 * operators.js `safeFromEntries`: its maps are plain objects, and these keys
 * would set the prototype or hide the constructor it dispatches types on).
 * cel-go keeps them: `{"constructor": "x"}` is a map of one entry, and a
 * label, annotation or ConfigMap key may be any of them.
 */
const DROPPED_KEYS: ReadonlySet<unknown> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Our evaluation of a literal the engine's would get wrong: a map literal with
 * a key the engine leaves out or an optional entry (evaluateMapLiteral), a
 * list literal with an optional element (evaluateListLiteral); else undefined.
 */
function literalEvaluator(node: AstNode): ((ev: Evaluator, ast: AstNode, ctx: unknown) => unknown) | undefined {
  if (node.op === 'map') {
    const entries = node.args as unknown as [AstNode, AstNode][];
    return mayDropKeys(node) || entries.some(([, v]) => isOptionalWrapper(v)) ? evaluateMapLiteral : undefined;
  }
  if (node.op === 'list') return (node.args as unknown as AstNode[]).some(isOptionalWrapper) ? evaluateListLiteral : undefined;
  return undefined;
}

/** True unless every key of the map literal `node` is a string literal the engine keeps. */
function mayDropKeys(node: AstNode): boolean {
  const entries = node.args as unknown as [AstNode, AstNode][];
  return entries.some(([k]) => !(k.op === 'value' && typeof k.args === 'string' && !DROPPED_KEYS.has(k.args)));
}

/**
 * A map literal evaluated as the engine does (keys and values in order, a
 * repeated key's last value in its first place, as cel-go's map literal), but
 * as a Map when a key is one the engine's plain object would leave out
 * (DROPPED_KEYS): the engine reads Maps as maps, and `fromCel` turns them
 * into JSON with those keys as own properties. An optional entry (`{?k: v}`,
 * `Object{?f: v}`: structs.ts) is left out when its value is an empty
 * optional, else holds the optional's value (cel-go interpreter `evalMap`);
 * a value that is not an optional at all (a dyn) is an evaluation error, in
 * cel-go's words without the value. Our environment registers no async
 * function, so no key or value is a Promise.
 */
function evaluateMapLiteral(ev: Evaluator, ast: AstNode, ctx: unknown): unknown {
  const entries = ast.args as unknown as [AstNode, AstNode][];
  const pairs: [unknown, unknown][] = [];
  let keep = false;
  for (const [k, v] of entries) {
    const key = ev.run(k, ctx);
    const wrapped = optionalValue(v);
    const value = wrapped === undefined ? ev.run(v, ctx) : optionalEntry(ev.run(wrapped, ctx), 'entry');
    if (value === LEFT_OUT) continue;
    pairs.push([key, value]);
    if (DROPPED_KEYS.has(key)) keep = true;
  }
  if (keep) return new Map(pairs);
  const out: Record<string, unknown> = {};
  for (const [k, v] of pairs) out[k as string] = v;
  return out;
}

/** A list literal with optional elements (`[?e]`: structs.ts), evaluated in order; an empty optional's element left out (cel-go interpreter `evalList`). */
function evaluateListLiteral(ev: Evaluator, ast: AstNode, ctx: unknown): unknown[] {
  const out: unknown[] = [];
  for (const e of ast.args as unknown as AstNode[]) {
    const wrapped = optionalValue(e);
    const value = wrapped === undefined ? ev.run(e, ctx) : optionalEntry(ev.run(wrapped, ctx), 'element');
    if (value !== LEFT_OUT) out.push(value);
  }
  return out;
}

/** What `optionalEntry` answers for an empty optional: the entry is left out. */
const LEFT_OUT: unique symbol = Symbol('left out');

/** An optional entry's value: the optional's value, LEFT_OUT when it is empty; an evaluation error when `v` is not an optional (cel-go `invalidOptionalEntryInit` / `invalidOptionalElementInit`, without the value). */
function optionalEntry(v: unknown, what: 'entry' | 'element'): unknown {
  if (!(v instanceof Optional)) throw new EvaluationError(`cannot initialize optional ${what === 'entry' ? 'entry' : 'list element'} from non-optional value`);
  return v.hasValue() ? v.value() : LEFT_OUT;
}

/** True for a call of one of structs.ts's internal functions (never charged). */
function isInternalCall(node: AstNode): boolean {
  return node.op === 'call' && INTERNAL_FUNCTIONS.has((node.args as [string])[0]);
}

/** True for a call of one of structs.ts's optional-entry functions. */
function isOptionalWrapper(node: AstNode): boolean {
  return node.op === 'call' && OPTIONAL_FUNCTIONS.has((node.args as [string])[0]);
}

/** The wrapped value of an optional entry's node (`OPTIONAL_ENTRY(v)` -> v), else undefined. */
function optionalValue(node: AstNode): AstNode | undefined {
  return isOptionalWrapper(node) ? (node.args as [string, AstNode[]])[1][0] : undefined;
}

/** An operator: binary ones by their operands (call-cost.ts operatorCost), `!` and `-` one unit. */
function instrumentOperator(node: AstNode): void {
  if (node.op === '/' || node.op === '%' || node.op === '-_') checkIntOverflow(node);
  if (CHARGED_OPERATORS.has(node.op)) {
    const cost = operatorCostOf(node.op);
    wrapHandle(node, (h) => (l, r, a, e) => (charge(cost(l, r)), h(l, r, a, e)));
  } else if (node.op === '!_' || (node.op === '-_' && (node.args as AstNode).op !== 'value')) wrapHandle(node, (h) => (v, a, e) => (charge(1), h(v, a, e)));
}

const MIN_INT64 = -9223372036854775808n;

/** `f()`; an evaluation error it throws is placed at `node` (its line and column). */
function placed<T>(node: AstNode, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof EvaluationError ? e.withAst(node as never) : e;
  }
}

const overflow = (node: AstNode): Error => (celError('integer overflow') as EvaluationError).withAst(node as never);

/**
 * The int overflows the engine lets through: `-x` of the least int64 and
 * `x / -1`, `x % -1` of it (cel-go common/types/overflow.go
 * negateInt64Checked, divideInt64Checked, moduloInt64Checked: "integer
 * overflow"; the engine returned 2^63).
 */
function checkIntOverflow(node: AstNode): void {
  if (node.op === '-_') {
    wrapHandle(node, (h) => (v, a, e) => {
      if (v === MIN_INT64) throw overflow(node);
      return h(v, a, e);
    });
    return;
  }
  wrapHandle(node, (h) => (l, r, a, e) => {
    if (l === MIN_INT64 && r === -1n) throw overflow(node);
    return h(l, r, a, e);
  });
}

/** Replaces the node's handler (set by the type check) with `wrap(handler)`. */
function wrapHandle(node: AstNode, wrap: (h: Handle) => Handle): void {
  const n = node as AstNode & { handle?: Handle };
  if (typeof n.handle === 'function') n.handle = wrap(n.handle);
}

/**
 * A function call, charged before it runs what Kubernetes charges it
 * (call-cost.ts callCost, with the evaluated receiver and arguments);
 * replaced methods (RE2 `matches`, Go `split`/`join`, ...) charge the same
 * inside, and fall back to the engine's handler (charged here) for other
 * receivers.
 */
function instrumentCall(node: AstNode): void {
  const [name, receiver] = node.args as [string, AstNode | AstNode[]];
  const impl = node.op === 'rcall' ? replacedMethod(name, node.meta.evaluate) : undefined;
  if (impl) node.setMeta('evaluate', impl);
  // a namespace receiver (`sets.contains(a, b)`): cel-go's function `sets.contains` of (a, b)
  const namespaced = node.op === 'rcall' && !Array.isArray(receiver) && receiver.op === 'id' && receiver.meta.alternate !== undefined;
  const key = namespaced ? `${String((receiver as AstNode).args)}.${name}` : name;
  const from = namespaced ? 1 : 0;
  const cost = callCostOf(key);
  wrapHandle(node, (h) => (values, a, b) => {
    charge(cost(values as unknown[], from));
    const chars = longestString(values as unknown[]);
    if (chars > LARGE_INPUT_CHARS) beforeLargeCall(chars, LIBRARY_NS_PER_CHAR);
    return h(values, a, b);
  });
}

/** Wraps the handler of a global call whose engine overload differs from cel-go's for some arguments (overriddenCall). */
function overrideCall(node: AstNode): void {
  const own = node.op === 'call' ? overriddenCall((node.args as [string])[0]) : undefined;
  if (own) wrapHandle(node, (h) => (values, a, b) => placed(node, () => own(values as unknown[])) ?? h(values, a, b));
}

/**
 * A global function whose engine overload for some argument differs from
 * cel-go's: `string(double)` (cel-go's `%g`, values.ts goFloatString, where
 * the engine has JavaScript's String()). Returns the result for those
 * arguments, undefined for the others (the engine's handler runs).
 */
function overriddenCall(name: string): ((values: unknown[]) => unknown) | undefined {
  if (name === 'string') return (values) => (values.length === 1 && typeof values[0] === 'number' ? goFloatString(values[0]) : undefined);
  if (name === 'int' || name === 'uint') return (values) => (values.length === 1 && typeof values[0] === 'number' ? checkDoubleRange(values[0], name) : undefined);
  return undefined;
}

/** 2^63 and 2^64 as doubles. */
const TWO_63 = 9223372036854775808;
const TWO_64 = 18446744073709551616;

/**
 * `int(double)` / `uint(double)` out of range (cel-go types.Double
 * ConvertToType, doubleToInt64Checked / doubleToUint64Checked: NaN, an
 * infinity, int outside (-2^63, 2^63), uint below 0 or from 2^64): an error,
 * where the engine made an int past int64 (`int(9.3e18)`) and `uint(-0.5)` 0.
 * Undefined when in range (the engine converts).
 */
function checkDoubleRange(v: number, to: 'int' | 'uint'): undefined {
  const inRange = to === 'int' ? v > -TWO_63 && v < TWO_63 : v >= 0 && v < TWO_64;
  if (!inRange) throw celError(to === 'int' ? 'int() type error: integer overflow' : 'uint() type error: unsigned integer overflow');
  return undefined;
}

/** The length of the longest string among a call's receiver and arguments (what an uninterruptible call may walk). */
function longestString(values: readonly unknown[]): number {
  let n = 0;
  for (const v of values) if (typeof v === 'string' && v.length > n) n = v.length;
  return n;
}

/** The spent units of the evaluation in progress (for tests and the trace). */
export function costSpent(): number {
  return spent();
}

/**
 * The values of `variables.<name>` for one request: each evaluated once, on
 * first read (Kubernetes' lazy composition variables), errors cached too.
 */
export class VariableStore {
  // made at the first read: most stores (a MAP's mutations, policies without `variables`) are never read
  private values: Map<string, { ok: true; value: unknown } | { ok: false; error: ExprError }> | undefined;
  private evaluating: Set<string> | undefined;

  constructor(
    private readonly programs: ReadonlyMap<string, CompiledExpression>,
    private readonly vars: Record<string, unknown>,
  ) {}

  /** The engine value of `variables.<name>`; throws the variable's ExprError. */
  get(name: string): unknown {
    const values = (this.values ??= new Map());
    let r = values.get(name);
    if (r === undefined) {
      const p = this.programs.get(name);
      const evaluating = (this.evaluating ??= new Set());
      if (p === undefined || evaluating.has(name)) throw new ExprError(`variables.${name} cannot be evaluated here`);
      evaluating.add(name);
      try {
        r = { ok: true, value: p.evaluateNative({ ...this.vars, variables: this }) };
      } catch (e) {
        r = { ok: false, error: e instanceof ExprError ? e : new ExprError(String(e)) };
      } finally {
        evaluating.delete(name);
      }
      values.set(name, r);
    }
    if (!r.ok) throw r.error;
    return r.value;
  }
}

/** Compiled `variables` of a policy (ValidatingAdmissionPolicy `spec.variables`). */
export interface CompiledVariables {
  /** Declarations to pass as `compositionVariables` to the policy's other expressions. */
  readonly declarations: readonly CompositionVariable[];
  /** A per-request store to pass as `variables` to `evaluate`: lazy, once per name. */
  bind(vars: Record<string, unknown>): VariableStore;
}

/**
 * Compiles `[{name, expression}]` in order: each expression sees the
 * variables declared before it (`variables.<earlier>`), as the API server's
 * composition environment. `options.path` is the path of the list; each
 * error's path is `<path>[i].expression`. Throws ExprError.
 */
export function compileVariables(defs: readonly { name: string; expression: string }[], options: Omit<CompileExpressionOptions, 'compositionVariables' | 'expectedType'> = {}): CompiledVariables {
  const declarations: CompositionVariable[] = [];
  const programs = new Map<string, CompiledExpression>();
  defs.forEach((d, i) => {
    const path = `${options.path ?? 'variables'}[${i}].expression`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name)) throw new ExprError(`variable name '${d.name}' is not a CEL identifier`, `${options.path ?? 'variables'}[${i}].name`);
    if (programs.has(d.name)) throw new ExprError(`duplicate variable name '${d.name}'`, `${options.path ?? 'variables'}[${i}].name`);
    const p = compileExpression(d.expression, { ...options, path, compositionVariables: [...declarations] });
    programs.set(d.name, p);
    declarations.push({ name: d.name, type: declarableType(p.type), estimate: p.estimate });
  });
  return { declarations, bind: (vars) => new VariableStore(programs, vars) };
}

/** A checked type usable as a field type of `variables` (the engine's type names), else `dyn`. */
function declarableType(type: string): string {
  return /^(bool|int|uint|double|string|bytes|list<(bool|int|uint|double|string|dyn)>|map<string, (bool|int|uint|double|string|dyn)>)$/.test(type) ? type : 'dyn';
}

/** Shortest variable string value that is redacted from error messages. */
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
      if (isRedactable(v, message, source)) found.add(v);
    } else if (unseenContainer(v, seen)) {
      for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push(x);
    }
  }
  let out = message;
  for (const v of [...found].sort((a, b) => b.length - a.length)) out = out.split(v).join('<redacted>');
  return out;
}

/** A string value that the message shows and the expression's own source does not (long enough to mean something). */
function isRedactable(v: string, message: string, source: string): boolean {
  return v.length >= MIN_REDACTED_LENGTH && message.includes(v) && !source.includes(v);
}

/** True (and recorded in `seen`) for a map or list of the variables not walked yet; a VariableStore is not walked. */
function unseenContainer(v: unknown, seen: Set<object>): v is object {
  if (typeof v !== 'object' || v === null || seen.has(v) || v instanceof VariableStore) return false;
  seen.add(v);
  return true;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A read-only Map view of a plain JSON object, as the engine reads maps:
 * values are converted when an expression reads them (and kept), so a rule
 * that reads `object.spec.containers` never converts `object.data`. Its
 * `constructor` is Map, so the engine types it as a map. `raw` is the object.
 */
export class JsonMap extends Map<string, unknown> {
  constructor(readonly raw: Record<string, unknown>) {
    super();
  }

  /**
   * A field's CEL value; maps and lists are converted once and kept in the
   * Map's own storage (no second Map per JsonMap). Every read below is noted
   * by the evaluation's ReadRecorder, when one records (src/expr/memo.ts).
   */
  override get(key: string): unknown {
    const v = this.field(key);
    recording?.get(this, this.raw, key, v);
    return v;
  }

  private field(key: string): unknown {
    if (typeof key !== 'string' || !hasOwn.call(this.raw, key)) return undefined;
    const v = this.raw[key];
    if (typeof v !== 'object' || v === null) return toCelValue(v);
    let c = super.get(key);
    if (c === undefined) {
      c = toCelValue(v);
      super.set(key, c);
    }
    return c;
  }

  override has(key: string): boolean {
    const present = typeof key === 'string' && hasOwn.call(this.raw, key);
    recording?.has(this, key, present);
    return present;
  }

  override get size(): number {
    const n = Object.keys(this.raw).length;
    recording?.size(this, n);
    return n;
  }

  override entries(): MapIterator<[string, unknown]> {
    return new JsonMapEntries(this) as unknown as MapIterator<[string, unknown]>;
  }

  override keys(): MapIterator<string> {
    return this.ownKeys()[Symbol.iterator]() as MapIterator<string>;
  }

  override *values(): MapIterator<unknown> {
    for (const k of this.ownKeys()) yield this.get(k);
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(cb: (value: unknown, key: string, map: Map<string, unknown>) => void, thisArg?: unknown): void {
    for (const k of this.ownKeys()) cb.call(thisArg, this.get(k), k, this);
  }

  /** `Object.keys` of the JSON, all of them read (noted by the recorder). */
  ownKeys(): string[] {
    const keys = Object.keys(this.raw);
    recording?.keys(this, keys);
    return keys;
  }

  /** The first key (undefined: none), read alone (noted by the recorder). */
  firstKey(): string | undefined {
    const k = firstOwnKey(this.raw);
    recording?.firstKey(this, k);
    return k;
  }
}
Object.defineProperty(JsonMap.prototype, 'constructor', { value: Map });

const ENTRIES_DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * `JsonMap.entries()`: `[key, value]` pairs in `Object.keys` order, values
 * converted on read. The engine types a dyn map by its first entry
 * (`coll.entries().next()`, evaluator.js `#firstMapElement`) many times per
 * evaluation: the first entry is found without listing every key (a generator
 * over `Object.keys` cost an array of all keys per call), the keys are listed
 * only when iteration goes on.
 */
class JsonMapEntries implements IterableIterator<[string, unknown]> {
  private keys: string[] | undefined;
  private index = 0;

  constructor(private readonly map: JsonMap) {}

  next(): IteratorResult<[string, unknown], undefined> {
    const i = this.index++;
    const k = i === 0 ? this.map.firstKey() : (this.keys ??= this.map.ownKeys())[i];
    return k === undefined ? ENTRIES_DONE : { value: [k, this.map.get(k)], done: false };
  }

  [Symbol.iterator](): JsonMapEntries {
    return this;
  }
}

/**
 * Converts a plain JSON value to the CEL value Kubernetes would see: integral
 * numbers to `int` (bigint), objects to (lazy) maps, arrays to lists (one
 * level at a time). Throws ExprError for values JSON cannot hold.
 */
export function toCelValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? BigInt(v) : v;
    case 'string':
    case 'boolean':
    case 'bigint':
      return v;
    case 'object':
      return objectToCel(v);
    default:
      throw new ExprError(`unsupported variable value of type ${typeof v}`);
  }
}

/** A list (converted one level), a CEL value as it is, or a JSON object as a lazy JsonMap. */
function objectToCel(v: object): unknown {
  // a plain JSON object (the common case) is none of the kinds below (their prototypes differ)
  if (Object.getPrototypeOf(v) === Object.prototype) return new JsonMap(v as Record<string, unknown>);
  if (Array.isArray(v)) return v.map(toCelValue);
  if (v instanceof Map || v instanceof Optional || v instanceof UnsignedInt || v instanceof Uint8Array || v instanceof Date) return v;
  return new JsonMap(v as Record<string, unknown>);
}

/** Converts a CEL value back to plain JSON: int/uint to number, lists to arrays, maps to objects, optionals to their value (or null). */
export function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  return objectFromCel(v);
}

/**
 * `fromCel` of an object: a list, a plain object (the engine's map literals),
 * a JsonMap's own JSON, uint, Map, optional; anything else as it is. The
 * kinds exclude each other (their prototypes differ), so the most frequent
 * are tested first.
 */
function objectFromCel(v: object): unknown {
  if (Array.isArray(v)) return v.map(fromCel);
  if (Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out as JsonObject, k, fromCel((v as Record<string, unknown>)[k]) as JsonValue);
    return out;
  }
  if (v instanceof JsonMap) return v.raw;
  if (v instanceof UnsignedInt) return Number((v as unknown as { value: bigint }).value);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    v.forEach((x: unknown, k: unknown) => {
      // an own `__proto__` key stays a key (setOwn), never the result's prototype
      setOwn(out as JsonObject, String(fromCel(k)), fromCel(x) as JsonValue);
    });
    return out;
  }
  if (v instanceof Optional) return v.hasValue() ? fromCel(v.value()) : null;
  return v;
}

/** An evaluation error raised by a library function (no object values in `message`). */
export function celError(message: string): Error {
  return new EvaluationError(message);
}

// Whoever loads this module (an import, or engine.ts on a first compile), engine.ts then calls it.
registerCelEngine({ compileExpression, compileVariables });
