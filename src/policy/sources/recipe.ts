/**
 * Recipes: what a policy source compiled its running policies from, as plain
 * data (structured-clonable), so that another thread (the evaluation worker,
 * src/server/evaluation-worker.ts) compiles the very same policies. Compiled
 * policies hold closures and cannot cross threads; their inputs can.
 *
 * - `file`: the `-c` paths, loaded again with `loadPolicies` (the worker reads
 *   the same files; the main thread compares the names of the result with its
 *   own set and uses the worker only when they agree, see evaluation-pool.ts);
 * - `cluster`: the objects of the running (last good) ClusterPostRenderPolicies
 *   and PostRenderPolicies, and of the Gatekeeper mutators;
 * - `admission`: the (policy, binding) documents of the running
 *   MutatingAdmissionPolicy/ValidatingAdmissionPolicy pairs; their params are
 *   read at evaluation time from a params store the main thread mirrors.
 *
 * Every recipe holds only objects that compiled on the main thread, so
 * compiling it again succeeds (compilation is deterministic).
 */
import type { JsonObject } from '../../kube/object.js';
import type { ParamStore } from '../admission-params.js';
import { compileAdmissionPolicies, type SourcedDocument } from '../admission-policy.js';
import type { CompiledPolicy, CompileOptions } from '../compile.js';
import { loadPolicies, type LoadOptions } from '../load.js';
import { compileMutatorSet } from './cluster-mutators.js';
import { compileClusterPolicy, type ClusterPolicyObject } from './cluster-policies.js';

/** The recipe of one source's running policies (see the module comment). */
export type SourceRecipe =
  | { source: 'file'; paths: string[]; ownNamespace?: string }
  | { source: 'cluster'; ownNamespace?: string; policies: ClusterPolicyObject[]; mutators: JsonObject[] }
  | { source: 'admission'; pairs: [SourcedDocument, SourcedDocument][] };

/** What compiling a recipe needs besides the recipe: the CEL condition compiler (LoadOptions) and the params store of admission policies. */
export interface RecipeContext {
  compileCondition?: CompileOptions['compileCondition'];
  params: ParamStore;
}

/**
 * Compiles a recipe into the source's policies (what `PolicyStore.update`
 * receives for `recipe.source`). Throws PolicyError when a file no longer
 * loads (it changed since the main thread read it) or an object does not
 * compile.
 */
export function compileRecipe(recipe: SourceRecipe, ctx: RecipeContext): CompiledPolicy[] {
  switch (recipe.source) {
    case 'file': {
      const load: LoadOptions = { compileCondition: ctx.compileCondition, ownNamespace: recipe.ownNamespace };
      return loadPolicies(recipe.paths, load).policies;
    }
    case 'cluster': {
      const compile = { compileCondition: ctx.compileCondition, ownNamespace: recipe.ownNamespace };
      return [...recipe.policies.map((p) => compileClusterPolicy(p.kind, p.object, compile)), ...compileMutatorSet(recipe.mutators, recipe.ownNamespace)];
    }
    case 'admission':
      return recipe.pairs.flatMap((docs) => compileAdmissionPolicies(docs, { params: ctx.params }));
  }
}

