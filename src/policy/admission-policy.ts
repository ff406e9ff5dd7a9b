/**
 * Kubernetes' own admission policies as a policy dialect:
 * MutatingAdmissionPolicy and ValidatingAdmissionPolicy
 * (admissionregistration.k8s.io/v1; v1beta1 and v1alpha1 read the same) with
 * their bindings and params objects, compiled into one CompiledPolicy per
 * (policy, binding) pair, as the API server makes one hook per pair
 * (k8s.io/apiserver/pkg/admission/plugin/policy/generic/policy_dispatcher.go).
 *
 * Semantics (sources under k8s.io/apiserver/pkg/admission/plugin/policy/):
 * - matching: the policy's matchConstraints and the binding's matchResources
 *   (admission-match.ts), then per param the policy's matchConditions;
 * - params: admission-params.ts (`CollectParams`);
 * - `variables`: evaluated lazily, at most once per evaluation, as
 *   `variables.<name>`; a variable may use the ones before it;
 * - VAP (validating/validator.go, dispatcher.go): each validation's
 *   expression must be true; a false one is a decision with `message`
 *   (messageExpression when it gives a one-line non-blank string, else
 *   `message`, else `failed expression: <expression>`); an evaluation error is
 *   a decision with the error's text under failurePolicy Fail and nothing
 *   under Ignore; decisions follow the binding's validationActions: Deny
 *   (`ValidatingAdmissionPolicy '<p>' with binding '<b>' denied request: <m>`),
 *   Warn (`Validation failed for ValidatingAdmissionPolicy '<p>' with binding
 *   '<b>': <m>`), Audit (reported as an `[audit]` warning here: there is no
 *   audit log); on DELETE (`object` null, `oldObject` the stored object,
 *   `request.options` the DeleteOptions) and CONNECT (`object` the options
 *   object, e.g. PodExecOptions, `oldObject` null) too, when the rules name
 *   the operation (CompiledPolicy.withoutObject);
 *   auditAnnotations publish `<policy>/<key>` values (reported as `[audit]`);
 *   one that errors (under Fail) or is neither a string nor null denies
 *   directly, not through validationActions;
 * - MAP (mutating/dispatcher.go, patch/json_patch.go, patch/smd.go):
 *   mutations apply in order; a failing mutation under Ignore is skipped and
 *   the later ones still apply; under Fail the request is denied
 *   (`policy '<p>' with binding '<b>' denied request: <error>`); a JSONPatch
 *   whose `test` fails leaves the object unchanged without error;
 *   `reinvocationPolicy: IfNeeded` runs the policy once more, after the
 *   others, when the object changed from its pass on (evaluate.ts, as the API
 *   server reinvokes once);
 * - a binding configuration error (params) follows failurePolicy:
 *   `failed to configure binding: <reason>`.
 *
 * Mutating policies run before every postrender.io policy (MAP_ORDER), as the
 * API server's MutatingAdmissionPolicy plugin runs before webhooks;
 * validating ones after every mutation (VAP_ORDER), as in the validating
 * phase. See docs/admission-policies.md for what `run` cannot do (the API
 * server's defaulting after a mutation) and other differences.
 */
import type { CompiledExpression, CompiledVariables, CompositionVariable } from '../expr/cel.js';
import { compileExpression, compileVariables, ExprError, KUBERNETES_VARIABLES } from '../expr/engine.js';
import { buildExprVars, describeValue } from '../expr/vars.js';
import { isObject, type JsonObject, type KubeObject } from '../kube/object.js';
import { applyMutation, applyRun, compiledMutation, isMutationRun, mutationResult, mutationRuns, type Mutation, type MutationRun } from './admission-mutation.js';
import { OwnedList } from '../patch/owned.js';
import { chargeAllWithinBounds } from '../expr/meter.js';
import { TransformError, type DenialStatus, type TransformContext, type Transformer } from '../transform/types.js';
import { errorMessage } from '../errors.js';
import { compileMatchResources, type MatchResources } from './admission-match.js';
import { collectParams, ParamError, type ParamKind, type ParamRef, type ParamStore } from './admission-params.js';
import { PolicyError, toPolicyError, type CompiledPolicy, type PolicySource } from './compile.js';
import type { EvaluationInput } from './types.js';

/** Evaluation order of MutatingAdmissionPolicies: before every postrender.io policy. */
export const MAP_ORDER = -1_000_000;
/** Evaluation order of ValidatingAdmissionPolicies: after every mutation. */
export const VAP_ORDER = 1_000_000;

const GROUP = 'admissionregistration.k8s.io';
const VERSIONS = ['v1', 'v1beta1', 'v1alpha1'];
const KINDS = ['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'] as const;
type AdmissionKind = (typeof KINDS)[number];

/** A document with where it came from. */
export interface SourcedDocument {
  value: JsonObject;
  source: PolicySource;
}

