/**
 * Leader election over a `coordination.k8s.io/v1` Lease: one replica of the
 * webhook does the cluster-wide writes (PolicyReports, the background scan;
 * any other single-writer task can reuse it), the others stand by.
 *
 * Semantics of client-go's `tools/leaderelection` (leaderelection.go,
 * `tryAcquireOrRenew`), with its defaults (leaseDuration 15 s, renewDeadline
 * 10 s, retryPeriod 2 s):
 * - every `retryPeriod` a candidate reads the Lease; absent, it creates it
 *   holding it; held by someone else, it waits until the record has not
 *   changed for `leaseDuration` as measured on its *own* clock since it last
 *   saw the record change (no comparison of clocks across machines), then
 *   takes it over (`leaseTransitions + 1`);
 * - the holder renews (`renewTime`) every `retryPeriod`; a write that loses a
 *   race gets 409 Conflict (optimistic concurrency on `resourceVersion`), so
 *   at most one candidate wins;
 * - a holder that has not renewed successfully for `renewDeadline` stops
 *   leading (before anyone else may take over, since renewDeadline <
 *   leaseDuration);
 * - `stop()` releases the Lease (`holderIdentity` emptied, as client-go's
 *   `ReleaseOnCancel`), so a successor takes over at its next retry.
 * All I/O goes through `LeaseApi`, so the logic is tested with a fake.
 */
import { expectOk, microTime, type KubeRest } from './kube-rest.js';

/** The Lease fields leader election reads and writes (plain JSON). */
export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Lease I/O: `get` resolves undefined on 404; `create`/`replace` resolve false on 409 Conflict (someone else wrote first). Other failures throw. */
export interface LeaseApi {
  get(namespace: string, name: string): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject): Promise<boolean>;
  replace(lease: LeaseObject): Promise<boolean>;
}

/** Options of `LeaderElector`. */
export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  /** Lease name, e.g. `kube-postrender-reports`. */
  name: string;
  /** This candidate's identity (pod name plus a random suffix). */
  identity: string;
  /** Durations in ms (defaults: client-go's 15 000, 10 000, 2 000). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** A failed Lease read or write (the elector retries). */
  onError?: (err: unknown) => void;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
}

/** Campaigns for a Lease and keeps it while it can. */
export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private observed: { key: string; at: number } | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectorOptions) {}

  /** True while this candidate holds the Lease. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning (first attempt at once). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the Lease and `onStoppedLeading` runs. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((e: unknown) => this.opts.onError?.(e));
    }
  }

  /** One attempt to acquire or renew; exported for tests (the timer calls it every retry period). */
  // eslint-disable-next-line complexity -- client-go's tryAcquireOrRenew steps read best in one place
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const { api, namespace, name, identity } = this.opts;
    const current = await api.get(namespace, name);
    if (!current) return api.create(this.leaseFor(undefined, now, 0));
    const spec = current.spec ?? {};
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${current.metadata.resourceVersion ?? ''}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, at: now };
    const held = Boolean(spec.holderIdentity) && spec.holderIdentity !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseSeconds()) * 1000;
    if (held && this.observed.at + durationMs > now) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1);
    return api.replace(this.leaseFor(current, now, transitions));
  }

  private leaseFor(current: LeaseObject | undefined, now: number, transitions: number): LeaseObject {
    const mine = current?.spec?.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(current?.metadata ?? {}), name: this.opts.name, namespace: this.opts.namespace },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: this.leaseSeconds(),
        acquireTime: mine && current?.spec?.acquireTime ? current.spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  private async release(): Promise<void> {
    const current = await this.opts.api.get(this.opts.namespace, this.opts.name);
    if (!current || current.spec?.holderIdentity !== this.opts.identity) return;
    await this.opts.api.replace({ ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.attempt().finally(() => this.schedule(this.opts.retryPeriodMs ?? 2000));
    }, delayMs);
    this.timer.unref?.();
  }

  private async attempt(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.opts.onError?.(e);
    }
    if (this.stopped) return;
    const now = this.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) this.setLeading(true);
    } else if (this.leading && now - this.lastRenew > (this.opts.renewDeadlineMs ?? 10_000)) {
      this.setLeading(false);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) this.opts.onStartedLeading?.();
    else this.opts.onStoppedLeading?.();
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.round((this.opts.leaseDurationMs ?? 15_000) / 1000));
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** `LeaseApi` over the API server (`coordination.k8s.io/v1`; needs get, create and update on leases in `namespace`). */
export function restLeaseApi(rest: KubeRest): LeaseApi {
  const base = (ns: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/leases`;
  return {
    get: async (namespace, name) => {
      const res = await rest.request('GET', `${base(namespace)}/${encodeURIComponent(name)}`);
      if (res.status === 404) return undefined;
      return expectOk(`get lease ${namespace}/${name}`, res) as LeaseObject;
    },
    create: async (lease) => {
      const res = await rest.request('POST', base(lease.metadata.namespace), { body: lease });
      if (res.status === 409) return false;
      expectOk(`create lease ${lease.metadata.namespace}/${lease.metadata.name}`, res);
      return true;
    },
    replace: async (lease) => {
      const res = await rest.request('PUT', `${base(lease.metadata.namespace)}/${encodeURIComponent(lease.metadata.name)}`, { body: lease });
      if (res.status === 409) return false;
      expectOk(`update lease ${lease.metadata.namespace}/${lease.metadata.name}`, res);
      return true;
    },
  };
}
