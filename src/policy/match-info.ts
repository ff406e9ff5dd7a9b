/**
 * What a compiled policy *can* match, as data: the part of its `match` clause
 * that webhook configuration rules and selectors can express (issue 16). The
 * API server only calls the webhook for requests its rules and selectors
 * admit, so these descriptions must never be narrower than what `applies`
 * accepts: every field is an over-approximation, and an absent field means
 * "anything". Dialects that compile to `CompiledPolicy` without a description
 * (or with an unknown one) therefore get rules that admit everything.
 *
 * Semantics follow `match.ts` (`compileClause`): a `kinds` entry `Kind/sub`
 * names a subresource, `*` any kind; a missing `group` is any group.
 */
import type { LabelSelector } from '../kube/selector.js';
import type { MatchSpec } from './match.js';

/** What a policy can match; every field absent = unconstrained (the safe default). */
export interface MatchInfo {
  /** Resource entries (OR); absent: every resource of every group. */
  resources?: readonly { group?: string; kinds?: readonly string[] }[];
  /** Operations (CREATE, UPDATE, DELETE, CONNECT, `*`); absent: every operation. */
  operations?: readonly string[];
  /** Literal namespace names (request.namespace); absent: any namespace. Globs make it absent. */
  namespaces?: readonly string[];
  /** A namespaceSelector every matched object's namespace satisfies; absent: none. */
  namespaceSelector?: LabelSelector;
  /** An objectSelector every matched object satisfies; absent: none. */
  objectSelector?: LabelSelector;
  /** CEL conditions (AND) every matched request satisfies, in webhook matchConditions' variables; absent: none. */
  conditions?: readonly { name: string; expression: string }[];
  /**
   * Webhook-style rules (API groups, resources with `/subresource`, operations;
   * `*` wildcards), as MutatingAdmissionPolicy/ValidatingAdmissionPolicy
   * `matchConstraints.resourceRules` write them: used as they are, and when
   * present `resources` and `operations` are not read. Absent: see `resources`.
   */
  rules?: readonly { groups: readonly string[]; resources: readonly string[]; operations: readonly string[] }[];
}

/**
 * The MatchInfo of a PostRenderPolicy/ClusterPostRenderPolicy `match` clause.
 * `ownNamespace`: a namespaced policy's namespace (it never matches others).
 * `exclude` clauses only narrow, so they are ignored (wider is safe).
 * `userInfo` has no webhook-rule counterpart and is ignored likewise.
 */
export function matchInfoOf(match: MatchSpec | undefined, ownNamespace?: string): MatchInfo {
  const m: MatchSpec = match ?? {};
  const info: MatchInfo = {
    resources: m.resources?.map(resourceInfo),
    operations: m.operations,
    namespaces: ownNamespace !== undefined ? [ownNamespace] : literalNamespaces(m.namespaces),
    namespaceSelector: m.namespaceSelector,
    objectSelector: m.objectSelector,
    conditions: m.conditions && m.conditions.length > 0 ? m.conditions : undefined,
  };
  // Absent, not undefined: the fields compare and print cleanly.
  for (const k of Object.keys(info) as (keyof MatchInfo)[]) if (info[k] === undefined) delete info[k];
  return info;
}

/** A `match.resources` entry without what rules cannot use (names, versions); a `*` group is no group. */
function resourceInfo(r: NonNullable<MatchSpec['resources']>[number]): { group?: string; kinds?: readonly string[] } {
  const out: { group?: string; kinds?: readonly string[] } = {};
  if (r.group !== undefined && r.group !== '*') out.group = r.group;
  if (r.kinds) out.kinds = r.kinds;
  return out;
}

/** `match.namespaces` when every entry is a literal name (a glob may match anything). */
function literalNamespaces(namespaces: string[] | undefined): string[] | undefined {
  return namespaces && namespaces.every((n) => !n.includes('*')) ? namespaces : undefined;
}