/** True when a parsed document is a MAP, VAP or one of their bindings. */
export function isAdmissionPolicyDocument(v: unknown): boolean {
  if (!isObject(v) || typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') return false;
  const [group, version] = v.apiVersion.split('/');
  return group === GROUP && VERSIONS.includes(version ?? '') && (KINDS as readonly string[]).includes(v.kind);
}

/**
 * The top-level CEL variables of a policy's expressions (`variables` is
 * declared with its typed fields): `params` only when the policy has a
 * `paramKind`, as the API server declares it (validation.go: `HasParams:
 * paramKind != nil`), so a policy without one that reads `params` is
 * refused at load (`undeclared reference to 'params'`).
 */
const WITH_PARAMS: readonly string[] = [...KUBERNETES_VARIABLES, 'params'];

/** What a policy's expressions are compiled against: the top-level variables and the `variables.<name>` declarations. */
interface ExprEnv {
  roots: readonly string[];
  declarations: readonly CompositionVariable[];
}

/**
 * How an expression is compiled: its result type (`string|null`: an audit
 * annotation's valueExpression), and whether Object{}/JSONPatch{} are
 * available (MAP mutations).
 */
interface ExpressionKind {
  expectedType?: 'bool' | 'string' | 'string|null';
  mutation?: boolean;
}

// ---------------------------------------------------------------------------
// Document checks (pkg/apis/admissionregistration/validation/validation.go)

/** Reads a typed field, throwing PolicyError naming it. */
class Reader {
  constructor(readonly source: PolicySource) {}

  fail(path: string, reason: string): never {
    throw new PolicyError(this.source, path, reason, 'ERR_POLICY_ADMISSION');
  }

  obj(v: unknown, path: string, fields: readonly string[], required = false): JsonObject | undefined {
    if (v === undefined || v === null) return required ? this.fail(path, 'Required value') : undefined;
    if (!isObject(v)) return this.fail(path, 'must be an object');
    for (const k of Object.keys(v)) if (!fields.includes(k)) this.fail(`${path}.${k}`, 'unknown field');
    return v;
  }

  list(v: unknown, path: string, required = false): unknown[] {
    if (v === undefined || v === null) return required ? this.fail(path, 'Required value') : [];
    if (!Array.isArray(v)) return this.fail(path, 'must be a list');
    return v;
  }

  str(v: unknown, path: string, required = false): string | undefined {
    if (v === undefined || v === null || v === '') return required ? this.fail(path, 'Required value') : undefined;
    if (typeof v !== 'string') return this.fail(path, 'must be a string');
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], required = false): T | undefined {
    const s = this.str(v, path, required);
    if (s !== undefined && !(allowed as readonly string[]).includes(s)) this.fail(path, `Unsupported value: "${s}": supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`);
    return s as T | undefined;
  }
}

const MATCH_FIELDS = ['namespaceSelector', 'objectSelector', 'resourceRules', 'excludeResourceRules', 'matchPolicy'];
const RULE_FIELDS = ['apiGroups', 'apiVersions', 'resources', 'operations', 'scope', 'resourceNames'];
const SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];

function readMatch(r: Reader, v: unknown, path: string, isPolicy: boolean): MatchResources | undefined {
  const m = r.obj(v, path, MATCH_FIELDS, isPolicy);
  if (!m) return undefined;
  r.obj(m.namespaceSelector, `${path}.namespaceSelector`, SELECTOR_FIELDS);
  r.obj(m.objectSelector, `${path}.objectSelector`, SELECTOR_FIELDS);
  r.oneOf(m.matchPolicy, `${path}.matchPolicy`, ['Exact', 'Equivalent']);
  if (isPolicy && r.list(m.resourceRules, `${path}.resourceRules`).length === 0) r.fail(`${path}.resourceRules`, 'Required value');
  for (const key of ['resourceRules', 'excludeResourceRules']) {
    r.list(m[key], `${path}.${key}`).forEach((rule, i) => readRule(r, rule, `${path}.${key}[${i}]`));
  }
  return m as MatchResources;
}

/** What the `*` of a rule's list may not be listed with (validation.go validateRule, validateRuleWithOperations). */
const WILDCARD_ALONE: Readonly<Record<string, string>> = { apiGroups: 'API groups', apiVersions: 'API versions', operations: 'operations' };

/**
 * A NamedRuleWithOperations, checked as validation.go
 * `validateNamedRuleWithOperations` does: every list required (operations
 * too), `*` alone in apiGroups, apiVersions and operations, resources as
 * `validateResources` (below).
 */
function readRule(r: Reader, rule: unknown, p: string): void {
  const o = r.obj(rule, p, RULE_FIELDS, true) as JsonObject;
  r.oneOf(o.scope, `${p}.scope`, ['Cluster', 'Namespaced', '*']);
  for (const f of ['apiGroups', 'apiVersions', 'resources', 'operations']) {
    const list = r.list(o[f], `${p}.${f}`);
    if (list.length === 0) r.fail(`${p}.${f}`, 'Required value');
    const what = WILDCARD_ALONE[f];
    if (what !== undefined && list.length > 1 && list.includes('*')) r.fail(`${p}.${f}`, `Invalid value: if '*' is present, must not specify other ${what}`);
  }
  r.list(o.operations, `${p}.operations`).forEach((op, j) => r.oneOf(op, `${p}.operations[${j}]`, ['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT']));
  readResources(r, r.list(o.resources, `${p}.resources`), `${p}.resources`);
}

/**
 * validation.go `validateResources`: `*\/*` alone; `*` with no other
 * resource without a subresource; nothing `x/*` or `*\/y` already covers.
 */
function readResources(r: Reader, resources: unknown[], p: string): void {
  const names = resources.map((v, i) => r.str(v, `${p}[${i}]`, true) as string);
  if (names.length > 1 && names.includes('*/*')) r.fail(p, "Invalid value: if '*/*' is present, must not specify other resources");
  if (names.includes('*') && names.some((n) => n !== '*' && !n.includes('/'))) r.fail(p, "Invalid value: if '*' is present, must not specify other resources without subresources");
  const allSubs = new Set<string>();
  const allRes = new Set<string>();
  names.forEach((n, i) => {
    const slash = n.indexOf('/');
    if (slash < 0) return;
    const [res, sub] = [n.slice(0, slash), n.slice(slash + 1)];
    if (allSubs.has(res)) r.fail(`${p}[${i}]`, `Invalid value: if '${res}/*' is present, must not specify ${n}`);
    if (allRes.has(sub)) r.fail(`${p}[${i}]`, `Invalid value: if '*/${sub}' is present, must not specify ${n}`);
    if (sub === '*') allSubs.add(res);
    if (res === '*') allRes.add(sub);
  });
}

