/**
 * Webhook configuration that follows the policies (issue 16), as Kyverno's
 * webhook controller does (kyverno pkg/controllers/webhook: rules built from
 * the policies' match kinds and operations): the rules of the
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration name only
 * the resources and operations that some loaded policy can match, so the API
 * server never waits on (or, with failurePolicy Fail, fails on) a request no
 * policy would touch. No policies, no rules; the validating webhook has rules
 * only for policies with validate rules.
 *
 * Correctness: rules are never narrower than what the policies match.
 * - kinds become plural resources through the built-in table
 *   (`kube/resources.ts`); a kind the table does not know (a custom resource)
 *   becomes every resource of its group (`apiGroups: [group], resources:
 *   ['*']`), or of every group when the entry names no group; `serve --cluster`
 *   accepts a resolver for exact names.
 * - a policy without a MatchInfo (a dialect that did not describe itself, a
 *   Kustomization) matches every resource and subresource: `*` and `*` over
 *   every subresource, of every group; one without `match.resources` every resource: `*` of `*`.
 * - operations: CREATE and UPDATE as the policies name them. DELETE and
 *   CONNECT run only ValidatingAdmissionPolicies (CompiledPolicy.withoutObject;
 *   admission/review.ts allows them for every other policy), so only the
 *   validating webhook's rules name them, and only for the resources whose
 *   VAP rules name the operation (or `*`): a policy set without such a VAP
 *   registers neither, and the mutating webhook never does (nothing to
 *   mutate). The validating webhooks keep their failurePolicy split (Ignore;
 *   Fail only in namespaces labelled `postrender.io/enforce=true`).
 * - selectors and matchConditions are emitted only where *every* policy of the
 *   webhook constrains the same way (`deriveSelectors`): then no policy can
 *   match a request outside them. Policies run in sequence, each on the object
 *   the previous ones left; a request outside the common constraint matches
 *   the first policy's constraint on the original object no better, so no
 *   policy runs and nothing changes: the constraint holds on the original too.
 *   matchConditions only on API servers that serve them (>= 1.28);
 *   `kubernetes.io/metadata.name` namespace selectors only where the API
 *   server sets that label (>= 1.21).
 */
import { lookupKind } from '../kube/resources.js';
import type { LabelSelector } from '../kube/selector.js';
import { deepEqual, type JsonValue } from '../kube/object.js';
import type { CompiledPolicy } from './compile.js';
import { splitKind } from './match.js';
import type { MatchInfo } from './match-info.js';

/** One `webhooks[].rules[]` entry (admissionregistration.k8s.io/v1 RuleWithOperations). */
export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope: '*';
}

/** A kind's REST resources: group and plural (the resolver's answer); empty when unknown. */
export type KindResolver = (group: string | undefined, kind: string) => readonly { group: string; resource: string }[];

/** The built-in table as a resolver. */
export const builtinResolver: KindResolver = (group, kind) => lookupKind(group, kind);

/** What the API server supports, for degrading on old servers. */
export interface ServerFeatures {
  /** `webhooks[].matchConditions` (Kubernetes >= 1.28 by default). */
  matchConditions: boolean;
  /** The `kubernetes.io/metadata.name` label on every Namespace (Kubernetes >= 1.21). */
  namespaceNameLabel: boolean;
}

/** Current Kubernetes: everything. */
export const CURRENT_SERVER: ServerFeatures = { matchConditions: true, namespaceNameLabel: true };

/** Features of an API server version (`major`, `minor` as /version reports them, e.g. "1", "20+"). */
export function serverFeatures(major: string, minor: string): ServerFeatures {
  const maj = Number.parseInt(major, 10);
  const min = Number.parseInt(minor, 10);
  if (!Number.isFinite(maj) || !Number.isFinite(min)) return { matchConditions: false, namespaceNameLabel: false };
  const atLeast = (m: number): boolean => maj > 1 || (maj === 1 && min >= m);
  return { matchConditions: atLeast(28), namespaceNameLabel: atLeast(21) };
}

/** The derived part of one webhook: rules, selectors and matchConditions, plus notes on widening. */
export interface DerivedWebhook {
  rules: WebhookRule[];
  /** ANDed with the configuration's base namespaceSelector; undefined: no constraint. */
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  matchConditions?: { name: string; expression: string }[];
  /** Why some rules are wider than a kind (custom resources), one line each. */
  notes: string[];
}

