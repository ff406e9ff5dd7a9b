/**
 * Compiles policy documents into an immutable PolicySet: every transformer
 * configured, every regex and expression compiled before anything runs
 * (kustomize's Config() before Transform()).
 */
import { gvkOf, isNamespaceObject, metaValue, type KubeObject } from '../kube/object.js';
import { SelectorError } from '../kube/selector.js';
import { isClusterScopedKind } from '../kube/resources.js';
import { matchInfoOf, type MatchInfo } from './match-info.js';
import { ConfigError, type FactoryOptions, type Transformer, type TransformContext } from '../transform/types.js';
import type { TransformerRegistry } from '../transform/registry.js';
import { conditionCompiler, type ExprScope } from '../expr/vars.js';
import type { PolicyErrorCode } from '../errors.js';
import { compileClause, compileDefaultExclusions, namesSubresources, splitKind, type Clause, type ConditionCompiler, type MatchSpec } from './match.js';
import type { EvaluationInput } from './types.js';
import type { ParamStore } from './admission-params.js';
import { compilePolicyVariables, type PolicyVariablesSpec } from './policy-variables.js';

/** Where a policy came from, for error messages: file path (or `cluster`) and document index (1-based). */
export interface PolicySource {
  file: string;
  document: number;
}

/**
 * The kind of document a policy was compiled from: ours, a Kustomization, or
 * another dialect's kind (`Assign`, `MutatingAdmissionPolicy`, ...): any
 * string, so a dialect module names its own without touching this type.
 */
export type PolicyKind = 'ClusterPostRenderPolicy' | 'PostRenderPolicy' | 'Kustomization' | (string & {});

/** What CompiledPolicy.passInPlace returns: the pass's object, the transformers that changed it, where the deadline stopped it. */
export interface InPlacePass {
  /** The object the pass left (`object` itself when nothing changed). */
  readonly object: KubeObject;
  /** 1 at the index of each transformer that changed the object (its step's `after !== before`). */
  readonly changed: Uint8Array;
  /** The index of the transformer the deadline stopped the pass before (it and the rest did not run), or -1. */
  readonly stoppedAt: number;
  /**
   * True only when a pass over `object` is known to change nothing (each of
   * its transformers would return its input): the evaluation then records
   * that pass's steps without running the transformers. False: not known.
   */
  readonly settled: boolean;
}

/**
 * A policy with its transformers compiled: the unit every dialect produces
 * (our policy documents here, Kustomizations in kustomization.ts, other
 * dialects in their own modules) and the unit `evaluate` (evaluate.ts) runs.
 *
 * To produce one: a name, kind, order, failurePolicy, mode, the compiled
 * transformers, `applies` and `source`; the rest is optional.
 */
