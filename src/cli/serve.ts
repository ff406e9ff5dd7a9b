/**
 * `kube-postrender serve`: the webhook over HTTPS (docs/operations.md).
 *
 * Policies come from `-c` files (watched and reloaded; a broken edit keeps the
 * old set), from the cluster with `--cluster` (ClusterPostRenderPolicy /
 * PostRenderPolicy informers, status written back, Namespace labels for
 * `namespaceSelector`), or both; `PolicyStore` swaps the combined set
 * atomically. `/readyz` is 503 until every source has loaded once (TLS is
 * loaded before listening). Without TLS files it makes a self-signed
 * certificate for localhost and prints where it is (refused on a non-loopback
 * host unless `--allow-insecure-self-signed`), and with `--sample` a curl line.
 *
 * SIGTERM/SIGINT: `/readyz` 503, in-flight requests finish (at most 10 s),
 * watchers and informers stop, exit 0.
 * Exit codes: 0 after a signal; 2 usage or config error (bad flags, invalid
 * policy files at start, unreadable certificates, no kubeconfig, port busy).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { PolicyError } from '../policy/compile.js';
import type { ClusterSource } from '../policy/sources/cluster-source.js';
import { FilePolicySource, type ReloadEvent } from '../policy/sources/file-source.js';
import { PolicyStore, type SourceName } from '../policy/sources/store.js';
import { WebhookMetrics } from '../server/metrics.js';
import { startServer, type RunningServer } from '../server/start.js';
import type { InFlightLimits } from '../server/limits.js';
import { DEFAULT_MAX_EVALUATION_MS } from '../server/app.js';
import { defaultLoadOptions } from './policies.js';
import { loadExpressionEngine } from '../expr/cel.js';
import { EXIT, oneLine } from './io.js';
import type { Reporting } from '../reports/reporting.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Options of `serve` (see `main.ts` for the flags). */
export interface ServeOptions {
  config: string[];
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `--client-ca`: PEM bundle; admission requests need a client certificate it signed. */
  clientCa?: string;
  cluster?: boolean;
  /** `--admission-policies` (with `--cluster`): apply the cluster's MutatingAdmissionPolicies/ValidatingAdmissionPolicies (docs/admission-policies.md). */
  admissionPolicies?: boolean;
  /** `--namespace`: the webhook's own namespace (default $POD_NAMESPACE). */
  namespace?: string;
  allowInsecureSelfSigned?: boolean;
  /** pino level: fatal, error, warn, info (default), debug, trace, silent. */
  logLevel?: string;
  sample?: string;
  /** `--shutdown-delay`: seconds to keep answering after SIGTERM, not ready and with `Connection: close` (default 5). */
  shutdownDelaySeconds?: number;
  /**
   * `--manage-webhooks NAME`: keep the rules of the Mutating/ValidatingWebhookConfiguration
   * NAME equal to what the policies match (one writer: a Lease in the own namespace).
   */
  manageWebhooks?: string;
  /** `--metrics-port`: serve `/metrics` over plain HTTP on this port (and not on the HTTPS port). */
  metricsPort?: number;
  /** `--max-in-flight`, `--max-in-flight-bytes`: 429 past these (src/server/limits.ts). */
  inFlight?: InFlightLimits;
  /** `--max-evaluation-ms`: wall-clock bound of one review's evaluation (AppOptions.maxEvaluationMs; default DEFAULT_MAX_EVALUATION_MS). */
  maxEvaluationMs?: number;
  /** `--reports`: PolicyReports from admission and a background scan (leader-elected; needs --cluster). */
  reports?: boolean;
  /** `--events`: Kubernetes Events for denials (needs --cluster). */
  events?: boolean;
  /** `--report-interval`: seconds between PolicyReport write batches (default 2). */
  reportIntervalSeconds?: number;
}

/** Default `--shutdown-delay`, in seconds: long enough for endpoints and the API server to stop sending new requests here; well under the default 30 s termination grace period. */
const DEFAULT_SHUTDOWN_DELAY_S = 5;

/** Time after the drain before the process is made to exit if a handle (e.g. a keep-alive agent) still holds it, in ms. */
const EXIT_BACKSTOP_MS = 2000;

