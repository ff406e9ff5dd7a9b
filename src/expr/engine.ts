/**
 * The CEL engine's front for code outside src/expr: `compileExpression` and
 * `compileVariables` of cel.ts, which loads on the first call. cel.ts is the
 * largest part of the CLI (with @marcbachmann/cel-js: ~30 modules, ~40 ms and
 * ~6 MiB at start) and most `kube-postrender run` policy sets (kustomize
 * transforms, images, labels, patches) hold no expression, so a Helm
 * post-render that needs no CEL never loads it (docs/performance.md,
 * "Session 7"). A policy with expressions is still compiled completely at
 * load: the first expression loads the engine, synchronously.
 *
 * The load is `require()` of the ES module cel.js (Node >= 22.12, package.json
 * engines), which shares Node's module cache with `import`: one instance of
 * cel.ts whichever loads it first. cel.ts registers itself here when it is
 * evaluated (`registerCelEngine`), so a program that imported it (the server,
 * the other commands, tests) never takes the `require` path.
 *
 * `ExprError` and `KUBERNETES_VARIABLES` live here, not in cel.ts, so that
 * their users need not load the engine (cel.ts re-exports both).
 */
import { createRequire } from 'node:module';
import type { compileExpression as CompileExpression, compileVariables as CompileVariables } from './cel.js';

/** A CEL compile or evaluation error; `path` is where the expression sits in its policy, when known. */
export class ExprError extends Error {
  /**
   * `message`: the reason (compile errors include `line:column`); `path`: JSON
   * path of the expression in its policy ('' when unknown); `position`:
   * 1-based line and column in the expression, when known.
   */
  constructor(
    message: string,
    readonly path = '',
    readonly position?: { line: number; column: number },
    /** Set when the static cost estimate refused the expression (src/errors.ts). */
    readonly code?: 'ERR_POLICY_EXPRESSION_COST',
  ) {
    super(message);
    this.name = 'ExprError';
  }
}

/** The variables of Kubernetes admission CEL without `params`, `variables` and `authorizer`. */
export const KUBERNETES_VARIABLES: readonly string[] = ['object', 'oldObject', 'request', 'namespaceObject'];

/** What code outside src/expr calls in cel.ts. */
export interface CelEngine {
  compileExpression: typeof CompileExpression;
  compileVariables: typeof CompileVariables;
}

let engine: CelEngine | undefined;

/** Called by cel.ts as it is evaluated: from then on `celEngine()` is it. */
export function registerCelEngine(e: CelEngine): void {
  engine = e;
}

/** True once cel.ts is loaded (tests: what a command loaded). */
export function celEngineLoaded(): boolean {
  return engine !== undefined;
}

/** cel.ts, loaded now if it is not yet. Throws only if the module cannot load (a broken install). */
export function celEngine(): CelEngine {
  engine ??= createRequire(import.meta.url)('./cel.js') as CelEngine;
  return engine;
}

/** cel.ts `compileExpression` (same contract: a CompiledExpression, or ExprError on a compile error); loads the engine on the first call. */
export const compileExpression: typeof CompileExpression = (source, options) => celEngine().compileExpression(source, options);

/** cel.ts `compileVariables` (same contract); loads the engine on the first call. */
export const compileVariables: typeof CompileVariables = (defs, options) => celEngine().compileVariables(defs, options);
