/**
 * Prometheus metrics of one webhook instance (prom-client, its own Registry:
 * no global default registry, so every `buildApp` in a test starts at zero;
 * STYLE.md "what to avoid": module-level singletons).
 *
 * Names follow https://prometheus.io/docs/practices/naming/ (unit suffixes
 * `_seconds`, `_total` for counters). Label values are policy and transformer
 * names, routes, operations, kinds and results: never object contents. `kind`
 * is capped at `MAX_KINDS` distinct values (then `other`) so that a caller
 * sending arbitrary kinds cannot grow the registry without bound.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { EvaluationSummary } from './admission-record.js';

/** Prefix of every metric name. */
export const METRIC_PREFIX = 'kube_postrender_';

/** Result label of an admission request. */
export type AdmissionOutcome = 'allowed' | 'denied' | 'patched' | 'error';

/** Distinct `kind` label values kept before folding into `other`. */
export const MAX_KINDS = 200;

/** Latency buckets in seconds: 0.5 ms to 5 s (the API server's default webhook timeout is 10 s; the chart uses 5 s). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Counts by label values, kept in nested Maps and handed to a prom-client
 * Counter only when it is scraped (its `collect` hook): prom-client hashes a
 * label object (sorting its keys) on every `inc`, ~0.3 µs each and five or
 * more per admission. Bounded like the label values (routes, operations,
 * capped kinds, results, policy and transformer names).
 */
class Tally<L extends string> {
  private readonly root = new Map<string, unknown>();
  private readonly entries: { labels: Partial<Record<L, string>>; value: number }[] = [];

  /** `names`: the labels, 1 to 4 of them. */
  constructor(private readonly names: readonly L[]) {
    if (names.length < 1 || names.length > 4) throw new RangeError(`Tally: 1 to 4 labels, not ${names.length}`);
  }

  /**
   * Adds 1 to the count of these label values, one per label in `names`
   * order (positional, not a rest list: no list made per call; values past
   * the labels' number are not read).
   */
  inc(v0: string, v1?: string, v2?: string, v3?: string): void {
    this.count(v0, v1, v2, v3).value++;
  }

  /**
   * The count of these label values (as `inc` takes them), made at 0 on first
   * use: adding to its `value` is `inc`. Counts are never removed, so a caller
   * may keep one and add to it later.
   */
  count(v0: string, v1?: string, v2?: string, v3?: string): { value: number } {
    const n = this.names.length;
    let m = this.root;
    if (n > 1) m = level(m, v0);
    if (n > 2) m = level(m, v1 as string);
    if (n > 3) m = level(m, v2 as string);
    const last = (n === 1 ? v0 : n === 2 ? v1 : n === 3 ? v2 : v3) as string;
    return (m.get(last) as { value: number } | undefined) ?? this.add(m, last, [v0, v1, v2, v3]);
  }

  /** A new count of 0 for these label values (`values`, in `names` order), under `last` in the tally's last level `m`. */
  private add(m: Map<string, unknown>, last: string, values: readonly (string | undefined)[]): { value: number } {
    const labels: Partial<Record<L, string>> = {};
    this.names.forEach((name, i) => (labels[name] = values[i]));
    const entry = { labels, value: 0 };
    this.entries.push(entry);
    m.set(last, entry);
    return entry;
  }

  /** Sets `counter` to the tallies (call from its `collect`). */
  publish(counter: Counter<L>): void {
    counter.reset();
    for (const e of this.entries) counter.inc(e.labels, e.value);
  }
}

/** The map under `key` in `m` (a Tally level), made on first use. */
function level(m: Map<string, unknown>, key: string): Map<string, unknown> {
  let next = m.get(key) as Map<string, unknown> | undefined;
  if (next === undefined) m.set(key, (next = new Map()));
  return next;
}

/**
 * A summary's match and change label values (copies: the summary's own lists
 * are not kept) and their tally counts: the matched policies' counts, then the
 * changed transformers' (`policies[i]`, `transformers[i]`).
 */
interface EvaluationCounts {
  readonly matched: readonly string[];
  readonly policies: readonly string[];
  readonly transformers: readonly string[];
  readonly counts: readonly { value: number }[];
}

/** True when `summary` has `last`'s matched policies and changed `policy`/`transformer` pairs, in the same order. */
function sameEvaluationLabels(last: EvaluationCounts, summary: EvaluationSummary): boolean {
  const { matchedPolicies, applied } = summary;
  if (matchedPolicies.length !== last.matched.length || applied.length !== last.policies.length) return false;
  for (let i = 0; i < matchedPolicies.length; i++) if (matchedPolicies[i] !== last.matched[i]) return false;
  for (let i = 0; i < applied.length; i++) {
    const a = applied[i] as EvaluationSummary['applied'][number];
    if (a.policy !== last.policies[i] || a.transformer !== last.transformers[i]) return false;
  }
  return true;
}