export interface CompiledPolicy {
  /** `name` for ClusterPostRenderPolicy and Kustomizations, `namespace/name` for PostRenderPolicy. */
  name: string;
  kind: PolicyKind;
  /** Own namespace of a namespaced policy (PostRenderPolicy): it applies only there and sorts after cluster-wide policies. */
  namespace?: string;
  /** Lower runs first; ties: cluster-wide before namespaced, then by name. */
  order: number;
  /** What a transformer error (or a failing match condition, or the deadline) does: deny (Fail) or skip the policy with a warning (Ignore). */
  failurePolicy: 'Fail' | 'Ignore';
  /** Enforce: changes kept, Deny rules deny; Audit: reported as warnings only. */
  mode: 'Enforce' | 'Audit';
  /** Helm hooks (`helm.sh/hook`): include (default), exclude or only (read by `applies`). */
  hooks?: 'include' | 'exclude' | 'only';
  transformers: Transformer[];
  /**
   * Run the chain repeatedly until a pass changes nothing, at most
   * `maxIterations` passes (Gatekeeper runs its mutators to convergence,
   * pkg/mutation/system.go); not converging is a policy error, its message
   * `notConverging(object, namespace)` (default `no fixed point after N
   * passes`). Absent: one pass.
   */
  convergence?: {
    maxIterations: number;
    notConverging?: (object: KubeObject, namespace: string) => string;
  };
  /**
   * One pass of `transformers` computed at once, without the objects between
   * the steps (evaluate.ts recomputes those, one transformer at a time, only
   * when a reader of the trace asks for them): the object it leaves, which
   * transformers changed the object (1 at their index) and, when the
   * deadline stopped it, the index of the transformer it stopped before (-1:
   * none). Undefined: the pass is run step by step. Never mutates `object`;
   * no transformer of such a policy reports findings or deletes. Absent: step by step.
   */
  passInPlace?: (object: KubeObject, ctx: TransformContext, pastDeadline: () => boolean) => InPlacePass | undefined;
  /**
   * `IfNeeded`: run the policy once more, after all others, when the object
   * changed from its own pass on (its own change or a later policy's:
   * MutatingAdmissionPolicy, see evaluate.ts reinvokeIfNeeded). Absent or
   * `Never`: once.
   */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  /**
   * True when the policy is evaluated on DELETE and CONNECT admission
   * requests, which have no object to change: a ValidatingAdmissionPolicy
   * binding (the API server's validating phase sees them: DELETE with
   * `object` null and `oldObject` the stored object, CONNECT with the options
   * object). Absent: such a request skips the policy (no transformer, no
   * mutation runs on it).
   */
  withoutObject?: boolean;
  /** Returns '' when the policy applies to the object, else the first clause that excluded it. */
  applies: (object: KubeObject, input: EvaluationInput) => string;
  /**
   * False when `match.resources` cannot hold for any object of this group and
   * kind (then `applies` is sure to return non-empty); absent: every kind may
   * match. Lets `evaluate` skip a policy without calling `applies`.
   */
  mayMatchKind?: (group: string, kind: string) => boolean;
  /**
   * What the policy can match, as data (kinds, operations, namespaces,
   * selectors, conditions), for webhook configuration rules
   * (`webhook-rules.ts`). Must never be narrower than `applies`; absent:
   * the policy may match anything (the safe default for a dialect).
   */
  matchInfo?: MatchInfo;
  source: PolicySource;
}

/**
 * A policy document error: file, document, JSON path and reason, and its
 * stable `code` (src/errors.ts, kind `policy`; default ERR_POLICY_INVALID).
 */
export class PolicyError extends Error {
  constructor(readonly source: PolicySource, readonly path: string, readonly reason: string, readonly code: PolicyErrorCode = 'ERR_POLICY_INVALID') {
    super(`${source.file}: document ${source.document}: ${path ? `${path}: ` : ''}${reason}`);
    this.name = 'PolicyError';
  }
}

/** Options for compiling policies. */
export interface CompileOptions {
  registry: TransformerRegistry;
  /** Reads a file for `path:` references (absolute path in, text out). Absent: `path:` is an error. */
  readFile?: (path: string) => string;
  /** Compiles CEL conditions (default: `conditionCompiler` of expr/vars.ts, Kubernetes' admission variables). */
  compileCondition?: ConditionCompiler;
  /** The webhook's own namespace (never touched by default). */
  ownNamespace?: string;
  /** Params objects for `spec.paramKind`/`paramRef`, read at evaluation time (files: set once the load has read them all). */
  params?: () => ParamStore | undefined;
}

/** The `spec` of a policy document, as validated by the JSON Schema. */
export interface PolicySpec {
  order?: number;
  failurePolicy?: 'Fail' | 'Ignore';
  mode?: 'Enforce' | 'Audit';
  hooks?: 'include' | 'exclude' | 'only';
  match?: MatchSpec;
  exclude?: MatchSpec;
  transformers: Record<string, unknown>[];
  /** CEL `variables` (policy-variables.ts). */
  variables?: PolicyVariablesSpec['variables'];
  /** The params object's kind and name (policy-variables.ts). */
  paramKind?: PolicyVariablesSpec['paramKind'];
  paramRef?: PolicyVariablesSpec['paramRef'];
}

