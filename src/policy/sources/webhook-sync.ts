/**
 * Keeps the live MutatingWebhookConfiguration and ValidatingWebhookConfiguration
 * rules equal to what the loaded policies can match (issue 16; as Kyverno's
 * webhook controller, pkg/controllers/webhook/controller.go, reconciles its
 * configurations from the policy cache). `serve --manage-webhooks NAME`:
 *
 * - the configurations named NAME (installed by the chart, which owns
 *   clientConfig, failurePolicy and the base selectors) get their webhooks'
 *   `rules` (and `matchConditions` on API servers that serve them) replaced by
 *   `deriveWebhook` over the policies in effect: a webhook whose path is
 *   `/mutate` gets the rules of every policy, `/validate` those of policies
 *   with validate rules. No policies, no rules.
 * - only the Lease holder writes (`leader.ts`): one writer among the replicas;
 * - a sync runs `debounceMs` after every change of the policy set and every
 *   `intervalMs` (undoing drift, e.g. a `helm upgrade` that re-applied the
 *   chart's rules), so changes apply within seconds;
 * - a broken policy never widens the rules: the rules follow the policies in
 *   effect, and a broken edit never replaces a good policy (file and cluster
 *   sources keep the last good set); before the first set is loaded nothing is
 *   written.
 * - writes are JSON patches guarded by `test` on each webhook's name, so a
 *   concurrent change of the webhook list fails the patch instead of writing
 *   rules into the wrong webhook; a refused matchConditions (an API server
 *   that cannot compile an expression) is retried without them.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue } from '../../kube/object.js';
import type { CompiledPolicy } from '../compile.js';
import { expectOk, type KubeRest } from './kube-rest.js';
import { deriveWebhook, serverFeatures, type KindResolver, type ServerFeatures } from '../webhook-rules.js';

/** Which configuration. */
export type ConfigKind = 'mutating' | 'validating';

/** One RFC 6902 operation. */
export interface PatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** What the sync needs of the API. */
export interface WebhookConfigClient {
  /** The configuration as JSON, or undefined when it does not exist. */
  get(kind: ConfigKind, name: string): Promise<JsonObject | undefined>;
  /** Applies a JSON patch. Throws on failure (`code` 422 when invalid, 409/422 when a `test` fails). */
  patch(kind: ConfigKind, name: string, ops: PatchOp[]): Promise<void>;
  /** The API server's version features. */
  features(): Promise<ServerFeatures>;
}

/** Options of `WebhookSync`. */
export interface WebhookSyncOptions {
  client: WebhookConfigClient;
  /** Name of both configurations. */
  name: string;
  /** The policies in effect; undefined until the first set has loaded (nothing is written before). */
  policies: () => readonly CompiledPolicy[] | undefined;
  /** True while this replica may write (the Lease holder). */
  isLeader: () => boolean;
  resolve?: KindResolver;
  /** Resync period in ms (default 10000). */
  intervalMs?: number;
  /** Delay after a change before syncing, in ms (default 200). */
  debounceMs?: number;
  /** Each write: configuration, webhook, what changed. */
  onWrite?: (kind: ConfigKind, webhook: string, rules: number, matchConditions: boolean) => void;
  onError?: (what: string, err: unknown) => void;
}

/** The path (`mutate` | `validate`) a webhook calls, from its clientConfig. */
function pathOf(w: JsonObject): 'mutate' | 'validate' | undefined {
  const cc = isObject(w.clientConfig) ? w.clientConfig : {};
  const raw = isObject(cc.service) && typeof cc.service.path === 'string' ? cc.service.path : typeof cc.url === 'string' ? new URL(cc.url).pathname : '';
  return raw === '/mutate' ? 'mutate' : raw === '/validate' ? 'validate' : undefined;
}

/** How `planPatch` derives: server features, kind resolver, whether to write matchConditions. */
export interface PlanOptions {
  server: ServerFeatures;
  resolve?: KindResolver;
  /** False: never write matchConditions (the API server refused them). Default true. */
  withConditions?: boolean;
}

/** The matchConditions ops of webhook `i`: set them where derived and served, remove stale ones. */
function conditionOps(w: JsonObject, i: number, mc: JsonObject[] | undefined): PatchOp[] {
  if (mc) return deepEqual((w.matchConditions ?? null) as JsonValue, mc) ? [] : [{ op: w.matchConditions === undefined ? 'add' : 'replace', path: `/webhooks/${i}/matchConditions`, value: mc }];
  return Array.isArray(w.matchConditions) && w.matchConditions.length > 0 ? [{ op: 'remove', path: `/webhooks/${i}/matchConditions` }] : [];
}

