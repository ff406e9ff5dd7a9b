/**
 * `startServer`: the webhook over HTTPS (the API server only calls webhooks over
 * TLS: https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook).
 * With certificate files it uses them; without, it makes a self-signed
 * certificate for localhost / 127.0.0.1 / ::1 (for `serve` on a laptop and for
 * tests), writes it to a directory and says where. TLS 1.2 is the minimum.
 */
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generate } from 'selfsigned';
import { buildApp } from './app.js';
import type { AppOptions } from './app.js';

/** Options of `startServer`: where to listen, TLS material, and the app's options. */
export interface StartOptions extends AppOptions {
  /** Address to bind (`0.0.0.0`, `127.0.0.1`, `::`). */
  host: string;
  /** TCP port; 0 picks a free one (see the returned `url`). */
  port: number;
  /** PEM files of the serving certificate (chain) and its key. */
  tls?: { certFile: string; keyFile: string };
  /** Where to write a generated certificate (created if missing); default a new temp dir. Ignored with `tls`. */
  certDir?: string;
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
   * Stops accepting connections, lets in-flight requests finish, closes idle
   * keep-alive connections (fastify `close`), then resolves.
   */
  stop: () => Promise<void>;
}

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
  const { host, port, tls, certDir, ...appOpts } = opts;
  let material: { cert: string; key: string; certFile: string; keyFile: string };
  let generated = false;
  if (tls) {
    const [cert, key] = await Promise.all([readFile(tls.certFile, 'utf8'), readFile(tls.keyFile, 'utf8')]);
    material = { cert, key, certFile: tls.certFile, keyFile: tls.keyFile };
  } else {
    const dir = certDir ?? (await mkdtemp(join(tmpdir(), 'kube-postrender-tls-')));
    material = await writeSelfSignedCertificate(dir);
    generated = true;
  }
  const app = buildApp({ ...appOpts, https: { cert: material.cert, key: material.key, minVersion: 'TLSv1.2' } });
  await app.listen({ host, port });
  const bound = (app.server.address() as AddressInfo).port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  return {
    app,
    url,
    certFile: material.certFile,
    keyFile: material.keyFile,
    generated,
    stop: () => app.close(),
  };
}
