/**
 * `ReportWriter`: writes the reports of changed namespaces in batches, never
 * one write per request. Every `intervalMs` it takes at most `maxWrites`
 * namespaces whose results changed (`ReportStore.takeDirty`) and writes each
 * report once: create it when absent, replace it (optimistic concurrency on
 * `resourceVersion`) when present, delete it when the namespace has no
 * results left. A failed write puts the namespace back for the next tick and
 * doubles the interval (up to 30 s) until a write succeeds.
 *
 * So the API server sees at most `maxWrites / intervalMs` report writes
 * (default 10 per 2 s) however many admission requests or scanned objects
 * arrive: the results of many objects in one namespace are one write.
 */
import { expectOk, type KubeRest } from '../policy/sources/kube-rest.js';
import { MANAGED_BY_LABEL, REPORT_GROUP, REPORT_NAME, REPORT_SOURCE, REPORT_VERSION, type PolicyReportObject } from './policy-report.js';
import type { ReportStore } from './report-store.js';

/** Report I/O (`get` resolves undefined on 404; `create`/`replace` resolve false on 409 Conflict; `remove` ignores 404). */
export interface ReportApi {
  get(namespace: string): Promise<{ resourceVersion?: string } | undefined>;
  create(report: PolicyReportObject): Promise<boolean>;
  replace(report: PolicyReportObject): Promise<boolean>;
  remove(namespace: string): Promise<void>;
  /** Namespaces ('' for the cluster report) holding a report we wrote (label `app.kubernetes.io/managed-by=kube-postrender`). */
  list(): Promise<string[]>;
}

/** Options of `ReportWriter`. */
export interface ReportWriterOptions {
  store: ReportStore;
  api: ReportApi;
  /** Time between batches, in ms (default 2000). */
  intervalMs?: number;
  /** Most report writes per batch (default 10). */
  maxWrites?: number;
  /** Most results per report (default: `DEFAULT_MAX_RESULTS`). */
  maxResults?: number;
  /** Every write's outcome (for metrics). */
  onWrite?: (namespace: string, outcome: 'created' | 'updated' | 'deleted' | 'conflict' | 'failed', err?: unknown) => void;
}

/** Most interval after failures, in ms. */
const MAX_BACKOFF_MS = 30_000;

/** Writes changed reports in rate-limited batches. */
export class ReportWriter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private delayMs: number;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ReportWriterOptions) {
    this.delayMs = Math.max(100, opts.intervalMs ?? 2000);
  }

  /** Starts the batch timer. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer after the batch in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Marks for writing every namespace that holds one of our reports (so stale ones are deleted). */
  async adoptExisting(): Promise<void> {
    for (const ns of await this.opts.api.list()) this.opts.store.touch(ns);
  }

  /** Writes one batch; resolves true when every write succeeded. Exported for tests (the timer calls it). */
  async flush(): Promise<boolean> {
    const { store } = this.opts;
    let ok = true;
    for (const ns of store.takeDirty(this.opts.maxWrites ?? 10)) {
      try {
        const outcome = await this.write(ns, store.report(ns, this.opts.maxResults));
        if (outcome === 'conflict') store.touch(ns);
        this.opts.onWrite?.(ns, outcome);
      } catch (e) {
        ok = false;
        store.touch(ns);
        this.opts.onWrite?.(ns, 'failed', e);
      }
    }
    return ok;
  }

  private async write(ns: string, report: PolicyReportObject | undefined): Promise<'created' | 'updated' | 'deleted' | 'conflict'> {
    const { api } = this.opts;
    const existing = await api.get(ns);
    if (!report) {
      if (existing) await api.remove(ns);
      return 'deleted';
    }
    if (!existing) return (await api.create(report)) ? 'created' : 'conflict';
    const next = { ...report, metadata: { ...report.metadata, resourceVersion: existing.resourceVersion } };
    return (await api.replace(next)) ? 'updated' : 'conflict';
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.flush().then((ok) => {
        const base = Math.max(100, this.opts.intervalMs ?? 2000);
        this.delayMs = ok ? base : Math.min(this.delayMs * 2, MAX_BACKOFF_MS);
        this.schedule();
      });
    }, this.delayMs);
    this.timer.unref?.();
  }
}

/** `ReportApi` over the API server (needs get, list, create, update, delete on policyreports and clusterpolicyreports). */
export function restReportApi(rest: KubeRest): ReportApi {
  const base = `/apis/${REPORT_GROUP}/${REPORT_VERSION}`;
  const collection = (ns: string): string => (ns ? `${base}/namespaces/${encodeURIComponent(ns)}/policyreports` : `${base}/clusterpolicyreports`);
  const item = (ns: string): string => `${collection(ns)}/${REPORT_NAME}`;
  const selector = `${MANAGED_BY_LABEL}=${REPORT_SOURCE}`;
  return {
    get: async (ns) => {
      const res = await rest.request('GET', item(ns));
      if (res.status === 404) return undefined;
      const body = expectOk(`get report ${ns || '(cluster)'}`, res) as { metadata?: { resourceVersion?: string } };
      return { resourceVersion: body.metadata?.resourceVersion };
    },
    create: async (report) => {
      const res = await rest.request('POST', collection(report.metadata.namespace ?? ''), { body: report });
      if (res.status === 409) return false;
      expectOk(`create report ${report.metadata.namespace ?? '(cluster)'}`, res);
      return true;
    },
    replace: async (report) => {
      const res = await rest.request('PUT', item(report.metadata.namespace ?? ''), { body: report });
      if (res.status === 409) return false;
      expectOk(`update report ${report.metadata.namespace ?? '(cluster)'}`, res);
      return true;
    },
    remove: async (ns) => {
      const res = await rest.request('DELETE', item(ns));
      if (res.status !== 404) expectOk(`delete report ${ns || '(cluster)'}`, res);
    },
    list: async () => {
      const out: string[] = [];
      for (const path of [`${base}/policyreports`, `${base}/clusterpolicyreports`]) {
        const res = await rest.request('GET', path, { query: { labelSelector: selector } });
        const body = expectOk('list reports', res) as { items?: { metadata?: { name?: string; namespace?: string } }[] };
        for (const i of body.items ?? []) if (i.metadata?.name === REPORT_NAME) out.push(i.metadata.namespace ?? '');
      }
      return out;
    },
  };
}
