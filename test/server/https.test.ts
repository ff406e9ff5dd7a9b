import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { startServer } from '../../src/server/start.js';
import { fakePolicies } from '../admission/fake-policies.js';

const recorded = JSON.parse(readFileSync(new URL('../data/admission/recorded/', import.meta.url).pathname + '104-mutate-Pod-CREATE-loadgenerator-7748cb8cf4-x.json', 'utf8')) as {
  review: { request: { uid: string } };
};

function post(url: string, ca: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mutate?timeout=5s`, {
      method: 'POST', ca,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Error code of a TLS 1.0/1.1-only handshake ('' if it connects). */
function tls11ErrorCode(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
      c.end();
      resolve('');
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'unknown'));
  });
}

t.test('HTTPS with a generated self-signed certificate', async (t) => {
  const dir = t.testdir({});
  const server = await startServer({ host: '127.0.0.1', port: 0, certDir: dir, getPolicies: () => fakePolicies() });
  let stopped = false;
  t.teardown(async () => { if (!stopped) await server.stop(); });
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.ok(server.generated);
  t.equal(statSync(server.keyFile).mode & 0o777, 0o600, 'key file is 0600');
  const ca = readFileSync(server.certFile, 'utf8');
  const res = await post(server.url, ca, JSON.stringify(recorded.review));
  t.equal(res.status, 200);
  const out = JSON.parse(res.body);
  t.equal(out.response.uid, recorded.review.request.uid, 'uid echoed over TLS');
  t.equal(out.response.patchType, 'JSONPatch');
  t.equal(await tls11ErrorCode(Number(new URL(server.url).port)), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'TLS 1.1 refused by the server');
  await server.stop();
  stopped = true;
  await t.rejects(post(server.url, ca, '{}'), 'closed after stop');
});

t.test('HTTPS with given certificate files', async (t) => {
  const dir = t.testdir({});
  const first = await startServer({ host: '127.0.0.1', port: 0, certDir: dir, getPolicies: () => fakePolicies() });
  await first.stop();
  const server = await startServer({
    host: '127.0.0.1', port: 0, tls: { certFile: first.certFile, keyFile: first.keyFile }, getPolicies: () => fakePolicies(),
  });
  t.teardown(() => server.stop());
  t.notOk(server.generated);
  t.equal(server.certFile, first.certFile);
  const res = await post(server.url, readFileSync(first.certFile, 'utf8'), JSON.stringify(recorded.review));
  t.equal(res.status, 200);
});