/**
 * What prom-client's registry reads from a metric when it scrapes it (its
 * `get()`; prom-client's own typings declare `type` as a numeric enum, the
 * registry prints the string).
 */
interface HistogramRecord {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: { metricName: string; labels: Record<string, string | number>; value: number }[];
}

/**
 * A Prometheus histogram by one label, counted in plain arrays and turned
 * into prom-client's metric record only when scraped (`get`, registered with
 * `Registry.registerMetric`). prom-client's Histogram validates and hashes
 * the label object on every `observe` (~2.8 µs per admission request on the
 * bench, more than the rest of the metrics together). Exposition is the
 * same: cumulative `_bucket{le}` series ending in `+Inf`, `_sum` and
 * `_count`, per label value. Bounded like the label values (routes).
 */
export class LabelledHistogram<L extends string> {
  readonly type = 'histogram';
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();

  /** `buckets`: upper bounds in ascending order (the `+Inf` bucket is implied). */
  constructor(readonly name: string, readonly help: string, private readonly label: L, private readonly buckets: readonly number[]) {}

  /** Counts one observation of `value` (for durations, seconds) under the label value `labelValue`. */
  observe(labelValue: string, value: number): void {
    let s = this.series.get(labelValue);
    if (s === undefined) {
      s = { buckets: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(labelValue, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    if (i < this.buckets.length) s.buckets[i]++;
    s.sum += value;
    s.count++;
  }

  /** prom-client's record of the histogram (called by the registry when scraped). */
  get(): HistogramRecord {
    const values: HistogramRecord['values'] = [];
    for (const [labelValue, s] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.label]: labelValue }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.label]: labelValue }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.label]: labelValue }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.label]: labelValue }, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** Forgets every observation (`Registry.resetMetrics`). */
  reset(): void {
    this.series.clear();
  }
}

/** The webhook's metrics. */
export class WebhookMetrics {
  readonly registry = new Registry();
  private readonly kinds = new Set<string>();
  private readonly requestTally = new Tally(['route', 'operation', 'kind', 'result'] as const);
  private readonly matchTally = new Tally(['policy'] as const);
  private readonly changeTally = new Tally(['policy', 'transformer'] as const);
  private readonly errorTally = new Tally(['policy', 'transformer', 'failure_policy'] as const);
  private readonly denialTally = new Tally(['policy'] as const);
  /** The last summary's match and change label values and their counts (`observeEvaluation`); one entry, its size the policies and transformers of one evaluation. */
  private lastEvaluation: EvaluationCounts = { matched: [], policies: [], transformers: [], counts: [] };
  /**
   * The last request's label values (`kind` as given, before `kindLabel`: a
   * kind keeps its label, since the kinds seen only grow) and their count
   * (`observeRequest`); one entry. At first none: no result is ''.
   */
  private lastRequest: { route: string; operation: string; kind: string; result: string; count: { value: number } } = { route: '', operation: '', kind: '', result: '', count: { value: 0 } };
  readonly requests: Counter<'route' | 'operation' | 'kind' | 'result'>;
  readonly duration: LabelledHistogram<'route'>;
  readonly policyMatches: Counter<'policy'>;
  readonly transformerChanges: Counter<'policy' | 'transformer'>;
  readonly transformerErrors: Counter<'policy' | 'transformer' | 'failure_policy'>;
  readonly denials: Counter<'policy'>;
  readonly reloads: Counter<'source' | 'result'>;
  readonly lastReloadSuccess: Gauge<'source'>;
  readonly policiesLoaded: Gauge<'source'>;
  readonly policiesInvalid: Gauge<'source'>;
  readonly tlsReloads: Counter<'result'>;
  readonly workerRestarts: Counter<'reason'>;
  readonly buildInfo: Gauge<'version' | 'node_version'>;

