/**
 * `kube-postrender serve`: the webhook over HTTPS. Without TLS files it makes a
 * self-signed certificate for localhost and prints where it is, and a one-line
 * curl that sends a sample AdmissionReview. Exits 0 on SIGTERM/SIGINT after
 * draining in-flight requests.
 */
import { startServer } from '../server/start.js';
import { loadPolicies } from '../policy/load.js';
import type { PolicySet } from '../policy/types.js';
import { defaultLoadOptions } from './policies.js';
import { EXIT, oneLine } from './io.js';

/** Options of `serve`. */
export interface ServeOptions {
  config: string[];
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  cluster?: boolean;
  sample?: string;
}

/** Starts the server; resolves with the exit code when it has stopped. */
export async function serveCommand(opts: ServeOptions): Promise<number> {
  if (opts.cluster) {
    process.stderr.write('kube-postrender: --cluster (policy CRDs and Namespace informers) is not available in this version; use -c files\n');
    return EXIT.usage;
  }
  if (opts.config.length === 0) {
    process.stderr.write('kube-postrender: serve needs -c POLICY (or --cluster)\n');
    return EXIT.usage;
  }
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    process.stderr.write('kube-postrender: --tls-cert and --tls-key go together\n');
    return EXIT.usage;
  }
  let policies: PolicySet;
  try {
    policies = loadPolicies(opts.config, defaultLoadOptions()).set;
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  const tls = opts.tlsCert && opts.tlsKey ? { certFile: opts.tlsCert, keyFile: opts.tlsKey } : undefined;
  let server;
  try {
    server = await startServer({ host: opts.host, port: opts.port, tls, getPolicies: () => policies, logger: true });
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  const certNote = server.certFile ? ` (self-signed certificate: ${server.certFile})` : '';
  process.stderr.write(`kube-postrender: serving ${policies.names.length} policies on ${server.url}${certNote}\n`);
  if (opts.sample) {
    const cacert = server.certFile ? `--cacert ${server.certFile}` : '-k';
    process.stderr.write(`try: curl -sS ${cacert} -H 'Content-Type: application/json' --data @${opts.sample} ${server.url}/mutate\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void server.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return EXIT.ok;
}
