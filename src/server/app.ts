/**
 * The webhook's fastify app: routes and the transport error layer. No `listen`
 * here (STYLE.md item 7: the app is a function; tests use `app.inject()`);
 * `startServer` in `./start.ts` adds TLS and the socket.
 *
 * Transport errors (DESIGN.md "Admission contract"; STYLE.md item 5):
 * - 415 for a content type other than JSON (istio's webhook does the same);
 * - 400 for unparseable JSON or a body that is not an AdmissionReview;
 * - 413 past `bodyLimit`: 7 MiB, as controller-runtime's webhook server
 *   (pkg/webhook/admission/http.go `maxRequestSize`); the API server stores
 *   objects up to ~1.5 MiB (etcd) and accepts request bodies up to 3 MiB, so an
 *   UPDATE's object + oldObject fit (docs/design.md records the change from 8 MiB);
 * - 429 with `Retry-After` past the in-flight limits (count and bytes, `./limits.ts`);
 * - 503 until a policy set is loaded (not during shutdown: requests still
 *   arriving are answered), so that the API server applies the webhook's
 *   configured `failurePolicy` (Ignore or Fail) instead of us guessing.
 * Every code is registered in src/errors.ts and documented in docs/errors.md.
 * - 403 on the admission routes when client certificates are required
 *   (`requireClientCert`, `serve --client-ca`) and the connection has no
 *   verified one.
 * A well-formed review always gets HTTP 200 and an AdmissionReview.
 *
 * Deadline: the API server calls `/mutate?timeout=5s` (its webhook
 * `timeoutSeconds`, a Go duration). Evaluation gets `deadline = start +
 * min(max(80 % of it, it - 1 s), maxEvaluationMs)` (`evaluationDeadline`;
 * `serve` sets 50 ms), checked before each policy, before each transformer and
 * inside CEL (src/expr/meter.ts), so a policy not finished by then follows its
 * failurePolicy and the answer arrives in time (EvaluationInput.deadline).
 *
 * Where a review is evaluated: on the event loop, unless an evaluation worker
 * is given (`evaluationWorker`, evaluation-pool.ts; `serve` starts one) and
 * usable. Then a body over `inlineBodyLimit` (1 MiB) is parsed and
 * evaluated in the worker, and an evaluation on the event loop gets at most
 * `inlineSliceMs` (10 ms): one that a deadline check found past it (a
 * policy or transformer not run, an expression stopped) is evaluated again
 * there, one that finished untouched is answered as it is (time on the
 * clock the process spent preempted cuts nothing, so nothing is redone); a
 * worker that has not answered by `workerCutoff` is replaced and the review
 * answered 500 ERR_EVALUATION_CUT_OFF (the API server applies the webhook's
 * failurePolicy). So no review holds the event loop, and `/healthz`, longer
 * than the slice: one library call (a regex over MiB) or one `JSON.parse` of
 * 7 MiB, which no deadline interrupts, runs in the worker.
 *
 * Observability: every request is counted in `WebhookMetrics` (route,
 * operation, kind, result) with its latency, and each evaluation's matches,
 * changes, errors and denials. Per-request log lines are at debug level only
 * (uid, kind, namespace, name, operation, result, policies, duration);
 * transformer errors at warn level with policy and transformer names, never
 * error texts or objects (they may quote Secret data). The lines go
 * through a pino logger of the app's own (`./logger.ts`, also `app.log`):
 * fastify has none, so it adds no listeners or clock readings per response.
 * Error bodies are `{code, message}` and never quote the request body (it may
 * hold Secret data); the log gets only the code and status.
 */
