/**
 * Targeting as data: kustomize `types.Selector` (anchored regexes on GVK, name and
 * namespace, plus label and annotation selectors) and Kubernetes label selectors,
 * both the string form (`tier=web,env notin (dev)`, k8s.io/apimachinery
 * pkg/labels.Parse) and the `{matchLabels, matchExpressions}` form
 * (metav1.LabelSelector).
 *
 * User-supplied patterns come from tenants, so regexes run on an RE2-semantics,
 * linear-time engine (`re2js`), as Kubernetes and kustomize (Go regexp) do.
 */
import { re2js } from './re2.js';
import { gvkOf, isObject, metaMap, metaString, type JsonObject } from './object.js';

/** A predicate over string maps (labels or annotations). */
export type MapPredicate = (labels: Record<string, string>) => boolean;

/** Error thrown for an invalid selector or regex; `path` is relative to the selector. */
export class SelectorError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** A pattern that is a literal, or literals joined by `|`: no regex syntax at all. */
const LITERALS = /^[A-Za-z0-9_-]+(?:\|[A-Za-z0-9_-]+)*$/;

/**
 * Compiles an anchored regex `^(?:pattern)$` (kustomize SelectorRegex). Throws
 * SelectorError. Patterns that are plain literals or alternations of them
 * (`Deployment`, `StatefulSet|DaemonSet`: most targets) are matched as
 * strings, which is exactly what the anchored regex would do, without running
 * the regex engine on every object.
 */
export function anchoredRegex(pattern: string, path: string): (s: string) => boolean {
  if (LITERALS.test(pattern)) {
    const alternatives = pattern.split('|');
    if (alternatives.length === 1) return (s) => s === pattern;
    const set = new Set(alternatives);
    return (s) => set.has(s);
  }
  try {
    const re = re2js().compile(`^(?:${pattern})$`);
    return (s) => re.matches(s);
  } catch (e) {
    throw new SelectorError(`invalid regex ${JSON.stringify(pattern)}: ${(e as Error).message}`, path);
  }
}

interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!' | '=' | '!=';
  values: string[];
}

function matchRequirement(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'exists': return has;
    case '!': return !has;
    case '=':
    case 'in': return has && r.values.includes(labels[r.key]);
    // As apimachinery: `!=` and `notin` also match objects without the key (conformance 081).
    case '!=':
    case 'notin': return !has || !r.values.includes(labels[r.key]);
  }
}

const KEY_RE = /^([a-zA-Z0-9.\-_/]+)/;

/** Parses one clause of a label-selector string (`a=b`, `a in (x,y)`, `!a`, `a`). */
function parseClause(raw: string, path: string): Requirement {
  const s = raw.trim();
  const setMatch = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(s);
  if (setMatch) {
    const values = setMatch[3].split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { key: setMatch[1], op: setMatch[2] as 'in' | 'notin', values };
  }
  if (s.startsWith('!')) {
    const key = s.slice(1).trim();
    if (!KEY_RE.test(key) || KEY_RE.exec(key)![1] !== key) throw new SelectorError(`invalid selector clause ${JSON.stringify(raw)}`, path);
    return { key, op: '!', values: [] };
  }
  const eq = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s=!]*)$/.exec(s);
  if (eq) return { key: eq[1], op: eq[2] === '!=' ? '!=' : '=', values: [eq[3]] };
  const m = KEY_RE.exec(s);
  if (m && m[1] === s) return { key: s, op: 'exists', values: [] };
  throw new SelectorError(`invalid selector clause ${JSON.stringify(raw)}`, path);
}

/** Splits on commas outside parentheses. */
function splitClauses(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Parses a label selector string as apimachinery's `labels.Parse`: comma-separated
 * clauses, all must hold. '' matches everything. Throws SelectorError.
 */
export function parseLabelSelector(selector: string, path = ''): MapPredicate {
  if (selector.trim() === '') return () => true;
  const reqs = splitClauses(selector).map((c) => parseClause(c, path));
  return (labels) => {
    for (const r of reqs) if (!matchRequirement(r, labels)) return false;
    return true;
  };
}

/** A metav1.LabelSelector: `{matchLabels, matchExpressions}`. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Compiles a metav1.LabelSelector; an empty selector matches everything (as Kubernetes). */
export function compileLabelSelector(sel: LabelSelector): MapPredicate {
  const reqs: Requirement[] = [];
  for (const [key, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: '=', values: [v] });
  const ops = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const;
  for (const e of sel.matchExpressions ?? []) reqs.push({ key: e.key, op: ops[e.operator], values: e.values ?? [] });
  return (labels) => {
    for (const r of reqs) if (!matchRequirement(r, labels)) return false;
    return true;
  };
}

/** kustomize `types.Selector` (a patch `target`). Every given field must match. */
export interface Target {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

/** The fields a Target may have (kustomize decodes strictly: others are an error, conformance 228). */
export const TARGET_FIELDS: readonly string[] = ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'];

/**
 * Compiles a Target into a predicate over objects, as kustomize
 * `types.SelectorRegex` + `resource.MatchesLabelSelector/AnnotationSelector`:
 * group, version, kind, name and namespace are anchored regexes; `kind` alone
 * matches every group (conformance 070); an empty field matches anything.
 * `namespace` (optional) overrides `metadata.namespace` (admission's
 * `request.namespace`). Throws SelectorError with the failing field as path.
 */
export function compileTarget(t: Target): (obj: JsonObject, namespace?: string) => boolean {
  const tests: ((obj: JsonObject, ns: string) => boolean)[] = [];
  const field = (value: string | undefined, name: string, get: (o: JsonObject, ns: string) => string): void => {
    if (value === undefined || value === '') return;
    const re = anchoredRegex(value, name);
    tests.push((o, ns) => re(get(o, ns)));
  };
  field(t.group, 'group', (o) => gvkOf(o).group);
  field(t.version, 'version', (o) => gvkOf(o).version);
  field(t.kind, 'kind', (o) => gvkOf(o).kind);
  field(t.name, 'name', (o) => metaString(o, 'name'));
  field(t.namespace, 'namespace', (_o, ns) => ns);
  if (t.labelSelector) {
    const p = parseLabelSelector(t.labelSelector, 'labelSelector');
    tests.push((o) => p(metaMap(o, 'labels')));
  }
  if (t.annotationSelector) {
    const p = parseLabelSelector(t.annotationSelector, 'annotationSelector');
    tests.push((o) => p(metaMap(o, 'annotations')));
  }
  return (obj, namespace) => {
    const ns = namespace ?? metaString(obj, 'namespace');
    for (const t of tests) if (!t(obj, ns)) return false;
    return true;
  };
}

/** True when `v` has only Target fields (used by strict config decoding). */
export function unknownTargetFields(v: unknown): string[] {
  if (!isObject(v)) return [];
  return Object.keys(v).filter((k) => !TARGET_FIELDS.includes(k));
}
