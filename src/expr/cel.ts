// Placeholder: CEL evaluation lands here (see the policy-enforcement helper task).

/** A CEL compile or evaluation error; `path` is where the expression sits in its policy, when known. */
export class ExprError extends Error {
  constructor(message: string, readonly path = '') {
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

/** Compiles a CEL expression once (at policy load). Throws ExprError. */
export function compileExpression(source: string): CompiledExpression {
  throw new ExprError(`CEL is not available yet: ${source}`);
}
