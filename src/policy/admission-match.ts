/**
 * `matchConstraints` of MutatingAdmissionPolicy / ValidatingAdmissionPolicy
 * and `matchResources` of their bindings, as the API server matches them
 * (k8s.io/apiserver/pkg/admission/plugin/policy/matching/matching.go and the
 * webhook predicates it uses: namespace/matcher.go, object/matcher.go,
 * rules/rules.go): namespaceSelector, objectSelector, resourceRules (with
 * operations, apiGroups, apiVersions, resources and subresources, scope,
 * resourceNames) and excludeResourceRules. A policy never applies to the
 * admission policy resources themselves (policy/generic/plugin.go); the
 * objectSelector also matches by the old object's labels (object/matcher.go);
 * a Namespace is cluster-scoped for a rule's `scope` (rules.go).
 *
 * What an object is matched as: at admission the AdmissionRequest's
 * `resource`/`subResource`; in render the plural of the kind (Kubernetes'
 * naming rule, `Deployment` -> `deployments`), operation CREATE.
 * `matchPolicy: Equivalent` (the default) accepts a rule whose group and
 * resource match in another version the API server serves (any version of a
 * custom resource), as it does when it converts to an equivalent version;
 * `Exact` requires the request's version.
 */
import { compileLabelSelector, type LabelSelector, type MapPredicate } from '../kube/selector.js';
import { isObject, metaMap, metaString, type KubeObject } from '../kube/object.js';
import { pluralResource, servedVersions } from '../kube/resources.js';
import type { EvaluationInput } from './types.js';

/** A `NamedRuleWithOperations`. */
export interface NamedRule {
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  operations?: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
  resourceNames?: string[];
}

/** `MatchResources` (policy `matchConstraints`, binding `matchResources`). */
export interface MatchResources {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  resourceRules?: NamedRule[];
  excludeResourceRules?: NamedRule[];
  matchPolicy?: 'Exact' | 'Equivalent';
}

/** What a request is matched as. */
interface RequestAttributes {
  operation: string;
  group: string;
  version: string;
  resource: string;
  subResource: string;
  name: string;
  namespaced: boolean;
}

export { pluralResource } from '../kube/resources.js';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The request attributes of an object under evaluation (admission: from the request; render: derived). */
// eslint-disable-next-line complexity -- admission and render sources of each attribute side by side
function attributesOf(o: KubeObject, input: EvaluationInput): RequestAttributes {
  const req = input.request;
  const res = req && isObject(req.resource) ? req.resource : undefined;
  const apiVersion = str(o.apiVersion);
  const slash = apiVersion.indexOf('/');
  return {
    operation: input.operation,
    group: res ? str(res.group) : slash < 0 ? '' : apiVersion.slice(0, slash),
    version: res ? str(res.version) : slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    resource: res ? str(res.resource) : pluralResource(str(o.kind)),
    subResource: input.subResource ?? '',
    name: req && typeof req.name === 'string' ? req.name : metaString(o, 'name'),
    // rules.go `Matcher.scope`: a Namespace's request names itself as its
    // namespace, yet it is cluster-scoped.
    namespaced: input.namespace !== '' && !(res ? str(res.group) === '' && str(res.resource) === 'namespaces' : o.kind === 'Namespace' && slash < 0),
  };
}

/**
 * True for the request of a Namespace itself (group '', version v1,
 * resource `namespaces`: rules.go `namespaceResource`). The API server gives
 * such a request the namespace's own name as its namespace, and rules.go
 * `Matcher.scope` still counts it as cluster-scoped.
 */
function isNamespaceResource(a: RequestAttributes): boolean {
  return a.group === '' && a.version === 'v1' && a.resource === 'namespaces';
}

/**
 * The resources no API-based MutatingAdmissionPolicy or
 * ValidatingAdmissionPolicy ever applies to: the four admission policy
 * resources themselves (policy/generic/plugin.go `admissionResources`,
 * skipped by `Dispatch` before any matching, to prevent circular
 * dependencies), whatever the rules say (`resources: ["*"]` too).
 */
const ADMISSION_POLICY_RESOURCES = new Set(['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings']);

/** True when `a` is a request for one of ADMISSION_POLICY_RESOURCES. */
function isAdmissionPolicyResource(a: RequestAttributes): boolean {
  return a.group === 'admissionregistration.k8s.io' && ADMISSION_POLICY_RESOURCES.has(a.resource);
}

const listHas = (list: string[] | undefined, v: string): boolean => !list || list.length === 0 ? false : list.includes('*') || list.includes(v);

/**
 * The rule's apiVersions against the request's version: the version itself
 * (or `*`); with `matchPolicy: Equivalent`, also another version of the
 * same group and resource that the API server serves (matching.go
 * `matchesResourceRules` tries `EquivalentResourcesFor`, which lists the
 * served versions only: a rule naming `autoscaling/v2beta2` matches no
 * HorizontalPodAutoscaler on a server that no longer serves it). A custom
 * resource's served versions are not known here: any version matches.
 */