import Fastify, { errorCodes, LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { answerJson, reviewWithEvaluation, type ReviewOutcome } from '../admission/review.js';
import { jsonNestingBound } from '../admission/nesting-bound.js';
import { bodyCopy, readBody } from './body.js';
import { MAX_NESTING_DEPTH } from '../admission/parse.js';
import { performanceNow, type Evaluation } from '../policy/evaluate.js';
import type { PolicySet } from '../policy/types.js';
import { WebhookMetrics, type AdmissionOutcome } from './metrics.js';
import { outcomeOf, requestInfo, summarize, type EvaluationSummary, type RequestInfo } from './admission-record.js';
import type { EvaluationWorker } from './evaluation-pool.js';
import { epochNow } from './worker-protocol.js';
import { admissionRoute, clientErrorHandler, installInFlightLimit, type InFlightLimits } from './limits.js';
import { createWebhookLogger, type WebhookLoggerOptions } from './logger.js';
import type { Logger } from 'pino';
import { errorMessage, errorSpec, fromFastifyError, type ErrorCode } from '../errors.js';

/** Default maximum request body: 7 MiB (bytes), controller-runtime's `maxRequestSize`. */
export const DEFAULT_BODY_LIMIT = 7 * 1024 * 1024;

/**
 * `serve`'s default wall-clock bound of one review's evaluation, in ms
 * (`--max-evaluation-ms`). A review's evaluation runs on the event loop: this
 * bound is what keeps `/healthz` and every other request answering whatever a
 * policy (a tenant's, too) does. Typical reviews take well under 1 ms.
 */
export const DEFAULT_MAX_EVALUATION_MS = 50;

/** Options of `buildApp`. */
export interface AppOptions {
  /** The current policy set; undefined while not loaded (then /readyz and the review routes answer 503). Called once per request. */
  getPolicies: () => PolicySet | undefined;
  /** Maximum request body in bytes (default 7 MiB). */
  bodyLimit?: number;
  /** Serve `GET /metrics` here (default true); false when a separate plain-HTTP listener serves it (`serve --metrics-port`). */
  metricsRoute?: boolean;
  /** Admission requests in flight (count, bytes) past which the answer is 429 (`./limits.ts`). */
  inFlight?: InFlightLimits;
  /**
   * The app's logger (default none): its level and destination (`./logger.ts`;
   * fastify itself gets none). Also `app.log`. Request bodies are never logged.
   */
  logger?: WebhookLoggerOptions;
  /** Labels of a namespace, when a Namespace informer is running. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  /** Metrics to record into (default: a new `WebhookMetrics`, exposed on `/metrics`). */
  metrics?: WebhookMetrics;
  /**
   * Extra readiness check: returns the reason while not ready (shutting down,
   * TLS not loaded, cluster not synced), undefined when ready. `/readyz` also
   * requires `getPolicies()` to return a set.
   */
  notReadyReason?: () => string | undefined;
  /** Require a verified client certificate on `/mutate` and `/validate` (TLS with a client CA). */
  requireClientCert?: boolean;
  /** Clock in ms for deadlines and latency (default `performance.now`). */
  now?: () => number;
  /**
   * Wall-clock bound of one review's evaluation in ms (default 0: only the
   * API server's timeout bounds it; `serve` sets DEFAULT_MAX_EVALUATION_MS).
   * A policy not finished by then follows its failurePolicy.
   */
  maxEvaluationMs?: number;
  /** Receives each answered review's body and evaluation after the answer is built (reports, events); must be cheap and never throw. */
  onEvaluation?: (body: unknown, evaluation: Evaluation) => void;
  /**
   * The evaluation worker (evaluation-pool.ts; `serve` starts one unless
   * `--evaluation-worker off`). While it is `usable`, bodies over
   * `inlineBodyLimit` are parsed and evaluated there, and a review whose
   * evaluation on the event loop was stopped at `inlineSliceMs` (a deadline
   * check found the slice passed: Evaluation.deadlineHit) is evaluated there
   * again, so the event loop (and `/healthz`) never spends much more than the
   * slice on one review. Absent: every review is evaluated on the event loop.
   */
  evaluationWorker?: Pick<EvaluationWorker, 'usable' | 'review'>;
  /** Largest body (bytes) parsed and evaluated on the event loop when a worker is usable (default 1 MiB). */
  inlineBodyLimit?: number;
  /** Longest evaluation (ms) on the event loop when a worker is usable (default 10): an evaluation its deadline checks stopped at it is evaluated again in the worker. */
  inlineSliceMs?: number;
  /** Time in ms a review may take in the worker past `maxEvaluationMs` before the worker is cut off (default WORKER_CUTOFF_GRACE_MS; see `workerCutoff`). */
  workerCutoffGraceMs?: number;
}

/**
 * Default `inlineBodyLimit`: 1 MiB (bytes). `JSON.parse` of 1 MiB takes
 * about 7 ms here, within the event loop's slice; larger bodies (an UPDATE of
 * a large object, up to the 7 MiB body limit) are parsed in the worker. Handing
 * a body to the worker costs CPU (measured in session 6, when the body was
 * copied to the thread as text: about +40 % for a 1 MiB review; it is
 * transferred as bytes since), so bodies the event loop can parse within its
 * slice stay.
 */
export const DEFAULT_INLINE_BODY_LIMIT = 1024 * 1024;

/** Default `inlineSliceMs`: the most one review holds the event loop before moving to the worker (ms). */
export const DEFAULT_INLINE_SLICE_MS = 10;

/**
 * Time a review may spend in the worker past its evaluation bound before the
 * worker is cut off (ms): parsing up to the 7 MiB body limit and building the
 * answer, which no deadline covers.
 */
export const WORKER_CUTOFF_GRACE_MS = 1000;

/** The API server's default webhook `timeoutSeconds` (10 s), for reviews sent without `?timeout=`, in ms. */
const DEFAULT_API_TIMEOUT_MS = 10_000;

/** `AppOptions` plus node `https` server options (set by `startServer`). */
export interface BuildAppOptions extends AppOptions {
  https?: HttpsServerOptions;
}

/** Stable error codes of the HTTP layer, by use (registered in src/errors.ts, documented in docs/errors.md). */
export const HTTP_ERROR_CODES = {
  unsupportedMediaType: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  invalidJson: 'ERR_INVALID_JSON',
  bodyTooLarge: 'ERR_BODY_TOO_LARGE',
  notReady: 'ERR_NOT_READY',
  internal: 'ERR_INTERNAL',
  clientCertificate: 'ERR_CLIENT_CERTIFICATE',
  badRequest: 'ERR_BAD_REQUEST',
  cutOff: 'ERR_EVALUATION_CUT_OFF',
} as const satisfies Record<string, ErrorCode>;

/**
 * Parses the API server's `timeout` query parameter, a Go duration such as
 * `5s`, `500ms` or `1m30s` (units h, m, s, ms, us, µs, ns). Returns ms, or
 * undefined when absent or malformed.
 */
export function parseTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 32) return undefined;
  const unit = DURATION_UNITS_MS;
  let total = 0;
  let rest = value;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total > 0 ? total : undefined;
}

