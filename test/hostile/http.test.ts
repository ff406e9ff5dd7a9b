/**
 * Hostile HTTP input against the webhook app on a loopback socket (issue 8):
 * bodies over the limit (declared and chunked), slow bodies, 10,000-deep
 * nesting and 50 MB strings. After each, the server still answers a good review.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildApp, DEFAULT_BODY_LIMIT } from '../../src/server/app.js';
import { review } from '../../src/admission/review.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, PLATFORM_POLICY, policySetFromYaml, prototypeSnapshot, prototypeUntouched } from '../fuzz/helpers.js';

const policies = policySetFromYaml(PLATFORM_POLICY);
const good = JSON.stringify(admissionReview('good-1', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }));

interface Outcome { status?: number; body: string; error?: string; closed: boolean }

/** POSTs `chunks` (written one by one) and resolves with the status, body and whether the socket closed. */
function post(port: number, chunks: Buffer[], headers: Record<string, string | number>): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '', closed: false };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/mutate', headers: { 'content-type': 'application/json', ...headers }, agent: false });
    req.on('response', (res) => {
      out.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (out.body += d));
      res.on('end', () => resolve(out));
    });
    req.on('error', (e) => {
      out.error = (e as NodeJS.ErrnoException).code ?? e.message;
      resolve(out);
    });
    req.on('close', () => (out.closed = true));
    const write = (i: number): void => {
      if (i >= chunks.length) {
        req.end();
        return;
      }
      if (req.destroyed) return;
      req.write(chunks[i], () => setImmediate(() => write(i + 1)));
    };
    write(0);
  });
}

/**
 * Sends a request with a declared Content-Length over a raw socket and the
 * first body chunk, then reads until the server closes. Resolves with what was read.
 */
function rawPost(port: number, length: number, chunk: Buffer): Promise<{ head: string; closed: boolean; error?: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let error: string | undefined;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => resolve({ head: data, closed: true, error }));
    sock.write(`POST /mutate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`);
    // One chunk, then wait: the server answers from the declared length alone. (A client that keeps
    // writing may get a TCP reset instead of the 413: the server closes with unread body bytes.)
    sock.write(chunk);
  });
}

async function listen(t: Test): Promise<number> {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

async function stillServes(t: Test, port: number, what: string): Promise<void> {
  const r = await post(port, [Buffer.from(good)], { 'content-length': Buffer.byteLength(good) });
  t.equal(r.status, 200, `${what}: the next good review is served`);
  t.equal((JSON.parse(r.body) as { response: { uid: string } }).response.uid, 'good-1', `${what}: uid echoed`);
}

t.test('bodies over the limit: 413 with a code, then the server still serves', async (t) => {
  const port = await listen(t);
  const mib = Buffer.alloc(1024 * 1024, 0x61);
  const over = Math.ceil(DEFAULT_BODY_LIMIT / mib.length) + 1;
  const declared = await rawPost(port, over * mib.length, mib);
  t.match(declared.head, /^HTTP\/1\.1 413 /, 'declared length over the limit: 413');
  t.match(declared.head, /ERR_BODY_TOO_LARGE/, 'error code');
  t.ok(declared.closed, `the server closed the connection (client saw ${declared.error ?? 'a clean close'})`);
  await stillServes(t, port, 'declared');
  const chunked = await post(port, Array.from({ length: over }, () => mib), { 'transfer-encoding': 'chunked' });
  // The server answers 413 and closes with body bytes unread, so its kernel resets the
  // connection; a loaded host can deliver the reset before this client reads the 413
  // (rawPost's comment). Either way the body was refused and the server still serves.
  const reset = chunked.status === undefined && /^(ECONNRESET|EPIPE)$/.test(chunked.error ?? '');
  t.ok(chunked.status === 413 || reset, `chunked body over the limit: 413 (or the reset that follows it: ${chunked.status ?? chunked.error})`);
  await stillServes(t, port, 'chunked');
  t.comment(`limit ${DEFAULT_BODY_LIMIT} bytes; sent ${over} MiB twice`);
});

t.test('slow bodies are cut off by a request timeout', async (t) => {
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  t.ok((app.initialConfig as { requestTimeout?: number }).requestTimeout! > 0, 'requestTimeout set');
  t.ok(app.initialConfig.connectionTimeout! > 0, 'connectionTimeout set');
});

t.test('10,000-deep JSON nesting: an AdmissionReview or a 400, never a crash', async (t) => {
  const port = await listen(t);
  for (const [name, open, close] of [['maps', '{"a":', '}'], ['lists', '[', ']']] as const) {
    const deep = open.repeat(10_000) + '1' + close.repeat(10_000);
    const body = good.replace('"data":{"a":"b"}', `"data":{"a":"b"},"deep":${deep}`);
    const r = await post(port, [Buffer.from(body)], { 'content-length': Buffer.byteLength(body) });
    t.ok(r.status === 200 || r.status === 400, `${name}: ${r.status}`);
    if (r.status === 200) t.equal((JSON.parse(r.body) as { response: { uid: string } }).response.uid, 'good-1', `${name}: uid echoed`);
    await stillServes(t, port, name);
  }
});

t.test('50 MB strings: 413 over HTTP; review() answers with the uid', async (t) => {
  const port = await listen(t);
  const huge = 'x'.repeat(50 * 1024 * 1024);
  const body = good.replace('"a":"b"', `"a":"${huge}"`);
  const r = await post(port, [Buffer.from(body)], { 'content-length': Buffer.byteLength(body) });
  t.equal(r.status, 413, 'over HTTP: 413');
  await stillServes(t, port, '50 MB');
  const before = prototypeSnapshot();
  const res = review(JSON.parse(body) as JsonObject, policies, { route: 'mutate' });
  t.equal(res.statusCode, 200, 'review(): 200');
  t.equal((res.body as unknown as { response: { uid: string; allowed: boolean } }).response.uid, 'good-1', 'review(): uid');
  t.ok(prototypeUntouched(before), 'Object.prototype untouched');
});
