/**
 * A single-connection, high-resolution latency client: one keep-alive TLS
 * connection (node:https, maxSockets 1), requests strictly one after another,
 * each timed with `process.hrtime.bigint()` from write to the last byte of the
 * response. autocannon's histogram has millisecond resolution; this one has
 * nanoseconds, which the p50/p99/p99.9 of a sub-millisecond webhook need.
 */
import https from 'node:https';

/** Sends one POST on `agent` and resolves with {ns, status, bytes}. */
function once(agent, url, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = https.request(url, { method: 'POST', agent, rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => resolve({ ns: Number(process.hrtime.bigint() - t0), status: res.statusCode, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** µs percentiles of `samples` (sorted in place) with the last response's size and the statuses seen. */
function summary(samples, bytes, statuses) {
  samples.sort((a, b) => a - b);
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    p999: percentile(samples, 99.9),
    max: samples[samples.length - 1],
    responseBytes: bytes,
    statuses: [...statuses],
  };
}

/**
 * Measures `count` sequential requests after `warmup` unmeasured ones, bounded
 * by `maxMs` of wall time. Returns µs percentiles, the response size and the
 * status codes seen.
 */
export async function measureLatency(url, body, { count = 2000, warmup = 200, maxMs = 10_000 } = {}) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const deadline = Date.now() + maxMs;
  for (let i = 0; i < warmup && Date.now() < deadline; i++) await once(agent, url, buf);
  const samples = [];
  const statuses = new Set();
  let bytes = 0;
  const end = Date.now() + maxMs;
  while (samples.length < count && Date.now() < end) {
    const r = await once(agent, url, buf);
    samples.push(r.ns / 1000);
    statuses.add(r.status);
    bytes = r.bytes;
  }
  agent.destroy();
  return summary(samples, bytes, statuses);
}

/**
 * measureLatency for two servers in the same minutes: one keep-alive
 * connection to each, requests strictly one at a time, alternating between
 * the two (A B, then B A, so neither always follows the other). A host stall
 * then lands in either server's samples alike, where two runs seconds apart
 * give one of them the stall: five rounds of one server alone ranged 243 to
 * 2,242 µs in p99 (session 15). Returns `[resultA, resultB]`, each as
 * measureLatency's; `count` requests each at most, bounded by `maxMs`.
 */
export async function measureLatencyPaired(urls, body, { count = 2000, warmup = 200, maxMs = 10_000 } = {}) {
  const agents = urls.map(() => new https.Agent({ keepAlive: true, maxSockets: 1 }));
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const deadline = Date.now() + maxMs;
  for (let i = 0; i < warmup && Date.now() < deadline; i++) for (let j = 0; j < urls.length; j++) await once(agents[j], urls[j], buf);
  const runs = urls.map(() => ({ samples: [], statuses: new Set(), bytes: 0 }));
  const end = Date.now() + maxMs;
  for (let i = 0; i < count && Date.now() < end; i++) {
    for (let k = 0; k < urls.length; k++) {
      const j = i % 2 ? urls.length - 1 - k : k;
      const r = await once(agents[j], urls[j], buf);
      runs[j].samples.push(r.ns / 1000);
      runs[j].statuses.add(r.status);
      runs[j].bytes = r.bytes;
    }
  }
  for (const a of agents) a.destroy();
  return runs.map((r) => summary(r.samples, r.bytes, r.statuses));
}