/** ms per unit of a Go duration (`parseTimeout`). */
const DURATION_UNITS_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };

/**
 * `parseTimeout` with a memo of one entry, the last text and its ms: the API
 * server sends its webhook's one `timeoutSeconds` on every call, so the
 * `?timeout=` of every admission request is parsed once. Same results as
 * `parseTimeout` for any sequence of values.
 */
export function timeoutParser(): (value: unknown) => number | undefined {
  let text = '';
  let ms: number | undefined;
  return (value) => {
    if (typeof value !== 'string') return undefined;
    if (value !== text) {
      ms = parseTimeout(value);
      text = value;
    }
    return ms;
  };
}

/** Evaluation budget for an API server timeout (ms): max(80 %, timeout - 1000 ms). */
export function deadlineBudget(timeoutMs: number): number {
  return Math.max(timeoutMs * 0.8, timeoutMs - 1000);
}

/**
 * The evaluation deadline of a review that started at `started` (ms on the
 * app's clock): the earlier of the API server's budget (`deadlineBudget` of
 * its `?timeout=`, when sent) and `maxEvaluationMs` (when > 0); undefined when
 * neither bounds it.
 */
export function evaluationDeadline(started: number, timeoutMs: number | undefined, maxEvaluationMs: number): number | undefined {
  const api = timeoutMs === undefined ? Infinity : deadlineBudget(timeoutMs);
  const budget = Math.min(api, maxEvaluationMs > 0 ? maxEvaluationMs : Infinity);
  return budget === Infinity ? undefined : started + budget;
}

