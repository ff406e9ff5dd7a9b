/**
 * `match` / `exclude` clauses of a policy, and the default exclusions of
 * DESIGN.md. A clause holds when every field it gives holds (as Kyverno's
 * `match`/`exclude` and Kubernetes webhook rules: resources, operations,
 * namespaceSelector, objectSelector, matchConditions).
 */
import { anchoredRegex, compileLabelSelector, type LabelSelector, type MapPredicate } from '../kube/selector.js';
import { gvkOf, isNamespaceObject, isObject, metaMap, metaString, metaValue, type GVK, type KubeObject } from '../kube/object.js';
import type { EvaluationInput } from './types.js';
import type { ExprScope } from '../expr/vars.js';

/** A `match`/`exclude` clause as written in a policy. */
export interface MatchSpec {
  resources?: { group?: string; version?: string; kinds?: string[]; names?: string[] }[];
  operations?: string[];
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  conditions?: { name: string; expression: string }[];
  userInfo?: { usernames?: string[]; groups?: string[] };
}

/** A compiled CEL condition: returns true/false or throws on evaluation error. */
export type ConditionFn = (object: KubeObject, input: EvaluationInput) => boolean;

/** Compiles CEL conditions (injected so that this module does not depend on the CEL engine). */
export type ConditionCompiler = (expression: string, path: string, scope?: ExprScope) => ConditionFn;

/** A compiled clause: returns '' when it holds, else the name of the first field that does not. */
export type Clause = (object: KubeObject, input: EvaluationInput) => string;

/** `*` glob to anchored RE2 (only `*` is special), so tenants cannot write a slow pattern. */
function glob(pattern: string, path: string): (s: string) => boolean {
  if (pattern === '*') return () => true;
  const re = pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return anchoredRegex(re, path);
}

function anyGlob(patterns: string[], path: string): (s: string) => boolean {
  const tests = patterns.map((p, i) => glob(p, `${path}[${i}]`));
  return (s) => tests.some((t) => t(s));
}

/**
 * Splits a `kinds` entry into kind and subresource: `Deployment` ->
 * {Deployment, ''}; `Deployment/status` -> {Deployment, status}; a `*` kind
 * with a subresource matches that subresource of any kind.
 * As webhook rules (`deployments/status`) and Kyverno (`Deployment/status`), a
 * subresource request (status, scale, ...) matches only an entry that names
 * it; a plain kind never matches it.
 */
export function splitKind(entry: string): { kind: string; sub: string } {
  const i = entry.indexOf('/');
  return i < 0 ? { kind: entry, sub: '' } : { kind: entry.slice(0, i), sub: entry.slice(i + 1) };
}

function compileResources(res: NonNullable<MatchSpec['resources']>, path: string): Check {
  const entries = res.map((r, i) => {
    const names = r.names ? anyGlob(r.names, `${path}[${i}].names`) : undefined;
    const kinds = r.kinds?.map(splitKind);
    return (o: KubeObject, g: GVK, sub: string): boolean => {
      if (!wildcardOrEqual(r.group, g.group) || !wildcardOrEqual(r.version, g.version)) return false;
      if (!kindsMatch(kinds, g.kind, sub)) return false;
      return names === undefined || names(metaString(o, 'name') || metaString(o, 'generateName'));
    };
  });
  // The object's group, version and kind read once for all entries, its name only for an entry with names.
  return (o, input) => {
    const g = gvkOf(o);
    const sub = input.subResource ?? '';
    for (const e of entries) if (e(o, g, sub)) return true;
    return false;
  };
}

/** A `group`/`version` of a resources entry: absent and `*` match anything. */
function wildcardOrEqual(want: string | undefined, got: string): boolean {
  return want === undefined || want === '*' || want === got;
}

/** The kinds of a resources entry against a kind and subresource (`''` for the object itself); no kinds: any kind, no subresource. */
function kindsMatch(kinds: { kind: string; sub: string }[] | undefined, kind: string, sub: string): boolean {
  if (!kinds) return sub === '';
  for (const k of kinds) if ((k.kind === '*' || k.kind === kind) && (k.sub === sub || (k.sub === '*' && sub !== ''))) return true;
  return false;
}