/**
 * The static cost limit of admission policy expressions: none. The API server
 * estimates the cost of CRD validation rules only; a ValidatingAdmissionPolicy
 * or MutatingAdmissionPolicy whose expressions would be estimated over the
 * per-call limit is accepted there (their `object` is `dyn`), and their cost is
 * bounded at run time (per-call limit, the policy's runtime budget, the
 * review's deadline), as here. Refusing them at load would refuse policies the
 * API server accepts (e.g. a `transformList` over `object.spec.containers`).
 * Our own dialect's CEL keeps the estimate (docs/cel.md "Cost model").
 */
const NOT_ESTIMATED = Infinity;

/** A compiled named expression list entry (`expression`: its text, as written). */
interface Named {
  name: string;
  expression: string;
  program: CompiledExpression;
}

/**
 * Compiles one expression of a policy, type-checked against the policy's
 * `variables` (src/expr/cel.ts: a validation or matchCondition must be bool, a
 * messageExpression string; MAP mutations get the engine's `Object{...}`,
 * `JSONPatch{...}` and `jsonpatch.escapeKey`). Throws PolicyError with the path.
 */
// eslint-disable-next-line max-params -- the reader, the field, its path, the policy's variables and the expression's kind
function compileAt(r: Reader, source: unknown, path: string, env: ExprEnv, kind: ExpressionKind = {}): CompiledExpression {
  const text = r.str(source, path, true) as string;
  const { expectedType, mutation } = kind;
  try {
    const single = expectedType === 'string|null' ? undefined : expectedType;
    const program = compileExpression(text, { path, variables: env.roots, compositionVariables: env.declarations, estimatedCostLimit: NOT_ESTIMATED, expectedType: single, mutation });
    if (expectedType !== undefined) checkExactType(program, expectedType, path);
    return program;
  } catch (e) {
    throw toPolicyError(e, r.source, path);
  }
}

/**
 * Variables whose fields the API server types while we read them as `dyn`
 * (`request`, `namespaceObject`: plugin/cel/compile.go BuildRequestType,
 * BuildNamespaceType), or may (`variables`: a variable's type there is its
 * expression's, which may read those, and declarableType widens some to dyn).
 */
const TYPED_THERE: ReadonlySet<string> = new Set(['request', 'namespaceObject', 'variables']);

/**
 * The result type check of the API server's compiler
 * (plugin/cel/compile.go `CompileCELExpression`: the output type must be
 * exactly one of the expression's return types, `IsExactType`), which
 * refuses a `dyn` result when the policy is created: a validation
 * `object.spec.paused` or `params.enabled`, a messageExpression
 * `object.metadata.name`, an audit annotation of neither string nor null.
 * A `dyn` result is let through when the expression reads a variable the
 * API server types and we do not (TYPED_THERE): its type there may be
 * exact. Throws ExprError.
 */
function checkExactType(program: CompiledExpression, expected: NonNullable<ExpressionKind['expectedType']>, path: string): void {
  const allowed = expected.split('|');
  if (allowed.includes(program.type)) return;
  if (program.type === 'dyn' && program.reads.some((v) => TYPED_THERE.has(v))) return;
  throw new ExprError(`expression must return ${allowed.join(' or ')}, but returns ${program.type}`, path);
}

const CEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** CEL's reserved words, which a variable may not be named (validation.go `isCELIdentifier`, `celReserved`). */
const CEL_RESERVED: ReadonlySet<string> = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/** `[{name, expression}]` entries, checked (names unique; CEL identifiers for variables). */
function readNamedEntries(r: Reader, v: unknown, path: string): { name: string; expression: string }[] {
  const seen = new Set<string>();
  return r.list(v, path).map((entry, i) => {
    const p = `${path}[${i}]`;
    const o = r.obj(entry, p, ['name', 'expression'], true) as JsonObject;
    const name = r.str(o.name, `${p}.name`, true) as string;
    if (seen.has(name)) r.fail(`${p}.name`, `Duplicate value: "${name}"`);
    seen.add(name);
    if (path.endsWith('variables') && (!CEL_NAME.test(name) || CEL_RESERVED.has(name))) r.fail(`${p}.name`, 'must be a valid CEL identifier');
    return { name, expression: r.str(o.expression, `${p}.expression`, true) as string };
  });
}

/** `spec.variables`, compiled in order (each sees the earlier ones, typed). Throws PolicyError. */
function readVariables(r: Reader, v: unknown, roots: readonly string[]): CompiledVariables {
  const defs = readNamedEntries(r, v, 'spec.variables');
  try {
    return compileVariables(defs, { variables: roots, path: 'spec.variables', estimatedCostLimit: NOT_ESTIMATED });
  } catch (e) {
    throw toPolicyError(e, r.source, 'spec.variables');
  }
}

/** `metadata` (any ObjectMeta field: objects read from the API server carry uid, managedFields, ...); `name` is required. */
function readMetadata(r: Reader, doc: JsonObject): JsonObject {
  if (!isObject(doc.metadata)) return r.fail('metadata', 'Required value');
  return doc.metadata;
}

/** Parts common to both policy kinds. */
interface PolicyCore {
  name: string;
  source: PolicySource;
  failurePolicy: 'Fail' | 'Ignore';
  paramKind?: ParamKind;
  match: MatchResources;
  matchConditions: Named[];
  variables: CompiledVariables;
  /** What the policy's other expressions are compiled against. */
  env: ExprEnv;
}