/**
 * Builds the app with routes `POST /mutate`, `POST /validate`, `GET /healthz`
 * (200 while the process serves), `GET /readyz` (200 once `getPolicies()`
 * returns a set and `notReadyReason()` returns nothing, else 503 with the
 * reason) and `GET /metrics` (Prometheus text of `metrics`). Does not listen.
 */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const metrics = opts.metrics ?? new WebhookMetrics();
  const now = opts.now ?? performanceNow;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = createWebhookLogger(opts.logger);
  const app = Fastify({
    // No logger for fastify: with one it adds listeners and clock readings to every
    // response (./logger.ts). The app logs its own lines through `log`, which carry
    // the review's uid (no child logger with a request id per request).
    logger: false,
    bodyLimit,
    // Never fastify's default: it logs the raw request bytes (`rawPacket`) at trace level.
    clientErrorHandler: clientErrorHandler(() => log),
    // One info line per request would be synchronous I/O on the admission path: the handler logs at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // Requests that arrive on kept-alive connections while closing are still answered (graceful drain).
    return503OnClosing: false,
    // A slow or stalled body must not hold a socket forever: the API server waits
    // at most 30 s for a webhook (timeoutSeconds <= 30).
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    // `__proto__` and `constructor` are legitimate data keys (a ConfigMap may have
    // them); JSON.parse makes them own properties and the engine never assigns
    // through them, so keep them as data instead of refusing the review.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    ...(opts.https ? { https: opts.https } : {}),
  }) as unknown as FastifyInstance;
  // fastify's instance lines (the listen address, onListen hook errors) and `serve`'s go here too.
  if (log) app.log = log;
  installInFlightLimit(app, opts.inFlight ?? {}, bodyLimit, (route) => metrics.observeRequest(route, '', '', 'error'));
  // Only JSON is an AdmissionReview: without the text/plain parser fastify answers 415 to anything else.
  app.removeContentTypeParser('text/plain');
  // JSON.stringify, written directly for the common AdmissionReview answer (same bytes; no escape scan of the base64 patch).
  app.setReplySerializer((payload) => answerJson(payload));
  if (opts.evaluationWorker) installJsonParser(app, bodyLimit, opts.inlineBodyLimit);
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { statusCode, code, message } = classify(err);
    log?.debug({ statusCode, code }, 'request rejected');
    const route = admissionRoute(request.url);
    if (route) metrics.observeRequest(route, '', '', 'error');
    void reply.code(statusCode).send({ code, message });
  });

  const ctx = handlerContext(opts, metrics, now, log);
  const handle = (route: Route): AdmissionHandler => admissionHandler(route, ctx);
  app.post('/mutate', handle('mutate'));
  app.post('/validate', handle('validate'));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = opts.notReadyReason?.() ?? (opts.getPolicies() ? undefined : 'policies not loaded');
    if (reason) return reply.code(503).send({ status: 'not ready', reason });
    return { status: 'ready' };
  });
  if (opts.metricsRoute !== false) app.get('/metrics', metricsHandler(metrics));
  return app;
}

type Route = 'mutate' | 'validate';
/**
 * An admission route's handler: sends the answer before it returns when the
 * review runs on the event loop (and returns nothing: fastify then has no
 * promise to wait for, and no reply to resolve as a thenable), else returns
 * the promise of the evaluation worker's answer.
 */
type AdmissionHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> | undefined;

/** What the admission handlers of one app share. */
interface HandlerContext {
  opts: BuildAppOptions;
  metrics: WebhookMetrics;
  /** Clock, ms. */
  now: () => number;
  /** The app's logger (none: no lines). */
  log: FastifyBaseLogger | undefined;
  /** `debug.on`: `debugEnabled(log)`, kept current (`debugFlag`). */
  debug: { on: boolean };
  /** `opts.maxEvaluationMs` or 0 (see `evaluationDeadline`). */
  maxEvaluationMs: number;
  /** `opts.inlineSliceMs` or its default. */
  inlineSliceMs: number;
  /** `parseTimeout` of the `?timeout=` query parameter (`timeoutParser`). */
  timeout: (value: unknown) => number | undefined;
  /**
   * Epoch ms of a time `t` read from `now`: `performance.timeOrigin + t` when
   * `now` is `performance.now` (no second clock read per request), else
   * `epochNow()` read when called.
   */
  epochOf: (t: number) => number;
}

