/**
 * PolicyReport building (pure): the `wgpolicyk8s.io/v1alpha2` PolicyReport and
 * ClusterPolicyReport that Kyverno writes and Policy Reporter reads
 * (kubernetes-sigs/wg-policy-prototypes `policy-report/`, Kyverno
 * `api/policyreport/v1alpha2/common.go`: results with source, policy, rule,
 * result, message, scored, timestamp, resources, properties; a summary with
 * one count per result).
 *
 * One report per namespace (`PolicyReport` named `kube-postrender` in that
 * namespace) and one `ClusterPolicyReport` named `kube-postrender` for
 * cluster-scoped objects, as Kyverno's per-namespace reports; `kubectl get
 * polr -A` lists them. A report holds at most `maxResults` results (etcd's
 * object size limit is 1.5 MiB; a result is ~300-500 bytes): the worst first
 * (fail, error, warn, skip, pass), the summary always counts them all, and
 * the annotation `postrender.io/results-omitted` says how many were left out.
 */
import type { RuleOutcome, ReportResultValue } from './outcomes.js';

/** Group and version of the report CRDs. */
export const REPORT_GROUP = 'wgpolicyk8s.io';
export const REPORT_VERSION = 'v1alpha2';
/** Name of our report in each namespace (and of the ClusterPolicyReport). */
export const REPORT_NAME = 'kube-postrender';
/** `source` of every result (Policy Reporter groups and filters by it). */
export const REPORT_SOURCE = 'kube-postrender';
/** Label on every report we write (we list and delete only these). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Annotation: results counted in the summary but left out of `results`. */
export const OMITTED_ANNOTATION = 'postrender.io/results-omitted';
/** Default most results per report. */
export const DEFAULT_MAX_RESULTS = 1000;

/** A reference to a checked object (core/v1 ObjectReference fields). */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** One result (`results[]` of a report). */
export interface PolicyReportResult {
  source: string;
  policy: string;
  rule?: string;
  result: ReportResultValue;
  message?: string;
  scored: boolean;
  /** When the result was produced: Unix seconds (protobuf Timestamp, as Kyverno writes it). */
  timestamp: { seconds: number; nanos: number };
  resources: ObjectReference[];
  /** `origin` (`admission` or `scan`), and `changedPaths` for mutations. */
  properties?: Record<string, string>;
}

/** Counts per result value. */
export type PolicyReportSummary = Record<ReportResultValue, number>;

/** A PolicyReport or ClusterPolicyReport as written to the API server (plain JSON). */
export interface PolicyReportObject {
  apiVersion: string;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

/** Where a result came from. */
export type ResultOrigin = 'admission' | 'scan';

/** The object reference of `object` (namespace from `namespace`: the request's at admission); undefined when it has no name yet (`generateName` on CREATE). */
export function objectReference(object: Record<string, unknown>, namespace: string): ObjectReference | undefined {
  const md = (typeof object.metadata === 'object' && object.metadata !== null ? object.metadata : {}) as Record<string, unknown>;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const name = str(md.name);
  if (!name) return undefined;
  const ref: ObjectReference = { apiVersion: str(object.apiVersion), kind: str(object.kind), name };
  if (namespace) ref.namespace = namespace;
  if (str(md.uid)) ref.uid = str(md.uid);
  return ref;
}

/**
 * The report results of one object: one per rule outcome, each naming the
 * object, stamped with `timeSeconds` (Unix seconds) and `origin`.
 */
export function reportResults(ref: ObjectReference, outcomes: readonly RuleOutcome[], timeSeconds: number, origin: ResultOrigin): PolicyReportResult[] {
  return outcomes.map((o) => {
    const properties: Record<string, string> = { origin };
    if (o.changedPaths !== undefined) properties.changedPaths = String(o.changedPaths);
    const r: PolicyReportResult = { source: REPORT_SOURCE, policy: o.policy, result: o.result, scored: true, timestamp: { seconds: Math.floor(timeSeconds), nanos: 0 }, resources: [ref], properties };
    if (o.rule) r.rule = o.rule;
    if (o.message) r.message = o.message;
    return r;
  });
}

/** Order of results in a report: the ones a reader acts on first. */
const RANK: Record<ReportResultValue, number> = { fail: 0, error: 1, warn: 2, skip: 3, pass: 4 };

/** An empty summary. */
export function emptySummary(): PolicyReportSummary {
  return { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
}

/**
 * The report of one namespace (`''`: the ClusterPolicyReport) over `results`:
 * sorted (result rank, then resource, policy, rule), at most `maxResults`
 * kept, the summary over all of them.
 */
export function buildReport(namespace: string, results: readonly PolicyReportResult[], maxResults = DEFAULT_MAX_RESULTS): PolicyReportObject {
  const summary = emptySummary();
  for (const r of results) summary[r.result]++;
  const sorted = [...results].sort(compareResults);
  const kept = sorted.slice(0, Math.max(0, maxResults));
  const metadata: PolicyReportObject['metadata'] = { name: REPORT_NAME, labels: { [MANAGED_BY_LABEL]: REPORT_SOURCE } };
  if (namespace) metadata.namespace = namespace;
  if (kept.length < sorted.length) metadata.annotations = { [OMITTED_ANNOTATION]: String(sorted.length - kept.length) };
  return { apiVersion: `${REPORT_GROUP}/${REPORT_VERSION}`, kind: namespace ? 'PolicyReport' : 'ClusterPolicyReport', metadata, summary, results: kept };
}

function compareResults(a: PolicyReportResult, b: PolicyReportResult): number {
  return RANK[a.result] - RANK[b.result] || cmp(resourceKey(a), resourceKey(b)) || cmp(a.policy, b.policy) || cmp(a.rule ?? '', b.rule ?? '');
}

function resourceKey(r: PolicyReportResult): string {
  const ref = r.resources[0];
  return ref ? `${ref.kind}/${ref.name}` : '';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
