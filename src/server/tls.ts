/**
 * TLS settings of the webhook and their live reload.
 *
 * - Protocol floor TLS 1.2 and an AEAD-only, forward-secret cipher list (the
 *   TLS 1.3 suites plus ECDHE with AES-GCM or ChaCha20-Poly1305 for 1.2: the
 *   "intermediate" profile of https://wiki.mozilla.org/Security/Server_Side_TLS,
 *   which the API server's Go client supports). No CBC, no RSA key exchange,
 *   no DHE, no SHA-1 MACs.
 * - Reload: cert-manager (or the chart's Secret) rotates `tls.crt`/`tls.key`
 *   in place; `TlsReloader` watches their directories (see `watchFiles`),
 *   re-reads both files, builds a secure context first (which fails on a key
 *   that does not match the certificate, e.g. between two non-atomic writes,
 *   and then keeps the old one) and installs it with
 *   `tls.Server#setSecureContext`: new handshakes use the new certificate,
 *   established connections keep theirs, nothing restarts
 *   (controller-runtime's certwatcher does the same through
 *   `GetCertificate`).
 * - Client certificates (`--client-ca`): the server asks for a certificate and
 *   verifies it against the CA bundle; the admission routes then require a
 *   verified one (see `app.ts`), while `/healthz` and `/readyz` stay open for
 *   the kubelet's probes, which present none.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { watchFiles, type FileWatch } from '../policy/sources/watch.js';

/** TLS 1.3 suites and TLS 1.2 ECDHE+AEAD suites, strongest first. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Options every secure context of the webhook gets. */
export const TLS_BASE_OPTIONS = { minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true } as const satisfies SecureContextOptions;

/** The PEM files of the serving certificate, its key and an optional client CA bundle. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

/**
 * Reads the files and returns secure context options (cert, key, CA plus the
 * base options). Throws when a file cannot be read or the key does not match
 * the certificate (checked by building a context).
 */
export function readTlsOptions(files: TlsFiles): SecureContextOptions {
  const opts: SecureContextOptions = {
    ...TLS_BASE_OPTIONS,
    cert: readFileSync(files.certFile, 'utf8'),
    key: readFileSync(files.keyFile, 'utf8'),
  };
  if (files.clientCaFile) opts.ca = readFileSync(files.clientCaFile, 'utf8');
  createSecureContext(opts); // validates: throws on a mismatched key or bad PEM
  return opts;
}

/**
 * True for addresses only reachable from this machine: `localhost`,
 * 127.0.0.0/8, `::1` (and its IPv4-mapped form). `0.0.0.0` and `::` are not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Options of `TlsReloader`. */
export interface TlsReloaderOptions {
  files: TlsFiles;
  /** Installs new options (the https server's `setSecureContext`). */
  apply: (opts: SecureContextOptions) => void;
  /** Every reload's outcome (on failure the old certificate stays). */
  onReload?: (ok: boolean, err?: Error) => void;
  /** Debounce of file events, in ms (default 300). */
  debounceMs?: number;
}

/** Watches the certificate files and installs new material on change. */
export class TlsReloader {
  private watch: FileWatch | undefined;

  constructor(private readonly opts: TlsReloaderOptions) {}

  /** Re-reads the files and applies them; returns false (old material kept) on error. */
  reload(): boolean {
    try {
      this.opts.apply(readTlsOptions(this.opts.files));
    } catch (e) {
      this.opts.onReload?.(false, e instanceof Error ? e : new Error(String(e)));
      return false;
    }
    this.opts.onReload?.(true);
    return true;
  }

  /** Starts watching; resolves once armed. Idempotent. */
  async start(): Promise<void> {
    const { certFile, keyFile, clientCaFile } = this.opts.files;
    this.watch ??= watchFiles([certFile, keyFile, ...(clientCaFile ? [clientCaFile] : [])], {
      debounceMs: this.opts.debounceMs,
      onChange: () => {
        this.reload();
      },
      onError: (e) => this.opts.onReload?.(false, e),
    });
    await this.watch.ready;
  }

  /** Stops watching. Idempotent. */
  async stop(): Promise<void> {
    const w = this.watch;
    this.watch = undefined;
    await w?.close();
  }
}
