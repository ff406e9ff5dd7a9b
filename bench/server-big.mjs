/**
 * One bench server in its own process, so its CPU time, RSS and event-loop delay
 * are its own. `node bench/server.mjs floor|serve PORT [POLICY...]`:
 * - `floor`: a bare fastify HTTPS server that parses the AdmissionReview and
 *   answers `allowed: true` (the floor of the issue);
 * - `serve`: the real `kube-postrender serve` code path (`serveCommand`, with
 *   its logger) on 127.0.0.1:PORT with the given policy files
 *   (BENCH_MAX_EVALUATION_MS sets `--max-evaluation-ms`; BENCH_EVALUATION_WORKER=off
 *   sets `--evaluation-worker off`).
 * Talks to the parent over IPC: `{cmd: 'mark'}` starts a measurement window,
 * `{cmd: 'report'}` answers CPU µs, RSS and event-loop delay since the mark.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, portArg, ...policies] = process.argv.slice(2);
const port = Number(portArg);
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
let cpu0 = process.cpuUsage();

process.on('message', (m) => {
  if (m.cmd === 'mark') {
    cpu0 = process.cpuUsage();
    eld.reset();
    process.send({ cmd: 'marked' });
  } else if (m.cmd === 'report') {
    const c = process.cpuUsage(cpu0);
    process.send({
      cmd: 'report',
      cpuUs: c.user + c.system,
      rss: process.memoryUsage().rss,
      maxRss: process.resourceUsage().maxRSS * 1024,
      eldMaxMs: eld.max / 1e6,
      eldP99Ms: eld.percentile(99) / 1e6,
    });
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});

if (mode === 'floor') {
  const { default: Fastify } = await import('fastify');
  const { writeSelfSignedCertificate } = await import('../dist/server/start.js');
  const tls = await writeSelfSignedCertificate(mkdtempSync(join(tmpdir(), 'bench-floor-')));
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024, https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' } });
  app.post('/mutate', async (request) => {
    const { apiVersion, request: req } = request.body;
    return { apiVersion, kind: 'AdmissionReview', response: process.env.BIGRESP ? { uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: 'x'.repeat(940) } : { uid: req.uid, allowed: true } };
  });
  await app.listen({ host: '127.0.0.1', port });
  process.send({ cmd: 'ready' });
} else if (mode === 'serve') {
  const { serveCommand } = await import('../dist/cli/serve.js');
  // serve prints its address on stderr: wait for it, then report ready.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk, ...rest) => {
    if (String(chunk).includes('serving')) process.send({ cmd: 'ready' });
    return write(chunk, ...rest);
  };
  const worker = process.env.BENCH_EVALUATION_WORKER === 'off' ? { evaluationWorker: false } : {};
  // In-flight limits above the bench's 50 connections: the floor sheds nothing,
  // and a 429 is a cheap answer that would count as throughput (sessions 5 and
  // 6 first measured with serve's default of 32: a third of the answers were 429).
  const inFlight = { maxRequests: 1000, maxBytes: 1024 * 1024 * 1024 };
  void serveCommand({ config: policies, port, host: '127.0.0.1', inFlight, ...worker, ...(process.env.BENCH_MAX_EVALUATION_MS ? { maxEvaluationMs: Number(process.env.BENCH_MAX_EVALUATION_MS) } : {}) }).then((code) => process.exit(code));
} else {
  process.stderr.write(`unknown mode ${mode}\n${readFileSync(new URL(import.meta.url), 'utf8').split('\n')[1]}\n`);
  process.exit(2);
}