/**
 * Compiles one transformer entry (`{name?, <type>: config}`) at
 * `<opts.basePath>[index]` (default `spec.transformers`), mapping config
 * errors to a PolicyError.
 */
export function compileTransformer(
  entry: Record<string, unknown>,
  index: number,
  source: PolicySource,
  opts: CompileOptions & { baseDir?: string; exprScope?: ExprScope; basePath?: string },
): Transformer {
  const path = `${opts.basePath ?? 'spec.transformers'}[${index}]`;
  const types = Object.keys(entry).filter((k) => k !== 'name');
  if (types.length !== 1) {
    throw new PolicyError(source, path, types.length === 0 ? 'a transformer needs one type key' : `one transformer type per entry, got ${types.join(', ')}`, 'ERR_POLICY_SCHEMA');
  }
  const type = types[0];
  const factory = opts.registry.get(type);
  if (!factory) throw new PolicyError(source, `${path}.${type}`, `unknown transformer type "${type}" (known: ${opts.registry.types().join(', ')})`, 'ERR_POLICY_UNKNOWN_TRANSFORMER');
  const name = typeof entry.name === 'string' ? entry.name : `${type}[${index}]`;
  const fopts: FactoryOptions = { name, baseDir: opts.baseDir, readFile: opts.readFile, exprScope: opts.exprScope };
  try {
    return factory(entry[type], fopts);
  } catch (e) {
    throw toPolicyError(e, source, `${path}.${type}`);
  }
}

/** ERR_POLICY_EXPRESSION_COST when `e` (or an error it wraps, `cause`) is a CEL expression refused by the static cost estimate (src/expr/cost-estimate.ts), else `code`. */
function costOr(e: unknown, code: PolicyErrorCode): PolicyErrorCode {
  for (let x = e, i = 0; x instanceof Error && i < 4; x = x.cause, i++) if ((x as Error & { code?: unknown }).code === 'ERR_POLICY_EXPRESSION_COST') return 'ERR_POLICY_EXPRESSION_COST';
  return code;
}

/** Converts a config/selector error into a PolicyError under `path`. */
export function toPolicyError(e: unknown, source: PolicySource, path: string): PolicyError {
  if (e instanceof PolicyError) return e;
  // A CEL error already carries the expression's full path (spec.match.conditions[0].expression).
  const exprPath = e instanceof Error && e.name === 'ExprError' ? (e as Error & { path?: unknown }).path : undefined;
  if (typeof exprPath === 'string' && exprPath) return new PolicyError(source, exprPath, (e as Error).message, costOr(e, 'ERR_POLICY_EXPRESSION'));
  if (e instanceof ConfigError || e instanceof SelectorError) return new PolicyError(source, joinPath(path, e.path), e.message, costOr(e, 'ERR_POLICY_TRANSFORMER_CONFIG'));
  return new PolicyError(source, path, e instanceof Error ? e.message : String(e));
}

/** `path` followed by a sub-path relative to it (`x` -> `path.x`, `[0]` -> `path[0]`, none -> `path`). */
function joinPath(path: string, sub: string | undefined): string {
  if (!sub) return path;
  return sub.startsWith('[') ? `${path}${sub}` : `${path}.${sub}`;
}

/**
 * Compiles a validated policy document. `spec` must already have passed the
 * JSON Schema. Throws PolicyError.
 */
