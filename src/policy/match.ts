/**
 * `match` / `exclude` clauses of a policy, and the default exclusions of
 * DESIGN.md. A clause holds when every field it gives holds (as Kyverno's
 * `match`/`exclude` and Kubernetes webhook rules: resources, operations,
 * namespaceSelector, objectSelector, matchConditions).
 */
import { anchoredRegex, compileLabelSelector, type LabelSelector, type MapPredicate } from '../kube/selector.js';
import { gvkOf, isObject, metaMap, metaString, type KubeObject } from '../kube/object.js';
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

function compileResources(res: NonNullable<MatchSpec['resources']>, path: string): (o: KubeObject, input: EvaluationInput) => boolean {
  const entries = res.map((r, i) => {
    const names = r.names ? anyGlob(r.names, `${path}[${i}].names`) : () => true;
    const kinds = r.kinds?.map(splitKind);
    return (o: KubeObject, input: EvaluationInput): boolean => {
      const g = gvkOf(o);
      const sub = input.subResource ?? '';
      if (r.group !== undefined && r.group !== '*' && r.group !== g.group) return false;
      if (r.version !== undefined && r.version !== '*' && r.version !== g.version) return false;
      if (kinds) {
        if (!kinds.some((k) => (k.kind === '*' || k.kind === g.kind) && (k.sub === sub || (k.sub === '*' && sub !== '')))) return false;
      } else if (sub !== '') return false;
      return names(metaString(o, 'name') || metaString(o, 'generateName'));
    };
  });
  return (o, input) => entries.some((e) => e(o, input));
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
  const checks: [string, (o: KubeObject, input: EvaluationInput) => boolean][] = [];
  if (spec.resources) {
    const r = compileResources(spec.resources, `${path}.resources`);
    checks.push(['resources', r]);
  }
  if (spec.operations) {
    const ops = spec.operations;
    checks.push(['operations', (_o, i) => ops.includes('*') || ops.includes(i.operation)]);
  }
  if (spec.namespaces) {
    const ns = anyGlob(spec.namespaces, `${path}.namespaces`);
    checks.push(['namespaces', (_o, i) => ns(i.namespace)]);
  }
  if (spec.namespaceSelector) {
    const sel: MapPredicate = compileLabelSelector(spec.namespaceSelector);
    checks.push(['namespaceSelector', (o, i) => {
      // As the API server: a Namespace is matched on its own labels.
      if (gvkOf(o).kind === 'Namespace' && gvkOf(o).group === '') return sel(metaMap(o, 'labels'));
      return sel(i.namespaceLabels ?? {});
    }]);
  }
  if (spec.objectSelector) {
    const sel = compileLabelSelector(spec.objectSelector);
    checks.push(['objectSelector', (o, i) => objectSelectorMatches(sel, o, i)]);
  }
  if (spec.userInfo) {
    const users = spec.userInfo.usernames ? anyGlob(spec.userInfo.usernames, `${path}.userInfo.usernames`) : undefined;
    const groups = spec.userInfo.groups ? anyGlob(spec.userInfo.groups, `${path}.userInfo.groups`) : undefined;
    checks.push(['userInfo', (_o, i) => {
      if (i.frontDoor !== 'admission') return true;
      const u = userInfoOf(i);
      return (!users || users(u.username)) && (!groups || u.groups.some(groups));
    }]);
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
  const kinds = new Set((spec?.resources ?? []).flatMap((r) => r.kinds ?? []));
  const namespaces = new Set(spec?.namespaces ?? []);
  const sel = spec?.objectSelector;
  const helmOptIn = !!sel && (Object.prototype.hasOwnProperty.call(sel.matchLabels ?? {}, 'owner') || (sel.matchExpressions ?? []).some((e) => e.key === 'owner'));
  const protectedNs = new Set([...PROTECTED_NAMESPACES, ...(ownNamespace ? [ownNamespace] : [])].filter((n) => !namespaces.has(n)));
  return (o, input) => {
    const { kind, group } = gvkOf(o);
    const core = group === '';
    if (core && (kind === 'Secret' || kind === 'ConfigMap') && metaMap(o, 'labels').owner === 'helm' && !helmOptIn) return 'Helm release record';
    if (OPT_IN_KINDS.includes(kind) && (core || group === 'coordination.k8s.io' || group === 'events.k8s.io') && !kinds.has(kind)) return `${kind} (opt in by naming the kind)`;
    if (core && kind === 'Pod' && metaMap(o, 'annotations')['kubernetes.io/config.mirror'] !== undefined) return 'mirror Pod';
    if (input.namespace && protectedNs.has(input.namespace)) return `namespace ${input.namespace}`;
    return '';
  };
}