/** Starts the server; resolves with the exit code when it has stopped. */
export async function serveCommand(opts: ServeOptions): Promise<number> {
  const usage = checkFlags(opts);
  if (usage) {
    process.stderr.write(`kube-postrender: ${usage}\n`);
    return EXIT.usage;
  }
  // Load the CEL engine before serving, so a policy reload never pays for it on the event loop.
  loadExpressionEngine();
  const ownNamespace = opts.namespace ?? (process.env.POD_NAMESPACE || undefined);
  const load = defaultLoadOptions({ ownNamespace });
  const metrics = new WebhookMetrics({ processMetrics: true, version: packageVersion() });
  const required: SourceName[] = [
    ...(opts.config.length > 0 ? (['file'] as const) : []),
    ...(opts.cluster ? (['cluster'] as const) : []),
    ...(opts.cluster && opts.admissionPolicies ? (['admission'] as const) : []),
  ];
  const store = new PolicyStore(required);
  let log: FastifyBaseLogger | undefined;
  let sync: { trigger: () => void; stop: () => Promise<void> } | undefined;
  const updateGauges = (): void => {
    sync?.trigger();
    const counts = store.counts();
    metrics.policiesLoaded.set({ source: 'file' }, counts.file);
    metrics.policiesLoaded.set({ source: 'cluster' }, counts.cluster);
    reporting?.policiesChanged();
    if (counts.admission > 0) metrics.policiesLoaded.set({ source: 'admission' }, counts.admission);
  };
  let reporting: Reporting | undefined;

  const files =
    opts.config.length > 0
      ? new FilePolicySource({
          paths: opts.config,
          load,
          onPolicies: (p) => {
            store.update('file', p);
            updateGauges();
          },
          onReload: (e) => onFileReload(e, metrics, log),
          onWatchError: (err) => log?.warn({ source: 'file', err: err.message }, 'policy file watch error'),
        })
      : undefined;
  if (files) {
    const first = files.reload();
    if (!first.ok) {
      process.stderr.write(`${oneLine(first.error)}\n`);
      return EXIT.usage;
    }
  }

  let cluster: ClusterSource | undefined;
  if (opts.cluster) {
    // Loaded only with --cluster: the Kubernetes client is most of a file-only
    // webhook's memory (RSS 159 -> ~110 MiB) and start-up.
    const clusterModule = await import('../policy/sources/cluster-source.js');
    try {
      cluster = makeClusterSource(clusterModule, store, metrics, () => log, { compileCondition: load.compileCondition, ownNamespace }, updateGauges);
    } catch (e) {
      process.stderr.write(`kube-postrender: --cluster: cannot load a kubeconfig (in-cluster or KUBECONFIG): ${errorText(e)}\n`);
      return EXIT.usage;
    }
    if (opts.reports || opts.events) reporting = await makeReporting(clusterModule, opts, store, metrics, () => log, cluster, ownNamespace);
  }
  const admission = opts.cluster && opts.admissionPolicies ? await makeAdmissionSource(store, () => log, updateGauges) : undefined;

  const tls = opts.tlsCert && opts.tlsKey ? { certFile: opts.tlsCert, keyFile: opts.tlsKey } : undefined;
  let server: RunningServer;
  try {
    server = await startServer({
      host: opts.host,
      port: opts.port,
      tls,
      clientCaFile: opts.clientCa,
      allowInsecureSelfSigned: opts.allowInsecureSelfSigned,
      getPolicies: () => store.current(),
      namespaceLabels: cluster ? (ns) => cluster.namespaces.get(ns) : undefined,
      notReadyReason: () => (cluster && !cluster.isSynced ? 'cluster policies not synced yet' : undefined),
      onEvaluation: reporting ? (body, evaluation) => reporting?.admitted(body, evaluation) : undefined,
      metrics,
      metricsRoute: opts.metricsPort === undefined,
      inFlight: opts.inFlight,
      maxEvaluationMs: opts.maxEvaluationMs ?? DEFAULT_MAX_EVALUATION_MS,
      logger: { level: opts.logLevel ?? 'info' },
      onTlsReload: (ok, err) => {
        metrics.tlsReloads.inc({ result: ok ? 'success' : 'failure' });
        if (ok) log?.info({ certFile: opts.tlsCert }, 'serving certificate reloaded');
        else log?.error({ certFile: opts.tlsCert, err: err?.message }, 'serving certificate reload failed; the previous certificate stays in use');
      },
    });
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    await cluster?.stop();
    await admission?.stop();
    return EXIT.usage;
  }
  log = server.app.log;
  let metricsServer: FastifyInstance | undefined;
  try {
    metricsServer = await maybe(opts.metricsPort, (p) => startMetricsListener(opts.host, p, metrics), '--metrics-port');
    sync = await maybe(opts.manageWebhooks, (name) => startWebhookSync(name, ownNamespace, store, () => log), '--manage-webhooks');
  } catch (e) {
    process.stderr.write(`kube-postrender: ${errorText(e)}\n`);
    await Promise.allSettled([server.stop(), cluster?.stop(), metricsServer?.close()]);
    return EXIT.usage;
  }
  const stopSignal = waitForSignal();
  await files?.start();
  cluster?.start();
  admission?.start();
  void cluster?.synced.then(() => {
    log?.info({ policies: store.counts().cluster, namespaces: cluster?.namespaces.size() }, 'cluster policies synced');
    reporting?.start();
  });

  const certNote = server.generated ? ` (self-signed certificate: ${server.certFile})` : '';
  log.info({ url: server.url, policies: store.current()?.names.length ?? 0, sources: required, ownNamespace }, 'serving');
  process.stderr.write(`kube-postrender: serving ${store.current()?.names.length ?? 0} policies on ${server.url}${certNote}\n`);
  if (opts.sample) {
    const cacert = server.generated ? `--cacert ${server.certFile}` : '-k';
    process.stderr.write(`try: curl -sS ${cacert} -H 'Content-Type: application/json' --data @${opts.sample} ${server.url}/mutate\n`);
  }

  const signal = await stopSignal;
  // SIGTERM (Kubernetes) keeps answering for the shutdown delay; SIGINT (a person at a terminal) does not wait.
  const delayMs = signal === 'SIGTERM' ? (opts.shutdownDelaySeconds ?? DEFAULT_SHUTDOWN_DELAY_S) * 1000 : 0;
  log.info({ signal, delayMs }, 'shutting down: not ready, answering with Connection: close, then draining');
  await server.stop({ delayMs });
  await Promise.allSettled([files?.stop(), cluster?.stop(), admission?.stop(), reporting?.stop(), sync?.stop(), metricsServer?.close()]);
  log.info('stopped');
  setTimeout(() => process.exit(process.exitCode ?? EXIT.ok), EXIT_BACKSTOP_MS).unref();
  return EXIT.ok;
}