export function compilePolicy(
  doc: { kind: string; metadata: { name: string; namespace?: string }; spec: PolicySpec },
  source: PolicySource,
  opts: CompileOptions & { baseDir?: string },
): CompiledPolicy {
  const { spec } = doc;
  const kind = doc.kind as CompiledPolicy['kind'];
  const ownNs = kind === 'PostRenderPolicy' ? tenantNamespace(doc, source) : undefined;
  const scope = compilePolicyVariables(spec, source, opts.params ?? (() => undefined), ownNs);
  const exprScope = scope?.exprScope;
  const transformers = spec.transformers.map((t, i) => compileTransformer(t, i, source, { ...opts, exprScope }));
  if (ownNs !== undefined) checkTenantTransformers(spec, source);
  const policy: CompiledPolicy = {
    mayMatchKind: spec.match?.resources ? kindFilter(spec.match.resources) : undefined,
    matchInfo: kind === 'Kustomization' ? undefined : matchInfoOf(spec.match, ownNs),
    name: ownNs !== undefined ? `${ownNs}/${doc.metadata.name}` : doc.metadata.name,
    kind,
    namespace: ownNs,
    ...policySettings(spec),
    transformers,
    applies: compileApplies(spec, { kind, ownNs, source, exprScope }, opts),
    source,
  };
  return scope ? scope.wrap(policy) : policy;
}

/** A PostRenderPolicy's own namespace; throws PolicyError when it has none. */
function tenantNamespace(doc: { metadata: { namespace?: string } }, source: PolicySource): string {
  const ns = doc.metadata.namespace;
  if (!ns) throw new PolicyError(source, 'metadata.namespace', 'a PostRenderPolicy needs a namespace', 'ERR_POLICY_NAMESPACE');
  return ns;
}

/** A tenant may not move objects between namespaces: throws PolicyError at its `namespace` transformer. */
function checkTenantTransformers(spec: PolicySpec, source: PolicySource): void {
  const mover = spec.transformers.findIndex((t) => Object.prototype.hasOwnProperty.call(t, 'namespace'));
  if (mover >= 0) throw new PolicyError(source, `spec.transformers[${mover}].namespace`, 'a PostRenderPolicy cannot move objects between namespaces', 'ERR_POLICY_TENANT');
}

/** `order`, `failurePolicy`, `mode` and `hooks` with their defaults (100, Fail, Enforce, include). */
function policySettings(spec: PolicySpec): Pick<CompiledPolicy, 'order' | 'failurePolicy' | 'mode' | 'hooks'> {
  return { order: spec.order ?? 100, failurePolicy: spec.failurePolicy ?? 'Fail', mode: spec.mode ?? 'Enforce', hooks: spec.hooks ?? 'include' };
}

/** What `compileApplies` needs of the policy being compiled; `ownNs` is set for a PostRenderPolicy (a tenant). */
interface AppliesContext {
  kind: CompiledPolicy['kind'];
  ownNs: string | undefined;
  source: PolicySource;
  exprScope: ExprScope | undefined;
}

/**
 * The policy's `applies`: '' when it applies to the object, else the first
 * reason it does not, in this order: the tenant's namespace, an unnamed
 * subresource, a default exclusion, `hooks`, `match`, `exclude`.
 */
function compileApplies(spec: PolicySpec, ctx: AppliesContext, opts: CompileOptions): CompiledPolicy['applies'] {
  const clause = (m: MatchSpec | undefined, p: string): Clause | undefined => {
    if (!m) return undefined;
    try {
      return compileClause(m, p, opts.compileCondition ?? conditionCompiler, ctx.exprScope);
    } catch (e) {
      throw toPolicyError(e, ctx.source, p);
    }
  };
  const match = clause(spec.match, 'spec.match');
  const exclude = clause(spec.exclude, 'spec.exclude');
  const defaults = ctx.kind === 'Kustomization' ? undefined : compileDefaultExclusions(spec.match, opts.ownNamespace);
  const hooks = spec.hooks ?? 'include';
  const { ownNs } = ctx;
  const subresources = namesSubresources(spec.match);
  const gate = (o: KubeObject, input: EvaluationInput): string => {
    if (ownNs !== undefined) {
      const outside = tenantOutside(o, input, ownNs);
      if (outside) return outside;
    }
    // Subresource requests (status, scale, ...) only for policies that name them (`Deployment/status`).
    if (input.subResource && !subresources) return `subresource ${input.subResource} (name Kind/${input.subResource} in match.resources)`;
    const d = defaults?.(o, input);
    return d ? `default exclusion: ${d}` : hookExclusion(hooks, o);
  };
  return (o, input) => {
    const g = gate(o, input);
    if (g) return g;
    const m = match?.(o, input);
    if (m) return `match.${m}`;
    if (exclude && exclude(o, input) === '') return 'exclude';
    return '';
  };
}