const EVALUATED_OPERATIONS = ['CREATE', 'UPDATE'];
/** The operations of policies that evaluate without an object (CompiledPolicy.withoutObject), too. */
const OBJECTLESS_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** The MatchInfo of a policy: its own, or "everything" (the safe default for dialects that do not describe themselves). */
export function matchInfoFor(p: CompiledPolicy): MatchInfo {
  return p.matchInfo ?? {};
}

/** True when the policy has validate rules (the validating webhook runs only those). */
export function hasValidateRules(p: CompiledPolicy): boolean {
  return p.transformers.some((t) => t.type === 'validate');
}

/** The operations of `info` among `evaluated` (every one of them when absent or `*`). */
function operationsOf(info: MatchInfo, evaluated: readonly string[] = EVALUATED_OPERATIONS): string[] {
  if (!info.operations || info.operations.includes('*')) return [...evaluated];
  return evaluated.filter((o) => info.operations?.includes(o));
}

/** The operations a webhook evaluates `p` on: DELETE and CONNECT too on the validating webhook (`objectless`) for a policy marked `withoutObject`. */
function evaluatedOperations(p: CompiledPolicy, objectless: boolean): readonly string[] {
  return objectless && p.withoutObject === true ? OBJECTLESS_OPERATIONS : EVALUATED_OPERATIONS;
}

/** `(group, resource)` pairs of one kinds entry. */
function resourcesOf(group: string | undefined, entry: string, resolve: KindResolver, notes: Set<string>): [string, string][] {
  const { kind, sub } = splitKind(entry);
  const suffix = sub === '' ? '' : `/${sub}`;
  if (kind === '*') return [[group ?? '*', `*${suffix}`]];
  const rows = resolve(group, kind);
  if (rows.length > 0) return rows.map((r) => [r.group, `${r.resource}${suffix}`]);
  notes.add(`kind ${kind}${group !== undefined ? ` (group ${group || 'core'})` : ''} is not a built-in kind: the rules name every resource of ${group !== undefined ? `group ${JSON.stringify(group)}` : 'every group'}`);
  return [[group ?? '*', `*${suffix}`]];
}

/**
 * Every (group, resource, operation) a policy can match. Without a MatchInfo
 * (a dialect that did not describe itself, a Kustomization) subresource
 * requests too: `*` and `*` over every subresource. `objectless`: DELETE and
 * CONNECT too, for a policy that evaluates them (CompiledPolicy.withoutObject).
 */
function triples(p: CompiledPolicy, resolve: KindResolver, notes: Set<string>, objectless: boolean): [string, string, string][] {
  if (!p.matchInfo) return EVALUATED_OPERATIONS.flatMap((o): [string, string, string][] => [['*', '*', o], ['*', '*/*', o]]);
  const info = p.matchInfo;
  if (info.rules) return ruleTriples(info.rules, evaluatedOperations(p, objectless));
  const ops = operationsOf(info);
  const pairs: [string, string][] = [];
  if (!info.resources) pairs.push(['*', '*']);
  for (const r of info.resources ?? []) {
    if (!r.kinds) pairs.push([r.group ?? '*', '*']);
    else for (const k of r.kinds) pairs.push(...resourcesOf(r.group, k, resolve, notes));
  }
  return pairs.flatMap(([g, res]) => ops.map((o): [string, string, string] => [g, res, o]));
}

/** Every (group, resource, operation) of webhook-style rules (admission policies' resourceRules), of the `evaluated` operations only. */
function ruleTriples(rules: NonNullable<MatchInfo['rules']>, evaluated: readonly string[]): [string, string, string][] {
  return rules.flatMap((r) => {
    const ops = operationsOf({ operations: r.operations }, evaluated);
    return r.groups.flatMap((g) => r.resources.flatMap((res) => ops.map((o): [string, string, string] => [g, res, o])));
  });
}