/** `performance.timeOrigin` (fixed for the process), read once: the app's default clock (evaluate.ts `performanceNow`) maps to epoch ms by it. */
const TIME_ORIGIN = performance.timeOrigin;

function handlerContext(opts: BuildAppOptions, metrics: WebhookMetrics, now: () => number, log: Logger | undefined): HandlerContext {
  const epochOf = now === performanceNow ? (t: number): number => TIME_ORIGIN + t : (): number => epochNow();
  return { opts, metrics, now, log, debug: debugFlag(log), maxEvaluationMs: opts.maxEvaluationMs ?? 0, inlineSliceMs: opts.inlineSliceMs ?? DEFAULT_INLINE_SLICE_MS, timeout: timeoutParser(), epochOf };
}

/**
 * A body too large to parse on the event loop, kept as the bytes received
 * for the evaluation worker (`inlineBodyLimit`), which gets them transferred
 * (the event loop keeps no copy while the worker parses); decoded and parsed
 * here only when no worker is usable.
 */
class RawReviewBody {
  constructor(readonly bytes: Buffer) {}
}

/**
 * A request whose body this app's JSON parser read: `nestingBound` is
 * `jsonNestingBound` of its bytes (read until it passes MAX_NESTING_DEPTH), for
 * `ReviewOptions.nestingBound`. Without this parser (no evaluation worker)
 * the property is absent and reviews walk.
 */
type BoundedRequest = FastifyRequest & { nestingBound: number };

/**
 * fastify's JSON parser (the body read as bytes and decoded as UTF-8, as
 * fastify's `parseAs: 'string'` does; read by `readBody`, fastify's reading
 * without its copy of a body that came in one chunk), except that bodies over
 * `inlineBodyLimit` bytes stay bytes (RawReviewBody, a copy of their own) for
 * the worker, and that it bounds a parsed body's nesting from its bytes
 * (`BoundedRequest`), so its review need not walk it for ERR_TOO_DEEP. Errors
 * are fastify's: `readBody`'s (413, 400), an empty body
 * (FST_ERR_CTP_EMPTY_JSON_BODY) and JSON.parse's SyntaxError, mapped by
 * `classify`. `__proto__` keys stay data, as with `onProtoPoisoning: 'ignore'`.
 */
function installJsonParser(app: FastifyInstance, bodyLimit: number, inlineBodyLimit = DEFAULT_INLINE_BODY_LIMIT): void {
  app.decorateRequest('nestingBound', Infinity);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { bodyLimit }, (request, payload, done) => {
    readBody(request.raw, payload, bodyLimit, (err, body) => {
      if (err !== null || body === undefined) return done(err, undefined);
      if (body.length === 0) return done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined);
      if (body.length > inlineBodyLimit) return done(null, new RawReviewBody(bodyCopy(body)));
      try {
        // One chunk is decoded and scanned where it is (nothing of it is kept); chunks are joined first.
        const bytes = body.one ?? bodyCopy(body);
        const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
        (request as BoundedRequest).nestingBound = jsonNestingBound(bytes, MAX_NESTING_DEPTH);
        done(null, parsed);
      } catch (e) {
        done(e as Error, undefined);
      }
    });
  });
}

/**
 * `POST /mutate` and `POST /validate`: refuses the request (no verified client
 * certificate when required, no policies yet) or reviews it against the
 * current set within the API server's `timeout`: on the event loop, or in the
 * evaluation worker (a large body, or an evaluation past the event loop's
 * slice); then metrics, the `onEvaluation` hook and logs (metadata only,
 * never object contents).
 */
