/**
 * Plain-JSON access to the API server for the cluster runtime (leases,
 * reports, events, the background scan's paged lists and watches).
 *
 * Requests carry the credentials and TLS settings of a client-node
 * `KubeConfig` (`applyToHTTPSOptions`: in-cluster service account or
 * KUBECONFIG), but bodies are read with `JSON.parse` and written with
 * `JSON.stringify`: client-node's model drops unknown fields and turns
 * timestamps into `Date`s (DESIGN.md), and its `MicroTime` text is not what
 * the API server parses (Go's `RFC3339Micro`, six fractional digits).
 * Watches use client-node's `Watch`, which hands over each event's object as
 * parsed JSON.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** The answer to one request: HTTP status and the parsed JSON body (undefined when empty or not JSON). */
export interface RestResponse {
  status: number;
  body: unknown;
}

/** One watch event (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`) and its object as JSON. */
export type WatchHandler = (type: string, object: Record<string, unknown>) => void;

/** A running watch. */
export interface WatchHandle {
  abort(): void;
}

/** What the cluster runtime needs of the API server. */
export interface KubeRest {
  /**
   * One request. `path` starts with `/api` or `/apis`; `query` values are
   * URL-encoded; `body` is sent as JSON (or as `contentType`, e.g. a JSON
   * patch). Never throws for an HTTP status: callers read `status`; throws
   * on a transport error or after `timeoutMs` (default 30 000 ms).
   */
  request(method: string, path: string, opts?: { query?: Record<string, string | number | undefined>; body?: unknown; contentType?: string; timeoutMs?: number }): Promise<RestResponse>;
  /** Watches a collection from `resourceVersion`; `done` is called once when the watch ends (error or server close). */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: WatchHandler, done: (err: unknown) => void): Promise<WatchHandle>;
}

/** Default request timeout, in ms. */
const TIMEOUT_MS = 30_000;

/** Most response bytes read before the request is failed (a list page is far smaller: pages are limited by count). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A `KubeRest` over the API server of `kc`. */
export function kubeRest(kc: KubeConfig): KubeRest {
  const watcher = new Watch(kc);
  return {
    request: async (method, path, opts = {}) => {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('no current cluster in the kubeconfig');
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const headers: Record<string, string> = { Accept: 'application/json' };
      const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body), 'utf8');
      if (payload) {
        headers['Content-Type'] = opts.contentType ?? 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const options: RequestOptions = { method, headers };
      await kc.applyToHTTPSOptions(options);
      return send(url, options, payload, opts.timeoutMs ?? TIMEOUT_MS);
    },
    watch: async (path, query, onEvent, done) => {
      const controller = await watcher.watch(path, query, (type, object) => onEvent(type, object as Record<string, unknown>), done);
      return { abort: () => controller.abort() };
    },
  };
}

function send(url: URL, options: RequestOptions, payload: Buffer | undefined, timeoutMs: number): Promise<RestResponse> {
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`response over ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks)) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function parseBody(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** An API error: the operation, the HTTP status and the Status `reason` (never the body's message, which may quote objects). */
export class KubeRestError extends Error {
  constructor(readonly what: string, readonly status: number, readonly reason = '') {
    super(`${what}: HTTP ${status}${reason ? ` ${reason}` : ''}`);
    this.name = 'KubeRestError';
  }
}

/** Throws `KubeRestError` unless `res.status` is 2xx; returns the body. */
export function expectOk(what: string, res: RestResponse): unknown {
  if (res.status >= 200 && res.status < 300) return res.body;
  const reason = typeof (res.body as { reason?: unknown } | undefined)?.reason === 'string' ? (res.body as { reason: string }).reason : '';
  throw new KubeRestError(what, res.status, reason);
}

/**
 * A Kubernetes `MicroTime` (Go's `RFC3339Micro`: six fractional digits, as
 * `metav1.MicroTime` marshals and parses it), e.g. `2026-12-05T21:40:00.123000Z`.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** A Kubernetes `Time` (RFC 3339, whole seconds), e.g. `2026-12-05T21:40:00Z`. */
export function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
