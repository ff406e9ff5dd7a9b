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
import { PolicyError, type CompiledPolicy } from '../policy/compile.js';
import type { ClusterSource } from '../policy/sources/cluster-source.js';
import type { CompileEvent } from '../policy/sources/cluster-policies.js';
import { FilePolicySource, type ReloadEvent } from '../policy/sources/file-source.js';
import { PolicyStore, type SourceName } from '../policy/sources/store.js';
import { WebhookMetrics } from '../server/metrics.js';
import { startServer, type RunningServer } from '../server/start.js';
import type { InFlightLimits } from '../server/limits.js';
import { DEFAULT_MAX_EVALUATION_MS } from '../server/app.js';
import { EvaluationWorker } from '../server/evaluation-pool.js';
import type { SourceRecipe } from '../policy/sources/recipe.js';
import { defaultLoadOptions } from './policies.js';
import { loadExpressionEngine } from '../expr/cel.js';
import { EXIT, oneLine } from './io.js';
import type { Reporting } from '../reports/reporting.js';
import type { ClusterAdmissionSource } from '../policy/sources/cluster-admission.js';
import type { LoadOptions } from '../policy/load.js';
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
  /** `--evaluation-worker on|off` (default on): evaluate large reviews and long evaluations in a worker thread (AppOptions.evaluationWorker). */
  evaluationWorker?: boolean;
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
  const run = new ServeRun(opts);
  const failure = (await run.loadSources()) ?? (await run.listen());
  if (failure !== undefined) {
    await run.worker?.stop();
    process.stderr.write(`${failure}\n`);
    return EXIT.usage;
  }
  const stopSignal = waitForSignal();
  await run.startSources();
  run.announce();
  await run.shutdown(await stopSignal);
  setTimeout(() => process.exit(process.exitCode ?? EXIT.ok), EXIT_BACKSTOP_MS).unref();
  return EXIT.ok;
}

/** `--manage-webhooks`' running sync (startWebhookSync). */
interface WebhookSyncHandle {
  trigger: () => void;
  stop: () => Promise<void>;
}

/**
 * One `serve` process, wired phase by phase: `loadSources` (files, cluster,
 * reporting, admission policies), `listen` (HTTPS, metrics listener, webhook
 * sync), `startSources`, `announce`, then `shutdown` on a signal. A phase that
 * fails returns the one-line reason (`serveCommand` exits 2) after stopping
 * what it had started.
 */
class ServeRun {
  readonly ownNamespace: string | undefined;
  readonly load: LoadOptions;
  readonly metrics = new WebhookMetrics({ processMetrics: true, version: packageVersion() });
  readonly required: SourceName[];
  readonly store: PolicyStore;
  /** The evaluation worker (`--evaluation-worker on`), fed every source's recipe, the Namespaces and params. */
  readonly worker: EvaluationWorker | undefined;
  /** The server's logger, once it listens (sources log through `this.logger`). */
  log: FastifyBaseLogger | undefined;
  readonly logger = (): FastifyBaseLogger | undefined => this.log;
  files: FilePolicySource | undefined;
  cluster: ClusterSource | undefined;
  admission: ClusterAdmissionSource | undefined;
  reporting: Reporting | undefined;
  server: RunningServer | undefined;
  metricsServer: FastifyInstance | undefined;
  sync: WebhookSyncHandle | undefined;

  constructor(readonly opts: ServeOptions) {
    this.ownNamespace = opts.namespace ?? (process.env.POD_NAMESPACE || undefined);
    this.load = defaultLoadOptions({ ownNamespace: this.ownNamespace });
    this.required = [
      ...(opts.config.length > 0 ? (['file'] as const) : []),
      ...(opts.cluster ? (['cluster'] as const) : []),
      ...(opts.cluster && opts.admissionPolicies ? (['admission'] as const) : []),
    ];
    this.store = new PolicyStore(this.required);
    this.worker = opts.evaluationWorker === false ? undefined : this.makeWorker();
  }