/** True when `r` in group `g` is covered by a wildcard (`*`, `*` over its subresource, `*` over every subresource) of `cover`, or by group `*`. */
function covered(r: string, g: string, cover: Set<string>, all: Set<string> | undefined): boolean {
  const i = r.indexOf('/');
  const wild = i < 0 ? '*' : `*${r.slice(i)}`;
  if (r !== wild && cover.has(wild)) return true;
  if (i >= 0 && r !== '*/*' && cover.has('*/*')) return true;
  return g !== '*' && all !== undefined && all.has(r);
}

/** Drops resources a wildcard of the same group already covers (`*`, or `*` over a subresource), and groups a `*` group covers. */
function simplify(byGroup: Map<string, Set<string>>): void {
  const all = byGroup.get('*');
  for (const [g, set] of byGroup) {
    const cover = g === '*' ? set : new Set([...set, ...(all ?? [])]);
    for (const r of [...set]) if (covered(r, g, cover, all)) set.delete(r);
    if (set.size === 0) byGroup.delete(g);
  }
}

/** Operation -> group -> resources, over every policy (`objectless`: see triples). */
function collect(policies: readonly CompiledPolicy[], resolve: KindResolver, notes: Set<string>, objectless: boolean): Map<string, Map<string, Set<string>>> {
  const byOp = new Map<string, Map<string, Set<string>>>();
  for (const p of policies) {
    for (const [g, res, op] of triples(p, resolve, notes, objectless)) {
      const groups = byOp.get(op) ?? new Map<string, Set<string>>();
      byOp.set(op, groups);
      const set = groups.get(g) ?? new Set<string>();
      groups.set(g, set);
      set.add(res);
    }
  }
  for (const groups of byOp.values()) simplify(groups);
  return byOp;
}

/**
 * The rules that admit every request the policies can match (see the module
 * comment). Deterministic: groups and resources sorted; one rule per group and
 * operation set. No policies: no rules. `objectless` (the validating
 * webhook): DELETE and CONNECT too, where a policy that evaluates them
 * (CompiledPolicy.withoutObject: a ValidatingAdmissionPolicy) names them.
 */
export function deriveRules(policies: readonly CompiledPolicy[], resolve: KindResolver = builtinResolver, notes = new Set<string>(), objectless = false): WebhookRule[] {
  const byOp = collect(policies, resolve, notes, objectless);
  // Merge operations that name the same resources of a group into one rule.
  const rules = new Map<string, WebhookRule>();
  for (const op of OBJECTLESS_OPERATIONS) {
    for (const [g, set] of byOp.get(op) ?? []) {
      const resources = [...set].sort();
      const key = `${g}\u0000${resources.join(',')}`;
      const rule = rules.get(key) ?? { apiGroups: [g], apiVersions: ['*'], resources, operations: [], scope: '*' as const };
      rule.operations.push(op);
      rules.set(key, rule);
    }
  }
  return [...rules.values()].sort((a, b) => cmp(a.apiGroups[0], b.apiGroups[0]) || cmp(a.resources.join(), b.resources.join()) || cmp(a.operations.join(), b.operations.join()));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The common value of `pick` over every info, or undefined when one lacks it or two differ. */
function common<T>(infos: readonly MatchInfo[], pick: (i: MatchInfo) => T | undefined): T | undefined {
  if (infos.length === 0) return undefined;
  const first = pick(infos[0]);
  if (first === undefined) return undefined;
  return infos.every((i) => { const v = pick(i); return v !== undefined && deepEqual(v as unknown as JsonValue, first as unknown as JsonValue); }) ? first : undefined;
}

/** CEL variables a webhook matchCondition lacks (ours has them): a condition using one is not carried over. */
const ENGINE_ONLY_VARIABLES = /\b(namespaceObject|params|variables|overrides)\b/;

/**
 * Selectors and matchConditions every policy allows (module comment).
 * namespaceSelector: the policies' common namespaceSelector, ANDed with
 * `kubernetes.io/metadata.name In (union of their literal namespaces)` when
 * every policy lists literal namespaces (a namespaced policy lists its own).
 * matchConditions: one condition, the OR over policies of the AND of each
 * policy's conditions, when every policy has conditions in the webhook's
 * variables.
 */
export function deriveSelectors(policies: readonly CompiledPolicy[], server: ServerFeatures = CURRENT_SERVER): Omit<DerivedWebhook, 'rules' | 'notes'> {
  const infos = policies.map(matchInfoFor);
  if (infos.length === 0) return {};
  const out: Omit<DerivedWebhook, 'rules' | 'notes'> = {};
  const ns = namespaceSelectorOf(infos, server);
  if (ns) out.namespaceSelector = ns;
  const objSel = common(infos, (i) => i.objectSelector);
  if (objSel) out.objectSelector = objSel;
  const mc = matchConditionsOf(infos, server);
  if (mc) out.matchConditions = mc;
  return out;
}

/** The common namespaceSelector AND `kubernetes.io/metadata.name In (literal namespaces)` where every policy lists them. */
function namespaceSelectorOf(infos: readonly MatchInfo[], server: ServerFeatures): LabelSelector | undefined {
  const nsSel = common(infos, (i) => i.namespaceSelector);
  const names = server.namespaceNameLabel && infos.every((i) => i.namespaces) ? [...new Set(infos.flatMap((i) => i.namespaces ?? []))].sort() : undefined;
  const byName: LabelSelector | undefined = names ? { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: names }] } : undefined;
  return andSelectors(nsSel, byName);
}

