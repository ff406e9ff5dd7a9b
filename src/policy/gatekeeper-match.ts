/**
 * Gatekeeper mutators' `match` and `applyTo`, from Gatekeeper
 * pkg/mutation/match/match.go (`Matches`: kinds, scope, namespaces,
 * excludedNamespaces, labelSelector, namespaceSelector, name, source, each
 * must hold), pkg/mutation/match/apply_to.go (`applyTo` groups, versions,
 * kinds and operations) and pkg/wildcard (prefix/suffix globs).
 *
 * Decoded and compiled at load: a bad selector, glob or operation is refused
 * then (Gatekeeper's CRD schema and webhook refuse them too), never at
 * admission.
 */
import { compileLabelSelector, type LabelSelector, type MapPredicate } from '../kube/selector.js';
import { gvkOf, isNamespaceObject, metaMap, metaString, type GVK, type KubeObject } from '../kube/object.js';
import { ConfigError, type TransformContext } from '../transform/types.js';
import { decodeStruct, joinPath, typeName } from '../transform/decode.js';

/** CRD pattern of a Gatekeeper wildcard (pkg/wildcard: `kube-*`, `*-system`, `*system*`). */
const WILDCARD = /^\*?[-:a-z0-9]*\*?$/;

/** Wildcard.Matches: exact, or prefix/suffix/infix glob with a leading and/or trailing `*`. */
export function wildcardMatches(w: string, candidate: string): boolean {
  const head = w.startsWith('*');
  const tail = w.endsWith('*') && w.length > 0;
  if (head && tail) return candidate.includes(w.slice(1, Math.max(1, w.length - 1)));
  if (head) return candidate.endsWith(w.slice(1));
  if (tail) return candidate.startsWith(w.slice(0, -1));
  return w === candidate;
}

/** Wildcard.MatchesGenerateName: only a trailing (or both-sided) glob can match a `generateName` prefix. */
function wildcardMatchesGenerateName(w: string, candidate: string): boolean {
  if (candidate === '') return false;
  if (w.startsWith('*') && w.endsWith('*')) return candidate.includes(w.slice(1, Math.max(1, w.length - 1)));
  if (w.endsWith('*')) return candidate.startsWith(w.slice(0, -1));
  return false;
}

function strings(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`expected a list of strings, got ${typeName(v)}`, path);
  return v.map((s, i) => {
    if (typeof s !== 'string') throw new ConfigError(`expected a string, got ${typeName(s)}`, joinPath(path, i));
    return s;
  });
}

function wildcards(v: unknown, path: string): string[] {
  const list = strings(v, path);
  list.forEach((w, i) => {
    if (!WILDCARD.test(w)) throw new ConfigError(`${JSON.stringify(w)} does not match pattern ${WILDCARD.source} (a name with an optional leading or trailing *)`, joinPath(path, i));
  });
  return list;
}

const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** One `applyTo` entry. */
export interface ApplyTo {
  groups: string[];
  versions: string[];
  kinds: string[];
  operations: string[];
}

/**
 * Decodes `applyTo` (core/mutator.go NewValidatedBindings): required and
 * non-empty, every entry naming groups, versions and kinds; operations from
 * CREATE/UPDATE/DELETE/CONNECT. `what` is e.g. `Assign mutator foo`.
 */
export function decodeApplyTo(v: unknown, path: string, what: string): ApplyTo[] {
  if (v !== undefined && v !== null && !Array.isArray(v)) throw new ConfigError(`expected a list, got ${typeName(v)}`, path);
  const list = (v ?? []) as unknown[];
  const out = list.map((e, i) => {
    const p = joinPath(path, i);
    const s = decodeStruct(e, p, ['groups', 'versions', 'kinds', 'operations']);
    const a: ApplyTo = { groups: strings(s.groups, `${p}.groups`), versions: strings(s.versions, `${p}.versions`), kinds: strings(s.kinds, `${p}.kinds`), operations: strings(s.operations, `${p}.operations`) };
    if (!a.groups.length || !a.versions.length || !a.kinds.length) throw new ConfigError(`invalid applyTo for ${what}, all of group, version and kind must be specified`, p);
    a.operations.forEach((o, j) => {
      if (!OPERATIONS.includes(o)) throw new ConfigError(`invalid applyTo for ${what}: unsupported operation ${JSON.stringify(o)} (expected one of ${OPERATIONS.join(', ')})`, `${p}.operations[${j}]`);
    });
    return a;
  });
  if (out.length === 0) throw new ConfigError(`applyTo required for ${what}`, path);
  return out;
}

/** True when some entry holds the object's group, version and kind and the operation (AppliesGVKAndOperation). */
export function appliesTo(applyTo: readonly ApplyTo[], obj: KubeObject, operation: string): boolean {
  return appliesToGvk(applyTo, gvkOf(obj), operation);
}