  private makeWorker(): EvaluationWorker {
    const worker = new EvaluationWorker({
      onRestart: (reason) => {
        this.metrics.workerRestarts.inc({ reason });
        this.log?.warn({ reason }, 'evaluation worker replaced');
      },
      onSyncFailed: (source, reason) => this.log?.warn({ source, reason }, 'evaluation worker could not compile a source; reviews stay on the event loop until the next change'),
      // A replacement worker starts from the sources' own caches, not a copy kept here.
      state: () => ({ namespaces: this.cluster?.namespaces.entries() ?? [], params: this.admission?.params.changes() ?? [] }),
    });
    worker.setRequired(this.required);
    return worker;
  }

  /** A source published new policies: the store (and so the webhook) answers with them, the worker gets the source's recipe. */
  sourceUpdated(source: SourceName, policies: CompiledPolicy[]): void {
    this.store.update(source, policies);
    const recipe = this.recipe(source);
    if (recipe) this.worker?.updateRecipe(recipe, this.store.current()?.names);
    this.policiesChanged();
  }

  /** What the worker compiles a source's running policies from (recipe.ts). */
  private recipe(source: SourceName): SourceRecipe | undefined {
    const ownNamespace = this.ownNamespace;
    if (source === 'file') return { source, paths: this.opts.config, ownNamespace };
    if (source === 'cluster' && this.cluster) return { source, ownNamespace, policies: this.cluster.reconciler.recipe(), mutators: this.cluster.mutators.recipe() };
    if (source === 'admission' && this.admission) return { source, pairs: this.admission.reconciler.recipe() };
    return undefined;
  }

  /** A source changed the store: webhook rules, gauges and reports follow. */
  readonly policiesChanged = (): void => {
    this.sync?.trigger();
    const counts = this.store.counts();
    this.metrics.policiesLoaded.set({ source: 'file' }, counts.file);
    this.metrics.policiesLoaded.set({ source: 'cluster' }, counts.cluster);
    this.reporting?.policiesChanged();
    if (counts.admission > 0) this.metrics.policiesLoaded.set({ source: 'admission' }, counts.admission);
  };

  /** The policy sources, each loaded once (files) or created (cluster, reports, admission policies); a failure's reason. */
  async loadSources(): Promise<string | undefined> {
    const fileFailure = this.loadFiles();
    if (fileFailure !== undefined) return fileFailure;
    if (this.opts.cluster) {
      const clusterFailure = await this.connectCluster();
      if (clusterFailure !== undefined) return clusterFailure;
    }
    if (this.opts.cluster && this.opts.admissionPolicies) {
      const admission = (this.admission = await makeAdmissionSource(this));
      const { worker } = this;
      if (worker) admission.params.onChange = (change) => worker.param(change);
    }
    return undefined;
  }

  /** `-c` files: read once now (a bad file at start is a usage error), watched from `startSources`. */
  private loadFiles(): string | undefined {
    if (this.opts.config.length === 0) return undefined;
    this.files = new FilePolicySource({
      paths: this.opts.config,
      load: this.load,
      onPolicies: (p) => this.sourceUpdated('file', p),
      onReload: (e) => onFileReload(e, this.metrics, this.log),
      onWatchError: (err) => this.log?.warn({ source: 'file', err: err.message }, 'policy file watch error'),
    });
    const first = this.files.reload();
    return first.ok ? undefined : oneLine(first.error);
  }

  /** `--cluster` (and `--reports`/`--events`): the Kubernetes client is loaded only here. */
  private async connectCluster(): Promise<string | undefined> {
    // Loaded only with --cluster: the Kubernetes client is most of a file-only
    // webhook's memory (RSS 159 -> ~110 MiB) and start-up.
    const clusterModule = await import('../policy/sources/cluster-source.js');
    let cluster: ClusterSource;
    try {
      cluster = this.cluster = makeClusterSource(clusterModule, this);
      const { worker } = this;
      if (worker) cluster.namespaces.onChange = (name, labels) => worker.namespace(name, labels);
    } catch (e) {
      return `kube-postrender: --cluster: cannot load a kubeconfig (in-cluster or KUBECONFIG): ${errorText(e)}`;
    }
    if (this.opts.reports || this.opts.events) this.reporting = await makeReporting(clusterModule, this, cluster);
    return undefined;
  }

