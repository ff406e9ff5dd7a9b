/**
 * Reading a request body for the app's JSON parser (app.ts `installJsonParser`)
 * without fastify's copy: fastify's `parseAs: 'buffer'` always joins the
 * chunks with `Buffer.concat`, a copy of every body (~0.45 µs for a 10 KB
 * review at the server, docs/performance.md session 14) that a body of one
 * chunk (the usual review: one TLS record holds 16 KB) does not need when it
 * is decoded at once.
 *
 * Semantics are fastify 5's `rawBody` (lib/content-type-parser.js) for a
 * parser with `parseAs`, and the errors are fastify's own classes:
 * - a declared `Content-Length` over `limit`: FST_ERR_CTP_BODY_TOO_LARGE
 *   before reading;
 * - more than `limit` bytes received: FST_ERR_CTP_BODY_TOO_LARGE (the rest
 *   is not read; fastify closes the connection after an answer to a parser
 *   error);
 * - a stream error (an aborted request): the error, with `statusCode` 400
 *   unless it carries a 4xx/5xx one;
 * - at the end, a received length other than a declared `Content-Length`:
 *   FST_ERR_CTP_INVALID_CONTENT_LENGTH.
 * Not kept: `receivedEncodedLength`, which only a preParsing hook's stream
 * reports (the app has none).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

/**
 * A body as received: `one` when it came in one chunk (a view of the
 * socket's read: decode it at once, keep nothing of it), else `many`, the
 * chunks in order; `length` is the sum of their byte lengths.
 */
export interface ReceivedBody {
  one: Buffer | undefined;
  many: Buffer[] | undefined;
  length: number;
}

/**
 * The body's bytes joined into a new Buffer (a copy even of one chunk: what
 * is kept of a body holds no socket read alive; small ones share node's
 * Buffer pool, which the evaluation worker's transfer copies out of).
 */
export function bodyCopy(body: ReceivedBody): Buffer {
  return Buffer.concat(body.one !== undefined ? [body.one] : (body.many ?? []), body.length);
}

/**
 * Reads `payload` (the request's body stream; `request` for its
 * `Content-Length`) up to `limit` bytes and calls `done` once, with the body
 * or with fastify's error (see the module's comment).
 */
export function readBody(request: IncomingMessage, payload: Readable, limit: number, done: (err: Error | null, body?: ReceivedBody) => void): void {
  const contentLength = Number(request.headers['content-length']);
  if (contentLength > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  const body: ReceivedBody = { one: undefined, many: undefined, length: 0 };
  const stop = (): void => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };
  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    body.length += bytes.length;
    if (body.length > limit) {
      stop();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (body.many !== undefined) body.many.push(bytes);
    else if (body.one === undefined) body.one = bytes;
    else {
      body.many = [body.one, bytes];
      body.one = undefined;
    }
  }
  function onEnd(err?: Error & { statusCode?: number }): void {
    stop();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      done(err);
      return;
    }
    if (!Number.isNaN(contentLength) && body.length !== contentLength) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    done(null, body);
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
