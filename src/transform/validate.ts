/**
 * The `validate` transformer: a CEL rule, as a ValidatingAdmissionPolicy
 * `validations[]` entry (expression, message, messageExpression) plus an
 * action (Deny or Warn, as its `validationActions`). It runs where it sits in
 * the chain, on the object as transformed so far, reports a Finding when the
 * expression is false and never changes the object.
 *
 * Semantics from https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/ :
 * - the expression must evaluate to a bool; an error or a non-bool is a
 *   transformer error, so the policy's failurePolicy applies;
 * - without `message` or `messageExpression`, the message is
 *   `failed expression: <expression>`;
 * - a `messageExpression` that fails, is not a string, is blank or holds a
 *   line break falls back to `message` (as the API server, which logs it).
 */
import type { CompiledExpression } from '../expr/cel.js';
import { compileExpression, ExprError } from '../expr/engine.js';
import { buildExprVars, describeValue, scopeOptions, shareConversions, type ExprScope } from '../expr/vars.js';
import type { KubeObject } from '../kube/object.js';
import { ConfigError, TransformError, type Transformer, type TransformerFactory, type TransformContext } from './types.js';

/** A `validate` entry as written in a policy. */
export interface ValidateConfig {
  /** CEL; must evaluate to a bool. true: the object passes. */
  expression: string;
  /** Fixed message when the expression is false. */
  message?: string;
  /** CEL giving the message (a string); wins over `message` when it evaluates cleanly. */
  messageExpression?: string;
  /** Deny (default): the object is refused; Warn: a warning only. */
  action?: 'Deny' | 'Warn';
}

/** Each field's check, in the order they are checked: the ConfigError reason when its value is wrong. */
const FIELD_CHECKS: Readonly<Record<keyof ValidateConfig, (v: unknown) => string | undefined>> = {
  expression: (v) => (typeof v !== 'string' || v.trim() === '' ? 'must be a non-empty CEL expression' : undefined),
  message: optionalString,
  messageExpression: optionalString,
  action: (v) => (v !== undefined && v !== 'Deny' && v !== 'Warn' ? 'must be one of "Deny", "Warn"' : undefined),
};

function optionalString(v: unknown): string | undefined {
  return v !== undefined && typeof v !== 'string' ? 'must be a string' : undefined;
}

/** Parses and checks a `validate` config. Throws ConfigError with a path relative to the config. */
export function parseValidateConfig(config: unknown): ValidateConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ConfigError('must be an object with an expression');
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!Object.prototype.hasOwnProperty.call(FIELD_CHECKS, k)) throw new ConfigError('unknown field', k);
  for (const [k, check] of Object.entries(FIELD_CHECKS)) {
    const reason = check(c[k]);
    if (reason !== undefined) throw new ConfigError(reason, k);
  }
  return c as unknown as ValidateConfig;
}

function compileAt(source: string, field: string, expectedType: 'bool' | 'string', scope?: ExprScope): CompiledExpression {
  try {
    return compileExpression(source, { path: field, expectedType, ...scopeOptions(scope) });
  } catch (e) {
    throw Object.assign(new ConfigError(e instanceof Error ? e.message : String(e), field), { cause: e });
  }
}

/** The message of a failed rule without a (clean) messageExpression: message, else `failed expression: <expression>`. */
function fixedMessage(cfg: ValidateConfig): string {
  return cfg.message !== undefined && cfg.message.trim() !== '' ? cfg.message : `failed expression: ${cfg.expression.trim()}`;
}

/** The message of a failed rule: messageExpression when clean, else `fallback` (fixedMessage). */
function failureMessage(fallback: string, messageProgram: CompiledExpression | undefined, vars: Record<string, unknown>): string {
  if (!messageProgram) return fallback;
  try {
    const m = messageProgram.evaluate(vars);
    // includes, not /[\r\n]/.test: the same answer without a RegExp call
    return typeof m === 'string' && m.trim() !== '' && !m.includes('\n') && !m.includes('\r') ? m : fallback;
  } catch {
    return fallback;
  }
}

/** The variables of the last object a validate rule saw, in its evaluation context; cleared once that evaluation (a synchronous job) is over. */
let kept: { ctx: TransformContext; obj: KubeObject; vars: Record<string, unknown> } | undefined;

/**
 * The CEL variables of `obj` in `ctx`, built once for the validate rules that
 * see the same object in one evaluation (most chains hold several rules, and
 * transformers return their input when they change nothing) and marked with
 * `shareConversions`, so that the object is converted to CEL values once for
 * all their expressions and messages. Neither changes: the evaluation context
 * is read-only and transformers never mutate their input. One slot, not a
 * WeakMap by context (its entries, one per review, cost the garbage collector
 * more than the sharing saves a one-rule review); a microtask empties it, so
 * no object outlives its evaluation here.
 */
function exprVarsOf(obj: KubeObject, ctx: TransformContext): Record<string, unknown> {
  if (kept !== undefined && kept.ctx === ctx) {
    if (kept.obj === obj) return kept.vars;
    if (objectOnly(ctx)) {
      // At admission only `object` depends on the object (a later rule of the evaluation sees a changed one): the rest, and the conversions of it, are kept.
      kept.vars.object = obj;
      kept.obj = obj;
      return kept.vars;
    }
  }
  const vars = shareConversions(buildExprVars(obj, ctx));
  if (kept === undefined) queueMicrotask(release);
  kept = { ctx, obj, vars };
  return vars;
}

/**
 * True when, of the variables `buildExprVars` makes in `ctx`, only `object`
 * depends on the object: at admission (`request` is the request's own, where
 * render makes one from the object's name and kind) without policy variables
 * (`exprVars`, added over the four by name).
 */
function objectOnly(ctx: TransformContext): boolean {
  return ctx.request !== undefined && ctx.exprVars === undefined;
}

function release(): void {
  kept = undefined;
}

/**
 * Factory of the `validate` transformer (type `validate`). Compiles the
 * expression and messageExpression once; throws ConfigError (path
 * `expression`/`messageExpression` with line:column for CEL errors).
 * `apply` returns its input object (same reference) and calls
 * `ctx.report({action, rule: name, message})` when the expression is false;
 * it throws TransformError when the expression fails or is not a bool, or
 * when the evaluation bound is exceeded.
 */
export const validateTransformer: TransformerFactory = (config, opts): Transformer => {
  const cfg = parseValidateConfig(config);
  const program = compileAt(cfg.expression, 'expression', 'bool', opts.exprScope);
  const messageProgram = cfg.messageExpression !== undefined ? compileAt(cfg.messageExpression, 'messageExpression', 'string', opts.exprScope) : undefined;
  const action = cfg.action ?? 'Deny';
  const fallback = fixedMessage(cfg);
  return {
    type: 'validate',
    name: opts.name,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject {
      const vars = exprVarsOf(obj, ctx);
      let ok: unknown;
      try {
        ok = program.evaluate(vars);
      } catch (e) {
        throw new TransformError(`expression failed: ${e instanceof ExprError ? e.message : String(e)}`);
      }
      if (typeof ok !== 'boolean') throw new TransformError(`expression must evaluate to a bool, got ${describeValue(ok)}`);
      if (!ok) ctx.report({ action, rule: opts.name, message: failureMessage(fallback, messageProgram, vars) });
      return obj;
    },
  };
};
