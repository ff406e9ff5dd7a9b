/**
 * Metrics of reporting (PolicyReports, the background scan, denial events,
 * leader election), registered in the webhook's own prom-client Registry so
 * `/metrics` carries them next to the admission metrics. Label values are
 * fixed words, never object contents.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../server/metrics.js';
import type { PolicyReportSummary } from './policy-report.js';

/** Reporting metrics. */
export class ReportMetrics {
  readonly results: Gauge<'result'>;
  readonly writes: Counter<'result'>;
  readonly scans: Counter;
  readonly scannedObjects: Counter;
  readonly scannedKinds: Gauge;
  readonly events: Counter<'result'>;
  readonly leader: Gauge;
  readonly evicted: Gauge;

  /** `summary`: read at scrape time for the results gauge; `evicted`: objects dropped at the store's bound. */
  constructor(registry: Registry, read: { summary: () => PolicyReportSummary | undefined; evicted: () => number }) {
    const p = METRIC_PREFIX;
    const r = [registry];
    this.results = new Gauge({
      name: `${p}report_results`,
      help: 'Results in the PolicyReports this replica writes, by result (pass, fail, warn, error, skip); 0 when not the leader.',
      labelNames: ['result'],
      registers: r,
      collect() {
        const s = read.summary();
        for (const k of ['pass', 'fail', 'warn', 'error', 'skip'] as const) this.set({ result: k }, s?.[k] ?? 0);
      },
    });
    this.writes = new Counter({ name: `${p}report_writes_total`, help: 'PolicyReport writes by result (created, updated, deleted, conflict, failed).', labelNames: ['result'], registers: r });
    this.scans = new Counter({ name: `${p}background_scans_total`, help: 'Completed background scans (every scanned kind listed once).', registers: r });
    this.scannedObjects = new Counter({ name: `${p}background_scan_objects_total`, help: 'Objects evaluated by the background scan (lists and watch events).', registers: r });
    this.scannedKinds = new Gauge({ name: `${p}background_scan_kinds`, help: 'Kinds the background scan lists and watches.', registers: r });
    this.events = new Counter({ name: `${p}denial_events_total`, help: 'Denial Events by result (created, dropped by the rate limit, repeated within the window, failed).', labelNames: ['result'], registers: r });
    this.leader = new Gauge({ name: `${p}leader`, help: '1 while this replica holds the reports Lease.', registers: r });
    this.evicted = new Gauge({
      name: `${p}report_evicted_objects`,
      help: 'Objects whose results were dropped because the report store was full.',
      registers: r,
      collect() {
        this.set(read.evicted());
      },
    });
  }
}
