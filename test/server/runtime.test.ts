/**
 * Server runtime over real sockets on 127.0.0.1: certificate rotation under
 * load, client-CA enforcement, weak TLS refused, self-signed refusal on a
 * non-loopback host, /readyz during a graceful stop, deadline from ?timeout,
 * /metrics content.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { startServer, InsecureSelfSignedError } from '../../src/server/start.js';
import { buildApp } from '../../src/server/app.js';
import { isLoopbackHost } from '../../src/server/tls.js';
import { WebhookMetrics } from '../../src/server/metrics.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { fakePolicies } from '../admission/fake-policies.js';
import { configMapReview, labelPolicy, until } from '../sources/_helpers.js';

/** A CA and a server certificate for 127.0.0.1 it signed; optionally a client certificate from the same CA. */
async function pki(cn: string): Promise<{ ca: string; cert: string; key: string; clientCert: string; clientKey: string }> {
  const ca = await generate([{ name: 'commonName', value: `${cn}-ca` }], {
    keyType: 'ec', algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  const server = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const client = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }],
  });
  return { ca: ca.cert, cert: server.cert, key: server.private, clientCert: client.cert, clientKey: client.private };
}

interface PostOpts { ca: string; agent?: Agent; cert?: string; key?: string; path?: string }