function readCore(r: Reader, doc: JsonObject, specFields: readonly string[]): { core: PolicyCore; spec: JsonObject } {
  const md = readMetadata(r, doc);
  const name = r.str(md.name, 'metadata.name', true) as string;
  const spec = r.obj(doc.spec, 'spec', ['failurePolicy', 'paramKind', 'matchConstraints', 'matchConditions', 'variables', ...specFields], true) as JsonObject;
  const pk = r.obj(spec.paramKind, 'spec.paramKind', ['apiVersion', 'kind']);
  const paramKind = pk ? { apiVersion: r.str(pk.apiVersion, 'spec.paramKind.apiVersion', true) as string, kind: r.str(pk.kind, 'spec.paramKind.kind', true) as string } : undefined;
  const roots = paramKind ? WITH_PARAMS : KUBERNETES_VARIABLES;
  const variables = readVariables(r, spec.variables, roots);
  const env: ExprEnv = { roots, declarations: variables.declarations };
  const conditions = readNamedEntries(r, spec.matchConditions, 'spec.matchConditions');
  if (conditions.length > MAX_MATCH_CONDITIONS) r.fail('spec.matchConditions', `Too many: ${conditions.length}: must have at most ${MAX_MATCH_CONDITIONS} items`);
  const matchConditions = conditions.map(
    (c, i): Named => ({ name: c.name, expression: c.expression, program: compileAt(r, c.expression, `spec.matchConditions[${i}].expression`, env, { expectedType: 'bool' }) }),
  );
  return {
    spec,
    core: {
      name,
      source: r.source,
      failurePolicy: r.oneOf(spec.failurePolicy, 'spec.failurePolicy', ['Fail', 'Ignore']) ?? 'Fail',
      paramKind,
      match: readMatch(r, spec.matchConstraints, 'spec.matchConstraints', true) as MatchResources,
      matchConditions,
      variables,
      env,
    },
  };
}

/** A compiled validation. */
interface Validation {
  expression: string;
  program: CompiledExpression;
  message?: string;
  messageProgram?: CompiledExpression;
  reason: string;
}

interface AuditAnnotation {
  key: string;
  program: CompiledExpression;
}

interface ValidatingPolicy extends PolicyCore {
  validations: Validation[];
  auditAnnotations: AuditAnnotation[];
}

/** validation.go `supportedValidationPolicyReason` (Unauthorized, which the API documentation lists, is refused). */
/** validation.go: `maxAuditAnnotations`, and the most matchConditions (validateMatchConditions). */
const MAX_AUDIT_ANNOTATIONS = 20;
const MAX_MATCH_CONDITIONS = 64;

const REASONS = ['Forbidden', 'Invalid', 'RequestEntityTooLarge'] as const;

function readValidating(r: Reader, doc: JsonObject): ValidatingPolicy {
  const { core, spec } = readCore(r, doc, ['validations', 'auditAnnotations']);
  const validations = r.list(spec.validations, 'spec.validations').map((v, i): Validation => {
    const p = `spec.validations[${i}]`;
    const o = r.obj(v, p, ['expression', 'message', 'messageExpression', 'reason'], true) as JsonObject;
    const message = r.str(o.message, `${p}.message`);
    if (message !== undefined && /[\r\n]/.test(message)) r.fail(`${p}.message`, 'message must not contain line breaks');
    return {
      expression: r.str(o.expression, `${p}.expression`, true) as string,
      program: compileAt(r, o.expression, `${p}.expression`, core.env, { expectedType: 'bool' }),
      message,
      messageProgram: o.messageExpression !== undefined ? compileAt(r, o.messageExpression, `${p}.messageExpression`, core.env, { expectedType: 'string' }) : undefined,
      reason: r.oneOf(o.reason, `${p}.reason`, REASONS) ?? 'Invalid',
    };
  });
  const annotations = r.list(spec.auditAnnotations, 'spec.auditAnnotations');
  // validation.go validateValidatingAdmissionPolicySpec: at most 20, keys unique
  if (annotations.length > MAX_AUDIT_ANNOTATIONS) r.fail('spec.auditAnnotations', `Invalid value: must not have more than ${MAX_AUDIT_ANNOTATIONS} auditAnnotations`);
  const keys = new Set<string>();
  const auditAnnotations = annotations.map((v, i): AuditAnnotation => {
    const p = `spec.auditAnnotations[${i}]`;
    const o = r.obj(v, p, ['key', 'valueExpression'], true) as JsonObject;
    const key = r.str(o.key, `${p}.key`, true) as string;
    if (keys.has(key)) r.fail(`${p}.key`, `Duplicate value: "${key}"`);
    keys.add(key);
    return { key, program: compileAt(r, o.valueExpression, `${p}.valueExpression`, core.env, { expectedType: 'string|null' }) };
  });
  if (validations.length === 0 && auditAnnotations.length === 0) r.fail('spec.validations', 'Required value: validations or auditAnnotations must contain at least one item');
  return { ...core, validations, auditAnnotations };
}

interface MutatingPolicy extends PolicyCore {
  mutations: Mutation[];
  /** The mutations in order, consecutive constants of one patchType grouped (mutationRuns: applied as one when they fuse). */
  steps: (Mutation | MutationRun)[];
  reinvocationPolicy: 'Never' | 'IfNeeded';
}

function readMutating(r: Reader, doc: JsonObject): MutatingPolicy {
  const { core, spec } = readCore(r, doc, ['mutations', 'reinvocationPolicy']);
  const mutations = r.list(spec.mutations, 'spec.mutations', true).map((v, i): Mutation => {
    const p = `spec.mutations[${i}]`;
    const o = r.obj(v, p, ['patchType', 'jsonPatch', 'applyConfiguration'], true) as JsonObject;
    const patchType = r.oneOf(o.patchType, `${p}.patchType`, ['JSONPatch', 'ApplyConfiguration'], true) as Mutation['patchType'];
    const field = patchType === 'JSONPatch' ? 'jsonPatch' : 'applyConfiguration';
    const other = patchType === 'JSONPatch' ? 'applyConfiguration' : 'jsonPatch';
    if (o[other] !== undefined) r.fail(`${p}.${other}`, `Forbidden: must not be set when patchType is ${patchType}`);
    const body = r.obj(o[field], `${p}.${field}`, ['expression'], true) as JsonObject;
    return compiledMutation(patchType, compileAt(r, body.expression, `${p}.${field}.expression`, core.env, { mutation: true }));
  });
  if (mutations.length === 0) r.fail('spec.mutations', 'Required value');
  const reinvocationPolicy = r.oneOf(spec.reinvocationPolicy, 'spec.reinvocationPolicy', ['Never', 'IfNeeded'], true) as MutatingPolicy['reinvocationPolicy'];
  return { ...core, mutations, steps: mutationRuns(mutations), reinvocationPolicy };
}