  /** The HTTPS server, then `--metrics-port` and `--manage-webhooks`; a failure's reason, after stopping what started. */
  async listen(): Promise<string | undefined> {
    try {
      this.server = await startServer(this.serverOptions());
    } catch (e) {
      await this.cluster?.stop();
      await this.admission?.stop();
      return oneLine(e);
    }
    this.log = this.server.app.log;
    const { opts, metrics } = this;
    try {
      this.metricsServer = await maybe(opts.metricsPort, (p) => startMetricsListener(opts.host, p, metrics), '--metrics-port');
      this.sync = await maybe(opts.manageWebhooks, (name) => startWebhookSync(name, this.ownNamespace, this.store, this.logger), '--manage-webhooks');
    } catch (e) {
      await Promise.allSettled([this.server.stop(), this.cluster?.stop(), this.metricsServer?.close()]);
      return `kube-postrender: ${errorText(e)}`;
    }
    return undefined;
  }

  private serverOptions(): Parameters<typeof startServer>[0] {
    const { opts, metrics, cluster, reporting } = this;
    return {
      host: opts.host,
      port: opts.port,
      tls: opts.tlsCert && opts.tlsKey ? { certFile: opts.tlsCert, keyFile: opts.tlsKey } : undefined,
      clientCaFile: opts.clientCa,
      allowInsecureSelfSigned: opts.allowInsecureSelfSigned,
      getPolicies: () => this.store.current(),
      namespaceLabels: cluster ? (ns) => cluster.namespaces.get(ns) : undefined,
      notReadyReason: () => (cluster && !cluster.isSynced ? 'cluster policies not synced yet' : undefined),
      onEvaluation: reporting ? (body, evaluation) => reporting.admitted(body, evaluation) : undefined,
      metrics,
      metricsRoute: opts.metricsPort === undefined,
      inFlight: opts.inFlight,
      maxEvaluationMs: opts.maxEvaluationMs ?? DEFAULT_MAX_EVALUATION_MS,
      evaluationWorker: this.worker,
      logger: { level: opts.logLevel ?? 'info' },
      onTlsReload: (ok, err) => {
        metrics.tlsReloads.inc({ result: ok ? 'success' : 'failure' });
        if (ok) this.log?.info({ certFile: opts.tlsCert }, 'serving certificate reloaded');
        else this.log?.error({ certFile: opts.tlsCert, err: err?.message }, 'serving certificate reload failed; the previous certificate stays in use');
      },
    };
  }

  /** Watches files, starts the informers; reports start once the cluster policies synced. */
  async startSources(): Promise<void> {
    const { cluster } = this;
    await this.files?.start();
    cluster?.start();
    this.admission?.start();
    void cluster?.synced.then(() => {
      this.log?.info({ policies: this.store.counts().cluster, namespaces: cluster.namespaces.size() }, 'cluster policies synced');
      this.reporting?.start();
    });
  }

  /** The `serving` log line and the one-line note on stderr (with a curl line for `--sample`). */
  announce(): void {
    const server = this.server as RunningServer;
    const policies = this.store.current()?.names.length ?? 0;
    const certNote = server.generated ? ` (self-signed certificate: ${server.certFile})` : '';
    this.log?.info({ url: server.url, policies, sources: this.required, ownNamespace: this.ownNamespace }, 'serving');
    process.stderr.write(`kube-postrender: serving ${policies} policies on ${server.url}${certNote}\n`);
    if (this.opts.sample) {
      const cacert = server.generated ? `--cacert ${server.certFile}` : '-k';
      process.stderr.write(`try: curl -sS ${cacert} -H 'Content-Type: application/json' --data @${this.opts.sample} ${server.url}/mutate\n`);
    }
  }

