/**
 * Evaluation error messages that never quote a runtime value (issue 13;
 * BRIEF security: never echo object contents in logs, errors or messages).
 *
 * The engine's messages (cel-js functions.js, registry.js, operators.js) and
 * cel-go's quote the value that failed: `bool() conversion error: invalid
 * string value "..."`, `Invalid duration string: ...`, `No such key: <key>`
 * for a computed key, `integer overflow: <n>`, `index out of bounds, index
 * <i> >= size <n>`. A value read from a Secret and transformed first
 * (`lowerAscii()`, `substring`, `+`) cannot be found by searching for the
 * object's strings afterwards, so the message is rebuilt here from the
 * error's code, keeping what the policy author wrote and the checker knows:
 * the function or overload, the types, a field name selected in the source,
 * and the position in the expression. Texts from our own libraries
 * (src/expr/*.ts `celError`) are written value-free at their source.
 */
import type { AstNode } from './cel.js';

/** What the engine's CelError carries (cel-js errors.js). */
interface EngineError {
  code?: string;
  summary?: string;
  message?: string;
  name?: string;
  node?: AstNode;
  range?: { start: number; end: number };
}

/** An evaluation failure described without runtime values. */
export interface EvaluationReason {
  /** Value-free text in cel-go's words. */
  message: string;
  /** Character offset in the evaluated text, when the engine knows the node. */
  offset?: number;
}

/** Codes whose engine text quotes the value: their text without it (cel-go's words where it has them). */
const FIXED_TEXT: Record<string, string> = {
  bool_conversion_error: 'bool() conversion error: invalid string value',
  invalid_duration: 'duration() conversion error: invalid duration string',
  invalid_regular_expression: 'invalid regular expression',
  index_out_of_bounds: 'index out of bounds',
};

/** V8's own RangeError texts: fixed, value-free. */
const ENGINE_LIMITS = /^(Maximum call stack size exceeded|Invalid (string|array|typed array) length.*)$/;

/**
 * `no such key`: the key is kept only when the policy's source spelled it (a
 * field selection `a.b`, or an index by a literal `a['b']`), never when it was
 * computed from the object (`a[object.data.x.lowerAscii()]`).
 */
function noSuchKey(summary: string, node: AstNode | undefined): string {
  return node !== undefined && keySpelled(node) ? summary.replace(/^No such key/, 'no such key') : 'no such key';
}

/** Whether the key `node` selects is written in the source: `a.b`, `a.?b`, `a['b']`, `a[?'b']`. */
function keySpelled(node: AstNode): boolean {
  if (node.op === '.' || node.op === '.?') return true;
  return (node.op === '[]' || node.op === '[?]') && (node.args as AstNode[])[1]?.op === 'value';
}

/** The engine's text for `err` (first line), value-free by code. */
function engineText(err: EngineError): string {
  const summary = (err.summary ?? err.message ?? '').split('\n')[0];
  const code = err.code ?? '';
  const fixed = FIXED_TEXT[code];
  if (fixed !== undefined) return fixed;
  if (code === 'no_such_key') return noSuchKey(summary, err.node);
  if (code === 'numeric_overflow') return summary.replace(/: -?\d+$/, '');
  if (code === 'list_item_type_mismatch') return summary.replace(/ with index '[^']*'/, '');
  return summary.replace(/^No such key/, 'no such key').replace(/^Unknown variable/, 'undeclared reference');
}

/**
 * The value-free reason and source offset of an evaluation error `e`
 * thrown by the engine or a library function. A JavaScript error that is not
 * the engine's (a bug, a host limit) keeps only its class name, or V8's fixed
 * text for stack and length limits. Never throws.
 */
export function evaluationReason(e: unknown): EvaluationReason {
  if (!(e instanceof Error)) return { message: 'evaluation failed' };
  const err = e as EngineError;
  if (err.code === undefined) {
    const text = err.message?.split('\n')[0] ?? '';
    return { message: ENGINE_LIMITS.test(text) ? text : `evaluation failed (${e.name})` };
  }
  return { message: engineText(err), offset: err.range?.start ?? err.node?.start };
}