/** appliesTo of a GVK. */
function appliesToGvk(applyTo: readonly ApplyTo[], g: GVK, operation: string): boolean {
  return applyTo.some((a) => a.groups.includes(g.group) && a.versions.includes(g.version) && a.kinds.includes(g.kind)
    && (a.operations.length === 0 || a.operations.includes(operation)));
}

/** A compiled `match`: true when the object is in scope. */
export type MutatorMatch = (obj: KubeObject, ctx: TransformContext) => boolean;

/** The kinds named by `match.kinds` (for the default exclusions' opt-in). */
export interface DecodedMatch {
  /** Every check of `match` (match.go `Matches`). */
  fn: MutatorMatch;
  /** `match.kinds` as a test of the object's group and kind; undefined when it names none (every kind). */
  byKind?: (group: string, kind: string) => boolean;
  /** The checks of `fn` other than `match.kinds`, in order; undefined when there are none. */
  others?: MutatorMatch;
  kinds: string[];
  namespaces: string[];
  /** True when a check reads the object's labels (labelSelector, or namespaceSelector on a Namespace). */
  readsLabels: boolean;
}

const MATCH_FIELDS = ['source', 'kinds', 'scope', 'namespaces', 'excludedNamespaces', 'labelSelector', 'namespaceSelector', 'name'];

/** metav1.LabelSelectorAsSelector's checks of matchExpressions (Gatekeeper fails the match at admission; we refuse at load). */
function checkExpressions(v: unknown, path: string): void {
  const exprs = (v as { matchExpressions?: unknown }).matchExpressions;
  if (!Array.isArray(exprs)) return;
  exprs.forEach((e: { operator?: unknown; values?: unknown } | null, i) => {
    const n = Array.isArray(e?.values) ? e.values.length : 0;
    const needsValues = ['In', 'NotIn'].includes(String(e?.operator));
    if (needsValues === (n === 0)) {
      const reason = needsValues ? "for 'in', 'notin' operators, values set can't be empty" : 'values set must be empty for exists and does not exist';
      if (needsValues || ['Exists', 'DoesNotExist'].includes(String(e?.operator))) throw new ConfigError(reason, `${path}.matchExpressions[${i}]`);
    }
  });
}

function selector(v: unknown, path: string): MapPredicate | undefined {
  if (v === undefined || v === null) return undefined;
  checkExpressions(v, path);
  try {
    return compileLabelSelector(v as LabelSelector);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e), path);
  }
}

function decodeKinds(v: unknown, path: string): { groups: string[]; kinds: string[] }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`expected a list, got ${typeName(v)}`, path);
  return v.map((e, i) => {
    const s = decodeStruct(e, joinPath(path, i), ['apiGroups', 'kinds']);
    return { groups: strings(s.apiGroups, `${joinPath(path, i)}.apiGroups`), kinds: strings(s.kinds, `${joinPath(path, i)}.kinds`) };
  });
}


/** The namespace the namespace matchers read: a Namespace's own name, else the request's, else metadata.namespace ('' = cluster-scoped). */
function namespaceOf(o: KubeObject, ctx: TransformContext): string {
  if (isNamespaceObject(o)) return metaString(o, 'name');
  return ctx.namespace || metaString(o, 'namespace');
}

function inList(list: string[], v: string): boolean {
  return list.length === 0 || list.includes('*') || list.includes(v);
}

/**
 * Decodes and compiles `match` (match.go `Matches`). Throws ConfigError with a
 * path relative to `path`.
 */
