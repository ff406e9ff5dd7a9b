/**
 * CEL bombs against a running `serve` (issue 13): while two connections send
 * AdmissionReviews of a 1 MiB ConfigMap that bench/policies/cel-bombs.yaml
 * turns into expensive CEL (all() over split(''), a matches() loop over
 * split('x'), a join of split(''): the quadratic forms are refused at load by
 * the static cost estimate), a third connection polls GET /healthz one request
 * after another. Prints healthz p50/p99/max (ms) and the reviews' latencies and
 * statuses. Bounded: BOMB_SECONDS (default 10) of load, then everything stops.
 * Usage: npm run build && node bench/cel-bombs.mjs
 * Pin the server and this client to different cores when possible:
 *   taskset -c 1 node bench/cel-bombs.mjs   (the server is pinned to core 0)
 */
import https from 'node:https';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

const seconds = Number(process.env.BOMB_SECONDS ?? 10);
const port = 18443 + Math.floor(Math.random() * 1000);
const server = fork(new URL('./server.mjs', import.meta.url), ['serve', String(port), new URL('./policies/cel-bombs.yaml', import.meta.url).pathname], {
  execArgv: [],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
try {
  const { execFileSync } = await import('node:child_process');
  execFileSync('taskset', ['-pc', '0', String(server.pid)], { stdio: 'ignore' });
} catch {
  // taskset missing: run unpinned
}
await new Promise((resolve, reject) => {
  server.on('message', (m) => m.cmd === 'ready' && resolve());
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});

const template = JSON.parse(readFileSync(new URL('../examples/admission-review.json', import.meta.url), 'utf8'));
const big = 'x'.repeat(1024 * 1024 - 64);
const review = {
  ...template,
  request: {
    ...template.request,
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
    requestResource: { group: '', version: 'v1', resource: 'configmaps' },
    name: 'bomb',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bomb', namespace: template.request.namespace }, data: { big } },
    oldObject: null,
  },
};
const body = Buffer.from(JSON.stringify(review));

function request(agent, method, path, payload) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = https.request({ host: '127.0.0.1', port, path, method, agent, rejectUnauthorized: false, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode }));
    });
    req.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: 0 }));
    req.setTimeout(15_000, () => req.destroy());
    req.end(payload);
  });
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const end = Date.now() + seconds * 1000;
const reviews = [];
const health = [];
async function bomber() {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  while (Date.now() < end) reviews.push(await request(agent, 'POST', '/mutate', body));
  agent.destroy();
}
async function prober() {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  while (Date.now() < end) {
    health.push(await request(agent, 'GET', '/healthz'));
    await new Promise((r) => setTimeout(r, 5));
  }
  agent.destroy();
}
await Promise.all([bomber(), bomber(), prober()]);
server.send({ cmd: 'exit' });

const h = health.map((x) => x.ms).sort((a, b) => a - b);
const r = reviews.map((x) => x.ms).sort((a, b) => a - b);
const statuses = {};
for (const x of reviews) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
console.log(JSON.stringify({
  seconds,
  healthz: { n: h.length, p50Ms: +pct(h, 50).toFixed(2), p99Ms: +pct(h, 99).toFixed(2), maxMs: +h[h.length - 1].toFixed(2) },
  bombReviews: { n: r.length, p50Ms: +pct(r, 50).toFixed(1), p99Ms: +pct(r, 99).toFixed(1), maxMs: +r[r.length - 1].toFixed(1), statuses },
}, null, 2));
