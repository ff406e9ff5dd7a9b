/**
 * `ReportStore`: the latest results per object, grouped by namespace, with
 * the set of namespaces whose report must be written again (pure, no I/O).
 *
 * Bounded memory: at most `maxObjects` objects are kept (least recently
 * updated dropped first, counted in `evicted`); each object keeps only its
 * results (policy, rule, result, a short message, a reference), never the
 * object itself. Setting results equal to the stored ones (timestamps
 * aside) changes nothing, so a rescan of an unchanged cluster writes nothing.
 */
import { deepEqual } from '../kube/object.js';
import { buildReport, emptySummary, type ObjectReference, type PolicyReportObject, type PolicyReportResult, type PolicyReportSummary } from './policy-report.js';

/** Default most objects kept. */
export const DEFAULT_MAX_OBJECTS = 20_000;

interface Entry {
  namespace: string;
  kindKey: string;
  results: PolicyReportResult[];
}

/** The group/kind key of a reference (`apps/Deployment`, `/Pod`). */
export function kindKey(ref: Pick<ObjectReference, 'apiVersion' | 'kind'>): string {
  const i = ref.apiVersion.indexOf('/');
  return `${i < 0 ? '' : ref.apiVersion.slice(0, i)}/${ref.kind}`;
}

/** Latest report results per object. */
export class ReportStore {
  private readonly entries = new Map<string, Entry>();
  private readonly perNamespace = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();
  /** Objects dropped because `maxObjects` was reached. */
  evicted = 0;

  constructor(private readonly maxObjects = DEFAULT_MAX_OBJECTS) {}

  /** Replaces the results of the object `ref` (an empty list removes it). */
  set(ref: ObjectReference, results: PolicyReportResult[]): void {
    if (results.length === 0) return this.delete(ref);
    const namespace = ref.namespace ?? '';
    const key = entryKey(namespace, ref);
    const old = this.entries.get(key);
    if (old && sameResults(old.results, results)) return;
    this.entries.delete(key);
    this.entries.set(key, { namespace, kindKey: kindKey(ref), results });
    this.namespaceKeys(namespace).add(key);
    this.dirty.add(namespace);
    this.evict();
  }

  /** Removes the results of the object `ref`. */
  delete(ref: Pick<ObjectReference, 'apiVersion' | 'kind' | 'name' | 'namespace'>): void {
    this.remove(entryKey(ref.namespace ?? '', ref));
  }

  /** Removes every object of `kind` (`group/Kind`) whose key `keep` rejects (after a full list: objects deleted meanwhile). */
  retainKind(kind: string, keep: (ref: ObjectReference) => boolean): void {
    for (const [key, e] of this.entries) if (e.kindKey === kind && !keep(e.results[0].resources[0])) this.remove(key);
  }

  /** Removes every object whose kind `keep` rejects (kinds no longer scanned). */
  retainKinds(keep: (kind: string) => boolean): void {
    for (const [key, e] of this.entries) if (!keep(e.kindKey)) this.remove(key);
  }

  /** Forgets everything (leadership lost). */
  clear(): void {
    this.entries.clear();
    this.perNamespace.clear();
    this.dirty.clear();
  }

  /** Marks a namespace's report for writing (e.g. to delete a stale one). */
  touch(namespace: string): void {
    this.dirty.add(namespace);
  }

  /** Takes up to `max` namespaces whose report changed, oldest change first. */
  takeDirty(max: number): string[] {
    const out: string[] = [];
    for (const ns of this.dirty) {
      if (out.length >= max) break;
      out.push(ns);
      this.dirty.delete(ns);
    }
    return out;
  }

  /** Number of namespaces waiting to be written. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Number of objects with results. */
  get size(): number {
    return this.entries.size;
  }

  /** The report of `namespace` ('' = cluster-scoped objects), or undefined when it has no results. */
  report(namespace: string, maxResults?: number): PolicyReportObject | undefined {
    const keys = this.perNamespace.get(namespace);
    if (!keys || keys.size === 0) return undefined;
    const results: PolicyReportResult[] = [];
    for (const k of keys) results.push(...(this.entries.get(k)?.results ?? []));
    return buildReport(namespace, results, maxResults);
  }

  /** Result counts over every object (for the report-results gauge). */
  summary(): PolicyReportSummary {
    const s = emptySummary();
    for (const e of this.entries.values()) for (const r of e.results) s[r.result]++;
    return s;
  }

  /** Namespaces that have results. */
  namespaces(): string[] {
    return [...this.perNamespace.keys()];
  }

  private namespaceKeys(ns: string): Set<string> {
    let s = this.perNamespace.get(ns);
    if (!s) this.perNamespace.set(ns, (s = new Set()));
    return s;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const keys = this.perNamespace.get(e.namespace);
    keys?.delete(key);
    if (keys && keys.size === 0) this.perNamespace.delete(e.namespace);
    this.dirty.add(e.namespace);
  }

  private evict(): void {
    while (this.entries.size > this.maxObjects) {
      const first = this.entries.keys().next().value as string;
      this.remove(first);
      this.evicted++;
    }
  }
}

/** Key of an object: namespace, group/kind and name (the uid is not known at CREATE). */
function entryKey(namespace: string, ref: Pick<ObjectReference, 'apiVersion' | 'kind' | 'name'>): string {
  return `${namespace}\u0000${kindKey(ref)}\u0000${ref.name}`;
}

/** Equal results apart from their timestamps. */
function sameResults(a: readonly PolicyReportResult[], b: readonly PolicyReportResult[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((r, i) => {
    const s = b[i];
    return deepEqual({ ...r, timestamp: null } as never, { ...s, timestamp: null } as never);
  });
}