function admissionHandler(route: Route, ctx: HandlerContext): AdmissionHandler {
  const { opts, metrics, now } = ctx;
  return (request, reply) => {
    const started = now();
    const startedEpoch = ctx.epochOf(started);
    const raw = request.body instanceof RawReviewBody ? request.body.bytes : undefined;
    const info = requestInfo(raw === undefined ? request.body : undefined);
    const admitted = admit(request, ctx, info);
    if ('refused' in admitted) {
      const code = admitted.refused;
      metrics.observeRequest(route, info.operation, info.kind, 'error', (now() - started) / 1000);
      void reply.code(errorSpec(code).status ?? 500).send({ code, message: errorMessage(code) });
      return undefined;
    }
    const timeoutMs = ctx.timeout((request.query as Record<string, unknown> | undefined)?.timeout);
    const timing: ReviewTiming = { route, started, startedEpoch, timeoutMs };
    const worker = opts.evaluationWorker?.usable ? opts.evaluationWorker : undefined;
    if (worker && raw !== undefined) return viaWorker(ctx, { request, reply, worker }, timing, raw);
    return inline(ctx, { request, reply, worker }, timing, { raw, info, policies: admitted.policies });
  };
}

/** What `inline` reviews: the body (as bytes when it was too large to parse before the worker turned out unusable), its identity and the set. */
interface InlineReview {
  raw: Buffer | undefined;
  info: RequestInfo;
  policies: PolicySet;
}

/**
 * Reviews on the event loop. With a usable worker, the evaluation gets at
 * most `inlineSliceMs` here: one that a deadline check stopped at the slice
 * (Evaluation.deadlineHit: its result here was cut) is done again in the
 * worker. One that finished without any check finding the slice passed is
 * answered, however long it took on the clock: its result is the one the
 * whole deadline gives, and under CPU contention (the process preempted
 * past the slice) doing it again would double the work when there is least
 * CPU for it (docs/performance.md, session 19: a 1 MiB review's server CPU
 * 1.38x the floor's with four servers sharing a core, 1.14x with the slice off).
 */
function inline(ctx: HandlerContext, call: InlineCall, timing: ReviewTiming, r: InlineReview): Promise<FastifyReply> | undefined {
  const { request, reply, worker } = call;
  const body: unknown = r.raw === undefined ? request.body : parseRaw(r.raw);
  if (body === INVALID) {
    void reply.code(400).send({ code: HTTP_ERROR_CODES.invalidJson, message: errorMessage(HTTP_ERROR_CODES.invalidJson) });
    return undefined;
  }
  const deadline = evaluationDeadline(timing.started, timing.timeoutMs, ctx.maxEvaluationMs);
  const slice = sliceEnd(ctx, worker, timing.started, deadline);
  // The bound holds for the body the parser decoded, not for one decoded here from `r.raw`.
  const nestingBound = r.raw === undefined ? (request as Partial<BoundedRequest>).nestingBound : undefined;
  let outcome = reviewOnLoop(ctx, timing.route, body, r.policies, slice ?? deadline, nestingBound);
  if (cutBySlice(outcome, slice)) {
    if (worker?.usable) return viaWorker(ctx, { request, reply, worker }, timing, JSON.stringify(body));
    outcome = reviewOnLoop(ctx, timing.route, body, r.policies, deadline, nestingBound); // the worker went out of step meanwhile: the whole deadline here
  }
  answerInline(ctx, reply, timing, body, r.raw === undefined ? r.info : requestInfo(body), outcome);
  return undefined;
}

/** `reviewWithEvaluation` of `body` on the event loop, until `deadline` (app clock; none: unbounded). */
// eslint-disable-next-line max-params -- the review's inputs, passed as they are (no closure or record per review)
function reviewOnLoop(ctx: HandlerContext, route: Route, body: unknown, policies: PolicySet, deadline: number | undefined, nestingBound: number | undefined): ReviewOutcome {
  return reviewWithEvaluation(body, policies, { route, namespaceLabels: ctx.opts.namespaceLabels, deadline, now: ctx.now, nestingBound });
}

/** True when a deadline check stopped the evaluation at `slice` (the deadline it was given when defined: Evaluation.deadlineHit). */
function cutBySlice(outcome: ReviewOutcome, slice: number | undefined): boolean {
  return slice !== undefined && outcome.evaluation?.deadlineHit === true;
}