/** One matchCondition, the OR over policies of each one's AND of conditions, when every policy has conditions in the webhook's variables. */
function matchConditionsOf(infos: readonly MatchInfo[], server: ServerFeatures): { name: string; expression: string }[] | undefined {
  const usable = (i: MatchInfo): boolean => (i.conditions ?? []).length > 0 && (i.conditions ?? []).every((c) => !ENGINE_ONLY_VARIABLES.test(c.expression));
  if (!server.matchConditions || !infos.every(usable)) return undefined;
  const terms = infos.map((i) => (i.conditions ?? []).map((c) => `(${c.expression})`).join(' && '));
  return [{ name: 'postrender-policies', expression: terms.length === 1 ? terms[0] : terms.map((t) => `(${t})`).join(' || ') }];
}

/** The AND of two label selectors (matchLabels merged, matchExpressions concatenated; a key set to two values becomes two In expressions, which match nothing, as the AND does). */
export function andSelectors(a: LabelSelector | undefined, b: LabelSelector | undefined): LabelSelector | undefined {
  if (!a || !b) return a ?? b;
  const labels: Record<string, string> = { ...a.matchLabels };
  const exprs = [...(a.matchExpressions ?? []), ...(b.matchExpressions ?? [])];
  for (const [k, v] of Object.entries(b.matchLabels ?? {})) mergeLabel(labels, exprs, k, v);
  return selectorOf(labels, exprs);
}

/** A selector of the non-empty parts. */
function selectorOf(labels: Record<string, string>, exprs: NonNullable<LabelSelector['matchExpressions']>): LabelSelector {
  return { ...(Object.keys(labels).length > 0 ? { matchLabels: labels } : {}), ...(exprs.length > 0 ? { matchExpressions: exprs } : {}) };
}

/** Adds `k=v` to `labels`, or, when `k` already has another value, an `In [v]` expression (together they match nothing, as the AND does). */
function mergeLabel(labels: Record<string, string>, exprs: NonNullable<LabelSelector['matchExpressions']>, k: string, v: string): void {
  if (labels[k] === undefined || labels[k] === v) labels[k] = v;
  else exprs.push({ key: k, operator: 'In', values: [v] });
}

/** Which policies a webhook runs: `/mutate` every policy, `/validate` those with validate rules. */
export function policiesFor(path: 'mutate' | 'validate', policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  return path === 'mutate' ? [...policies] : policies.filter(hasValidateRules);
}

/**
 * Rules, selectors and matchConditions of one webhook (`/mutate` or
 * `/validate`) over the loaded policies. Only `/validate` rules name DELETE
 * and CONNECT (deriveRules `objectless`).
 */
export function deriveWebhook(path: 'mutate' | 'validate', policies: readonly CompiledPolicy[], opts: { resolve?: KindResolver; server?: ServerFeatures } = {}): DerivedWebhook {
  const mine = policiesFor(path, policies);
  const notes = new Set<string>();
  const rules = deriveRules(mine, opts.resolve, notes, path === 'validate');
  return { rules, ...(rules.length > 0 ? deriveSelectors(mine, opts.server) : {}), notes: [...notes].sort() };
}