  /**
   * `processMetrics`: also export prom-client's default process metrics (RSS, CPU, event loop lag, GC).
   * `version`: the package version for `build_info` (default `unknown`).
   */
  constructor(opts: { processMetrics?: boolean; version?: string } = {}) {
    const r = [this.registry];
    const p = METRIC_PREFIX;
    const tallies = this;
    this.requests = new Counter({ name: `${p}admission_requests_total`, help: 'Admission requests by route, operation, kind and result (allowed, denied, patched, error).', labelNames: ['route', 'operation', 'kind', 'result'], registers: r, collect() { tallies.requestTally.publish(this); } });
    this.duration = new LabelledHistogram(`${p}admission_duration_seconds`, 'Time to answer an admission request, from the parsed body to the response built, in seconds.', 'route', LATENCY_BUCKETS);
    this.registry.registerMetric(this.duration as unknown as Parameters<Registry['registerMetric']>[0]);
    this.policyMatches = new Counter({ name: `${p}policy_matches_total`, help: 'Objects a policy matched (and ran on).', labelNames: ['policy'], registers: r, collect() { tallies.matchTally.publish(this); } });
    this.transformerChanges = new Counter({ name: `${p}transformer_changes_total`, help: 'Objects a transformer changed.', labelNames: ['policy', 'transformer'], registers: r, collect() { tallies.changeTally.publish(this); } });
    this.transformerErrors = new Counter({ name: `${p}transformer_errors_total`, help: 'Transformer, match condition and deadline errors, by how failurePolicy resolved them.', labelNames: ['policy', 'transformer', 'failure_policy'], registers: r, collect() { tallies.errorTally.publish(this); } });
    this.denials = new Counter({ name: `${p}denials_total`, help: 'Denials (Deny rules and failurePolicy Fail errors) by policy.', labelNames: ['policy'], registers: r, collect() { tallies.denialTally.publish(this); } });
    this.reloads = new Counter({ name: `${p}policy_reloads_total`, help: 'Policy (re)loads by source (file, cluster) and result (success, failure).', labelNames: ['source', 'result'], registers: r });
    this.lastReloadSuccess = new Gauge({ name: `${p}policy_last_reload_success_timestamp_seconds`, help: 'Unix time of the last successful policy load, by source.', labelNames: ['source'], registers: r });
    this.policiesLoaded = new Gauge({ name: `${p}policies_loaded`, help: 'Policies in effect, by source.', labelNames: ['source'], registers: r });
    this.policiesInvalid = new Gauge({ name: `${p}policies_invalid`, help: 'Policies whose current version failed to compile (cluster: per object; file: 1 while the last reload failed).', labelNames: ['source'], registers: r });
    this.tlsReloads = new Counter({ name: `${p}tls_reloads_total`, help: 'Serving certificate reloads by result (success, failure).', labelNames: ['result'], registers: r });
    this.workerRestarts = new Counter({ name: `${p}evaluation_worker_restarts_total`, help: 'Evaluation workers replaced, by reason: cutoff (a review not answered in time) or exited (crash, out of memory).', labelNames: ['reason'], registers: r });
    this.buildInfo = new Gauge({ name: `${p}build_info`, help: 'Always 1; labels: the kube-postrender version and the Node.js version running it.', labelNames: ['version', 'node_version'], registers: r });
    this.buildInfo.set({ version: opts.version ?? 'unknown', node_version: process.versions.node }, 1);
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  /**
   * Counts one answered request; `seconds`, its duration, goes to the histogram
   * (left out for requests rejected before the handler). The last request's
   * count is kept (`lastRequest`): a request with the same label values adds
   * to it without looking them up again.
   */
  // eslint-disable-next-line max-params -- the request counter's label tuple in prom-client's order, plus the duration
  observeRequest(route: string, operation: string, kind: string, result: AdmissionOutcome, seconds?: number): void {
    let last = this.lastRequest;
    if (route !== last.route || operation !== last.operation || kind !== last.kind || result !== last.result) {
      last = this.lastRequest = { route, operation, kind, result, count: this.requestTally.count(route, operation, this.kindLabel(kind), result) };
    }
    last.count.value++;
    if (seconds !== undefined) this.duration.observe(route, seconds);
  }

  /**
   * Counts one evaluation, read from its summary (admission-record.ts `summarize`): matches,
   * the transformers whose changes were kept (when the object changed at
   * all), errors and denials. The counts of the last summary's matches and
   * changes are kept (`lastEvaluation`): a summary with the same policy and
   * transformer names in the same order (the Pods of one template) adds to
   * them without looking its label values up again.
   */
  observeEvaluation(summary: EvaluationSummary): void {
    const last = this.lastEvaluation;
    if (!sameEvaluationLabels(last, summary)) this.lastEvaluation = this.evaluationCounts(summary);
    for (const c of this.lastEvaluation.counts) c.value++;
    for (const e of summary.errors) this.errorTally.inc(e.policy, e.transformer, e.failurePolicy);
    for (const d of summary.denials) this.denialTally.inc(d.policy);
  }

  /** The label values of a summary's matches and changes, copied, with their counts (matches first, then changes). */
  private evaluationCounts(summary: EvaluationSummary): EvaluationCounts {
    const matched = summary.matchedPolicies.slice();
    const policies = summary.applied.map((a) => a.policy);
    const transformers = summary.applied.map((a) => a.transformer);
    const counts = [...matched.map((p) => this.matchTally.count(p)), ...policies.map((p, i) => this.changeTally.count(p, transformers[i]))];
    return { matched, policies, transformers, counts };
  }

  /** Counts a policy reload; on success also sets the last-success time (now) and the loaded count. */
  observeReload(source: 'file' | 'cluster', ok: boolean, policies: number): void {
    this.reloads.inc({ source, result: ok ? 'success' : 'failure' });
    if (ok) {
      this.lastReloadSuccess.set({ source }, Date.now() / 1000);
      this.policiesLoaded.set({ source }, policies);
    }
  }

  private kindLabel(kind: string): string {
    if (this.kinds.has(kind)) return kind;
    if (this.kinds.size >= MAX_KINDS) return 'other';
    this.kinds.add(kind);
    return kind;
  }
}