/** The ops of webhook `i` (guarded by a `test` of its name), or [] when it is in step or not ours. */
function webhookOps(w: unknown, i: number, policies: readonly CompiledPolicy[], opts: PlanOptions): PatchOp[] {
  if (!isObject(w) || typeof w.name !== 'string') return [];
  const path = pathOf(w);
  if (!path) return [];
  const d = deriveWebhook(path, policies, { resolve: opts.resolve, server: opts.server });
  const mine: PatchOp[] = [];
  if (!deepEqual((w.rules ?? []) as JsonValue, d.rules as unknown as JsonValue)) mine.push({ op: w.rules === undefined ? 'add' : 'replace', path: `/webhooks/${i}/rules`, value: d.rules });
  const served = opts.withConditions !== false && opts.server.matchConditions;
  mine.push(...conditionOps(w, i, served ? (d.matchConditions as unknown as JsonObject[] | undefined) : undefined));
  return mine.length > 0 ? [{ op: 'test', path: `/webhooks/${i}/name`, value: w.name }, ...mine] : [];
}

/** The JSON patch that makes one configuration's webhooks carry the derived rules; [] when they already do. */
export function planPatch(config: JsonObject, policies: readonly CompiledPolicy[], opts: PlanOptions): PatchOp[] {
  const webhooks = Array.isArray(config.webhooks) ? config.webhooks : [];
  return webhooks.flatMap((w, i) => webhookOps(w, i, policies, opts));
}

/** Keeps the configurations' rules in step with the policies (see the module comment). */
export class WebhookSync {
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private features: ServerFeatures | undefined;

  constructor(private readonly opts: WebhookSyncOptions) {}

  /** Starts the periodic resync (first sync at once). */
  start(): void {
    this.stopped = false;
    this.trigger(0);
    this.timer = setInterval(() => this.trigger(0), this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  /** Stops; an in-flight sync finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.running;
  }

  /** Schedules a sync after `delayMs` (default the debounce): call on every policy change. */
  trigger(delayMs = this.opts.debounceMs ?? 200): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.run(), delayMs);
    this.debounce.unref();
  }

  private async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.syncOnce().then(
      () => undefined,
      (e: unknown) => this.opts.onError?.('sync', e),
    );
    await this.running;
    this.running = undefined;
    if (this.again && !this.stopped) {
      this.again = false;
      void this.run();
    }
  }

  /** One pass over both configurations. Returns the number of patches written. Exported for tests. */
  async syncOnce(): Promise<number> {
    const policies = this.opts.policies();
    if (!policies || !this.opts.isLeader()) return 0;
    this.features ??= await this.opts.client.features();
    let written = 0;
    for (const kind of ['mutating', 'validating'] as const) {
      const config = await this.opts.client.get(kind, this.opts.name);
      if (!config) continue;
      written += await this.write(kind, config, policies);
    }
    return written;
  }

  private async write(kind: ConfigKind, config: JsonObject, policies: readonly CompiledPolicy[]): Promise<number> {
    const plan: PlanOptions = { server: this.features as ServerFeatures, resolve: this.opts.resolve };
    let ops = planPatch(config, policies, plan);
    if (ops.length === 0) return 0;
    try {
      await this.opts.client.patch(kind, this.opts.name, ops);
    } catch (e) {
      if ((e as { code?: number }).code !== 422 || !ops.some((o) => o.path.endsWith('/matchConditions'))) throw e;
      // The API server refused our matchConditions (an expression it cannot compile): rules only.
      this.opts.onError?.('matchConditions refused; writing rules without them', e);
      ops = planPatch(config, policies, { ...plan, withConditions: false });
      if (ops.length === 0) return 0;
      await this.opts.client.patch(kind, this.opts.name, ops);
    }
    this.report(kind, ops);
    return 1;
  }

  private report(kind: ConfigKind, ops: PatchOp[]): void {
    for (const o of ops.filter((x) => x.op === 'test')) {
      const i = Number(o.path.split('/')[2]);
      const rules = ops.find((x) => x.path === `/webhooks/${i}/rules`)?.value;
      this.opts.onWrite?.(kind, String(o.value), Array.isArray(rules) ? rules.length : -1, ops.some((x) => x.path === `/webhooks/${i}/matchConditions` && x.op !== 'remove'));
    }
  }
}

/**
 * A WebhookConfigClient over the API server (kube-rest.ts: plain JSON, so no
 * field of the configuration is dropped by a client model). A failed patch
 * throws `KubeRestError` with `code` = the HTTP status (422 when the API
 * server refuses the result, e.g. a matchCondition it cannot compile).
 */
export function webhookConfigClient(rest: KubeRest): WebhookConfigClient {
  const path = (kind: ConfigKind, name: string): string => `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations/${encodeURIComponent(name)}`;
  return {
    get: async (kind, name) => {
      const res = await rest.request('GET', path(kind, name));
      if (res.status === 404) return undefined;
      return expectOk(`get ${kind}webhookconfiguration ${name}`, res) as JsonObject;
    },
    patch: async (kind, name, ops) => {
      const res = await rest.request('PATCH', path(kind, name), { body: ops, contentType: 'application/json-patch+json' });
      try {
        expectOk(`patch ${kind}webhookconfiguration ${name}`, res);
      } catch (e) {
        throw Object.assign(e as Error, { code: res.status });
      }
    },
    features: async () => {
      const v = expectOk('get version', await rest.request('GET', '/version')) as { major?: unknown; minor?: unknown } | undefined;
      return serverFeatures(String(v?.major ?? ''), String(v?.minor ?? ''));
    },
  };
}