/** A binding, checked. */
interface Binding {
  name: string;
  source: PolicySource;
  policyName: string;
  paramRef?: ParamRef;
  match?: MatchResources;
  validationActions: ('Deny' | 'Warn' | 'Audit')[];
}

// eslint-disable-next-line complexity -- field-by-field checks of validation.go for a binding
function readBinding(r: Reader, doc: JsonObject, validating: boolean): Binding {
  const md = readMetadata(r, doc);
  const fields = ['policyName', 'paramRef', 'matchResources', ...(validating ? ['validationActions'] : [])];
  const spec = r.obj(doc.spec, 'spec', fields, true) as JsonObject;
  const pr = r.obj(spec.paramRef, 'spec.paramRef', ['name', 'namespace', 'selector', 'parameterNotFoundAction']);
  let paramRef: ParamRef | undefined;
  if (pr) {
    const name = r.str(pr.name, 'spec.paramRef.name');
    const selector = r.obj(pr.selector, 'spec.paramRef.selector', SELECTOR_FIELDS);
    if (name !== undefined && selector) r.fail('spec.paramRef.selector', 'Forbidden: name and selector are mutually exclusive');
    if (name === undefined && !selector) r.fail('spec.paramRef', 'Required value: one of name or selector must be specified');
    const action = r.oneOf(pr.parameterNotFoundAction, 'spec.paramRef.parameterNotFoundAction', ['Allow', 'Deny'], true);
    paramRef = { name, namespace: r.str(pr.namespace, 'spec.paramRef.namespace'), selector: selector as ParamRef['selector'], parameterNotFoundAction: action };
  }
  const actions = validating ? r.list(spec.validationActions, 'spec.validationActions', true).map((a, i) => r.oneOf(a, `spec.validationActions[${i}]`, ['Deny', 'Warn', 'Audit'], true) as Binding['validationActions'][number]) : [];
  if (validating) {
    if (actions.length === 0) r.fail('spec.validationActions', 'Required value');
    if (new Set(actions).size !== actions.length) r.fail('spec.validationActions', 'Duplicate value: must not contain duplicates');
    if (actions.includes('Deny') && actions.includes('Warn')) r.fail('spec.validationActions', 'Invalid value: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)');
  }
  return {
    name: r.str(md.name, 'metadata.name', true) as string,
    source: r.source,
    policyName: r.str(spec.policyName, 'spec.policyName', true) as string,
    paramRef,
    match: readMatch(r, spec.matchResources, 'spec.matchResources', false),
    validationActions: actions,
  };
}

// ---------------------------------------------------------------------------
// Evaluation

/** What one evaluation (one param) sees. */
interface Scope {
  vars: Record<string, unknown>;
}

/** The variables of one evaluation: admission variables, `params`, and `variables` (lazy, each at most once: a VariableStore). */
function scopeFor(policy: PolicyCore, object: KubeObject, ctx: TransformContext, param: KubeObject | null): Scope {
  const vars = buildExprVars(object, ctx);
  // DELETE: `object` is null and `oldObject` the stored object, which is also what the request is matched on
  // (review.ts passes it as the object; generic/plugin.go and rest.AdmissionToValidateObjectDeleteFunc: NewAttributesRecord(nil, old, ...)).
  if (ctx.operation === 'DELETE') vars.object = null;
  return scopeOn(policy, { ...vars, params: param });
}

/** A Scope on `base` (the variables without `variables`, which the VariableStore evaluates with). */
function scopeOn(policy: PolicyCore, base: Record<string, unknown>): Scope {
  return { vars: { ...base, variables: policy.variables.bind(base) } };
}

/**
 * The Scopes of one param's pass of a MAP over `object`: the first, on
 * `object`, shared by the matchConditions and the mutations while the object
 * is unchanged; after a change, a fresh Scope (fresh `variables`) on the
 * object as it is. At admission the fresh one takes the first one's other
 * variables as they are (`request`, `namespaceObject`, `oldObject`,
 * `params` do not depend on the object: buildExprVars); in render the
 * synthetic `request` names the object, so it is built again.
 */
function scopesOf(policy: PolicyCore, ctx: TransformContext, param: KubeObject | null, object: KubeObject): (o: KubeObject) => Scope {
  let first: Scope | undefined;
  let base: Record<string, unknown> | undefined;
  return (o) => {
    if (o !== object && (ctx.request === undefined || ctx.exprVars !== undefined)) return scopeFor(policy, o, ctx, param);
    base ??= { ...buildExprVars(object, ctx), params: param };
    if (o === object) return (first ??= scopeOn(policy, base));
    return scopeOn(policy, { ...base, object: o });
  };
}

/**
 * `conditionsHold`, with an evaluation error resolved by failurePolicy as the
 * API server's dispatchers do (mutating/validating dispatcher.go): Fail hands
 * the message to `failed` (which denies), Ignore skips; either way false.
 */
function conditionsOr(policy: PolicyCore, scope: Scope, failed: (message: string) => void): boolean {
  try {
    return conditionsHold(policy, scope);
  } catch (e) {
    if (policy.failurePolicy === 'Fail') failed(errText(e));
    return false;
  }
}

/**
 * matchConditions as the API server's matcher decides them
 * (k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions/matcher.go
 * `Match`): every condition is evaluated in order; one that is false decides
 * "no match" at once, even after others failed to evaluate; otherwise an
 * evaluation error throws, with the texts of all of them (`expression '<e>'
 * resulted in error: <reason>`, as plugin/cel/activation.go `Evaluate`
 * words it; several as utilerrors.NewAggregate joins them, `[a, b]`). Only
 * `false` stops the match: a result that is not a bool (a `dyn` expression)
 * is neither false nor an error there, so it does not.
 */
