/**
 * `{{ <CEL> }}` string templates over a JSON tree (the sidecar transformer's
 * template values, docs/sidecar.md): every string value holding `{{ }}` is
 * compiled once (src/expr/cel.ts) and rendered per object. A string that is
 * exactly one expression keeps the result's JSON type; mixed text splices the
 * values in.
 * Keys are never templated. Errors are TemplateError; the caller maps them to
 * its own error kinds (a config error at compile time, a transform error at
 * render time).
 */
import { isObject, joinPath, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import type { CompiledExpression, CompileExpressionOptions } from './cel.js';
import { compileExpression } from './engine.js';

/** A template that does not compile (`path`: the config path of the string) or a value that fails to render. */
export class TemplateError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** One compiled string template: literal parts and expressions, alternating. */
export class StringTemplate {
  constructor(
    readonly parts: readonly (string | CompiledExpression)[],
    /** The whole string is one expression: its value keeps its JSON type. */
    readonly whole: boolean,
    readonly path: string,
  ) {}
}

/** A compiled template: the config's JSON with strings that hold `{{ }}` replaced by StringTemplates. */
export type Template = JsonValue | StringTemplate | Template[] | { [k: string]: Template };

const EXPR = /\{\{([\s\S]*?)\}\}/g;

/**
 * The environment of template expressions: the declared top-level variables,
 * and `variables.<name>` of the policy (src/expr/cel.ts compileVariables)
 * when it declares any.
 */
export type TemplateScope = Pick<CompileExpressionOptions, 'variables' | 'compositionVariables'>;

function compileString(s: string, path: string, scope: TemplateScope): string | StringTemplate {
  if (!s.includes('{{')) return s;
  const parts: (string | CompiledExpression)[] = [];
  let last = 0;
  for (const m of s.matchAll(EXPR)) {
    if (m.index > last) parts.push(s.slice(last, m.index));
    try {
      parts.push(compileExpression(m[1].trim(), scope));
    } catch (e) {
      throw Object.assign(new TemplateError(`template value ${JSON.stringify(m[0])}: ${(e as Error).message}`, path), { cause: e });
    }
    last = m.index + m[0].length;
  }
  if (s.slice(last).includes('{{')) throw new TemplateError(`template value: unclosed "{{" in ${JSON.stringify(s)}`, path);
  if (last < s.length) parts.push(s.slice(last));
  return new StringTemplate(parts, parts.length === 1 && typeof parts[0] !== 'string', path);
}

/**
 * Compiles every `{{ <CEL> }}` in the string values of `v` (keys stay
 * literal) with `scope` declared (a list: top-level variable names; or a
 * TemplateScope with the policy's `variables.<name>`); `path` is `v`'s config path (for
 * messages). Throws TemplateError (message and path) on a bad expression or an
 * unclosed `{{`.
 */
export function compileTemplate(v: JsonValue, path: string, variables: readonly string[] | TemplateScope): Template {
  const scope: TemplateScope = isScope(variables) ? variables : { variables };
  if (typeof v === 'string') return compileString(v, path, scope);
  if (Array.isArray(v)) return v.map((el, i) => compileTemplate(el, joinPath(path, i), scope));
  if (isObject(v)) {
    const out: { [k: string]: Template } = {};
    for (const [k, el] of Object.entries(v)) setOwn(out as JsonObject, k, compileTemplate(el, joinPath(path, k), scope) as JsonValue);
    return out;
  }
  return v;
}

function isScope(v: readonly string[] | TemplateScope): v is TemplateScope {
  return !Array.isArray(v);
}

/** A CEL result as JSON: bigints that fit become numbers, Maps become objects. */
function toJson(v: unknown, path: string): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map((x) => toJson(x, path));
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), toJson(x, path)]));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x, path)]));
  throw new TemplateError(`template value at ${path}: unsupported result type ${typeof v}`, path);
}

function evaluate(e: CompiledExpression, vars: Record<string, unknown>, path: string): JsonValue {
  try {
    return toJson(e.evaluate(vars), path);
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`template value {{ ${e.source} }} at ${path}: ${(err as Error).message}`, path);
  }
}

/** One expression of a template, in render order, with the config path of its string. */
export interface TemplateExpression {
  readonly expression: CompiledExpression;
  readonly path: string;
}

/**
 * The expressions of `t` in the order renderTemplate evaluates them (tree
 * order: list items, map entries in key order, a string's parts left to
 * right). Walks the template: callers that render it often keep the list.
 */
export function templateExpressions(t: Template, out: TemplateExpression[] = []): TemplateExpression[] {
  if (t instanceof StringTemplate) {
    for (const p of t.parts) if (typeof p !== 'string') out.push({ expression: p, path: t.path });
  } else if (Array.isArray(t)) {
    for (const el of t) templateExpressions(el, out);
  } else if (typeof t === 'object' && t !== null) {
    for (const el of Object.values(t)) templateExpressions(el, out);
  }
  return out;
}

/**
 * The values of `expressions` (from templateExpressions) over `vars`, in
 * order: the `values` renderTemplate appends. Throws the TemplateError of the
 * first expression that fails or yields a non-JSON value (later ones are not
 * evaluated), as renderTemplate.
 */
export function evaluateTemplateExpressions(expressions: readonly TemplateExpression[], vars: Record<string, unknown>): JsonValue[] {
  const values: JsonValue[] = [];
  for (const { expression, path } of expressions) values.push(evaluate(expression, vars, path));
  return values;
}

/**
 * The template with `values` (its expressions' values, in the order of
 * templateExpressions) in place of its expressions: a string that is one
 * whole expression takes the value with its JSON type; in mixed text values
 * are spliced in (non-strings as JSON). Everything is a new object. Never
 * throws for values of the template's own expressions.
 */
export function fillTemplate(t: Template, values: readonly JsonValue[]): JsonValue {
  return fill(t, { values, next: 0 });
}

function fill(t: Template, at: { values: readonly JsonValue[]; next: number }): JsonValue {
  if (t instanceof StringTemplate) {
    if (t.whole) return at.values[at.next++] as JsonValue;
    let out = '';
    for (const p of t.parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = at.values[at.next++] as JsonValue;
        out += typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    return out;
  }
  if (Array.isArray(t)) return t.map((el) => fill(el, at));
  if (typeof t === 'object' && t !== null) {
    const out: JsonObject = {};
    for (const [k, el] of Object.entries(t)) setOwn(out as JsonObject, k, fill(el, at));
    return out;
  }
  return t;
}

/**
 * The template with every expression evaluated over `vars` (plain JSON
 * values by variable name). Each value is also appended to `values` in
 * template order: the rendered result is a function of that list alone (the
 * rest of the template is constant), so callers may key a cache by it. A
 * string that is one whole expression keeps the value's JSON type; otherwise
 * values are spliced into the string (non-strings as JSON). Throws
 * TemplateError (naming the expression and its path, never a value) when an
 * expression fails or yields a non-JSON value. The same as
 * evaluateTemplateExpressions, then fillTemplate.
 */
export function renderTemplate(t: Template, vars: Record<string, unknown>, values: JsonValue[]): JsonValue {
  const own = evaluateTemplateExpressions(templateExpressions(t), vars);
  for (const v of own) values.push(v);
  return fillTemplate(t, own);
}