  /** Not ready, drain (after the shutdown delay on SIGTERM), then every source and listener stops. */
  async shutdown(signal: string): Promise<void> {
    // SIGTERM (Kubernetes) keeps answering for the shutdown delay; SIGINT (a person at a terminal) does not wait.
    const delayMs = signal === 'SIGTERM' ? (this.opts.shutdownDelaySeconds ?? DEFAULT_SHUTDOWN_DELAY_S) * 1000 : 0;
    this.log?.info({ signal, delayMs }, 'shutting down: not ready, answering with Connection: close, then draining');
    await this.server?.stop({ delayMs });
    await Promise.allSettled([this.stopSources(), this.worker?.stop()]);
    this.log?.info('stopped');
  }

  /** Stops watchers, informers, reports, the webhook sync and the metrics listener; never rejects. */
  private async stopSources(): Promise<void> {
    await Promise.allSettled([this.files?.stop(), this.cluster?.stop(), this.admission?.stop(), this.reporting?.stop(), this.sync?.stop(), this.metricsServer?.close()]);
  }
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

/** The `--cluster` policy source (ClusterPostRenderPolicy/PostRenderPolicy and Gatekeeper mutator informers). Throws without a kubeconfig. */
function makeClusterSource(
  { ClusterSource, clientInformers, defaultKubeConfig, statusWriter }: typeof import('../policy/sources/cluster-source.js'),
  run: ServeRun,
): ClusterSource {
  const { metrics, logger: log } = run;
  const kc = defaultKubeConfig();
  if (!kc.getCurrentCluster()) throw new Error('no current cluster');
  const source: ClusterSource = new ClusterSource({
    informers: clientInformers(kc),
    writeStatus: statusWriter(kc),
    compile: { compileCondition: run.load.compileCondition, ownNamespace: run.ownNamespace },
    onPolicies: (p) => run.sourceUpdated('cluster', p),
    onCompile: (e) => {
      metrics.observeReload('cluster', e.ok, source.reconciler.policies().length);
      metrics.policiesInvalid.set({ source: 'cluster' }, source.reconciler.invalidCount());
      logCompileEvent(log(), e, { ok: 'cluster policy compiled', invalid: 'cluster policy invalid; status Ready=False' });
    },
    onError: (what, err, delayMs) => log()?.warn({ source: 'cluster', what, delayMs, err: errorText(err) }, 'cluster watch error'),
    gatekeeperMutators: true,
    onMutatorCompile: (e) => logCompileEvent(log(), e, { ok: 'Gatekeeper mutator compiled', invalid: 'Gatekeeper mutator invalid; the last valid version stays in effect' }),
  });
  return source;
}

/** A cluster object's compile outcome: info when it compiled, a warning with the error's path and reason when not. */
function logCompileEvent(log: FastifyBaseLogger | undefined, e: CompileEvent<string>, messages: { ok: string; invalid: string }): void {
  const fields = { source: 'cluster', kind: e.kind, policy: e.name, generation: e.generation, durationMs: Math.round(e.durationMs) };
  if (e.ok) log?.info(fields, messages.ok);
  else log?.warn({ ...fields, path: e.error?.path, reason: e.error?.reason, keptLastGood: e.keptLastGood }, messages.invalid);
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
async function makeReporting(
  { defaultKubeConfig }: typeof import('../policy/sources/cluster-source.js'),
  run: ServeRun,
  cluster: ClusterSource,
): Promise<Reporting> {
  const { opts, store, metrics, logger: log, ownNamespace } = run;
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
async function makeAdmissionSource(run: ServeRun): Promise<ClusterAdmissionSource> {
  const { logger: log } = run;
  const [m, client, { defaultKubeConfig }, { pluralResource }] = await Promise.all([
    import('../policy/sources/cluster-admission.js'),
    import('@kubernetes/client-node'),
    import('../policy/sources/cluster-source.js'),
    import('../policy/admission-match.js'),
  ]);
  return new m.ClusterAdmissionSource({
    informers: m.admissionClientInformers(client, defaultKubeConfig(), pluralResource),
    onPolicies: (p) => run.sourceUpdated('admission', p),
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
