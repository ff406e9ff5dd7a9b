/**
 * The CEL variables of Kubernetes admission (ValidatingAdmissionPolicy,
 * https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/#validation-expression),
 * built from what a transformer or a match clause knows, and the compiler of
 * `match.conditions` / `exclude.conditions` (as webhook `matchConditions`).
 *
 * This module must not import `policy/` (layering, DESIGN.md); its types are
 * structural copies, assignable to `policy/match.ts` `ConditionCompiler`.
 */
import { isNamespaceObject, setOwn, type JsonObject, type JsonValue } from '../kube/object.js';
import { resourceOf } from '../kube/resources.js';
import type { CompileExpressionOptions, CompositionVariable } from './cel.js';
import { compileExpression, ExprError, KUBERNETES_VARIABLES } from './engine.js';

/**
 * What a policy adds to the CEL environment of its expressions (issue 13
 * item 4, as ValidatingAdmissionPolicy): extra top-level variables
 * (`params`) and the declared `variables.<name>` with their checked types.
 */
export interface ExprScope {
  /** Top-level variables besides Kubernetes' four (e.g. `params`). */
  readonly variables: readonly string[];
  /** `variables.<name>` declarations (src/expr/cel.ts compileVariables); absent: no `variables`. */
  readonly compositionVariables?: readonly CompositionVariable[];
}

/** compileExpression options of a scope, on top of `base` top-level variables (default Kubernetes' four). */
export function scopeOptions(scope: ExprScope | undefined, base: readonly string[] = KUBERNETES_VARIABLES): Pick<CompileExpressionOptions, 'variables' | 'compositionVariables'> {
  if (!scope) return {};
  return { variables: [...base, ...scope.variables], compositionVariables: scope.compositionVariables };
}

/** What the variables are built from: a subset of `TransformContext` and of `EvaluationInput`. */
export interface ExprVarsInput {
  /** Admission operation (`CREATE` in render). */
  operation: string;
  /** Effective namespace ('' for cluster-scoped objects). */
  namespace: string;
  /** The object before an UPDATE. */
  oldObject?: unknown;
  /** Labels of the namespace, when known. */
  namespaceLabels?: Readonly<Record<string, string>>;
  /** The AdmissionReview `request` as JSON, at admission; absent in render. */
  request?: Readonly<Record<string, unknown>>;
  /** The policy's own variables (`params`, `variables`), added as they are. */
  exprVars?: Readonly<Record<string, unknown>>;
}

/** The four variables, plain JSON. */
export interface ExprVars {
  object: unknown;
  oldObject: unknown;
  request: Record<string, unknown>;
  namespaceObject: Record<string, unknown> | null;
  [name: string]: unknown;
}

/**
 * The request without `object`/`oldObject` (they are variables of their own,
 * as in Kubernetes). A shallow copy per call: an identity cache (WeakMap) of
 * these cost more in GC (ephemerons of short-lived keys) than the copy.
 */