// eslint-disable-next-line complexity -- one optional matcher per field of match.go, each a line
export function decodeMatch(v: unknown, path: string): DecodedMatch {
  if (v === undefined || v === null) return { fn: () => true, kinds: [], namespaces: [], readsLabels: false };
  const s = decodeStruct(v, path, MATCH_FIELDS);
  const source = s.source ?? 'All';
  if (source !== 'All' && source !== 'Original' && source !== 'Generated') throw new ConfigError(`invalid source field ${JSON.stringify(source)} (expected one of All, Generated, Original)`, `${path}.source`);
  if (s.scope !== undefined && typeof s.scope !== 'string') throw new ConfigError(`expected a string, got ${typeName(s.scope)}`, `${path}.scope`);
  if (s.name !== undefined && typeof s.name !== 'string') throw new ConfigError(`expected a string, got ${typeName(s.name)}`, `${path}.name`);
  const kinds = decodeKinds(s.kinds, `${path}.kinds`);
  const namespaces = wildcards(s.namespaces, `${path}.namespaces`);
  const excluded = wildcards(s.excludedNamespaces, `${path}.excludedNamespaces`);
  const name = (s.name as string | undefined) ?? '';
  if (name) wildcards([name], `${path}.name`);
  const labels = selector(s.labelSelector, `${path}.labelSelector`);
  const nsLabels = selector(s.namespaceSelector, `${path}.namespaceSelector`);
  const scope = s.scope as string | undefined;
  const checks: MutatorMatch[] = [];
  const byKind = kinds.length ? (group: string, kind: string): boolean => kinds.some((k) => inList(k.kinds, kind) && inList(k.groups, group)) : undefined;
  if (scope === 'Cluster' || scope === 'Namespaced') {
    checks.push((o, ctx) => {
      const hasNs = ctx.namespace !== '' || metaString(o, 'namespace') !== '';
      const isNs = isNamespaceObject(o);
      return scope === 'Cluster' ? isNs || !hasNs : !isNs && hasNs;
    });
  }
  if (namespaces.length) checks.push((o, ctx) => { const ns = namespaceOf(o, ctx); return ns === '' || namespaces.some((w) => wildcardMatches(w, ns)); });
  if (excluded.length) checks.push((o, ctx) => { const ns = namespaceOf(o, ctx); return ns === '' || !excluded.some((w) => wildcardMatches(w, ns)); });
  if (labels) checks.push((o) => labels(metaMap(o, 'labels')));
  if (nsLabels) {
    checks.push((o, ctx) => {
      if (isNamespaceObject(o)) return nsLabels(metaMap(o, 'labels'));
      if (namespaceOf(o, ctx) === '') return true; // cluster-scoped objects match
      return nsLabels({ ...(ctx.namespaceLabels ?? {}) });
    });
  }
  if (name) checks.push((o) => wildcardMatches(name, metaString(o, 'name')) || wildcardMatchesGenerateName(name, metaString(o, 'generateName')));
  if (source === 'Generated') checks.push(() => false); // nothing here is generated by a Gatekeeper ExpansionTemplate
  const others = allOf(checks);
  return {
    fn: (o, ctx) => (byKind === undefined || kindHolds(byKind, o)) && (others === undefined || others(o, ctx)),
    byKind,
    others,
    kinds: kinds.flatMap((k) => k.kinds),
    namespaces,
    readsLabels: labels !== undefined || nsLabels !== undefined,
  };
}

function kindHolds(byKind: (group: string, kind: string) => boolean, o: KubeObject): boolean {
  const g = gvkOf(o);
  return byKind(g.group, g.kind);
}

/** All of `checks` in order (first false wins); undefined when there are none. */
function allOf(checks: readonly MutatorMatch[]): MutatorMatch | undefined {
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (o, ctx) => {
    for (const c of checks) if (!c(o, ctx)) return false;
    return true;
  };
}

/**
 * `(!applyTo || appliesTo(applyTo, o, ctx.operation)) && match.fn(o, ctx)`,
 * what a mutator's `matches` is, with its part that reads only the object's
 * apiVersion and kind and the operation (applyTo, match.kinds) remembered for
 * the last (apiVersion, kind, operation) seen: a mutator set runs every
 * mutator on the same kind of object, twice (convergence), so that part is
 * decided once per kind, not per call. Same answers (the part is a pure
 * function of those three strings; test/policy/gatekeeper-match.test.ts).
 */
export function compileMutatorMatch(applyTo: readonly ApplyTo[] | undefined, match: DecodedMatch): MutatorMatch {
  const { byKind, others } = match;
  if (!applyTo && !byKind) return others ?? ((): boolean => true);
  const memo = new GvkMemo((g, operation) => (!applyTo || appliesToGvk(applyTo, g, operation)) && (!byKind || byKind(g.group, g.kind)));
  if (others === undefined) return (o, ctx) => memo.holds(o, ctx.operation);
  return (o, ctx) => memo.holds(o, ctx.operation) && others(o, ctx);
}

/** A test of an object's GVK and an operation, with its last answer kept (one entry: the three strings it was for). */
class GvkMemo {
  private apiVersion: string | undefined;
  private kind = '';
  private operation = '';
  private result = false;

  constructor(private readonly test: (g: GVK, operation: string) => boolean) {}

  /** The test's answer for `o`'s apiVersion and kind (non-strings read as '', as gvkOf reads them) and `operation`. */
  holds(o: KubeObject, operation: string): boolean {
    const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
    const kind = typeof o.kind === 'string' ? o.kind : '';
    if (apiVersion !== this.apiVersion || kind !== this.kind || operation !== this.operation) {
      this.result = this.test(gvkOf(o), operation);
      this.apiVersion = apiVersion;
      this.kind = kind;
      this.operation = operation;
    }
    return this.result;
  }
}
