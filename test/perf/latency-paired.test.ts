/**
 * The bench's paired latency client (bench/latency.mjs measureLatencyPaired),
 * without timing: two HTTPS servers, one keep-alive connection to each,
 * requests strictly one at a time and alternating A B, B A; each server's
 * result counts its own requests, statuses and response size.
 */
import t from 'tap';
import { createServer, type Server } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { writeSelfSignedCertificate } from '../../src/server/start.js';
// @ts-expect-error: the bench is plain JavaScript without declarations
import { measureLatencyPaired } from '../../bench/latency.mjs';

interface LatencyResult { n: number; p50: number; p99: number; p999: number; max: number; responseBytes: number; statuses: number[] }

const tls = await writeSelfSignedCertificate(mkdtempSync(join(tmpdir(), 'latency-paired-')));
/** The order requests reached the servers in ('a' or 'b'), and the sockets each saw. */
const arrivals: string[] = [];
const sockets = { a: new Set<unknown>(), b: new Set<unknown>() };

function server(name: 'a' | 'b', status: number, answer: string): Promise<{ srv: Server; url: string }> {
  const srv = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    sockets[name].add(req.socket);
    req.resume();
    req.on('end', () => {
      arrivals.push(name);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `https://127.0.0.1:${(srv.address() as AddressInfo).port}/mutate` })));
}

const a = await server('a', 200, '{"a":1}');
const b = await server('b', 201, '{"bb":22}');
t.teardown(() => {
  a.srv.close();
  b.srv.close();
});

const [ra, rb] = (await measureLatencyPaired([a.url, b.url], Buffer.from('{}'), { count: 6, warmup: 2, maxMs: 10_000 })) as LatencyResult[];

t.test('each server gets count requests of its own, after the warm-up', async (t) => {
  t.equal(ra?.n, 6);
  t.equal(rb?.n, 6);
  t.equal(arrivals.length, 2 * (2 + 6), 'warm-up and measured requests, nothing else');
});

t.test('measured requests alternate A B, then B A', async (t) => {
  t.same(arrivals.slice(4), ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
});

t.test('one keep-alive connection per server', async (t) => {
  t.equal(sockets.a.size, 1);
  t.equal(sockets.b.size, 1);
});

t.test('each result is its own server\'s: statuses, response size, ordered percentiles', async (t) => {
  t.same(ra?.statuses, [200]);
  t.same(rb?.statuses, [201]);
  t.equal(ra?.responseBytes, 7);
  t.equal(rb?.responseBytes, 9);
  for (const r of [ra, rb] as LatencyResult[]) {
    t.ok(r.p50 > 0 && r.p50 <= r.p99 && r.p99 <= r.p999 && r.p999 <= r.max, 'p50 <= p99 <= p99.9 <= max');
  }
});
