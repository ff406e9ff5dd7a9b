/**
 * `startServer`: the webhook over HTTPS (the API server only calls webhooks over
 * TLS: https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook).
 * With certificate files it uses them; without, it makes a self-signed
 * certificate for localhost / 127.0.0.1 / ::1 (for `serve` on a laptop and for
 * tests), writes it to a directory and says where; that dev mode refuses a
 * non-loopback address unless explicitly allowed (issue 8: a throwaway
 * certificate nobody can verify must not end up serving a cluster).
 * TLS 1.2 minimum and AEAD ciphers (`tls.ts`); given files are reloaded on
 * change without a restart (`TlsReloader`); `clientCaFile` makes the
 * admission routes require a client certificate signed by that CA.
 *
 * Shutdown (`RunningServer.stop`): `/readyz` turns 503 at once; for
 * `delayMs` the server keeps answering, with `Connection: close` on every
 * response so each client reconnects (to another replica: endpoints drop a
 * terminating Pod, and kube-proxy and the API server's dialer learn it a moment
 * later, the usual "pre-stop delay" of Kubernetes servers); then the listener
 * closes, in-flight requests finish and idle keep-alive connections close
 * (fastify `close`); after `graceMs` the remaining connections are destroyed,
 * so a stuck client cannot hold the process. Closing idle keep-alive
 * connections at once instead lost requests the API server had just written on
 * them (EOF), as the e2e suite showed.
 */
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { generate } from 'selfsigned';
import { buildApp } from './app.js';
import type { AppOptions } from './app.js';
import { isLoopbackHost, readTlsOptions, TLS_BASE_OPTIONS, TlsReloader } from './tls.js';

/** Options of `startServer`: where to listen, TLS material, and the app's options. */
export interface StartOptions extends AppOptions {
  /** Address to bind (`0.0.0.0`, `127.0.0.1`, `::`). */
  host: string;
  /** TCP port; 0 picks a free one (see the returned `url`). */
  port: number;
  /** PEM files of the serving certificate (chain) and its key; reloaded on change. */
  tls?: { certFile: string; keyFile: string };
  /** PEM bundle of the CA that signs client certificates: the admission routes then require one (reloaded on change). */
  clientCaFile?: string;
  /** Where to write a generated certificate (created if missing); default a new temp dir. Ignored with `tls`. */
  certDir?: string;
  /** Allow the generated self-signed certificate on a non-loopback address (default false: refused). */
  allowInsecureSelfSigned?: boolean;
  /** Debounce of certificate file events, in ms (default 300). */
  tlsDebounceMs?: number;
  /** Every certificate reload's outcome (the old certificate stays on failure). */
  onTlsReload?: (ok: boolean, err?: Error) => void;
  /** Bound on draining at `stop()`, in ms (default 10000). */
  graceMs?: number;
}

/** Thrown by `startServer` when the self-signed dev mode is asked to serve a non-loopback address. */
export class InsecureSelfSignedError extends Error {
  constructor(host: string) {
    super(
      `refusing to serve a generated self-signed certificate on ${host}: it is for local development only; ` +
        'give --tls-cert and --tls-key, listen on 127.0.0.1, or force it with --allow-insecure-self-signed',
    );
    this.name = 'InsecureSelfSignedError';
  }
}

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  /** `https://host:port` with the bound port. */
  url: string;
  /** The certificate file in use (generated or given); clients may trust it as a CA. */
  certFile: string;
  keyFile: string;
  /** True when the certificate was generated here. */
  generated: boolean;
  /**
   * Marks the server not ready (`/readyz` 503), stops accepting connections,
   * lets in-flight requests finish, closes idle keep-alive connections
   * (fastify `close`) and destroys what is left after `graceMs`; stops the
   * certificate watch. Resolves when closed. Idempotent.
   * `delayMs` (default 0): how long to keep answering, not ready and with
   * `Connection: close`, before closing the listener.
   */
  stop: (opts?: { delayMs?: number }) => Promise<void>;
  /** True once `stop()` was called. */
  readonly stopping: boolean;
}

