/**
 * Kubernetes Events for denials (`serve --cluster --events`): a `Warning`
 * event with reason `PolicyViolation` on the denied object, as Kyverno emits
 * for blocked requests, so `kubectl describe` and `kubectl get events` show
 * who refused what.
 *
 * Rate-limited like client-go's event correlator
 * (tools/record/events_cache.go: a token bucket per source and object,
 * burst 25, and aggregation of repeats): one global token bucket (`burst`
 * events at once, then `perSecond`), and a repeat of the same denial (same
 * namespace, kind, name, policies and rules) within `repeatMs` is not sent
 * again. Writes are fire-and-forget: the admission answer never waits for
 * them. Messages name the operation, policies and rules only, never rule
 * messages (a `messageExpression` may quote the object) nor object contents.
 */
import { expectOk, kubeTime, type KubeRest } from '../policy/sources/kube-rest.js';
import type { Denial } from '../policy/types.js';

/** What a denial event is about. */
export interface DeniedRequest {
  operation: string;
  /** The object's apiVersion and kind (the request's), name (or `generateName` + `*` when not named yet), namespace ('' cluster-scoped), uid when known. */
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  denials: readonly Denial[];
}

/** Options of `DenialEvents`. */
export interface DenialEventsOptions {
  /** Creates one core/v1 Event in `namespace`. */
  create: (namespace: string, event: Record<string, unknown>) => Promise<void>;
  /** `reportingInstance` (the pod name). */
  instance: string;
  /** Events at once (default 25) and refill rate per second (default 1). */
  burst?: number;
  perSecond?: number;
  /** Window in which a repeat is not sent again, in ms (default 600 000: 10 minutes). */
  repeatMs?: number;
  /** Every event's outcome (metrics). */
  onEvent?: (outcome: 'created' | 'dropped' | 'repeated' | 'failed', err?: unknown) => void;
  now?: () => number;
}

/** Most repeat keys remembered (oldest forgotten first). */
const MAX_KEYS = 4096;
const MAX_MESSAGE = 1024;

/** Emits rate-limited denial events. */
export class DenialEvents {
  private tokens: number;
  private refilledAt: number;
  private readonly recent = new Map<string, number>();

  constructor(private readonly opts: DenialEventsOptions) {
    this.tokens = opts.burst ?? 25;
    this.refilledAt = this.now();
  }

  /** Sends (or drops) the event of one denied request. Never throws, never waits. */
  // eslint-disable-next-line complexity -- guard, repeat window, token bucket, send: one decision
  denied(req: DeniedRequest): void {
    if (req.denials.length === 0 || !req.name) return;
    const rules = req.denials.map((d) => `policy ${d.policy} rule ${d.rule}`);
    const key = `${req.namespace}\u0000${req.kind}\u0000${req.name}\u0000${req.operation}\u0000${rules.join(';')}`;
    const now = this.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < (this.opts.repeatMs ?? 600_000)) return this.opts.onEvent?.('repeated');
    if (!this.take(now)) return this.opts.onEvent?.('dropped');
    this.recent.delete(key);
    this.recent.set(key, now);
    if (this.recent.size > MAX_KEYS) this.recent.delete(this.recent.keys().next().value as string);
    const namespace = req.namespace || 'default';
    const event = denialEvent(req, `${req.operation} denied by ${rules.join('; ')}`.slice(0, MAX_MESSAGE), this.opts.instance, now);
    this.opts.create(namespace, event).then(
      () => this.opts.onEvent?.('created'),
      (e: unknown) => this.opts.onEvent?.('failed', e),
    );
  }

  private take(now: number): boolean {
    const burst = this.opts.burst ?? 25;
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * (this.opts.perSecond ?? 1));
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** The core/v1 Event of a denial. */
export function denialEvent(req: DeniedRequest, message: string, instance: string, nowMs: number): Record<string, unknown> {
  const involvedObject: Record<string, string> = { apiVersion: req.apiVersion, kind: req.kind, name: req.name };
  if (req.namespace) involvedObject.namespace = req.namespace;
  if (req.uid) involvedObject.uid = req.uid;
  const time = kubeTime(nowMs);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${req.name.replace(/\*$/, '').replace(/[^a-z0-9.-]/g, '-').slice(0, 200) || 'object'}.`, namespace: req.namespace || 'default' },
    involvedObject,
    reason: 'PolicyViolation',
    message,
    type: 'Warning',
    source: { component: 'kube-postrender' },
    reportingComponent: 'kube-postrender',
    reportingInstance: instance,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

/** Event creation over the API server (needs `create` on events). */
export function restEventCreator(rest: KubeRest): DenialEventsOptions['create'] {
  return async (namespace, event) => {
    expectOk('create event', await rest.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { body: event }));
  };
}