function conditionsHold(policy: PolicyCore, scope: Scope): boolean {
  const errors: string[] = [];
  for (const c of policy.matchConditions) {
    let r: unknown;
    try {
      r = c.program.evaluate(scope.vars);
    } catch (e) {
      errors.push(`expression '${c.expression}' resulted in error: ${errText(e)}`);
      continue;
    }
    if (r === false) return false;
  }
  if (errors.length === 1) throw new TransformError(errors[0] as string);
  if (errors.length > 1) throw new TransformError(`[${errors.join(', ')}]`);
  return true;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The `policy '<p>' with binding '<b>' denied request: <m>` text of a MAP failure (generic PolicyError.Error()). */
function mapDenial(policy: string, binding: string, message: string): string {
  return `policy '${policy}' with binding '${binding}' denied request: ${message}`;
}

/** One invocation of a MAP binding: what every param's pass shares. */
interface Invocation {
  policy: MutatingPolicy;
  binding: Binding;
  ctx: TransformContext;
}

/** One pass of a MAP over every param: the mutated object. */
function mutateOnce(inv: Invocation, object: KubeObject, params: (KubeObject | null)[]): KubeObject {
  let current = object;
  for (const param of params) current = mutateWithParam(inv, current, param);
  return current;
}

/**
 * The mutations of one param, in order, on `object`. The variables (a Scope)
 * are built only for an expression that reads them: the matchConditions and
 * the mutations while the object is still `object` share one Scope (one lazy
 * `variables` store), each mutation after a change gets a fresh one on the
 * object as it is; a constant mutation (folded at load) needs none, and one
 * that reads only `object`, `oldObject` and `params` gets just those (the
 * CEL activation converts only what an expression reads), which changes
 * nothing it could observe.
 */
function mutateWithParam({ policy, binding, ctx }: Invocation, object: KubeObject, param: KubeObject | null): KubeObject {
  const scopeOf = scopesOf(policy, ctx, param, object);
  const fail = (m: string): never => {
    throw new TransformError(mapDenial(policy.name, binding.name, m));
  };
  if (policy.matchConditions.length > 0 && !conditionsOr(policy, scopeOf(object), fail)) return object;
  let current = object;
  // One closure each for the pass: they run inside mutationResult, before `current` takes the mutation's result.
  const varsOfCurrent = (): Record<string, unknown> => scopeOf(current).vars;
  // An expression reading only object, oldObject and params gets only those (the activation converts no other).
  const objectVars = ctx.exprVars === undefined ? (): Record<string, unknown> => ({ object: current, oldObject: ctx.oldObject ?? null, params: param }) : varsOfCurrent;
  // Containers made by this pass's mutations (never `object`'s): changed in place by the next ones (applyMutation).
  const owned = new OwnedList();
  // Fail: a mutation's error denies with its text; Ignore (undefined): the mutation is skipped, the later ones still apply (dispatcher.go).
  const failOn = policy.failurePolicy === 'Fail' ? (e: unknown): never => fail(errText(e)) : undefined;
  for (const m of policy.steps) {
    if (isMutationRun(m)) {
      current = applyMutationRun(m, current, owned, failOn);
      continue;
    }
    try {
      current = applyMutation(m, current, mutationResult(m, m.objectOnly ? objectVars : varsOfCurrent), owned);
    } catch (e) {
      failOn?.(e);
    }
  }
  return current;
}

/** A member's evaluation that threw: its error, applied in its place (denied under Fail, skipped under Ignore). */
class Failed {
  constructor(readonly error: unknown) {}
}

/**
 * A run of constant mutations (MutationRun) on `object`: each member
 * evaluated in order (constants: no variables), as one pass would; under
 * Fail the evaluations stop at the first error. When none failed and the
 * run fuses (applyRun), its members' results are applied as one; otherwise
 * one by one in order, each evaluation's error in its place, so the object
 * and the error that denies are those of the one-by-one pass (applying
 * charges nothing and reads no clock: only the evaluations do, in the same
 * order). `failOn(e)`: throws the denial of an error under Fail (undefined
 * under Ignore: the failing member is skipped).
 */
function applyMutationRun(run: MutationRun, object: KubeObject, owned: OwnedList, failOn: ((e: unknown) => never) | undefined): KubeObject {
  const results = runResults(run, failOn !== undefined);
  const fused = results.some((r) => r instanceof Failed) ? undefined : applyRun(run, object, results, owned);
  if (fused !== undefined) return fused;
  let current = object;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    try {
      if (r instanceof Failed) throw r.error;
      current = applyMutation(run.members[i] as Mutation, current, r, owned);
    } catch (e) {
      // Ignore: this mutation is skipped, the later ones still apply (dispatcher.go).
      failOn?.(e);
    }
  }
  return current;
}

/**
 * The results of `run`'s members, as evaluating each in order gives them:
 * their kept results with the sum of their charges charged at once when
 * each evaluation would charge its own at once and the sum fits
 * (MutationRun.atOnce, chargeAllWithinBounds: none can fail then); else each
 * member evaluated, an evaluation's error as a Failed in its place, with
 * `stopAtError` (Fail) none evaluated after the first error.
 */
function runResults(run: MutationRun, stopAtError: boolean): readonly unknown[] {
  if (run.atOnce !== undefined && chargeAllWithinBounds(run.atOnce.total)) return run.atOnce.results;
  const results: unknown[] = [];
  for (const m of run.members) {
    try {
      results.push(mutationResult(m, NO_VARS));
    } catch (e) {
      results.push(new Failed(e));
      if (stopAtError) break;
    }
  }
  return results;
}

