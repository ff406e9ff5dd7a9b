/**
 * kube-postrender SDK: the Go SDK's `PostRenderer.Run(renderedManifests)` in
 * TypeScript, plus policy loading, the admission `review` function and the
 * Transformer interface so teams can register their own transformer types.
 *
 * ```ts
 * import { createPostRenderer, loadPolicies } from 'kube-postrender';
 * const renderer = createPostRenderer(loadPolicies(['policy.yaml']).set);
 * const out = await renderer.run(manifests);
 * ```
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderManifests, type RenderOptions } from './policy/render.js';
import { compilePolicyText, loadPolicies, type LoadOptions } from './policy/load.js';
import { createPolicySet } from './policy/compile.js';
import { builtinRegistry } from './transform/registry.js';
import type { PolicySet } from './policy/types.js';

export type { PolicySet, EvaluationInput, EvaluationResult, Denial, EvaluationError } from './policy/types.js';
export type { Transformer, TransformerFactory, TransformContext, FactoryOptions, Finding, StreamRequirement, FrontDoor, Operation } from './transform/types.js';
export { TransformError, ConfigError, makeContext } from './transform/types.js';
export { TransformerRegistry, builtinRegistry } from './transform/registry.js';
export { sidecarTransformer } from './transform/sidecar.js';
export { validateTransformer } from './transform/validate.js';
export { compileExpression, ExprError } from './expr/cel.js';
export { loadPolicies, type LoadOptions, type LoadedPolicies } from './policy/load.js';
export { PolicyError, createPolicySet, type CompiledPolicy } from './policy/compile.js';
export { renderManifests, RenderError, type RenderOptions, type RenderResult } from './policy/render.js';
export { review, reviewWithEvaluation, type ReviewOptions, type ReviewOutcome } from './admission/review.js';
export { jsonNestingBound } from './admission/nesting-bound.js';
export { evaluate, stepPatch, stepChanged, stepChangedPaths, appliedSteps, type Evaluation, type PolicyStep, type TransformerStep, type PolicyOutcome, type AppliedStep } from './policy/evaluate.js';
export { createPatch } from './patch/create-patch.js';
export { strategicMerge } from './patch/smp.js';
export type { JsonValue, JsonObject, KubeObject, GVK, ResId } from './kube/object.js';

/** A post-renderer over a fixed PolicySet. */
export interface PostRenderer {
  /**
   * Transforms a multi-document YAML stream. Resolves with the output stream;
   * rejects with RenderError (denied, transform error, unmet stream
   * requirement) or an Error for malformed YAML. Never returns partial output.
   */
  run(manifests: string): Promise<string>;
}

/**
 * Creates a post-renderer (Helm Go SDK `postrender.PostRenderer`). `policies`
 * is a PolicySet (from `loadPolicies(...).set` or `policiesFromText`), or a
 * list of policy file/directory paths.
 */
export function createPostRenderer(policies: PolicySet | string[], opts: RenderOptions & LoadOptions = {}): PostRenderer {
  const set = Array.isArray(policies) ? loadPolicies(policies, opts).set : policies;
  return {
    run: async (manifests) => renderManifests(manifests, set, opts).output,
  };
}

/**
 * Compiles policies from YAML text (policy documents or a Kustomization).
 * `baseDir` resolves `path:` references (default: the current directory).
 * Throws PolicyError.
 */
export function policiesFromText(text: string, opts: LoadOptions & { baseDir?: string; file?: string } = {}): PolicySet {
  const baseDir = resolve(opts.baseDir ?? '.');
  const policies = compilePolicyText(text, opts.file ?? '<text>', {
    registry: opts.registry ?? builtinRegistry(),
    baseDir,
    readFile: (p) => readFileSync(resolve(baseDir, p), 'utf8'),
    compileCondition: opts.compileCondition,
    ownNamespace: opts.ownNamespace,
  });
  return createPolicySet(policies);
}
