#!/usr/bin/env node
// Bounded memory under a flood of maximum-size reviews (issue 16). Not a test:
// numbers depend on the machine. Run after `npm run build`:
//
//   node bench/limits.mjs [--concurrency 30] [--mib 7] [--rounds 3] [--limit-mib 256] [-- SERVE-FLAGS]
//   (e.g. `-- --max-in-flight-bytes 1000 --max-in-flight 1000`: the limits off, for comparison)
//
// Starts `serve` (self-signed, examples/platform-policy.yaml, the default
// in-flight limits) pinned to CPU 0 when taskset exists, sends `concurrency`
// AdmissionReviews of just under `mib` MiB at once (a ConfigMap with one
// large value), `rounds` times, and reports: every answer's status (each must
// be 200 or 429), the server's peak RSS (VmHWM from /proc) against
// `--limit-mib` (the chart's memory limit), and that it still answers
// /healthz. Exit 1 when an answer is neither 200 nor 429, the server died, or
// peak RSS reached the limit.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const concurrency = arg('concurrency', 30);
const mib = arg('mib', 7);
const rounds = arg('rounds', 3);
const limitMiB = arg('limit-mib', 256);
const port = 18443 + Math.floor(Math.random() * 1000);

const taskset = spawnSync('taskset', ['--version']).status === 0;
const cmd = [join(root, 'dist/cli/main.js'), 'serve', '-c', join(root, 'examples/platform-policy.yaml'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...(process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [])];
const server = taskset ? spawn('taskset', ['-c', '0', process.execPath, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(process.execPath, cmd, { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
server.stderr.on('data', (d) => (stderr += d));
const pid = () => {
  if (!taskset) return server.pid;
  return server.pid; // taskset execs node in place: same pid
};

const rss = () => {
  try {
    const s = readFileSync(`/proc/${pid()}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
};

function post(path, body) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: path === '/healthz' ? 'GET' : 'POST', rejectUnauthorized: false, agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', (e) => resolve({ status: `error ${e.code ?? e.message}` }));
    req.end(body);
  });
}

async function waitReady() {
  for (let i = 0; i < 200; i++) {
    const r = await post('/healthz');
    if (r.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start: ${stderr}`);
}

const review = (uid) => {
  const base = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, operation: 'CREATE', namespace: 'team-a', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: uid, namespace: 'team-a' }, data: { big: '' } } } });
  return base.replace('"big":""', `"big":"${'x'.repeat(mib * 1024 * 1024 - base.length - 16)}"`);
};

await waitReady();
const idle = rss();
const counts = {};
let peak = idle.hwm;
const sampler = setInterval(() => (peak = Math.max(peak, rss().hwm)), 50);
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  const bodies = Array.from({ length: concurrency }, (_, i) => review(`u-${r}-${i}`));
  const answers = await Promise.all(bodies.map((b) => post('/mutate?timeout=10s', b)));
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
}
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
const end = rss();
peak = Math.max(peak, end.hwm);
const alive = (await post('/healthz')).status === 200;
server.kill('SIGINT');
const bad = Object.keys(counts).filter((k) => k !== '200' && k !== '429');
const result = {
  concurrency, mib, rounds, seconds: Number(seconds.toFixed(1)),
  answers: counts,
  rssMiB: { idle: Math.round(idle.rss), peak: Math.round(peak), end: Math.round(end.rss) },
  limitMiB, underLimit: peak < limitMiB, alive, pinned: taskset,
};
console.log(JSON.stringify(result, null, 2));
process.exitCode = bad.length > 0 || !alive || peak >= limitMiB ? 1 : 0;
