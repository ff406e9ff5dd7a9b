/**
 * `spec.variables`, `spec.paramKind` and `spec.paramRef` of postrender.io
 * policies: ValidatingAdmissionPolicy's `variables` and params, for the CEL
 * of `match.conditions`, `exclude.conditions`, `validate` rules and `sidecar`
 * templates (issue 13 item 4).
 *
 * - `variables: [{name, expression}]`: each is evaluated at most once per
 *   object the policy sees, when an expression first reads
 *   `variables.<name>` (lazily, as the API server's `variables`); a variable
 *   may read the ones before it. Its `object` is the object as the policy
 *   received it.
 * - `paramKind: {apiVersion, kind}` + `paramRef: {name, namespace?,
 *   parameterNotFoundAction}`: the params object, read from the ParamStore
 *   (`run`: the policy files; `serve --cluster`: an informer) when the
 *   policy is matched; `params` in CEL. Not found: `Deny` fails the policy
 *   (its failurePolicy applies), `Allow` skips the policy. A PostRenderPolicy
 *   reads params only in its own namespace (tenants are confined).
 *   `paramRef.namespace` unset: the object's namespace (cluster-scoped
 *   params kinds: none), as admission-params.ts `collectParams`.
 */
import type { CompiledVariables } from '../expr/cel.js';
import { compileVariables, KUBERNETES_VARIABLES } from '../expr/engine.js';
import { buildExprVars, type ExprScope, type ExprVarsInput } from '../expr/vars.js';
import type { KubeObject } from '../kube/object.js';
import type { Transformer } from '../transform/types.js';
import { collectParams, NO_PARAMS, type ParamKind, type ParamRef, type ParamStore } from './admission-params.js';
import { PolicyError, toPolicyError, type CompiledPolicy, type PolicySource } from './compile.js';

/** The fields of a policy spec read here. */
export interface PolicyVariablesSpec {
  variables?: { name: string; expression: string }[];
  paramKind?: ParamKind;
  paramRef?: Omit<ParamRef, 'selector'>;
}

/** A policy's compiled variables and params. */
export interface PolicyScope {
  /** What the policy's other expressions see besides Kubernetes' variables: `params` and the typed `variables.<name>`. */
  exprScope: ExprScope;
  /** The policy with `applies` and its transformers seeing `params` and `variables`. */
  wrap(policy: CompiledPolicy): CompiledPolicy;
}

/** Checks paramKind/paramRef together (and a tenant's namespace); throws PolicyError. */
function checkParamRef(spec: PolicyVariablesSpec, source: PolicySource, tenantNamespace: string | undefined): void {
  if (spec.paramRef && !spec.paramKind) throw new PolicyError(source, 'spec.paramRef', 'paramRef needs spec.paramKind', 'ERR_POLICY_PARAMS');
  if (spec.paramKind && !spec.paramRef) throw new PolicyError(source, 'spec.paramKind', 'paramKind needs spec.paramRef (which params object)', 'ERR_POLICY_PARAMS');
  if (tenantNamespace !== undefined && spec.paramRef?.namespace && spec.paramRef.namespace !== tenantNamespace) {
    throw new PolicyError(source, 'spec.paramRef.namespace', `a PostRenderPolicy reads params only in its own namespace (${tenantNamespace})`, 'ERR_POLICY_PARAMS');
  }
}

/** `spec.variables` compiled (undefined when none); throws PolicyError. */
function compileSpecVariables(defs: PolicyVariablesSpec['variables'], source: PolicySource, extra: string[]): CompiledVariables | undefined {
  if (!defs?.length) return undefined;
  try {
    return compileVariables(defs, { variables: [...KUBERNETES_VARIABLES, ...extra], path: 'spec.variables' });
  } catch (e) {
    throw toPolicyError(e, source, 'spec.variables');
  }
}

/**
 * Compiles `spec.variables` (src/expr/cel.ts compileVariables: in order, each
 * seeing the earlier ones, typed, so that `variables.typo` elsewhere is a load
 * error) and checks `paramKind`/`paramRef`. Returns undefined when the spec
 * declares neither. `store()` gives the ParamStore at evaluation time (files
 * are loaded after the policy is compiled). `tenantNamespace`: a
 * PostRenderPolicy's own namespace. Throws PolicyError.
 */
export function compilePolicyVariables(
  spec: PolicyVariablesSpec,
  source: PolicySource,
  store: () => ParamStore | undefined,
  tenantNamespace?: string,
): PolicyScope | undefined {
  if (!spec.variables?.length && !spec.paramKind && !spec.paramRef) return undefined;
  checkParamRef(spec, source, tenantNamespace);
  const extra = spec.paramKind ? ['params'] : [];
  const compiled = compileSpecVariables(spec.variables, source, extra);
  const ref: ParamRef | undefined = spec.paramRef && { ...spec.paramRef, namespace: tenantNamespace ?? spec.paramRef.namespace };

  /** The params object for a request: null without paramKind; undefined when not found under Allow. */
  const paramsFor = (namespace: string): KubeObject | null | undefined => {
    if (!spec.paramKind) return null;
    // Throws ParamError when nothing is found under Deny (the policy's failurePolicy applies).
    return collectParams(spec.paramKind, ref, namespace, store() ?? NO_PARAMS)[0];
  };

  /** `params` and the lazily evaluated `variables` (a VariableStore: each at most once) for one object. */
  const exprVarsFor = (object: KubeObject, input: ExprVarsInput, param: KubeObject | null): Record<string, unknown> => {
    const out: Record<string, unknown> = spec.paramKind ? { params: param } : {};
    if (compiled) out.variables = compiled.bind({ ...buildExprVars(object, input), ...out });
    return out;
  };

  return {
    exprScope: { variables: extra, compositionVariables: compiled?.declarations },
    wrap(policy: CompiledPolicy): CompiledPolicy {
      // The scope of the object being evaluated: applies() always runs right before the chain.
      let current: { vars: Record<string, unknown> } | undefined;
      const applies = (o: KubeObject, input: Parameters<CompiledPolicy['applies']>[1]): string => {
        const param = paramsFor(input.namespace);
        if (param === undefined) return 'params: not found (parameterNotFoundAction Allow)';
        const vars = exprVarsFor(o, input, param);
        current = { vars };
        return policy.applies(o, { ...input, exprVars: vars });
      };
      const transformers = policy.transformers.map((t): Transformer => {
        const w = Object.create(t) as Transformer & { apply: Transformer['apply'] };
        w.apply = (obj, ctx) => {
          const vars = current?.vars ?? exprVarsFor(obj, ctx, paramsFor(ctx.namespace) ?? null);
          return t.apply(obj, { ...ctx, exprVars: vars });
        };
        return w;
      });
      return { ...policy, applies, transformers };
    },
  };
}