function post(url: string, body: string, o: PostOpts): Promise<{ status: number; body: string; peer: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${o.path ?? '/mutate?timeout=5s'}`, {
      method: 'POST', ca: o.ca, agent: o.agent, cert: o.cert, key: o.key,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), peer }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The subject CN a fresh TLS connection sees (trusting `ca`). */
function handshakeCN(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', ca }, () => {
      const cn = String(s.getPeerCertificate().subject?.CN ?? '');
      s.end();
      resolve(cn);
    });
    s.on('error', reject);
  });
}

const review = JSON.stringify(configMapReview('uid-1'));

/** Starts the server on `dir`/tls.crt and tls.key (reloaded on change); records each reload's outcome. */
async function serveFiles(t: Test, dir: string): Promise<{ server: Awaited<ReturnType<typeof startServer>>; reloads: boolean[] }> {
  const reloads: boolean[] = [];
  const server = await startServer({
    host: '127.0.0.1', port: 0, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    getPolicies: () => fakePolicies(), tlsDebounceMs: 50, onTlsReload: (ok) => reloads.push(ok),
  });
  t.teardown(() => server.stop());
  return { server, reloads };
}

t.test('certificate rotation while requests run: no failure, new connections see the new certificate', async (t) => {
  const a = await pki('first');
  const b = await pki('second');
  const dir = t.testdir({ 'tls.crt': a.cert, 'tls.key': a.key });
  const { server, reloads } = await serveFiles(t, dir);
  const port = Number(new URL(server.url).port);
  t.equal(await handshakeCN(port, a.ca), 'first');
  const bothCAs = `${a.ca}\n${b.ca}`;
  let stop = false;
  let sent = 0;
  const failures: string[] = [];
  const loop = async (): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    try {
      while (!stop) {
        sent++;
        try {
          const r = await post(server.url, review, { ca: bothCAs, agent });
          if (r.status !== 200) failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    } finally {
      agent.destroy();
    }
  };
  const loops = [loop(), loop()];
  await until(() => sent > 20, 'requests flowing');
  // cert-manager style: both files replaced (key first: the in-between state does not match and is rejected).
  writeFileSync(join(dir, 'tls.key'), b.key);
  writeFileSync(join(dir, 'tls.crt'), b.cert);
  await until(async () => (await handshakeCN(port, bothCAs)) === 'second', 'new certificate served');
  const after = sent;
  await until(() => sent > after + 20, 'requests continue after rotation');
  stop = true;
  await Promise.all(loops);
  t.same(failures, [], `zero failed requests out of ${sent}`);
  t.ok(reloads.includes(true), 'a successful reload was reported');
  await t.rejects(handshakeCN(port, a.ca), 'the old CA alone no longer verifies new connections');
});

t.test('a broken certificate file keeps the old certificate', async (t) => {
  const a = await pki('keep');
  const dir = t.testdir({ 'tls.crt': a.cert, 'tls.key': a.key });
  const { server, reloads } = await serveFiles(t, dir);
  writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
  await until(() => reloads.includes(false), 'failed reload reported');
  t.equal(await handshakeCN(Number(new URL(server.url).port), a.ca), 'keep');
});

t.test('client CA: admission routes require a verified client certificate; probes stay open', async (t) => {
  const p = await pki('mtls');
  const other = await pki('other');
  const dir = t.testdir({ 'tls.crt': p.cert, 'tls.key': p.key, 'ca.crt': p.ca });
  const server = await startServer({
    host: '127.0.0.1', port: 0, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, clientCaFile: join(dir, 'ca.crt'),
    getPolicies: () => fakePolicies(),
  });
  t.teardown(() => server.stop());
  const none = await post(server.url, review, { ca: p.ca });
  t.equal(none.status, 403, 'no client certificate: 403');
  t.equal(JSON.parse(none.body).code, 'ERR_CLIENT_CERTIFICATE');
  const wrong = await post(server.url, review, { ca: p.ca, cert: other.clientCert, key: other.clientKey });
  t.equal(wrong.status, 403, 'certificate from another CA: 403');
  const good = await post(server.url, review, { ca: p.ca, cert: p.clientCert, key: p.clientKey });
  t.equal(good.status, 200, 'certificate from the client CA: 200');
  t.equal(JSON.parse(good.body).response.uid, 'uid-1');
  const probe = await new Promise<number>((resolve, reject) => {
    request(`${server.url}/readyz`, { ca: p.ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject).end();
  });
  t.equal(probe, 200, '/readyz without a client certificate');
});

t.test('weak TLS refused', async (t) => {
  const server = await startServer({ host: '127.0.0.1', port: 0, certDir: t.testdir({}), getPolicies: () => fakePolicies() });
  t.teardown(() => server.stop());
  const port = Number(new URL(server.url).port);
  const attempt = (opts: Record<string, unknown>): Promise<string> =>
    new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...opts }, () => {
        s.end();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
  t.not(await attempt({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }), 'connected', 'TLS 1.2 RSA key exchange + CBC refused');
  t.not(await attempt({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' }), 'connected', 'TLS 1.2 CBC suite refused');
  t.equal(await attempt({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }), 'connected', 'TLS 1.2 ECDHE+GCM accepted');
  t.equal(await attempt({ minVersion: 'TLSv1.3' }), 'connected', 'TLS 1.3 accepted');
});

t.test('self-signed dev mode refuses a non-loopback host unless forced', async (t) => {
  for (const host of ['0.0.0.0', '::']) {
    await t.rejects(startServer({ host, port: 0, certDir: t.testdir({}), getPolicies: () => fakePolicies() }), InsecureSelfSignedError, `${host} refused`);
  }
  const forced = await startServer({ host: '0.0.0.0', port: 0, certDir: t.testdir({}), allowInsecureSelfSigned: true, getPolicies: () => fakePolicies() });
  await forced.stop();
  t.pass('forced start on 0.0.0.0');
  const rows: [string, boolean][] = [['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true], ['[::1]', true], ['::ffff:127.0.0.1', true], ['0.0.0.0', false], ['::', false], ['10.0.0.1', false], ['example.com', false]];
  for (const [h, want] of rows) t.equal(isLoopbackHost(h), want, `isLoopbackHost(${h})`);
});

t.test('graceful stop: /readyz 503 at once, the in-flight request completes', async (t) => {
  const server = await startServer({ host: '127.0.0.1', port: 0, certDir: t.testdir({}), getPolicies: () => fakePolicies() });
  const ca = (await import('node:fs')).readFileSync(server.certFile, 'utf8');
  t.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  // An in-flight request: headers sent, body not yet.
  const body = review;
  let resolveRes!: (v: { status: number; body: string }) => void;
  const done = new Promise<{ status: number; body: string }>((r) => (resolveRes = r));
  const req = request(`${server.url}/mutate?timeout=5s`, { method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolveRes({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
  });
  const headersReceived = new Promise<void>((r) => server.app.server.once('request', () => r()));
  req.flushHeaders();
  req.write(body.slice(0, 10));
  await headersReceived; // the server is now inside this request (not an idle connection)
  let stopped = false;
  const stopping = server.stop().then(() => (stopped = true));
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503, '/readyz 503 while draining');
  t.match(ready.json(), { reason: 'shutting down' });
  t.notOk(stopped, 'stop waits for the in-flight request');
  req.end(body.slice(10));
  const res = await done;
  t.equal(res.status, 200, 'in-flight request answered');
  t.equal(JSON.parse(res.body).response.uid, 'uid-1');
  await stopping;
  t.ok(stopped);
});

t.test('stop with a delay: keeps answering, not ready, Connection: close on a kept-alive connection', async (t) => {
  const server = await startServer({ host: '127.0.0.1', port: 0, certDir: t.testdir({}), getPolicies: () => fakePolicies() });
  const ca = (await import('node:fs')).readFileSync(server.certFile, 'utf8');
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  t.teardown(() => agent.destroy());
  const first = await post(server.url, review, { ca, agent });
  t.equal(first.status, 200, 'before stop');
  t.equal(server.app.server.listenerCount('request'), 1, "before stop: fastify's request listener only");
  let stopped = false;
  const stopping = server.stop({ delayMs: 400 }).then(() => (stopped = true));
  void server.stop({ delayMs: 400 });
  t.equal(server.app.server.listenerCount('request'), 2, 'stopping (twice): one listener asks clients to reconnect');
  // The kept-alive connection from before the stop is still answered ...
  const during = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request(`${server.url}/mutate`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end(review);
  });
  t.equal(during.status, 200, 'answered during the delay');
  t.equal(during.connection, 'close', 'asked to reconnect elsewhere');
  t.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'not ready during the delay');
  t.notOk(stopped, 'still running during the delay');
  await stopping;
  t.ok(stopped, 'stopped after the delay');
});

t.test('deadline from ?timeout: policies not started in time follow failurePolicy', async (t) => {
  const opts = { registry: builtinRegistry() };
  const policies = createPolicySet([
    ...compilePolicyText(labelPolicy('a-first', 'x', '  order: 1\n'), 'a.yaml', opts),
    ...compilePolicyText(labelPolicy('b-second', 'y', '  order: 2\n  failurePolicy: Ignore\n'), 'b.yaml', opts),
  ]);
  let clock = 0;
  const step = { ms: 0 };
  const metrics = new WebhookMetrics();
  const app = buildApp({ getPolicies: () => policies, metrics, now: () => (clock += step.ms), maxEvaluationMs: 0 });
  t.teardown(() => app.close());
  step.ms = 0;
  const inTime = await app.inject({ method: 'POST', url: '/mutate?timeout=1s', payload: configMapReview('d1') });
  t.equal(inTime.json().response.allowed, true);
  t.notOk(inTime.json().response.warnings, 'no deadline warning in time');
  // Each clock read advances 0.9 s; timeout 4s gives a 3.2 s budget. Reads: the request's start, the
  // evaluation's start, before a-first, before its transformer (3.6 s in), before b-second (4.5 s in: late).
  step.ms = 900;
  const late = await app.inject({ method: 'POST', url: '/mutate?timeout=4s', payload: configMapReview('d2') });
  t.equal(late.json().response.allowed, true, 'failurePolicy Ignore: allowed');
  t.ok(late.json().response.patch, 'the first policy ran');
  t.match(late.json().response.warnings, [/b-second\/\(deadline\): deadline exceeded/]);
  const noTimeout = await app.inject({ method: 'POST', url: '/mutate', payload: configMapReview('d3') });
  t.notOk(noTimeout.json().response.warnings, 'no timeout parameter and maxEvaluationMs 0: no deadline');
  t.match(await metrics.registry.metrics(), /kube_postrender_transformer_errors_total\{policy="b-second",transformer="\(deadline\)",failure_policy="Ignore"\} 1/);
});

t.test('maxEvaluationMs bounds every review, with or without ?timeout', async (t) => {
  const opts = { registry: builtinRegistry() };
  const policies = createPolicySet(compilePolicyText(labelPolicy('only', 'x', '  failurePolicy: Ignore\n'), 'a.yaml', opts));
  // [url, maxEvaluationMs (undefined: the default), ms per clock read, deadline warning expected]
  const rows: [string, number | undefined, number, boolean][] = [
    ['/mutate', undefined, 30, false], // buildApp's default: no bound of its own (serve sets 50 ms)
    ['/mutate', 50, 10, false],
    ['/mutate', 50, 30, true], // reads at 30, 60, 90 (before the policy): past 30 + 50
    ['/mutate?timeout=10s', 50, 30, true],
    ['/mutate?timeout=10s', 0, 30, false],
    ['/mutate', 200, 30, false],
    ['/mutate?timeout=100ms', 200, 30, true], // the API server's 80 ms budget is the earlier
  ];
  for (const [url, maxEvaluationMs, ms, late] of rows) {
    let clock = 0;
    const app = buildApp({ getPolicies: () => policies, now: () => (clock += ms), ...(maxEvaluationMs === undefined ? {} : { maxEvaluationMs }) });
    const res = (await app.inject({ method: 'POST', url, payload: configMapReview('m1') })).json().response;
    await app.close();
    const name = `${url}, maxEvaluationMs ${maxEvaluationMs ?? 'default'}, ${ms} ms a read`;
    t.equal(res.allowed, true, `${name}: allowed`);
    if (late) t.match(res.warnings, [/^only\/.*deadline exceeded/], `${name}: cut`);
    else t.notOk(res.warnings, `${name}: in time`);
  }
});

t.test('/metrics after some requests', async (t) => {
  const app = buildApp({ getPolicies: () => fakePolicies({ deny: [{ policy: 'guard', rule: 'no-latest', message: 'm' }] }) });
  const ok = buildApp({ getPolicies: () => fakePolicies() });
  t.teardown(async () => {
    await app.close();
    await ok.close();
  });
  await app.inject({ method: 'POST', url: '/mutate', payload: configMapReview('m1') });
  await ok.inject({ method: 'POST', url: '/mutate', payload: configMapReview('m2') });
  await ok.inject({ method: 'POST', url: '/validate', payload: configMapReview('m3') });
  await ok.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: '{"nope":' });
  const text = (await ok.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(text, /kube_postrender_admission_requests_total\{route="mutate",operation="CREATE",kind="ConfigMap",result="patched"\} 1/);
  t.match(text, /kube_postrender_admission_requests_total\{route="validate",operation="CREATE",kind="ConfigMap",result="allowed"\} 1/);
  t.match(text, /kube_postrender_admission_requests_total\{route="mutate",operation="",kind="",result="error"\} 1/);
  t.match(text, /kube_postrender_admission_duration_seconds_count\{route="mutate"\} 1/);
  const denied = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(denied, /kube_postrender_admission_requests_total\{route="mutate",operation="CREATE",kind="ConfigMap",result="denied"\} 1/);
  t.match(denied, /kube_postrender_denials_total\{policy="guard"\} 1/);
  t.notMatch(denied, /result="patched"/, 'registries are per app');
});