/** No variables: what a constant mutation is evaluated with (mutationResult gives a constant none either). */
const NO_VARS = (): Record<string, unknown> => ({});

/**
 * The params objects a binding evaluates with (one `null` without paramKind).
 * A binding that cannot be configured (params missing and Deny, a bad
 * selector) fails the request with `denial(...)`'s text under failurePolicy
 * Fail; under Ignore it returns undefined and the policy is skipped
 * (validating/dispatcher.go and mutating/dispatcher.go: "failed to configure binding").
 */
function bindingParams(pair: { policy: PolicyCore; binding: Binding; store: ParamStore }, ctx: TransformContext, denial: (m: string) => string): (KubeObject | null)[] | undefined {
  const { policy, binding, store } = pair;
  try {
    return collectParams(policy.paramKind, binding.paramRef, ctx.namespace, store);
  } catch (e) {
    if (policy.failurePolicy === 'Ignore') return undefined;
    throw new TransformError(denial(`failed to configure binding: ${errText(e)}`));
  }
}

/** The transformer of one MAP binding. */
function mutatingTransformer(policy: MutatingPolicy, binding: Binding, store: ParamStore): Transformer {
  return {
    type: 'MutatingAdmissionPolicy',
    name: 'mutations',
    apply(obj, ctx): KubeObject {
      const params = bindingParams({ policy, binding, store }, ctx, (m) => mapDenial(policy.name, binding.name, m));
      if (!params) return obj;
      // Reinvocation (IfNeeded) is evaluate.ts's: CompiledPolicy.reinvocationPolicy.
      return mutateOnce({ policy, binding, ctx }, obj, params);
    },
  };
}

/** validator.go: the message of a failed validation. */
function failureMessage(v: Validation, vars: Record<string, unknown>): string {
  if (v.messageProgram) {
    try {
      const m = v.messageProgram.evaluate(vars);
      if (typeof m === 'string') {
        const t = m.trim();
        // eslint-disable-next-line max-depth -- the action switch of validating/dispatcher.go
        if (t !== '' && !t.includes('\n') && t.length <= 5 * 1024) return t;
      }
    } catch {
      // falls back to message (the API server logs the error)
    }
  }
  if (v.message !== undefined && v.message.trim() !== '') return v.message.trim();
  return `failed expression: ${v.expression.trim()}`;
}

/**
 * The decisions (failure messages) of one evaluation, in validation order;
 * errors only under Fail. A validation fails when its result is not `true`
 * (validating/validator.go `Validate`: `EvalResult != celtypes.True`), so a
 * `dyn` expression giving a value that is not a bool fails as a false one
 * does, with its message, whatever the failurePolicy.
 */
function decisions(policy: ValidatingPolicy, scope: Scope): Decision[] {
  const out: Decision[] = [];
  for (const v of policy.validations) {
    let r: unknown;
    try {
      r = v.program.evaluate(scope.vars);
    } catch (e) {
      if (policy.failurePolicy === 'Fail') out.push({ message: `expression '${v.expression.trim()}' resulted in error: ${errText(e)}` });
      continue;
    }
    if (r !== true) out.push({ message: failureMessage(v, scope.vars), reason: v.reason });
  }
  return out;
}

/** A failed validation (or an error): its message, and the validation's `reason` (none for an error: Invalid). */
interface Decision {
  message: string;
  reason?: string;
}

/** validating/dispatcher.go `reasonToCode`: the HTTP status of a VAP denial by its reason (Invalid, the default: 422). */
function reasonStatus(reason = 'Invalid'): DenialStatus {
  const code = reason === 'Forbidden' ? 403 : reason === 'RequestEntityTooLarge' ? 413 : 422;
  return { code, reason };
}

/**
 * Reports a VAP decision through the binding's validationActions
 * (validating/dispatcher.go `Dispatch`); `deny(message, reason)` reports a denial.
 */
function reportDecision(policy: ValidatingPolicy, binding: Binding, ctx: TransformContext, decision: Decision & { deny: (m: string, reason?: string) => void }): void {
  const { message, deny } = decision;
  for (const action of binding.validationActions) {
    if (action === 'Deny') deny(message, decision.reason);
    else if (action === 'Warn') ctx.report({ action: 'Warn', rule: 'validations', message: `Validation failed for ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}': ${message}` });
    else if (action === 'Audit') ctx.report({ action: 'Warn', rule: 'validations', message: `[audit] validation failure: ${message}` });
  }
}

/**
 * auditAnnotations (validating/validator.go `Validate`, dispatcher.go
 * `Dispatch`): `<policy>/<key>: <value>` for every non-blank string value;
 * null or blank: nothing. An evaluation error is a denial under Fail and
 * nothing under Ignore; a value of another type (a `dyn` expression) is a
 * denial whatever the failurePolicy. These denials do not go through the
 * binding's validationActions: the dispatcher adds them to the denied
 * decisions directly. `deny(message)` reports one.
 */
function auditAnnotations(policy: ValidatingPolicy, scope: Scope, ctx: TransformContext, deny: (m: string) => void): void {
  for (const a of policy.auditAnnotations) {
    let v: unknown;
    try {
      v = a.program.evaluate(scope.vars);
    } catch (e) {
      if (policy.failurePolicy === 'Fail') deny(`expression '${a.program.source}' resulted in error: ${errText(e)}`);
      continue;
    }
    if (v === null) continue;
    if (typeof v !== 'string') deny(`valueExpression '${a.program.source}' resulted in unsupported return type: ${describeValue(v)}. Return type must be either string or null.`);
    else if (v.trim() !== '') ctx.report({ action: 'Warn', rule: 'auditAnnotations', message: `[audit] annotation ${policy.name}/${a.key}: ${v.trim().slice(0, 10 * 1024)}` });
  }
}

