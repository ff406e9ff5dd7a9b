#!/usr/bin/env node
/**
 * Bounded soak of the webhook on loopback (issue 8): starts `kube-postrender
 * serve` (the built CLI, self-signed TLS on 127.0.0.1) as a child process,
 * sends AdmissionReviews at a steady rate over keep-alive HTTPS for
 * `--seconds N` (default 300), and, when the server reloads policy files,
 * rewrites the policy file every second during the load. Then SIGTERM, and a
 * report: requests sent, failed (must be 0), p50/p99 latency, server RSS at
 * start/end/max, reloads observed. Exits 1 when any request failed.
 *
 * Usage: npm run soak [-- --seconds 60 --rate 200 --concurrency 8]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 300);
const RATE = opt('rate', 200); // requests per second
const CONCURRENCY = opt('concurrency', 8);
const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/main.js');

/** The policy file content; `gen` changes a label value so a reload is visible in the patches. */
function policy(gen) {
  return `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: soak}
spec:
  failurePolicy: Fail
  transformers:
  - labels: {pairs: {soak.example.com/generation: "g${gen}"}}
  - annotations: {soak.example.com/owner: platform}
  - images: [{name: nginx, newName: registry.example.com/nginx, newTag: "1.27"}]
  - patch:
      target: {group: apps, kind: Deployment}
      patch: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: any}
        spec:
          template:
            spec:
              securityContext: {runAsNonRoot: true}
  - validate: {expression: "object.metadata.name.size() < 64", message: name too long, action: Deny}
`;
}

function deployment(i) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `web-${i % 50}`, namespace: 'team-a', labels: { app: 'web' } },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25', env: Array.from({ length: 10 }, (_, k) => ({ name: `E${k}`, value: `v${k}` })) }] } },
    },
  };
}

function review(i) {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: `soak-${i}`, kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: `web-${i % 50}`, namespace: 'team-a', operation: 'CREATE', userInfo: { username: 'soak' }, object: deployment(i) },
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, rejectUnauthorized: false });

function post(port, body) {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = https.request({ host: '127.0.0.1', port, path: '/mutate?timeout=10s', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, data, ms: performance.now() - start }));
    });
    req.on('error', (e) => resolve({ status: 0, data: String(e.code ?? e.message), ms: performance.now() - start }));
    req.end(body);
  });
}

async function waitReady(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('serve did not become ready');
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'kpr-soak-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, policy(0));
  // File reload exists when the built serve command uses the file policy source.
  const serveJs = join(ROOT, 'dist/cli/serve.js');
  const reloadSupported = existsSync(serveJs) && readFileSync(serveJs, 'utf8').includes('FilePolicySource');
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '-c', dir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  await waitReady(port, child);
  for (let i = 0; i < 200; i++) await post(port, review(i)); // warm-up
  const rssStart = rssKiB(child.pid);
  let rssMax = rssStart;
  console.log(`soak: ${SECONDS}s at ${RATE} req/s, concurrency ${CONCURRENCY}, server pid ${child.pid} on 127.0.0.1:${port}`);
  if (!reloadSupported) console.log('soak: note: the server has no policy file reload; skipping the reload-every-second phase');

  const latencies = [];
  const failures = new Map();
  const generations = new Set();
  let sent = 0;
  let inFlight = 0;
  let gen = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const reloader = reloadSupported ? setInterval(() => writeFileSync(policyFile, policy(++gen)), 1000) : undefined;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssKiB(child.pid))), 1000);
  const intervalMs = 1000 / RATE;
  let next = performance.now();
  while (performance.now() < deadline) {
    if (inFlight >= CONCURRENCY * 4) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    const i = sent++;
    inFlight++;
    post(port, review(i)).then((r) => {
      inFlight--;
      latencies.push(r.ms);
      let reason = '';
      if (r.status !== 200) reason = `status ${r.status}: ${r.data.slice(0, 80)}`;
      else {
        try {
          const resp = JSON.parse(r.data).response;
          if (resp.uid !== `soak-${i}`) reason = 'uid mismatch';
          else if (resp.allowed !== true) reason = `denied: ${resp.status?.message}`;
          else if (!resp.patch) reason = 'no patch';
          else {
            const m = /"g(\d+)"/.exec(Buffer.from(resp.patch, 'base64').toString('utf8'));
            if (m) generations.add(m[1]);
          }
        } catch (e) {
          reason = `bad body: ${e.message}`;
        }
      }
      if (reason) failures.set(reason, (failures.get(reason) ?? 0) + 1);
    });
    next += intervalMs;
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  clearInterval(sampler);
  if (reloader) clearInterval(reloader);
  const rssEnd = rssKiB(child.pid);
  rssMax = Math.max(rssMax, rssEnd);
  agent.destroy();
  child.kill('SIGTERM');
  const exitCode = await new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));

  latencies.sort((a, b) => a - b);
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  console.log(`requests sent: ${sent}`);
  console.log(`failed: ${failed}${failed ? ' ' + JSON.stringify(Object.fromEntries(failures)) : ''}`);
  console.log(`latency ms: p50 ${percentile(latencies, 50).toFixed(2)}, p99 ${percentile(latencies, 99).toFixed(2)}, max ${latencies.at(-1)?.toFixed(2)}`);
  console.log(`server RSS MiB: start ${(rssStart / 1024).toFixed(1)}, end ${(rssEnd / 1024).toFixed(1)}, max ${(rssMax / 1024).toFixed(1)}`);
  if (reloadSupported) console.log(`policy reloads: ${gen} file rewrites, ${generations.size} distinct generations seen in patches`);
  console.log(`SIGTERM: server exited with ${exitCode}`);
  if (failed > 0 || exitCode !== 0) {
    if (stderr) console.log(`server stderr (tail):\n${stderr}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`soak: ${e.message}`);
  process.exitCode = 2;
});
