/**
 * The webhook's fastify app: routes and the transport error layer. No `listen`
 * here (STYLE.md item 7: the app is a function; tests use `app.inject()`);
 * `startServer` in `./start.ts` adds TLS and the socket.
 *
 * Transport errors (DESIGN.md "Admission contract"; STYLE.md item 5):
 * - 415 for a content type other than JSON (istio's webhook does the same);
 * - 400 for unparseable JSON or a body that is not an AdmissionReview;
 * - 413 past `bodyLimit` (controller-runtime caps at 7 MiB; the API server's own
 *   request limit is 3 MiB for objects, so 8 MiB leaves room for object+oldObject);
 * - 503 while no policies are loaded, so that the API server applies the
 *   webhook's configured `failurePolicy` (Ignore or Fail) instead of us guessing.
 * A well-formed review always gets HTTP 200 and an AdmissionReview.
 * Error bodies are `{code, message}` and never quote the request body (it may
 * hold Secret data); the log gets only the code and status.
 */
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { review } from '../admission/review.js';
import type { PolicySet } from '../policy/types.js';

/** Default maximum request body: 8 MiB (bytes). */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

/** Options of `buildApp`. */
export interface AppOptions {
  /** The current policy set; undefined while not loaded (then /readyz and the review routes answer 503). Called once per request. */
  getPolicies: () => PolicySet | undefined;
  /** Maximum request body in bytes (default 8 MiB). */
  bodyLimit?: number;
  /** fastify's `logger` option (default false). Request bodies are never logged. */
  logger?: FastifyServerOptions['logger'];
  /** Labels of a namespace, when a Namespace informer is running. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
}

/** `AppOptions` plus node `https` server options (set by `startServer`). */
export interface BuildAppOptions extends AppOptions {
  https?: HttpsServerOptions;
}

/** Stable error codes of the HTTP layer (the 400s of `review` carry their own `ERR_*` codes). */
export const HTTP_ERROR_CODES = {
  unsupportedMediaType: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  invalidJson: 'ERR_INVALID_JSON',
  bodyTooLarge: 'ERR_BODY_TOO_LARGE',
  notReady: 'ERR_NOT_READY',
  internal: 'ERR_INTERNAL',
} as const;

/**
 * Builds the app with routes `POST /mutate`, `POST /validate`, `GET /healthz`
 * (200 while the process serves) and `GET /readyz` (200 once `getPolicies()`
 * returns a set, else 503). Does not listen.
 */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...(opts.https ? { https: opts.https } : {}),
  }) as unknown as FastifyInstance;
  // Only JSON is an AdmissionReview: without the text/plain parser fastify answers 415 to anything else.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { statusCode, code, message } = classify(err);
    request.log.info({ statusCode, code }, 'request rejected');
    void reply.code(statusCode).send({ code, message });
  });

  const handle = (route: 'mutate' | 'validate') => async (request: { body: unknown }, reply: import('fastify').FastifyReply) => {
    const policies = opts.getPolicies();
    if (!policies) return reply.code(503).send({ code: HTTP_ERROR_CODES.notReady, message: 'policies not loaded yet' });
    const result = review(request.body, policies, {
      route,
      namespaceLabels: opts.namespaceLabels,
    });
    return reply.code(result.statusCode).send(result.body);
  };
  app.post('/mutate', handle('mutate'));
  app.post('/validate', handle('validate'));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!opts.getPolicies()) return reply.code(503).send({ status: 'not ready', reason: 'policies not loaded' });
    return { status: 'ready' };
  });
  return app;
}

/** Maps fastify's content-type-parser errors to our codes and generic messages (no body excerpts). */
function classify(err: FastifyError): { statusCode: number; code: string; message: string } {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, code: HTTP_ERROR_CODES.unsupportedMediaType, message: 'content type must be application/json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, code: HTTP_ERROR_CODES.invalidJson, message: 'invalid content length' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, code: HTTP_ERROR_CODES.bodyTooLarge, message: 'request body exceeds the limit' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { statusCode: 400, code: HTTP_ERROR_CODES.invalidJson, message: 'body is not valid JSON' };
    default:
      break;
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // e.g. a SyntaxError from the JSON parser (its message may quote the body), prototype poisoning.
    const code = err instanceof SyntaxError ? HTTP_ERROR_CODES.invalidJson : (err.code ?? 'ERR_BAD_REQUEST');
    return { statusCode: status, code, message: err instanceof SyntaxError ? 'body is not valid JSON' : 'bad request' };
  }
  return { statusCode: 500, code: HTTP_ERROR_CODES.internal, message: 'internal error' };
}