/** The transformer of one VAP binding (type `validate`: `/validate` runs it). */
function validatingTransformer(policy: ValidatingPolicy, binding: Binding, store: ParamStore): Transformer {
  const denial = (m: string): string => `ValidatingAdmissionPolicy '${policy.name}' with binding '${binding.name}' denied request: ${m}`;
  return {
    type: 'validate',
    name: 'validations',
    apply(obj, ctx): KubeObject {
      const params = bindingParams({ policy, binding, store }, ctx, denial);
      if (!params) return obj;
      let denied = false;
      // The API server's denial shows the first denied decision only, with its reason's status (dispatcher.go `deniedDecisions[0]`).
      const deny = (m: string, reason?: string): void => {
        if (!denied) ctx.report({ action: 'Deny', rule: 'validations', message: denial(m), status: reasonStatus(reason) });
        denied = true;
      };
      const decide = (d: Decision): void => reportDecision(policy, binding, ctx, { ...d, deny });
      for (const param of params) {
        const scope = scopeFor(policy, obj, ctx, param);
        if (!conditionsOr(policy, scope, (message) => decide({ message }))) continue;
        for (const d of decisions(policy, scope)) decide(d);
        auditAnnotations(policy, scope, ctx, deny);
      }
      return obj;
    },
  };
}

// ---------------------------------------------------------------------------
// Compilation

/** Options of compileAdmissionPolicies. */
export interface AdmissionCompileOptions {
  /** Where params objects are looked up at evaluation time. */
  params: ParamStore;
}

function compiledPolicy(
  core: PolicyCore,
  binding: Binding,
  kind: 'MutatingAdmissionPolicy' | 'ValidatingAdmissionPolicy',
  transformer: Transformer,
): CompiledPolicy {
  const policyMatch = compileMatchResources(core.match, true);
  const bindingMatch = compileMatchResources(binding.match, false);
  const applies = (o: KubeObject, input: EvaluationInput): string => {
    const p = policyMatch(o, input);
    if (p) return `matchConstraints.${p}`;
    const b = bindingMatch(o, input);
    return b ? `binding ${binding.name}: matchResources.${b}` : '';
  };
  return {
    name: `${core.name}/${binding.name}`,
    kind,
    order: kind === 'MutatingAdmissionPolicy' ? MAP_ORDER : VAP_ORDER,
    failurePolicy: core.failurePolicy,
    mode: 'Enforce',
    hooks: 'include',
    transformers: [transformer],
    // A VAP also sees DELETE and CONNECT (validating/dispatcher.go runs on every operation its rules name); a MAP
    // never: there is no object to mutate.
    ...(kind === 'MutatingAdmissionPolicy' ? { reinvocationPolicy: (core as MutatingPolicy).reinvocationPolicy } : { withoutObject: true }),
    applies,
    // Webhook rules (issue 16) from the policy's resourceRules, as written: a binding's
    // matchResources and the exclusions only narrow, and wider rules are safe.
    matchInfo: {
      rules: (core.match.resourceRules ?? []).map((r) => ({ groups: r.apiGroups ?? ['*'], resources: r.resources ?? ['*'], operations: r.operations ?? ['*'] })),
    },
    source: binding.source,
  };
}

/**
 * Compiles the MAP/VAP documents and bindings of a load into CompiledPolicies,
 * one per (policy, binding). Every document is checked (fields, enums,
 * expressions compiled) whether bound or not; a binding naming a missing
 * policy, or two policies of one kind with the same name, are errors.
 * Throws PolicyError (file, document, path, reason).
 */
// eslint-disable-next-line complexity -- the load-wide pass: documents, then bindings against policies
export function compileAdmissionPolicies(docs: readonly SourcedDocument[], opts: AdmissionCompileOptions): CompiledPolicy[] {
  const mutating = new Map<string, MutatingPolicy>();
  const validating = new Map<string, ValidatingPolicy>();
  const bindings: { binding: Binding; validating: boolean }[] = [];
  for (const d of docs) {
    const r = new Reader(d.source);
    const kind = d.value.kind as AdmissionKind;
    if (kind === 'MutatingAdmissionPolicy' || kind === 'ValidatingAdmissionPolicy') {
      const p = kind === 'MutatingAdmissionPolicy' ? readMutating(r, d.value) : readValidating(r, d.value);
      const map = (kind === 'MutatingAdmissionPolicy' ? mutating : validating) as Map<string, PolicyCore>;
      if (map.has(p.name)) r.fail('metadata.name', `duplicate ${kind} "${p.name}"`);
      map.set(p.name, p);
    } else {
      bindings.push({ binding: readBinding(r, d.value, kind === 'ValidatingAdmissionPolicyBinding'), validating: kind === 'ValidatingAdmissionPolicyBinding' });
    }
  }
  const seen = new Set<string>();
  const out: CompiledPolicy[] = [];
  for (const { binding, validating: isV } of bindings) {
    const kind = isV ? 'ValidatingAdmissionPolicy' : 'MutatingAdmissionPolicy';
    const key = `${kind}Binding/${binding.name}`;
    if (seen.has(key)) throw new PolicyError(binding.source, 'metadata.name', `duplicate ${kind}Binding "${binding.name}"`, 'ERR_POLICY_ADMISSION');
    seen.add(key);
    const policy = isV ? validating.get(binding.policyName) : mutating.get(binding.policyName);
    if (!policy) throw new PolicyError(binding.source, 'spec.policyName', errorMessage('ERR_POLICY_BINDING', kind, binding.policyName), 'ERR_POLICY_BINDING');
    if (policy.paramKind && !binding.paramRef) {
      // Allowed by the API server (params is null): nothing to check.
    }
    const t = isV ? validatingTransformer(policy as ValidatingPolicy, binding, opts.params) : mutatingTransformer(policy as MutatingPolicy, binding, opts.params);
    out.push(compiledPolicy(policy, binding, kind, t));
  }
  return out;
}

/** ParamError is part of this dialect's surface (a binding configuration error). */
export { ParamError };
