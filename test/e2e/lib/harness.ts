/**
 * e2e harness: a real kube-apiserver (v1.20.2, built once per machine by
 * scripts/e2e/build-k8s.sh), etcd and kube-controller-manager on loopback, and
 * the webhook started as `node dist/cli/main.js serve ...` the way a cluster
 * reaches it (`clientConfig.url` + `caBundle`).
 *
 * Infrastructure that cannot be had (no toolchain, no Debian mirror, build
 * failure, control plane not coming up) is a skip with a reason, never a hang:
 * every wait here is bounded. What the webhook does is asserted by the tests.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { createServer, connect as netConnect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SCRIPTS = join(ROOT, 'scripts/e2e');
export const CLI = join(ROOT, 'dist/cli/main.js');

/**
 * Minutes allowed for the first build of kube-apiserver (cached afterwards; an
 * interrupted build resumes from its Go build cache). Below tap's 30 min file
 * timeout so a slow machine skips instead of failing.
 */
const BUILD_TIMEOUT_MS = Number(process.env.E2E_BUILD_TIMEOUT_MIN ?? 20) * 60_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `fn` until it returns a value other than undefined/false; throws after `ms` with the last error. */
export async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await within(Math.max(1000, Math.min(10_000, deadline - Date.now())), what, fn());
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `; last error: ${errText(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** A readable one-line text for an error (ApiException bodies included). */
export function errText(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { code?: number; body?: unknown; message?: string };
    if (o.code !== undefined && o.body !== undefined) {
      const body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      return `HTTP ${o.code}: ${body.slice(0, 600)}`;
    }
    if (o.message) return o.message.split('\n').slice(0, 3).join(' | ').slice(0, 800);
  }
  return String(e);
}

/**
 * Runs a command in its own process group; on timeout the whole group is killed
 * (a build script's `make` and `go` children included). Code 124 = timed out.
 */
function run(cmd: string, args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => {
      err.push(d);
      // show build and start-up progress on the suite's stderr (the first build is long)
      if (process.env.E2E_VERBOSE || /\[build-k8s\]|\[cluster-up\]/.test(String(d))) process.stderr.write(d);
    });
    child.on('error', (e) => err.push(Buffer.from(String(e))));
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: timedOut ? 124 : (code ?? 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** A running control plane. */
export interface Cluster {
  state: string;
  kubeconfigFile: string;
  pki: string;
  kc: k8s.KubeConfig;
  /** Stops etcd, kube-apiserver and kube-controller-manager (by recorded pid). */
  down: () => Promise<void>;
}

/** Starts the control plane, or returns `{skip}` with the reason infrastructure is missing. */
export async function startCluster(): Promise<Cluster | { skip: string }> {
  if (process.env.E2E_SKIP) return { skip: `E2E_SKIP=${process.env.E2E_SKIP}` };
  const build = await run(join(SCRIPTS, 'build-k8s.sh'), [], { timeoutMs: BUILD_TIMEOUT_MS });
  if (build.code !== 0) {
    const why = build.stderr.split('\n').filter((l) => /FAILED|error/i.test(l)).slice(-3).join(' | ') || `exit ${build.code}`;
    return { skip: `kube-apiserver unavailable (scripts/e2e/build-k8s.sh: ${build.code === 124 ? `timed out after ${BUILD_TIMEOUT_MS / 60000} min` : why})` };
  }
  const bin = build.stdout.trim().split('\n').pop() ?? '';
  const state = mkdtempSync(join(tmpdir(), 'kube-postrender-e2e-'));
  const up = await run(join(SCRIPTS, 'cluster-up.sh'), [state], { timeoutMs: 5 * 60_000, env: { ...process.env, K8S_BIN: bin } });
  if (up.code !== 0) {
    await run(join(SCRIPTS, 'cluster-down.sh'), [state], { timeoutMs: 60_000 });
    process.stderr.write(up.stderr);
    const why = up.stderr.split('\n').filter((l) => /\[cluster-up\]/.test(l)).slice(-2).join(' | ');
    return { skip: `control plane did not start (scripts/e2e/cluster-up.sh exit ${up.code}: ${why})` };
  }
  const kubeconfigFile = join(state, 'kubeconfig');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  return {
    state,
    kubeconfigFile,
    pki: join(state, 'pki'),
    kc,
    down: async () => {
      await run(join(SCRIPTS, 'cluster-down.sh'), [state], { timeoutMs: 60_000 });
    },
  };
}

/** A webhook process (`serve`). */
/**
 * Starts the cluster and runs `suite` on it; when the infrastructure cannot be
 * had, plans zero tests with the reason, printed loudly (CI's "skips loudly").
 */
export async function withCluster(suite: (cluster: Cluster) => Promise<void>): Promise<void> {
  const started = await startCluster();
  if (!('skip' in started)) return suite(started);
  const line = `e2e skipped: ${started.skip}`;
  process.stderr.write(`\n########## ${line} ##########\n\n`);
  console.log(`# ${line}`);
  t.plan(0, line);
}

