/**
 * Bounded memory and silent transport errors for the webhook's HTTP layer
 * (issue 16): hooks that `buildApp` installs, kept out of the request path.
 *
 * - `installInFlightLimit`: at most `maxRequests` admission requests and
 *   `maxBytes` of declared request bodies in flight at once. A request past
 *   either limit is answered `429 Too Many Requests` with `Retry-After` and
 *   code `ERR_TOO_MANY_REQUESTS` from the `onRequest` hook, before its body is
 *   read, so a flood of maximum-size reviews cannot take the process past its
 *   memory limit. The API server treats a 429 from a webhook as a call error:
 *   the webhook's failurePolicy decides (Ignore admits, Fail refuses and the
 *   client retries). Body sizes come from `Content-Length` (the API server
 *   always sends one); a chunked body counts as `bodyLimit` bytes.
 *   Probes and `/metrics` are never limited.
 * - `clientErrorHandler`: node's `clientError` (a malformed request line or
 *   header, a header overflow, a timeout) answered like fastify's default but
 *   logged with the error code only: fastify's default logs the error object,
 *   whose `rawPacket` holds the raw bytes of the request (a Secret's value in a
 *   body that arrived with a malformed header).
 *
 * The body limit itself is fastify's `bodyLimit` (DEFAULT_BODY_LIMIT in
 * app.ts: 7 MiB, as controller-runtime's webhook server).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage, type ErrorCode } from '../errors.js';

/** Limits on admission requests in flight. */
export interface InFlightLimits {
  /** Most admission requests in flight (default 32). */
  maxRequests?: number;
  /** Most bytes of request bodies in flight, by Content-Length (default 24 MiB). */
  maxBytes?: number;
  /** Seconds sent in `Retry-After` (default 1). */
  retryAfterSeconds?: number;
}

/** Default in-flight request count: well above what one replica serves at once with small reviews. */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * Default in-flight body bytes: 24 MiB, three maximum-size (7 MiB) reviews at
 * once. Sized from the 30 x 7 MiB benchmark (`bench/limits.mjs`,
 * docs/operations.md): peak RSS stays under the chart's 256 MiB limit.
 */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 24 * 1024 * 1024;

/** Code of the 429 answer (registered in src/errors.ts). */
export const TOO_MANY_REQUESTS_CODE: ErrorCode = 'ERR_TOO_MANY_REQUESTS';

/** HTTP status of node's client errors by node's code (node's default handler answers so); others 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = { ERR_HTTP_REQUEST_TIMEOUT: 408, HPE_HEADER_OVERFLOW: 431 };

/** What the limiter counts, for metrics and tests. */
export interface InFlightState {
  readonly requests: number;
  readonly bytes: number;
  /** Requests refused with 429 since start. */
  readonly refused: number;
}

/**
 * The admission route of a request URL (`/mutate` or `/validate`, with or
 * without a query), else undefined; no allocation. The limiter's routes, and
 * the route label of the app's error metrics.
 */
export function admissionRoute(url: string): 'mutate' | 'validate' | undefined {
  for (const route of ['mutate', 'validate'] as const) {
    const n = route.length + 1;
    if (url.startsWith(route, 1) && url.charCodeAt(0) === 47 && (url.length === n || url.charCodeAt(n) === 63)) return route;
  }
  return undefined;
}

/**
 * Where a request's counted bytes are kept, on its raw response: a property
 * instead of a WeakMap entry (a WeakMap insert and delete per request cost
 * more than the rest of the limiter).
 */
const HELD = Symbol('kube-postrender.inFlightBytes');

/** A raw response as the limiter marks it: the bytes its request counted, while in flight. */
type HeldResponse = ServerResponse & { [HELD]?: number };

/** The declared body size of a request: Content-Length, or `bodyLimit` when absent or malformed (chunked). */
function declaredBytes(request: FastifyRequest, bodyLimit: number): number {
  const n = contentLength(request.headers['content-length']);
  return n === undefined ? bodyLimit : Math.min(n, bodyLimit);
}