/** True when some `match.resources` entry names a subresource (`Kind/subresource`). */
export function namesSubresources(spec: MatchSpec | undefined): boolean {
  return (spec?.resources ?? []).some((r) => (r.kinds ?? []).some((k) => k.includes('/')));
}

/**
 * An objectSelector as the API server evaluates a webhook's: against both the
 * new object and the old one, matching when either matches (on CREATE there is
 * no old object, on DELETE no new one: a missing object never matches).
 * Source: k8s.io/apiserver pkg/admission/plugin/webhook/predicates/object
 * (`MatchObjectSelector`: `matchObject(newObj) || matchObject(oldObj)`) and the
 * ValidatingWebhookConfiguration reference ("considered to match if either
 * object matches the selector").
 */
function objectSelectorMatches(sel: MapPredicate, o: KubeObject, input: EvaluationInput): boolean {
  const old = input.oldObject;
  if (input.operation === 'DELETE' && old) return sel(metaMap(old, 'labels'));
  if (sel(metaMap(o, 'labels'))) return true;
  return input.operation === 'UPDATE' && old !== undefined && sel(metaMap(old, 'labels'));
}

function userInfoOf(input: EvaluationInput): { username: string; groups: string[] } {
  const ui = input.request && isObject(input.request.userInfo) ? input.request.userInfo : {};
  const username = typeof ui.username === 'string' ? ui.username : '';
  const groups = Array.isArray(ui.groups) ? ui.groups.filter((g): g is string => typeof g === 'string') : [];
  return { username, groups };
}

/**
 * Compiles a clause. `path` (e.g. `spec.match`) prefixes error paths.
 * Throws SelectorError (bad glob) or whatever `conditions` throws for a bad expression.
 * Namespace labels unknown (render without Namespace objects, no cluster) read as {}.
 * userInfo only constrains admission requests; render has no user.
 */
export function compileClause(spec: MatchSpec, path: string, compileCondition?: ConditionCompiler, scope?: ExprScope): Clause {
  const checks: [string, Check][] = [];
  for (const [name, compile] of FIELD_CHECKS) {
    const check = compile(spec, path);
    if (check) checks.push([name, check]);
  }
  for (const [idx, c] of (spec.conditions ?? []).entries()) {
    if (!compileCondition) throw new Error(`${path}.conditions[${idx}]: CEL conditions are not available`);
    const fn = compileCondition(c.expression, `${path}.conditions[${idx}].expression`, scope);
    checks.push([`conditions[${c.name}]`, fn]);
  }
  return (o, input) => {
    for (const [name, check] of checks) if (!check(o, input)) return name;
    return '';
  };
}

/** One field of a clause, compiled: true when it holds. */
type Check = (o: KubeObject, input: EvaluationInput) => boolean;

/**
 * The fields of a clause other than `conditions`, in the order they are
 * tested (the first that fails names the clause's result): each compiles to a
 * check, or to undefined when the clause does not give the field.
 */
const FIELD_CHECKS: readonly (readonly [string, (spec: MatchSpec, path: string) => Check | undefined])[] = [
  ['resources', (spec, path) => spec.resources && compileResources(spec.resources, `${path}.resources`)],
  ['operations', ({ operations: ops }) => ops && ((_o, i) => ops.includes('*') || ops.includes(i.operation))],
  ['namespaces', (spec, path) => {
    const ns = spec.namespaces && anyGlob(spec.namespaces, `${path}.namespaces`);
    return ns && ((_o, i) => ns(i.namespace));
  }],
  ['namespaceSelector', (spec) => spec.namespaceSelector && namespaceSelectorCheck(compileLabelSelector(spec.namespaceSelector))],
  ['objectSelector', (spec) => {
    const sel = spec.objectSelector && compileLabelSelector(spec.objectSelector);
    return sel && ((o, i) => objectSelectorMatches(sel, o, i));
  }],
  ['userInfo', (spec, path) => spec.userInfo && userInfoCheck(spec.userInfo, `${path}.userInfo`)],
];

function namespaceSelectorCheck(sel: MapPredicate): Check {
  return (o, i) => {
    // As the API server: a Namespace is matched on its own labels.
    if (isNamespaceObject(o)) return sel(metaMap(o, 'labels'));
    return sel(i.namespaceLabels ?? {});
  };
}

