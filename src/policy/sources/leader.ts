/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does (tools/leaderelection/leaderelection.go with a
 * LeaseLock): a replica acquires the Lease when it is free or its holder's
 * `renewTime + leaseDurationSeconds` has passed, renews it every
 * `renewMs`, and loses leadership when a renewal fails past the lease
 * duration. Writes are optimistic (resourceVersion), so two replicas never
 * both believe they hold the same term. Reusable by any single-writer job
 * (webhook configuration sync; background scans).
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

/** What the elector needs of the API: read, create, replace one Lease. */
export interface LeaseClient {
  /** The Lease, or undefined when it does not exist (404). */
  get(): Promise<V1Lease | undefined>;
  /** Creates it; throws on conflict (409). */
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces it (resourceVersion checked); throws on conflict (409). */
  replace(lease: V1Lease): Promise<V1Lease>;
}

/** Options of `LeaseElector`. */
export interface LeaderOptions {
  client: LeaseClient;
  /** Lease name and namespace (for the object written). */
  name: string;
  namespace: string;
  /** This replica's identity (the Pod name). */
  identity: string;
  /** Lease duration in seconds (default 15, client-go's default). */
  leaseDurationSeconds?: number;
  /** Renew/retry period in ms (default 2000, client-go's RetryPeriod). */
  retryMs?: number;
  /** Called on every change of leadership. */
  onChange?: (leader: boolean) => void;
  /** Called on API errors (the elector keeps trying). */
  onError?: (err: unknown) => void;
  /** Clock (default Date.now), in ms. */
  now?: () => number;
}

/** Campaigns for one Lease and keeps it while alive. */
export class LeaseElector {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastRenew = 0;

  constructor(private readonly opts: LeaderOptions) {}

  /** True while this replica holds the Lease. */
  isLeader(): boolean {
    return this.leader;
  }

  /** Starts campaigning (first attempt at once). */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops; a held Lease is released (holder cleared) so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    this.setLeader(false);
    try {
      const lease = await this.opts.client.get();
      if (lease?.spec?.holderIdentity === this.opts.identity) {
        await this.opts.client.replace({ ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 } });
      }
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /** One attempt to acquire or renew: exported for tests (deterministic with an injected clock). */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = (this.opts.now ?? Date.now)();
    const duration = this.opts.leaseDurationSeconds ?? 15;
    const stamp = new Date(now) as unknown as Date;
    const spec = { holderIdentity: this.opts.identity, leaseDurationSeconds: duration, renewTime: stamp };
    const lease = await this.opts.client.get();
    if (!lease) return this.create(spec, stamp);
    const held = lease.spec?.holderIdentity;
    if (held && held !== this.opts.identity && !expired(lease, now, duration)) return false;
    const taken = held === this.opts.identity ? {} : { acquireTime: stamp, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 };
    await this.opts.client.replace({ ...lease, spec: { ...lease.spec, ...spec, ...taken } });
    return true;
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    this.opts.onChange?.(v);
  }

  private async create(spec: V1Lease['spec'], stamp: Date): Promise<boolean> {
    await this.opts.client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: { ...spec, acquireTime: stamp, leaseTransitions: 0 } });
    return true;
  }

  /** A leader that could not renew for a whole lease duration steps down (another may have taken over). */
  private stepDownIfStale(now: number): void {
    if (this.leader && now - this.lastRenew > (this.opts.leaseDurationSeconds ?? 15) * 1000) this.setLeader(false);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = (this.opts.now ?? Date.now)();
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = now;
      this.setLeader(ok);
    } catch (e) {
      this.opts.onError?.(e);
      this.stepDownIfStale(now);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.retryMs ?? 2000);
    this.timer.unref();
  }
}

/** True when the holder's `renewTime + leaseDurationSeconds` lies before `now` (ms). */
function expired(lease: V1Lease, now: number, defaultSeconds: number): boolean {
  const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string).getTime() : 0;
  return renewed + (lease.spec?.leaseDurationSeconds ?? defaultSeconds) * 1000 < now;
}

/** A LeaseClient over @kubernetes/client-node. */
export function leaseClient(kc: KubeConfig, name: string, namespace: string): LeaseClient {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    get: async () => {
      try {
        return await api.readNamespacedLease({ name, namespace });
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    create: (lease) => api.createNamespacedLease({ namespace, body: lease }),
    replace: (lease) => api.replaceNamespacedLease({ name, namespace, body: lease }),
  };
}