/** Why `spec.hooks` (`exclude`: no Helm hooks, `only`: only hooks) leaves the object out, or ''. */
function hookExclusion(hooks: NonNullable<PolicySpec['hooks']>, o: KubeObject): string {
  if (hooks === 'include') return '';
  const isHook = metaValue(o, 'annotations', 'helm.sh/hook') !== undefined;
  if (hooks === 'exclude' && isHook) return 'hooks: exclude';
  if (hooks === 'only' && !isHook) return 'hooks: only';
  return '';
}

/**
 * Why a tenant's (namespaced PostRenderPolicy's) policy cannot apply to an
 * object, or '' when it may: the object must be in the policy's own
 * namespace, by the request (`request.namespace` at admission, the effective
 * namespace at render) and by its own `metadata.namespace` when set, and must
 * not be cluster-scoped. A Namespace is cluster-scoped although its admission
 * request carries `request.namespace` = its own name (the API server sets it
 * so), which would otherwise let a tenant relabel its own Namespace (say
 * `pod-security.kubernetes.io/enforce: privileged`). Cluster-scoped custom
 * resources have no request namespace at admission, so they fail the first
 * check. Secrets and Helm release records of other namespaces are out of
 * reach by the same checks, whatever the policy opts into.
 */
export function tenantOutside(o: KubeObject, input: EvaluationInput, ownNs: string): string {
  if (input.namespace !== ownNs) return `namespace (a PostRenderPolicy applies only in ${ownNs})`;
  const { group, kind } = gvkOf(o);
  if (isClusterScopedKind(group, kind)) return `cluster-scoped ${kind} (a PostRenderPolicy applies only to objects in ${ownNs})`;
  const objNs = typeof o.metadata === 'object' && o.metadata !== null && !Array.isArray(o.metadata) ? (o.metadata as Record<string, unknown>).namespace : undefined;
  if (typeof objNs === 'string' && objNs !== '' && objNs !== ownNs) return `namespace (a PostRenderPolicy applies only in ${ownNs})`;
  return '';
}

/**
 * The group/kind part of `match.resources` (as `compileResources` in
 * match.ts): true when some entry admits `group` and `kind`. Versions and names
 * are left to `applies`.
 */
function kindFilter(resources: NonNullable<MatchSpec['resources']>): (group: string, kind: string) => boolean {
  return (group, kind) => resources.some((r) =>
    (r.group === undefined || r.group === '*' || r.group === group) && (!r.kinds || r.kinds.some((k) => {
      const base = splitKind(k).kind;
      return base === '*' || base === kind;
    })));
}

/**
 * Sorts policies for evaluation: by `order` (lower first), then cluster-wide
 * before namespaced, then by name (DESIGN.md).
 */
export function sortPolicies(policies: CompiledPolicy[]): CompiledPolicy[] {
  const scope = (p: CompiledPolicy): number => (p.namespace !== undefined ? 1 : 0);
  return [...policies].sort((a, b) => a.order - b.order || scope(a) - scope(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export { changedPaths, createPolicySet } from './evaluate.js';

/** True when the object is a core Namespace (for stream namespace labels): kube/object.ts `isNamespaceObject`. */
export const isNamespace: (o: KubeObject) => boolean = isNamespaceObject;