/**
 * A Content-Length header of 1 to 12 ASCII digits as a number (what
 * `/^\d{1,12}$/` accepts), else undefined; read without a regex, since it
 * runs on every admission request.
 */
export function contentLength(header: unknown): number | undefined {
  if (typeof header !== 'string' || header.length === 0 || header.length > 12) return undefined;
  let n = 0;
  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Adds the in-flight limit to `app` (an onRequest hook on the admission
 * routes). `bodyLimit` (bytes) caps what one request counts. `onRefused` is
 * called for each 429 (metrics). Returns a view of the counters.
 *
 * A counted request is released when its raw response emits `close`, which
 * node emits once for every response (node's lib/_http_server.js): after it
 * finished (`finish`, whatever the status: answers, 4xx/5xx of the error
 * handler, fastify's 413), and when its socket closes first (the client hung
 * up while sending the body or while the review ran, a pipelined request
 * queued behind it, a request or socket timeout). fastify's `onResponse` hook
 * (on `finish`) and `onRequestAbort` (a request `close` while its body was
 * read) missed a client that hung up after sending its body: that request
 * stayed counted for good. One listener per admitted request, and fastify
 * adds none of its own (no `onResponse` hook, no logger: ./logger.ts).
 */
export function installInFlightLimit(app: FastifyInstance, limits: InFlightLimits, bodyLimit: number, onRefused?: (route: 'mutate' | 'validate') => void): InFlightState {
  const maxRequests = limits.maxRequests ?? DEFAULT_MAX_IN_FLIGHT;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
  const retryAfter = String(limits.retryAfterSeconds ?? 1);
  const state = { requests: 0, bytes: 0, refused: 0 };
  // One function for every response (`this` is the response): no closure per request.
  const release = function (this: HeldResponse): void {
    const bytes = this[HELD];
    if (bytes === undefined) return;
    this[HELD] = undefined;
    state.requests--;
    state.bytes -= bytes;
  };
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const route = request.method === 'POST' ? admissionRoute(request.url) : undefined;
    if (route === undefined) return done();
    const bytes = declaredBytes(request, bodyLimit);
    // One request is always let through, whatever its size, so the limit can never starve a lone large review.
    if (state.requests > 0 && (state.requests >= maxRequests || state.bytes + bytes > maxBytes)) {
      state.refused++;
      onRefused?.(route);
      // The body is read and discarded (never buffered) before answering: a client still
      // writing a large body would otherwise see a broken pipe instead of the 429.
      const answer = (): void => {
        void reply.code(429).header('retry-after', retryAfter).send({ code: TOO_MANY_REQUESTS_CODE, message: errorMessage(TOO_MANY_REQUESTS_CODE) });
      };
      if (request.raw.complete) answer();
      else {
        request.raw.once('end', answer);
        request.raw.resume();
      }
      return;
    }
    state.requests++;
    state.bytes += bytes;
    const res = reply.raw as HeldResponse;
    res[HELD] = bytes;
    res.on('close', release);
    done();
  });
  return state;
}

/**
 * fastify's `clientErrorHandler` without the raw bytes: answers 408 (timeout),
 * 431 (header overflow) or 400 and closes the socket, logging only the error
 * code at debug level. Built over `log` (the app's logger is not known when
 * the server options are). Semantics of node's default: https://nodejs.org/api/http.html#event-clienterror
 */
export function clientErrorHandler(log: () => FastifyBaseLogger | undefined): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const status = (typeof err.code === 'string' ? CLIENT_ERROR_STATUS[err.code] : undefined) ?? 400;
    // The code only: `err` carries `rawPacket` (the request's bytes) and its message may quote them.
    log()?.debug({ code: typeof err.code === 'string' ? err.code.slice(0, 64) : 'unknown', statusCode: status }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify({ code: 'ERR_CLIENT', message: errorMessage('ERR_CLIENT', STATUS_CODES[status] ?? 'client error') });
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