function stripRequest(request: Readonly<Record<string, unknown>>): Record<string, unknown> {
  // A loop, not `{object, oldObject, ...rest}` (slower in V8): the same own keys, in order, as data properties (setOwn).
  const rest: Record<string, unknown> = {};
  for (const k in request) {
    if (k !== 'object' && k !== 'oldObject' && Object.prototype.hasOwnProperty.call(request, k)) setOwn(rest as JsonObject, k, request[k] as JsonValue);
  }
  return rest;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * A render-time `request`: what the API server's admission request for
 * creating this object says, with an empty user. Its fields are those of
 * k8s.io/apiserver admission/plugin/cel `CreateAdmissionRequest` as
 * `ToUnstructured` writes them (admission/v1 AdmissionRequest's JSON tags,
 * the webhook's AdmissionReview has the same): `uid`, `kind` and
 * `requestKind`, `resource` and `requestResource` (the plural by
 * `resourceOf`), `operation`, `userInfo`, `dryRun`, `options` (a CREATE's
 * `CreateOptions`); `name` and `namespace` only when not empty
 * (`omitempty`: an object with only `generateName` has no name yet, a
 * cluster-scoped one no namespace, and reading them is then an error as at
 * admission); no `subResource`.
 */
function syntheticRequest(object: unknown, input: ExprVarsInput): Record<string, unknown> {
  const o = (object ?? {}) as Record<string, unknown>;
  const md = (o.metadata ?? {}) as Record<string, unknown>;
  const apiVersion = str(o.apiVersion);
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const kind = { group, version, kind: str(o.kind) };
  const resource = { group, version, resource: resourceOf(group, kind.kind) };
  const request: Record<string, unknown> = { uid: '', kind, resource, requestKind: kind, requestResource: resource };
  if (str(md.name) !== '') request.name = md.name;
  if (input.namespace !== '') request.namespace = input.namespace;
  request.operation = input.operation;
  request.userInfo = { username: '', groups: [] };
  request.dryRun = false;
  request.options = { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' };
  return request;
}

/**
 * Builds `object`, `oldObject`, `request` and `namespaceObject` as
 * ValidatingAdmissionPolicy defines them: `oldObject` is null unless UPDATE
 * gave one; `request` is the AdmissionRequest without `object`/`oldObject`
 * (in render: `syntheticRequest`); `namespaceObject` is null for
 * cluster-scoped objects (a Namespace too, although its admission request
 * names itself as its namespace), else a Namespace with the known labels ({}
 * when unknown).
 */
export function buildExprVars(object: unknown, input: ExprVarsInput): ExprVars {
  const request = input.request ? stripRequest(input.request) : syntheticRequest(object, input);
  // A Namespace's own admission request names it as its namespace; it is cluster-scoped all the same
  // (policy/validating and mutating dispatcher.go: "the namespace object has the namespace of itself", unset).
  const namespaceObject = input.namespace && !isNamespaceObject(object)
    ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: input.namespace, labels: { ...(input.namespaceLabels ?? {}) } } }
    : null;
  const vars: ExprVars = { object, oldObject: input.oldObject ?? null, request, namespaceObject };
  return input.exprVars ? Object.assign(vars, input.exprVars) : vars;
}

/** Where shareConversions keeps a vars object's converted values (a symbol: Object.keys/values, for-in and JSON skip it). */
export const CONVERTED_VALUES: unique symbol = Symbol('converted CEL values');

/** By variable name: the JSON value last converted and its CEL value (src/expr/cel.ts celActivation). */
export type ConvertedValues = Map<string, { json: unknown; cel: unknown }>;

/** A vars object marked by shareConversions. */
export interface SharedVars {
  [CONVERTED_VALUES]?: ConvertedValues;
}

/**
 * Marks `vars` (plain JSON values by variable name) as read by several
 * evaluations, e.g. the validate rules and messages of one object in one
 * admission: each variable is converted (src/expr/cel.ts `toCelValue`: a lazy
 * JsonMap whose fields are converted when read, and kept) at its first read
 * and the CEL value reused by the next evaluations, so the object is
 * converted once rather than once per expression. CEL values are immutable
 * (no evaluation changes them), so the results, errors and charges are the
 * same. The caller must not change `vars` or any value in it afterwards (a
 * variable replaced by another value is converted again). Returns `vars`.
 * Here, not in cel.ts, so that marking does not load the CEL engine.
 */
export function shareConversions<T extends object>(vars: T): T {
  (vars as SharedVars)[CONVERTED_VALUES] = new Map();
  return vars;
}

/**
 * Compiles one `match.conditions[].expression` (or `exclude`) at policy load;
 * assignable to `policy/match.ts` `ConditionCompiler`. Input: the expression
 * and its JSON path in the policy (e.g. `spec.match.conditions[0].expression`).
 * Output: a predicate over (object, evaluation input). Throws ExprError (with
 * `path`) on a compile error; the predicate throws ExprError when the
 * expression fails or does not return a bool, and the policy's failurePolicy
 * then applies (as webhook matchConditions: "an error ... the failurePolicy
 * for the webhook is used").
 */
export function conditionCompiler(expression: string, path: string, scope?: ExprScope): (object: unknown, input: ExprVarsInput) => boolean {
  const program = compileExpression(expression, { path, expectedType: 'bool', ...scopeOptions(scope) });
  return (object, input) => {
    const r = program.evaluate(buildExprVars(object, input));
    if (typeof r !== 'boolean') throw new ExprError(`condition must evaluate to a bool, got ${describeValue(r)}`, path);
    return r;
  };
}

/**
 * The type of a CEL result for error messages (`string`, `map`, `list`, ...).
 * Never the value: a condition may return object data, e.g. a Secret's.
 */
export function describeValue(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : typeof v === 'number' ? 'number' : typeof v;
}