/** The usage error of the flag combination, or undefined. */
function checkFlags(opts: ServeOptions): string | undefined {
  if (opts.config.length === 0 && !opts.cluster) return 'serve needs -c POLICY or --cluster';
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) return '--tls-cert and --tls-key go together';
  if ((opts.reports || opts.events) && !opts.cluster) return '--reports and --events need --cluster';
  if (opts.admissionPolicies && !opts.cluster) return '--admission-policies needs --cluster';
  return undefined;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => (): void => {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      resolve(sig);
    };
    const term = on('SIGTERM');
    const int = on('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}

function onFileReload(e: ReloadEvent, metrics: WebhookMetrics, log: FastifyBaseLogger | undefined): void {
  metrics.observeReload('file', e.ok, e.policies);
  metrics.policiesInvalid.set({ source: 'file' }, e.ok ? 0 : 1);
  if (e.ok) {
    log?.info({ source: 'file', policies: e.policies, durationMs: Math.round(e.durationMs) }, 'policies loaded');
    return;
  }
  const err = e.error;
  const detail = err instanceof PolicyError ? { file: err.source.file, document: err.source.document, path: err.path, reason: err.reason } : { reason: err?.message };
  log?.error({ source: 'file', ...detail }, 'policy reload failed; the previous policies stay in effect');
}

function makeClusterSource(
  { ClusterSource, clientInformers, defaultKubeConfig, statusWriter }: typeof import('../policy/sources/cluster-source.js'),
  store: PolicyStore,
  metrics: WebhookMetrics,
  log: () => FastifyBaseLogger | undefined,
  compile: ConstructorParameters<typeof ClusterSource>[0]['compile'],
  updateGauges: () => void,
): ClusterSource {
  const kc = defaultKubeConfig();
  if (!kc.getCurrentCluster()) throw new Error('no current cluster');
  const source: ClusterSource = new ClusterSource({
    informers: clientInformers(kc),
    writeStatus: statusWriter(kc),
    compile,
    onPolicies: (p) => {
      store.update('cluster', p);
      updateGauges();
    },
    onCompile: (e) => {
      metrics.observeReload('cluster', e.ok, source.reconciler.policies().length);
      metrics.policiesInvalid.set({ source: 'cluster' }, source.reconciler.invalidCount());
      const fields = { source: 'cluster', kind: e.kind, policy: e.name, generation: e.generation, durationMs: Math.round(e.durationMs) };
      if (e.ok) log()?.info(fields, 'cluster policy compiled');
      else log()?.warn({ ...fields, path: e.error?.path, reason: e.error?.reason, keptLastGood: e.keptLastGood }, 'cluster policy invalid; status Ready=False');
    },
    onError: (what, err, delayMs) => log()?.warn({ source: 'cluster', what, delayMs, err: errorText(err) }, 'cluster watch error'),
    gatekeeperMutators: true,
    onMutatorCompile: (e) => {
      const fields = { source: 'cluster', kind: e.kind, policy: e.name, generation: e.generation, durationMs: Math.round(e.durationMs) };
      if (e.ok) log()?.info(fields, 'Gatekeeper mutator compiled');
      else log()?.warn({ ...fields, path: e.error?.path, reason: e.error?.reason, keptLastGood: e.keptLastGood }, 'Gatekeeper mutator invalid; the last valid version stays in effect');
    },
  });
  return source;
}

/** Runs `start(value)` when the flag was given; errors are prefixed with the flag. */
async function maybe<V, T>(value: V | undefined, start: (v: V) => Promise<T>, flag: string): Promise<T | undefined> {
  if (value === undefined) return undefined;
  try {
    return await start(value);
  } catch (e) {
    throw new Error(`${flag}: ${errorText(e)}`);
  }
}

/**
 * The plain-HTTP `/metrics` listener (`--metrics-port`): metrics carry no
 * object data, and a scraper then needs no CA for the webhook's certificate.
 * Only `GET /metrics` (anything else 404).
 */
async function startMetricsListener(host: string, port: number, metrics: WebhookMetrics): Promise<FastifyInstance> {
  const [{ default: Fastify }, { metricsHandler }] = await Promise.all([import('fastify'), import('../server/app.js')]);
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  app.get('/metrics', metricsHandler(metrics));
  await app.listen({ host, port });
  return app as unknown as FastifyInstance;
}

/**
 * Starts the webhook configuration sync (`--manage-webhooks NAME`): a Lease
 * `NAME-webhooks` in the own namespace (`default` when unknown) elects one
 * writer (leader.ts, shared with the reports); the sync writes rules derived
 * from the store's policies (src/policy/sources/webhook-sync.ts).
 */
async function startWebhookSync(name: string, ownNamespace: string | undefined, store: PolicyStore, log: () => FastifyBaseLogger | undefined): Promise<{ trigger: () => void; stop: () => Promise<void> }> {
  const [{ defaultKubeConfig }, { LeaderElector, restLeaseApi }, { WebhookSync, webhookConfigClient }, { kubeRest }] = await Promise.all([
    import('../policy/sources/cluster-source.js'),
    import('../policy/sources/leader.js'),
    import('../policy/sources/webhook-sync.js'),
    import('../policy/sources/kube-rest.js'),
  ]);
  const kc = defaultKubeConfig();
  if (!kc.getCurrentCluster()) throw new Error('no current cluster');
  const rest = kubeRest(kc);
  const namespace = ownNamespace ?? 'default';
  const leaseName = `${name}-webhooks`;
  const identity = `${process.env.POD_NAME || hostname()}-${randomBytes(3).toString('hex')}`;
  const lease = { lease: `${namespace}/${leaseName}`, identity };
  let webhookSync: InstanceType<typeof WebhookSync> | undefined;
  const elector = new LeaderElector({
    api: restLeaseApi(rest),
    name: leaseName,
    namespace,
    identity,
    onStartedLeading: () => {
      log()?.info({ ...lease, leader: true }, 'webhook configuration writer: leader');
      webhookSync?.trigger(0);
    },
    onStoppedLeading: () => log()?.info({ ...lease, leader: false }, 'webhook configuration writer: not leader'),
    onError: (err) => log()?.warn({ ...lease, err: errorText(err) }, 'lease error'),
  });
  webhookSync = new WebhookSync({
    client: webhookConfigClient(rest),
    name,
    policies: () => (store.current() ? store.policies() : undefined),
    isLeader: () => elector.isLeader,
    onWrite: (kind, webhook, rules, matchConditions) => log()?.info({ configuration: kind, name, webhook, rules, matchConditions }, 'webhook rules updated'),
    onError: (what, err) => log()?.warn({ what, name, err: errorText(err) }, 'webhook configuration sync error'),
  });
  elector.start();
  webhookSync.start();
  const s = webhookSync;
  return { trigger: () => s.trigger(), stop: async () => { await s.stop(); await elector.stop(); } };
}

/**
 * PolicyReports and denial Events (src/reports/reporting.ts), loaded only
 * when asked for. The reports Lease lives in the webhook's own namespace
 * (`default` when unknown); the identity is the pod name (or host name) plus
 * a random suffix, so a restarted pod is a new candidate.
 */
// eslint-disable-next-line max-params -- the serve-scoped pieces reporting wires together, as makeClusterSource
async function makeReporting(
  { defaultKubeConfig }: typeof import('../policy/sources/cluster-source.js'),
  opts: ServeOptions,
  store: PolicyStore,
  metrics: WebhookMetrics,
  log: () => FastifyBaseLogger | undefined,
  cluster: ClusterSource,
  ownNamespace: string | undefined,
): Promise<Reporting> {
  const [{ Reporting }, { kubeRest }] = await Promise.all([import('../reports/reporting.js'), import('../policy/sources/kube-rest.js')]);
  return new Reporting({
    rest: kubeRest(defaultKubeConfig()),
    reports: opts.reports === true,
    events: opts.events === true,
    namespace: ownNamespace ?? 'default',
    identity: `${process.env.POD_NAME || hostname()}-${randomBytes(3).toString('hex')}`,
    getPolicies: () => {
      const set = store.current();
      return set ? { set, policies: store.policies() } : undefined;
    },
    namespaceLabels: (ns) => cluster.namespaces.get(ns),
    registry: metrics.registry,
    intervalMs: opts.reportIntervalSeconds === undefined ? undefined : opts.reportIntervalSeconds * 1000,
    log: (level, fields, message) => log()?.[level]({ source: 'reports', ...fields }, message),
  });
}

/** The package's version (package.json next to `dist/` or `src/`), or `unknown`. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `--admission-policies`: MAP/VAP, bindings and params from the API server (policy/sources/cluster-admission.ts). */
async function makeAdmissionSource(
  store: PolicyStore,
  log: () => FastifyBaseLogger | undefined,
  updateGauges: () => void,
): Promise<import('../policy/sources/cluster-admission.js').ClusterAdmissionSource> {
  const [m, client, { defaultKubeConfig }, { pluralResource }] = await Promise.all([
    import('../policy/sources/cluster-admission.js'),
    import('@kubernetes/client-node'),
    import('../policy/sources/cluster-source.js'),
    import('../policy/admission-match.js'),
  ]);
  return new m.ClusterAdmissionSource({
    informers: m.admissionClientInformers(client, defaultKubeConfig(), pluralResource),
    onPolicies: (p) => {
      store.update('admission', p);
      updateGauges();
    },
    onCompile: (e) => {
      if (e.ok) log()?.info({ source: 'admission', policy: e.name }, 'admission policy compiled');
      else log()?.warn({ source: 'admission', policy: e.name, path: e.error?.path, reason: e.error?.reason }, 'admission policy invalid; the last valid version stays in effect');
    },
    onError: (what, err) => log()?.warn({ source: 'admission', what, err: errorText(err) }, 'admission policy watch error'),
  });
}

/** First line of an error's message, at most 500 characters (API errors can carry long bodies). */
function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 500);
}