function versionMatches(rule: NamedRule, a: RequestAttributes, exact: boolean): boolean {
  if (listHas(rule.apiVersions, a.version)) return true;
  if (exact) return false;
  const served = servedVersions(a.group, a.resource);
  return served === undefined || (rule.apiVersions ?? []).some((v) => served.includes(v));
}

/** rules.go `Matcher.resource`: `*`, `*` + `/*` (every subresource too), `res`, `res/` + `*`, `*` + `/sub`, `res/sub`. */
function resourceMatches(patterns: string[] | undefined, resource: string, sub: string): boolean {
  const full = sub ? `${resource}/${sub}` : resource;
  return (patterns ?? []).some((p) => {
    if (p === '*/*' || p === full) return true;
    const [r, s] = p.split('/', 2) as [string, string | undefined];
    if (s === undefined) return r === '*' && sub === '';
    return (r === '*' || r === resource) && (s === '*' || s === sub);
  });
}

/** One rule against the request (rules.go `Matcher.Matches` plus resourceNames). */
// eslint-disable-next-line complexity -- one early return per rules.go check
function ruleMatches(rule: NamedRule, a: RequestAttributes, exact: boolean): boolean {
  if (!listHas(rule.operations, a.operation)) return false;
  if (!listHas(rule.apiGroups, a.group)) return false;
  if (!versionMatches(rule, a, exact)) return false;
  if (!resourceMatches(rule.resources, a.resource, a.subResource)) return false;
  const scope = rule.scope ?? '*';
  // rules.go `Matcher.scope`: a Namespace is cluster-scoped although its request names a namespace (its own).
  const namespaced = a.namespaced && !isNamespaceResource(a);
  if (scope === 'Cluster' && namespaced) return false;
  if (scope === 'Namespaced' && !namespaced) return false;
  return !rule.resourceNames || rule.resourceNames.length === 0 || rule.resourceNames.includes(a.name);
}

/** A compiled MatchResources: returns '' when the request matches, else the field that excluded it. */
export type ResourceMatcher = (o: KubeObject, input: EvaluationInput) => string;

/**
 * Compiles a MatchResources. `requireRules`: a policy's matchConstraints
 * (resourceRules required: none matches nothing); a binding's may omit them
 * (no constraint). Throws SelectorError for an invalid selector.
 */
export function compileMatchResources(m: MatchResources | undefined, requireRules: boolean): ResourceMatcher {
  // A binding without matchResources constrains nothing: no request attributes to build.
  return m === undefined && !requireRules ? matchesEverything : compileConstraints(m, requireRules);
}

/** compileMatchResources of constraints that may hold or not. */
function compileConstraints(m: MatchResources | undefined, requireRules: boolean): ResourceMatcher {
  const nsSel: MapPredicate | undefined = m?.namespaceSelector ? compileLabelSelector(m.namespaceSelector) : undefined;
  const objSel: MapPredicate | undefined = m?.objectSelector ? compileLabelSelector(m.objectSelector) : undefined;
  const exact = m?.matchPolicy === 'Exact';
  const rules = m?.resourceRules;
  const excludes = m?.excludeResourceRules ?? [];
  // The rules' verdict: '' or the field that excluded the request.
  const rulesMiss = (a: RequestAttributes): string => {
    if ((rules !== undefined || requireRules) && !(rules ?? []).some((r) => ruleMatches(r, a, exact))) return 'resourceRules';
    return excludes.some((r) => ruleMatches(r, a, exact)) ? 'excludeResourceRules' : '';
  };
  return (o, input) => {
    const a = attributesOf(o, input);
    if (requireRules && isAdmissionPolicyResource(a)) return 'resourceRules (admission policy resources are exempt)';
    if (nsSel && !namespaceMatches(nsSel, o, input)) return 'namespaceSelector';
    if (objSel && !objectMatches(objSel, o, input)) return 'objectSelector';
    return rulesMiss(a);
  };
}

const matchesEverything: ResourceMatcher = () => '';

/**
 * object/matcher.go `MatchObjectSelector`: the object's labels or, when
 * there is one (UPDATE, DELETE), the old object's: an UPDATE that removes
 * a selected label still matches, one that adds it matches too.
 */
function objectMatches(sel: MapPredicate, o: KubeObject, input: EvaluationInput): boolean {
  return sel(metaMap(o, 'labels')) || (input.oldObject !== undefined && sel(metaMap(input.oldObject, 'labels')));
}

/**
 * namespace/matcher.go `MatchNamespaceSelector`: a cluster-scoped object
 * matches (a Namespace is matched by its own labels); a namespaced one by its
 * namespace's labels (none known: no labels).
 */
function namespaceMatches(sel: MapPredicate, o: KubeObject, input: EvaluationInput): boolean {
  if (o.kind === 'Namespace' && (o.apiVersion === 'v1' || o.apiVersion === undefined)) return sel(metaMap(o, 'labels'));
  if (input.namespace === '') return true;
  return sel({ ...(input.namespaceLabels ?? {}) });
}
