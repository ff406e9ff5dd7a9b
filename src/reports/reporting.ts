/**
 * Reporting in `serve --cluster` (docs/reports.md): PolicyReports from
 * admission results and from the background scan, written by the leader
 * only, and Events for denials (every replica, rate-limited).
 *
 * - Admission (`admitted`): each allowed, non-dry-run request of a named
 *   object puts that object's results in the store; the writer sends changed
 *   reports in batches. Denied requests get an Event (a refused CREATE leaves
 *   no object to report on; Kyverno likewise reports blocked requests as
 *   events). Only the leader keeps admission results: the leader's watch sees
 *   the objects other replicas admitted.
 * - Background scan: the leader lists and watches the kinds the policies
 *   name (see `BackgroundScan`), re-listing when the policies change.
 * - Leadership: a `coordination.k8s.io` Lease (`LeaderElector`); losing it
 *   stops the scan and the writer and empties the store.
 */
import { metaString, type KubeObject } from '../kube/object.js';
import { LeaderElector, restLeaseApi } from '../policy/sources/leader.js';
import type { KubeRest } from '../policy/sources/kube-rest.js';
import type { Evaluation } from '../policy/evaluate.js';
import { BackgroundScan, type ScanPolicies } from './background-scan.js';
import { DenialEvents, restEventCreator } from './denial-events.js';
import { ruleOutcomes } from './outcomes.js';
import { objectReference, reportResults } from './policy-report.js';
import { ReportMetrics } from './report-metrics.js';
import { ReportStore } from './report-store.js';
import { ReportWriter, restReportApi } from './report-writer.js';
import type { Registry } from 'prom-client';

/** Options of `Reporting`. */
export interface ReportingOptions {
  rest: KubeRest;
  /** PolicyReports and the background scan. */
  reports: boolean;
  /** Denial Events. */
  events: boolean;
  /** Namespace of the Lease (the webhook's own). */
  namespace: string;
  /** This replica's identity (pod name plus a random suffix). */
  identity: string;
  getPolicies: () => ScanPolicies | undefined;
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  registry: Registry;
  /** Report batch interval in ms (default 2000). */
  intervalMs?: number;
  log?: (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;
}

/** Name of the reports Lease. */
export const REPORTS_LEASE = 'kube-postrender-reports';

/** PolicyReports, background scan and denial Events of one replica. */
export class Reporting {
  readonly store = new ReportStore();
  readonly metrics: ReportMetrics;
  private readonly writer: ReportWriter;
  private readonly scan: BackgroundScan;
  private readonly events: DenialEvents | undefined;
  private readonly elector: LeaderElector | undefined;
  private leading = false;
  private unrestrictedLogged = '';

  constructor(private readonly opts: ReportingOptions) {
    this.metrics = new ReportMetrics(opts.registry, { summary: () => (this.leading ? this.store.summary() : undefined), evicted: () => this.store.evicted });
    const log = opts.log ?? (() => undefined);
    this.writer = new ReportWriter({
      store: this.store,
      api: restReportApi(opts.rest),
      intervalMs: opts.intervalMs,
      onWrite: (ns, outcome, err) => {
        this.metrics.writes.inc({ result: outcome });
        if (outcome === 'failed') log('warn', { namespace: ns || '(cluster)', err: errText(err) }, 'PolicyReport write failed; retrying');
      },
    });
    this.scan = new BackgroundScan({
      rest: opts.rest,
      store: this.store,
      getPolicies: opts.getPolicies,
      namespaceLabels: opts.namespaceLabels,
      onObject: () => this.metrics.scannedObjects.inc(),
      onScanned: (objects, kinds) => {
        this.metrics.scans.inc();
        this.metrics.scannedKinds.set(kinds);
        log('info', { objects, kinds, scanned: this.scan.scannedKinds() }, 'background scan done');
        void this.writer.adoptExisting().catch((e: unknown) => log('warn', { err: errText(e) }, 'listing existing PolicyReports failed'));
      },
      onError: (what, err) => log('warn', { what, err: errText(err) }, 'background scan error; retrying'),
      onUnrestricted: (names) => {
        const key = names.join(',');
        if (key === this.unrestrictedLogged) return;
        this.unrestrictedLogged = key;
        log('info', { policies: names }, 'policies without match.resources kinds are reported from admission only, not scanned');
      },
    });
    if (opts.events) {
      this.events = new DenialEvents({
        create: restEventCreator(opts.rest),
        instance: opts.identity,
        onEvent: (outcome, err) => {
          this.metrics.events.inc({ result: outcome });
          if (outcome === 'failed') log('warn', { err: errText(err) }, 'denial Event write failed');
        },
      });
    }
    if (opts.reports) {
      this.elector = new LeaderElector({
        api: restLeaseApi(opts.rest),
        namespace: opts.namespace,
        name: REPORTS_LEASE,
        identity: opts.identity,
        onStartedLeading: () => this.lead(true),
        onStoppedLeading: () => this.lead(false),
        onError: (err) => log('warn', { lease: `${opts.namespace}/${REPORTS_LEASE}`, err: errText(err) }, 'reports Lease error'),
      });
    }
  }