export interface Webhook {
  name: string;
  port: number;
  proc: ChildProcess;
  /** Everything it printed on stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code (or the signal name) once it exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop: (graceMs?: number) => Promise<number | string>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts `serve` with `args` (port and host are added) and waits (bounded) for `/readyz`. */
export async function startWebhook(opts: {
  name: string;
  args: string[];
  cluster: Cluster;
  logDir: string;
  port?: number;
  readyTimeoutMs?: number;
}): Promise<Webhook> {
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.logDir, { recursive: true });
  const log: WriteStream = createWriteStream(join(opts.logDir, `webhook-${opts.name}.log`));
  const chunks: string[] = [];
  const args = [CLI, 'serve', ...opts.args, '--host', '127.0.0.1', '--port', String(port)];
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: opts.cluster.kubeconfigFile, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const take = (d: Buffer): void => {
    chunks.push(d.toString('utf8'));
    log.write(d);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const exited = new Promise<number | string>((res) => {
    proc.once('exit', (code, signal) => {
      setTimeout(() => log.end(), 50);
      res(code ?? signal ?? -1);
    });
  });
  let exitedWith: number | string | undefined;
  void exited.then((c) => (exitedWith = c));
  const hook: Webhook = {
    name: opts.name,
    port,
    proc,
    output: () => chunks.join(''),
    exited,
    stop: async (graceMs = 30_000) => {
      if (exitedWith !== undefined) return exitedWith;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  const ca = readFileSync(join(opts.cluster.pki, 'webhook-ca.crt'));
  try {
    // an early exit ends the wait at once
    const died = exited.then((c) => Promise.reject(new Error(`exited with ${c}`)));
    died.catch(() => undefined);
    await Promise.race([
      died,
      waitFor(`webhook ${opts.name} /readyz on :${port}`, opts.readyTimeoutMs ?? 30_000, async () => {
        if (exitedWith !== undefined) return false;
        const r = await httpsGet(port, '/readyz', ca);
        return r.status === 200;
      }),
    ]);
  } catch (e) {
    await hook.stop(2000);
    throw new Error(`webhook ${opts.name} (${args.slice(1).join(' ')}) did not become ready: ${errText(e)}\n--- its output:\n${hook.output().slice(-3000)}`);
  }
  return hook;
}

/** GET over HTTPS on 127.0.0.1 trusting `ca` (bounded: 5 s). */
export function httpsGet(port: number, path: string, ca: Buffer, cert?: { cert: Buffer; key: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'GET', ca, servername: 'localhost', agent: false, timeout: 5000, ...(cert ?? {}) },
      (r) => {
        const parts: Buffer[] = [];
        r.on('data', (d: Buffer) => parts.push(d));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        r.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', rej);
    req.end();
  });
}

/** The SHA-256 fingerprint of the certificate served on 127.0.0.1:port (bounded: 5 s). */
export function servedFingerprint(port: number, ca: Buffer, cert?: { cert: Buffer; key: Buffer }): Promise<string> {
  return within(
    5000,
    `TLS handshake on :${port}`,
    new Promise((res, rej) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(cert ?? {}) }, () => {
        const fp = s.getPeerCertificate().fingerprint256;
        s.end();
        res(fp);
      });
      s.on('error', rej);
    }),
  );
}

/**
 * A TCP load balancer on loopback standing in for a Service: new connections go
 * round-robin to backends whose `/readyz` answered 200 at the last probe (every
 * 200 ms), as kube-proxy routes only to ready endpoints. Connections already
 * open stay on their backend (TLS passes through untouched), as with kube-proxy.
 */
export interface Balancer {
  port: number;
  /** Connections accepted per backend port. */
  accepted: Map<number, number>;
  /** Connections refused because no backend was ready. */
  refused: () => number;
  close: () => Promise<void>;
}