/** The request, its reply and the worker when one is usable. */
type InlineCall = Omit<WorkerCall, 'worker'> & { worker: WorkerCall['worker'] | undefined };

/** The end of the event loop's slice for a review (app clock), when a worker can take over before the deadline; else undefined. */
function sliceEnd(ctx: HandlerContext, worker: InlineCall['worker'], started: number, deadline: number | undefined): number | undefined {
  if (!worker || ctx.inlineSliceMs <= 0) return undefined;
  const end = started + ctx.inlineSliceMs;
  return deadline === undefined || end < deadline ? end : undefined;
}

/** Metrics, the `onEvaluation` hook and the debug line of a review of `body` answered on the event loop; then the answer, sent. */
// eslint-disable-next-line max-params -- the review and its reply, passed as they are (no record spread per review)
function answerInline(ctx: HandlerContext, reply: FastifyReply, timing: ReviewTiming, body: unknown, info: RequestInfo, r: ReviewOutcome): void {
  const outcome = outcomeOf(r.result);
  const seconds = (ctx.now() - timing.started) / 1000;
  ctx.metrics.observeRequest(timing.route, info.operation, info.kind, outcome, seconds);
  const summary = r.evaluation ? summarize(r.evaluation) : undefined;
  if (summary) observeSummary(ctx, summary, info, timing.route);
  if (r.evaluation) ctx.opts.onEvaluation?.(body, r.evaluation);
  if (ctx.debug.on) logAdmission(ctx, { ...info, route: timing.route, result: outcome }, summary, seconds);
  void reply.code(r.result.statusCode).send(r.result.body);
}

/**
 * When and how a review started: its route, the app's clock and epoch ms at
 * the start, and the API server's `?timeout=` in ms.
 */
interface ReviewTiming {
  route: Route;
  started: number;
  startedEpoch: number;
  timeoutMs: number | undefined;
}

/** The request, its reply and the worker that answers it. */
interface WorkerCall {
  request: FastifyRequest;
  reply: FastifyReply;
  worker: NonNullable<AppOptions['evaluationWorker']>;
}

const INVALID = Symbol('invalid JSON');

function parseRaw(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return INVALID;
  }
}

/**
 * Epoch ms by which the worker must have answered: the API server's budget
 * (`deadlineBudget` of its timeout, 10 s when it sent none), or sooner,
 * `maxEvaluationMs` plus `graceMs` (default WORKER_CUTOFF_GRACE_MS).
 */
export function workerCutoff(startedEpoch: number, timeoutMs: number | undefined, maxEvaluationMs: number, graceMs = WORKER_CUTOFF_GRACE_MS): number {
  const api = deadlineBudget(timeoutMs ?? DEFAULT_API_TIMEOUT_MS);
  const own = maxEvaluationMs > 0 ? maxEvaluationMs + graceMs : Infinity;
  return startedEpoch + Math.min(api, own);
}

/**
 * Reviews `body` (JSON text, or the bytes received: transferred to the worker,
 * detached here) in the evaluation worker and sends its answer, or
 * ERR_EVALUATION_CUT_OFF (HTTP 500: the API server applies the webhook's failurePolicy).
 */
async function viaWorker(ctx: HandlerContext, call: WorkerCall, timing: ReviewTiming, body: string | Buffer): Promise<FastifyReply> {
  const { opts, metrics, now } = ctx;
  const { reply, worker } = call;
  const { route, started, startedEpoch, timeoutMs } = timing;
  const o = await worker.review({
    body,
    route,
    apiDeadline: timeoutMs === undefined ? undefined : startedEpoch + deadlineBudget(timeoutMs),
    maxEvaluationMs: ctx.maxEvaluationMs,
    withEvaluation: opts.onEvaluation !== undefined,
    cutoffAt: workerCutoff(startedEpoch, timeoutMs, ctx.maxEvaluationMs, opts.workerCutoffGraceMs),
  });
  const seconds = (now() - started) / 1000;
  if (!o.answered) {
    ctx.log?.warn({ route, reason: o.reason }, 'review cut off: the evaluation worker did not answer in time and was replaced');
    metrics.observeRequest(route, '', '', 'error', seconds);
    const code = HTTP_ERROR_CODES.cutOff;
    return reply.code(errorSpec(code).status ?? 500).send({ code, message: errorMessage(code) });
  }
  metrics.observeRequest(route, o.info.operation, o.info.kind, o.outcome, seconds);
  if (o.summary) observeSummary(ctx, o.summary, o.info, route);
  if (o.evaluation) opts.onEvaluation?.({ request: o.request }, o.evaluation);
  if (ctx.debug.on) logAdmission(ctx, { ...o.info, route, result: o.outcome }, o.summary, seconds);
  return reply.code(o.statusCode).type('application/json; charset=utf-8').send(o.body);
}