  /** Starts campaigning for the reports Lease. */
  start(): void {
    this.elector?.start();
  }

  /** Stops scan, writer and election (releasing the Lease). */
  async stop(): Promise<void> {
    await this.elector?.stop();
    await this.lead(false);
  }

  /** True while this replica writes reports. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** The policies changed: the leader re-plans and re-scans. */
  policiesChanged(): void {
    if (this.leading) this.scan.policiesChanged();
  }

  /**
   * One answered admission request (the AdmissionReview body and its
   * evaluation). Cheap and synchronous: results go to the store (leader
   * only), denials to the event limiter. Never throws.
   */
  admitted(body: unknown, evaluation: Evaluation): void {
    try {
      const req = (body as { request?: AdmissionFields } | null)?.request;
      if (!req || typeof req !== 'object') return;
      if (evaluation.denials.length > 0) this.deniedEvent(req, evaluation);
      // Off the request's path: the answer is already built; counting changed paths may diff objects.
      else if (this.leading && req.dryRun !== true) setImmediate(() => this.safeRecord(req, evaluation));
    } catch {
      // Reporting never affects an answer.
    }
  }

  private safeRecord(req: AdmissionFields, evaluation: Evaluation): void {
    try {
      this.record(req, evaluation);
    } catch {
      // Reporting never affects the webhook.
    }
  }

  private record(req: AdmissionFields, evaluation: Evaluation): void {
    const object = (evaluation.object ?? req.object) as KubeObject | undefined;
    if (!object || typeof object !== 'object') return;
    const ref = objectReference(object, typeof req.namespace === 'string' ? req.namespace : '');
    if (!ref) return;
    let outcomes = ruleOutcomes(evaluation, { origin: 'admission' });
    // A messageExpression may quote the object: no rule messages for Secrets.
    if (ref.kind === 'Secret' && ref.apiVersion === 'v1') outcomes = outcomes.map((o) => ({ ...o, message: '' }));
    this.store.set(ref, reportResults(ref, outcomes, Date.now() / 1000, 'admission'));
  }

  // eslint-disable-next-line complexity -- optional AdmissionReview fields read one by one
  private deniedEvent(req: AdmissionFields, evaluation: Evaluation): void {
    if (!this.events) return;
    const object = (req.object ?? req.oldObject) as KubeObject | undefined;
    const kind = req.kind ?? {};
    const generateName = object ? metaString(object, 'generateName') : '';
    const name = (typeof req.name === 'string' && req.name) || (object ? metaString(object, 'name') : '') || (generateName ? `${generateName}*` : '');
    this.events.denied({
      operation: String(req.operation ?? ''),
      apiVersion: kind.group ? `${kind.group}/${kind.version ?? ''}` : String(kind.version ?? ''),
      kind: String(kind.kind ?? ''),
      name,
      namespace: typeof req.namespace === 'string' ? req.namespace : '',
      uid: uidOf(object),
      denials: evaluation.denials,
    });
  }

  private async lead(leading: boolean): Promise<void> {
    if (leading === this.leading) return;
    this.leading = leading;
    this.metrics.leader.set(leading ? 1 : 0);
    this.opts.log?.('info', { lease: `${this.opts.namespace}/${REPORTS_LEASE}`, identity: this.opts.identity }, leading ? 'leading: writing PolicyReports' : 'not leading: PolicyReports stopped');
    if (leading) {
      this.scan.start();
      this.writer.start();
      return;
    }
    await Promise.all([this.scan.stop(), this.writer.stop()]);
    this.store.clear();
  }
}

/** The AdmissionReview `request` fields reporting reads. */
interface AdmissionFields {
  operation?: unknown;
  kind?: { group?: string; version?: string; kind?: string };
  name?: unknown;
  namespace?: unknown;
  dryRun?: unknown;
  object?: unknown;
  oldObject?: unknown;
}

function uidOf(object: KubeObject | undefined): string | undefined {
  const uid = (object?.metadata as { uid?: unknown } | undefined)?.uid;
  return typeof uid === 'string' && uid ? uid : undefined;
}

function errText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}
