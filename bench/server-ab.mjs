/**
 * Two or more builds of the webhook server side by side, with a fresh process
 * of each every round: the A/B for a change of a few per cent at the server.
 * `npm run build && node bench/server-ab.mjs [--policy chain10] [--rounds 12]
 * [--seconds 5] [--warmup 8] [--floor] OTHER_CHECKOUT...` (this checkout
 * first; each checkout with `dist/` built).
 *
 * Every round starts one server per build (`bench/server.mjs serve` of that
 * checkout, with `bench/policies/POLICY.yaml` or, for `platform`,
 * examples/platform-policy.yaml; `--floor` adds the bare fastify floor), all
 * pinned to CPU 0 with `taskset` (bench-servers.mjs PIN) and loaded at once from this process on CPU 1
 * (25 keep-alive connections each, the bench's Pod review), warms them for
 * `--warmup` seconds, then counts their requests and CPU over `--seconds`. It
 * prints per build the median of the per-round ratios to the first build,
 * their range, how many rounds came out above 1, and the CPU µs per request.
 *
 * Why fresh processes: two processes of one build differ by up to ~15 % in
 * CPU per request for their whole life (docs/performance.md, session 16, "the
 * process lottery"), so servers started once compare two draws, whatever the
 * number of rounds (session 20: a build reading the clock 8 times less read
 * 1.025x and 0.997x in two such runs of 20 rounds, and 0.997x with fresh
 * processes). Why side by side: this VM's speed drifts ~10 % from minute to
 * minute, which runs taken one after the other mistake for the change.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { PIN, pin, startBenchServer } from './bench-servers.mjs';
import { admissionReview, podObject } from './corpus.mjs';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    policy: { type: 'string', default: 'chain10' },
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '8' },
    floor: { type: 'boolean', default: false },
  },
});
const roots = [here, ...positionals.map((p) => resolve(p))];
const rounds = Number(opts.rounds);
const payload = Buffer.from(JSON.stringify(admissionReview(podObject())));
const CONNECTIONS = 25;

/** The policy files of `--policy` in checkout `root`. */
function policyFiles(root) {
  return opts.policy === 'platform' ? [join(root, 'examples/platform-policy.yaml')] : [join(root, 'bench/policies', `${opts.policy}.yaml`)];
}

const load = (server, seconds) => autocannon({ url: server.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, connections: CONNECTIONS, duration: seconds, timeout: 10 });

pin(process.pid, 1);
const entries = [...roots.map((root) => ({ name: root, root, mode: 'serve' })), ...(opts.floor ? [{ name: 'floor', root: here, mode: 'floor' }] : [])];
for (const e of entries) Object.assign(e, { ratios: [], cpu: [] });
process.stderr.write(`${opts.policy}: ${rounds} rounds of ${opts.seconds} s (warm-up ${opts.warmup} s), ${entries.length} servers side by side${PIN ? ' on CPU 0, load on CPU 1' : ' (not pinned: taskset missing, 1 CPU or BENCH_PIN=0)'}\n`);
for (let round = 0; round < rounds; round++) {
  // Start order flipped every round: no build always starts first.
  const order = round % 2 ? [...entries].reverse() : entries;
  const servers = new Map();
  try {
    for (const e of order) servers.set(e, await startBenchServer(e.mode, e.mode === 'serve' ? policyFiles(e.root) : [], e.root));
    await Promise.all(entries.map((e) => load(servers.get(e), Number(opts.warmup))));
    await Promise.all(entries.map((e) => servers.get(e).call('mark')));
    const runs = await Promise.all(entries.map((e) => load(servers.get(e), Number(opts.seconds))));
    const reports = await Promise.all(entries.map((e) => servers.get(e).call('report')));
    const bad = runs.find((r) => r.non2xx > 0 || r.errors > 0);
    if (bad) throw new Error(`round ${round + 1}: ${bad.non2xx} non-2xx answers, ${bad.errors} errors`);
    entries.forEach((e, i) => {
      e.ratios.push(runs[i].requests.total / runs[0].requests.total);
      e.cpu.push(reports[i].cpuUs / runs[i].requests.total);
    });
    process.stderr.write(`round ${round + 1}: ${runs.map((r) => r.requests.total).join(' ')} requests\n`);
  } finally {
    for (const s of servers.values()) s.kill();
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const e of entries) {
  const above = e.ratios.filter((x) => x > 1).length;
  console.log(`${e.name}: x first ${median(e.ratios).toFixed(3)} (rounds ${Math.min(...e.ratios).toFixed(3)}-${Math.max(...e.ratios).toFixed(3)}, ${above}/${rounds} above 1), CPU ${median(e.cpu).toFixed(1)} µs/request`);
}