/** The policy set to review a request with, or the error code refusing it. */
function admit(request: FastifyRequest, { opts, log }: HandlerContext, info: RequestInfo): { policies: PolicySet } | { refused: ErrorCode } {
  if (opts.requireClientCert && (request.raw.socket as TLSSocket).authorized !== true) {
    log?.warn({ uid: info.uid }, 'admission request without a verified client certificate');
    return { refused: HTTP_ERROR_CODES.clientCertificate };
  }
  const policies = opts.getPolicies();
  return policies ? { policies } : { refused: HTTP_ERROR_CODES.notReady };
}

/** The debug line of one admission request: who, the outcome, the policies that matched and changed it, and how long it took. */
function logAdmission(ctx: HandlerContext, fields: RequestInfo & { route: Route; result: AdmissionOutcome }, summary: EvaluationSummary | undefined, seconds: number): void {
  ctx.log?.debug({ ...fields, policies: summary?.matchedPolicies ?? [], changedBy: summary?.changedBy ?? [], durationMs: seconds * 1000 }, 'admission');
}

/**
 * An evaluation's metrics, and a warning naming the policies that failed
 * (policy, transformer, failurePolicy; never the error text) with the
 * request's identity and route, spread into a record only then.
 */
function observeSummary(ctx: HandlerContext, summary: EvaluationSummary, info: RequestInfo, route: Route): void {
  ctx.metrics.observeEvaluation(summary);
  if (summary.errors.length > 0) ctx.log?.warn({ ...info, route, errors: summary.errors }, 'policy errors');
}

/** The `GET /metrics` handler: Prometheus text of `metrics` (also used by the plain-HTTP metrics listener). */
export function metricsHandler(metrics: WebhookMetrics): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  };
}

/** True when `log` exists and its pino `level` logs debug lines (levels: trace 10, debug 20, info 30, ...). */
function debugEnabled(log: FastifyBaseLogger | undefined): boolean {
  return log !== undefined && (log.level === 'debug' || log.level === 'trace');
}

/**
 * `debugEnabled(log)` as a flag, set again on every pino `level-change` event
 * (pino emits one whenever the level is set: lib/levels.js `setLevel`), so an
 * admission reads a boolean instead of pino's `level` getter (~50-90 ns a
 * reading here, two a request at level info).
 */
function debugFlag(log: Logger | undefined): { on: boolean } {
  const flag = { on: debugEnabled(log) };
  log?.on('level-change', () => {
    flag.on = debugEnabled(log);
  });
  return flag;
}

/**
 * Maps fastify's errors to our codes (src/errors.ts `FASTIFY_ERROR_CODES`,
 * explicitly; nothing of fastify's passes through) with the code's generic
 * message: no body excerpts (a SyntaxError from the JSON parser may quote it).
 */
function classify(err: FastifyError): { statusCode: number; code: ErrorCode; message: string } {
  const code = err instanceof SyntaxError ? HTTP_ERROR_CODES.invalidJson : fromFastifyError(err);
  const status = errorSpec(code).status ?? 500;
  // A 4xx fastify raised keeps its own status when our code is the generic one (e.g. 431, 414).
  const statusCode = code === HTTP_ERROR_CODES.badRequest && err.statusCode !== undefined ? err.statusCode : status;
  return { statusCode, code, message: code === HTTP_ERROR_CODES.invalidJson && err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? 'invalid content length' : errorMessage(code) };
}