export async function startBalancer(backends: number[], ca: Buffer, clientCert?: { cert: Buffer; key: Buffer }): Promise<Balancer> {
  const ready = new Map<number, boolean>(backends.map((b) => [b, false]));
  const accepted = new Map<number, number>(backends.map((b) => [b, 0]));
  let refused = 0;
  let rr = 0;
  let closing = false;
  const probe = async (): Promise<void> => {
    await Promise.all(
      backends.map(async (b) => {
        try {
          ready.set(b, (await httpsGet(b, '/readyz', ca, clientCert)).status === 200);
        } catch {
          ready.set(b, false);
        }
      }),
    );
  };
  await probe();
  const loop = (async () => {
    while (!closing) {
      await sleep(200);
      await probe();
    }
  })();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const live = backends.filter((b) => ready.get(b));
    if (live.length === 0) {
      refused++;
      client.destroy();
      return;
    }
    const b = live[rr++ % live.length]!;
    accepted.set(b, (accepted.get(b) ?? 0) + 1);
    const upstream = netConnect({ host: '127.0.0.1', port: b });
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // Faithful to TCP: a FIN from one side is passed on as a FIN (pipe's end), after
    // the bytes before it; only errors tear both sides down at once.
    const forget = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    const abort = (): void => {
      client.destroy();
      upstream.destroy();
      forget();
    };
    client.on('error', abort);
    upstream.on('error', abort);
    client.on('close', () => {
      upstream.end();
      if (upstream.destroyed) forget();
    });
    upstream.on('close', () => {
      client.end();
      if (client.destroyed) forget();
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as { port: number }).port,
    accepted,
    refused: () => refused,
    close: async () => {
      closing = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
      await loop;
    },
  };
}

/**
 * A raw JSON request to the API server with the admin client certificate
 * (bounded: 20 s). For objects @kubernetes/client-node's models would alter:
 * its serializer drops fields it does not know under their JSON names (e.g. a
 * CRD schema's `x-kubernetes-preserve-unknown-fields`).
 */
export function apiRequest(cluster: Cluster, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const server = new URL(cluster.kc.getCurrentCluster()!.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return within(
    20_000,
    `${method} ${path}`,
    new Promise((res, rej) => {
      const req = httpsRequest(
        {
          host: server.hostname,
          port: server.port,
          path,
          method,
          ca: readFileSync(join(cluster.pki, 'ca.crt')),
          cert: readFileSync(join(cluster.pki, 'admin.crt')),
          key: readFileSync(join(cluster.pki, 'admin.key')),
          agent: false,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (r) => {
          const parts: Buffer[] = [];
          r.on('data', (d: Buffer) => parts.push(d));
          r.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* keep text */
            }
            res({ status: r.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', rej);
      req.end(payload);
    }),
  );
}

/**
 * Registers the suite's teardown: stops `hooks` (those pushed by then), stops
 * the control plane, and removes its state directory when every test passed
 * (else says where the logs are kept).
 */
export function teardownSuite(cluster: Cluster, hooks: readonly Webhook[]): void {
  t.teardown(async () => {
    for (const h of hooks) await h.stop(5000).catch(() => undefined);
    await cluster.down();
    if (t.passing()) rmSync(cluster.state, { recursive: true, force: true });
    else process.stderr.write(`e2e: logs kept in ${cluster.state}/logs\n`);
  });
}

/**
 * `apiRequest` that rejects unless the answer's status is one of `ok`
 * (default 200 and 201), with the method, path, status and the start of the
 * body; resolves with the body.
 */
export async function apiOk(cluster: Cluster, method: string, path: string, body?: unknown, ok: readonly number[] = [200, 201]): Promise<Record<string, any>> {
  const r = await apiRequest(cluster, method, path, body);
  if (!ok.includes(r.status)) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body as Record<string, any>;
}

/** Rules and exclusions shared by the webhook configurations of the suite. */
export function webhookConfigs(opts: { name: string; port: number; caBundle: string; selector: Record<string, string>; timeoutSeconds?: number }): {
  mutating: k8s.V1MutatingWebhookConfiguration;
  validating: k8s.V1ValidatingWebhookConfiguration;
} {
  const rules = [
    { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] },
    { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'configmaps', 'secrets'] },
  ];
  const common = {
    clientConfig: { url: `https://127.0.0.1:${opts.port}`, caBundle: opts.caBundle },
    rules,
    namespaceSelector: { matchLabels: opts.selector },
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: opts.timeoutSeconds ?? 10,
  };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `${opts.name}-mutate` },
      webhooks: [
        {
          ...common,
          name: `mutate.${opts.name}.postrender.io`,
          clientConfig: { ...common.clientConfig, url: `${common.clientConfig.url}/mutate` },
          reinvocationPolicy: 'IfNeeded',
        },
      ],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `${opts.name}-validate` },
      webhooks: [{ ...common, name: `validate.${opts.name}.postrender.io`, clientConfig: { ...common.clientConfig, url: `${common.clientConfig.url}/validate` } }],
    },
  };
}

/** Reads a fixture and replaces `LABEL_VALUE` / `SOURCE` placeholders. */
export function fixture(name: string, vars: Record<string, string> = {}): string {
  let text = readFileSync(join(ROOT, 'test/e2e/fixtures', name), 'utf8');
  for (const [k, v] of Object.entries(vars)) text = text.split(k).join(v);
  return text;
}

/** True when `serve --help` lists `flag`. */
export async function serveHas(flag: string): Promise<boolean> {
  const r = await run(process.execPath, [CLI, 'serve', '--help'], { timeoutMs: 30_000 });
  return r.stdout.includes(flag) || r.stderr.includes(flag);
}