/** Default bound on draining in-flight requests at shutdown, in ms. */
export const DEFAULT_GRACE_MS = 10_000;

/** Certificate lifetime for a generated certificate (days). */
const SELF_SIGNED_DAYS = 365;

/**
 * Writes a new self-signed certificate for localhost/127.0.0.1/::1 (RSA 2048,
 * SHA-256, serverAuth) to `dir` as `tls.crt` (0644) and `tls.key` (0600).
 * Returns the PEMs and file paths. Throws on file system errors.
 */
export async function writeSelfSignedCertificate(dir: string): Promise<{ cert: string; key: string; certFile: string; keyFile: string }> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + SELF_SIGNED_DAYS * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await chmod(keyFile, 0o600); // an existing file keeps its mode on write
  await writeFile(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, certFile, keyFile };
}

/**
 * Builds the app with HTTPS (TLS >= 1.2) and listens on `host:port`.
 * Resolves once listening. Throws when the certificate files cannot be read or
 * the address cannot be bound.
 */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { host, port, tls, clientCaFile, certDir, allowInsecureSelfSigned, tlsDebounceMs, onTlsReload, graceMs, ...appOpts } = opts;
  let material: { certFile: string; keyFile: string };
  let secure;
  let generated = false;
  if (tls) {
    secure = readTlsOptions({ ...tls, clientCaFile });
    material = tls;
  } else {
    if (!isLoopbackHost(host) && !allowInsecureSelfSigned) throw new InsecureSelfSignedError(host);
    const dir = certDir ?? (await mkdtemp(join(tmpdir(), 'kube-postrender-tls-')));
    const pems = await writeSelfSignedCertificate(dir);
    secure = { ...TLS_BASE_OPTIONS, cert: pems.cert, key: pems.key, ...(clientCaFile ? { ca: await readFile(clientCaFile, 'utf8') } : {}) };
    material = pems;
    generated = true;
  }
  let stopping = false;
  const appReason = appOpts.notReadyReason;
  const app = buildApp({
    ...appOpts,
    requireClientCert: clientCaFile !== undefined,
    notReadyReason: () => (stopping ? 'shutting down' : appReason?.()),
    // requestCert asks for a certificate and verifies it against `ca`; the routes decide (probes present none).
    https: { ...secure, requestCert: clientCaFile !== undefined, rejectUnauthorized: false },
  });
  await app.listen({ host, port });
  const server = app.server as unknown as HttpsServer;
  const reloader = tls
    ? new TlsReloader({ files: { ...tls, clientCaFile }, apply: (o) => server.setSecureContext(o), onReload: onTlsReload, debounceMs: tlsDebounceMs })
    : undefined;
  try {
    await reloader?.start();
  } catch (e) {
    await app.close();
    throw e;
  }
  const bound = (app.server.address() as AddressInfo).port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  let closing: Promise<void> | undefined;
  const stop = (stopOpts: { delayMs?: number } = {}): Promise<void> => {
    // From now on, ask every client to reconnect elsewhere: a listener on the node
    // server ahead of fastify's handler, added only now (a second 'request' listener
    // costs every request its call and a copy of the listener list), whose header is
    // merged into every answer's head (a fastify onSend hook would cost every request
    // its hook chain, ~2 µs).
    if (!stopping) server.prependListener('request', askToReconnect);
    stopping = true;
    const delay = stopOpts.delayMs ?? 0;
    closing ??= new Promise<void>((resolve) => setTimeout(resolve, delay))
      .then(() => drain(app, server, graceMs ?? DEFAULT_GRACE_MS))
      .finally(() => reloader?.stop());
    return closing;
  };
  return {
    app,
    url,
    certFile: material.certFile,
    keyFile: material.keyFile,
    generated,
    stop,
    get stopping() {
      return stopping;
    },
  };
}

/** The stopping server's 'request' listener: `Connection: close` on the answer, so the client reconnects (to another replica). */
function askToReconnect(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
}

/** fastify `close` bounded by `graceMs`: past it, every remaining connection is destroyed. */
async function drain(app: FastifyInstance, server: HttpsServer, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
  });
  try {
    await Promise.race([app.close(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