function userInfoCheck(userInfo: NonNullable<MatchSpec['userInfo']>, path: string): Check {
  const users = userInfo.usernames ? anyGlob(userInfo.usernames, `${path}.usernames`) : undefined;
  const groups = userInfo.groups ? anyGlob(userInfo.groups, `${path}.groups`) : undefined;
  return (_o, i) => {
    if (i.frontDoor !== 'admission') return true;
    const u = userInfoOf(i);
    return (!users || users(u.username)) && (!groups || u.groups.some(groups));
  };
}

/** Kinds never touched unless a policy names them explicitly in `match.resources[].kinds`. */
const OPT_IN_KINDS = ['Secret', 'Lease', 'Event'];

/** Namespaces never touched unless a policy lists them literally in `match.namespaces`. */
const PROTECTED_NAMESPACES = ['kube-system', 'kube-node-lease'];

/**
 * The default exclusions of DESIGN.md, as one predicate: returns the reason an
 * object is excluded, or '' when it is not. `spec` is the policy's `match`
 * (explicit opt-ins), `ownNamespace` the webhook's own namespace.
 *
 * - Helm release records (Secrets/ConfigMaps labelled `owner=helm`, as
 *   `HELM_DRIVER=secret|configmap` stores them): opt in with an objectSelector
 *   that names the `owner` label;
 * - Secrets, Leases, Events: opt in by naming the kind in match.resources;
 * - mirror Pods (`kubernetes.io/config.mirror`): never (the API server refuses changes);
 * - kube-system, kube-node-lease and the webhook's own namespace: opt in by
 *   listing the namespace literally in match.namespaces.
 */
export function compileDefaultExclusions(spec: MatchSpec | undefined, ownNamespace?: string): (o: KubeObject, input: EvaluationInput) => string {
  const namespaces = new Set(spec?.namespaces ?? []);
  const optIns: OptIns = {
    kinds: new Set((spec?.resources ?? []).flatMap((r) => r.kinds ?? [])),
    helm: namesOwnerLabel(spec?.objectSelector),
  };
  const protectedNs = new Set([...PROTECTED_NAMESPACES, ...(ownNamespace ? [ownNamespace] : [])].filter((n) => !namespaces.has(n)));
  return (o, input) => {
    const reason = excludedObject(o, optIns);
    if (reason !== '') return reason;
    return input.namespace && protectedNs.has(input.namespace) ? `namespace ${input.namespace}` : '';
  };
}

/** What a policy opts in to: kinds named in match.resources; Helm release records (an objectSelector on `owner`). */
interface OptIns {
  kinds: ReadonlySet<string>;
  helm: boolean;
}

/** API groups of the `OPT_IN_KINDS` (core Secret and Event, coordination Lease, events.k8s.io Event). */
const OPT_IN_GROUPS = new Set(['', 'coordination.k8s.io', 'events.k8s.io']);

function namesOwnerLabel(sel: LabelSelector | undefined): boolean {
  return !!sel && (Object.prototype.hasOwnProperty.call(sel.matchLabels ?? {}, 'owner') || (sel.matchExpressions ?? []).some((e) => e.key === 'owner'));
}

/** The reason the object itself (not its namespace) is excluded by default, or ''. */
function excludedObject(o: KubeObject, optIns: OptIns): string {
  const { kind, group } = gvkOf(o);
  if (group === '' && isHelmReleaseRecord(o, kind) && !optIns.helm) return 'Helm release record';
  if (OPT_IN_KINDS.includes(kind) && OPT_IN_GROUPS.has(group) && !optIns.kinds.has(kind)) return `${kind} (opt in by naming the kind)`;
  if (group === '' && kind === 'Pod' && metaValue(o, 'annotations', 'kubernetes.io/config.mirror') !== undefined) return 'mirror Pod';
  return '';
}

/** A Secret or ConfigMap labelled `owner=helm` (core group), as `HELM_DRIVER=secret|configmap` stores a release. */
function isHelmReleaseRecord(o: KubeObject, kind: string): boolean {
  return (kind === 'Secret' || kind === 'ConfigMap') && metaValue(o, 'labels', 'owner') === 'helm';
}
