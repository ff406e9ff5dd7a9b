import t from 'tap';
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/server/app.js';
import type { PolicySet } from '../../src/policy/types.js';
import { fakePolicies } from '../admission/fake-policies.js';

const recorded = JSON.parse(readFileSync(new URL('../data/admission/recorded/', import.meta.url).pathname + '124-mutate-Pod-CREATE-bare.json', 'utf8')) as {
  review: { request: { uid: string } };
};
const good = JSON.stringify(recorded.review);

t.test('transport errors, each followed by a good request', async (t) => {
  const app = buildApp({ getPolicies: () => fakePolicies() });
  t.teardown(() => app.close());
  const big = `{"x":"${'a'.repeat(20 * 1024 * 1024)}"}`;
  const rows: { name: string; headers: Record<string, string>; payload: string; status: number; code: string }[] = [
    { name: 'unparseable JSON', headers: { 'content-type': 'application/json' }, payload: '{"apiVersion": ', status: 400, code: 'ERR_INVALID_JSON' },
    { name: 'JSON quoting the body in its error', headers: { 'content-type': 'application/json' }, payload: 'secret-value', status: 400, code: 'ERR_INVALID_JSON' },
    { name: 'empty JSON body', headers: { 'content-type': 'application/json' }, payload: '', status: 400, code: 'ERR_INVALID_JSON' },
    { name: 'text/plain', headers: { 'content-type': 'text/plain' }, payload: good, status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'application/yaml', headers: { 'content-type': 'application/yaml' }, payload: 'a: 1', status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'not an AdmissionReview', headers: { 'content-type': 'application/json' }, payload: '{"kind":"Pod"}', status: 400, code: 'ERR_API_VERSION' },
    { name: 'missing uid', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ ...recorded.review, request: { ...recorded.review.request, uid: undefined } }), status: 400, code: 'ERR_NO_UID' },
    { name: '20 MB body', headers: { 'content-type': 'application/json' }, payload: big, status: 413, code: 'ERR_BODY_TOO_LARGE' },
  ];
  for (const row of rows) {
    for (const url of ['/mutate?timeout=5s', '/validate']) {
      const res = await app.inject({ method: 'POST', url, headers: row.headers, payload: row.payload });
      t.equal(res.statusCode, row.status, `${row.name} ${url}: ${row.status}`);
      t.equal(res.json().code, row.code, `${row.name}: code`);
      t.notMatch(res.body, /secret-value/, `${row.name}: body not quoted`);
      const next = await app.inject({ method: 'POST', url: '/mutate?timeout=5s', headers: { 'content-type': 'application/json' }, payload: good });
      t.equal(next.statusCode, 200, `${row.name}: next good request served`);
      t.equal(next.json().response.uid, recorded.review.request.uid);
    }
  }
});

t.test('well-formed reviews get 200', async (t) => {
  const app = buildApp({ getPolicies: () => fakePolicies() });
  t.teardown(() => app.close());
  const m = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: good });
  t.equal(m.statusCode, 200);
  t.equal(m.json().response.patchType, 'JSONPatch');
  t.match(m.headers['content-type'], /application\/json/);
  const v = await app.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(v.statusCode, 200);
  t.notOk(v.json().response.patch, '/validate: no patch');
  const thrower = buildApp({ getPolicies: () => fakePolicies({ throws: new Error('boom') }) });
  t.teardown(() => thrower.close());
  const e = await thrower.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(e.statusCode, 200, 'an evaluation error is not an HTTP 500');
  t.equal(e.json().response.status.code, 500);
  t.equal(e.json().response.uid, recorded.review.request.uid);
});

t.test('bodyLimit option', async (t) => {
  const app = buildApp({ getPolicies: () => fakePolicies(), bodyLimit: 1024 });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(res.statusCode, 413);
});

t.test('health and readiness', async (t) => {
  let policies: PolicySet | undefined;
  const app = buildApp({ getPolicies: () => policies });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive before load');
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'not ready before load');
  const early = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(early.statusCode, 503, 'reviews before load: 503 (API server applies failurePolicy)');
  policies = fakePolicies();
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready after load');
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive after load');
  const later = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(later.statusCode, 200);
});

t.test('namespace labels are passed to review', async (t) => {
  const fake = fakePolicies();
  const app = buildApp({ getPolicies: () => fake, namespaceLabels: () => ({ team: 'a' }) });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(res.statusCode, 200);
  t.equal(fake.calls.length, 1, 'evaluated once');
  t.same(fake.calls[0].input.namespaceLabels, { team: 'a' });
});

t.test("the worker's deadlines are epoch ms of the request's start, with the default clock and an injected one", async (t) => {
  // The default clock (performance.now) maps to epoch ms by performance.timeOrigin without a second reading;
  // an injected clock's readings are not epoch-related, so the epoch is read (epochNow).
  const rows: { name: string; now?: () => number }[] = [
    { name: 'default clock' },
    { name: 'injected clock', now: () => 42 },
  ];
  for (const row of rows) {
    const seen: { apiDeadline?: number; cutoffAt: number }[] = [];
    const app = buildApp({
      getPolicies: () => fakePolicies(),
      inlineBodyLimit: 0,
      maxEvaluationMs: 50,
      ...(row.now ? { now: row.now } : {}),
      evaluationWorker: { usable: true, review: async (r) => (seen.push({ apiDeadline: r.apiDeadline, cutoffAt: r.cutoffAt }), { answered: false as const, reason: 'cutoff' as const }) },
    });
    const before = Date.now();
    const res = await app.inject({ method: 'POST', url: '/mutate?timeout=5s', headers: { 'content-type': 'application/json' }, payload: good });
    const after = Date.now();
    await app.close();
    t.equal(res.statusCode, 500, `${row.name}: the stub worker cut off`);
    const [got] = seen;
    // Epoch ms of the start plus the budget (4 s of 5 s; 50 ms + 1 s grace for the cutoff), give or take the
    // difference between the monotonic and the wall clock (a few ms; a clock not in epoch ms is ~1.7e12 off).
    t.ok(got.apiDeadline !== undefined && got.apiDeadline >= before + 4000 - 1000 && got.apiDeadline <= after + 4000 + 1000, `${row.name}: apiDeadline`);
    t.ok(got.cutoffAt >= before + 1050 - 1000 && got.cutoffAt <= after + 1050 + 1000, `${row.name}: cutoffAt`);
  }
});

t.test("the app's own logger: its lines and fastify's listen line, and no per-response listeners from fastify", async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } });
  const app = buildApp({ getPolicies: () => fakePolicies(), logger: { level: 'debug', stream } });
  // A response's `finish`/`error` listeners: fastify adds one of each when it has a logger or an onResponse hook.
  const probe = (_request: unknown, reply: { raw: { listenerCount: (e: string) => number } }): number[] => [reply.raw.listenerCount('finish'), reply.raw.listenerCount('error')];
  app.get('/probe', probe);
  const bare = Fastify({ logger: false });
  bare.get('/probe', probe);
  const [ours, floor] = [await app.inject({ method: 'GET', url: '/probe' }), await bare.inject({ method: 'GET', url: '/probe' })];
  t.same(ours.json(), floor.json(), `the same listeners as a bare fastify app (${ours.body})`);
  await bare.close();

  const ok = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  t.equal(ok.statusCode, 200);
  const bad = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: '{"apiVersion": ' });
  t.equal(bad.statusCode, 400);
  app.log.info({ n: 1 }, 'through app.log');
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.close();
  const msgs = lines.map((l) => l.msg);
  t.match(lines.find((l) => l.msg === 'admission'), { level: 20, uid: recorded.review.request.uid, route: 'mutate', result: 'patched' }, 'the debug line of an admission');
  t.match(lines.find((l) => l.msg === 'request rejected'), { level: 20, statusCode: 400, code: 'ERR_INVALID_JSON' }, "the error handler's line");
  t.match(lines.find((l) => l.msg === 'through app.log'), { level: 30, n: 1 }, 'app.log is the logger');
  t.ok(msgs.some((m) => typeof m === 'string' && m.startsWith('Server listening at http://127.0.0.1:')), "fastify's listen line");
  for (const l of lines) t.match(l, { level: Number, time: Number, pid: Number, hostname: String, msg: String }, `pino's fields: ${String(l.msg)}`);

  const quiet: string[] = [];
  const info = buildApp({ getPolicies: () => fakePolicies(), logger: { stream: new Writable({ write(chunk, _enc, cb) { quiet.push(String(chunk)); cb(); } }) } });
  await info.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
  await info.close();
  t.same(quiet, [], 'level info by default: no debug lines');
});

t.test('a review that outlasted the slice on the clock but that no deadline check stopped is answered on the event loop', async (t) => {
  // The process preempted past the slice cuts nothing: the evaluation is the one the whole deadline gives, and doing
  // it again in the worker would only double its work (the fake set checks no deadline: Evaluation.deadlineHit false).
  // One the slice stopped (deadlineHit) goes to the worker: test/server/evaluation-worker.test.ts, 'size and slice'.
  const rows: { name: string; deadlineHit: boolean; worker: number; status: number }[] = [
    { name: 'not stopped', deadlineHit: false, worker: 0, status: 200 },
    { name: 'stopped at the slice', deadlineHit: true, worker: 1, status: 500 },
  ];
  for (const row of rows) {
    let calls = 0;
    let ms = 0;
    const fake = fakePolicies();
    const evaluate = fake.evaluate.bind(fake);
    const app = buildApp({
      getPolicies: () => ({ ...fake, evaluate: (o, i) => ({ ...evaluate(o, i), deadlineHit: row.deadlineHit }) }),
      now: () => (ms += 1000), // 1 s a reading: every review outlasts the 10 ms slice
      evaluationWorker: { usable: true, review: () => (calls++, Promise.resolve({ answered: false as const, reason: 'cutoff' as const })) },
    });
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
    await app.close();
    t.equal(res.statusCode, row.status, `${row.name}: ${row.status}`);
    t.equal(calls, row.worker, `${row.name}: ${row.worker ? 'again in the worker' : 'answered on the event loop'}`);
  }
});

t.test('a review on the event loop reads the clock at its start and once at its end (the latency)', async (t) => {
  const rows: { name: string; worker: boolean; reads: number }[] = [
    { name: 'with a usable worker', worker: true, reads: 2 },
    { name: 'without a worker', worker: false, reads: 2 },
  ];
  for (const row of rows) {
    let clock = 0;
    const app = buildApp({
      getPolicies: () => fakePolicies(),
      // Each reading advances the clock by 1 ms: the latency recorded is the number of readings in between.
      now: () => ++clock,
      ...(row.worker ? { evaluationWorker: { usable: true, review: () => Promise.reject(new Error('not used')) } } : {}),
    });
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
    t.equal(res.statusCode, 200, `${row.name}: 200`);
    t.equal(clock, row.reads, `${row.name}: ${row.reads} readings`);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    t.match(metrics.body, /admission_duration_seconds_sum\{route="mutate"\} 0\.001\n/, `${row.name}: latency from the start to the review's end (1 ms)`);
    await app.close();
  }
});

t.test('answers on the event loop are sent before the handler returns: fastify gets no promise, and resolves no reply as a thenable', async (t) => {
  // An async handler's promise resolved with the reply makes fastify call `reply.then` (thenable adoption), a microtask
  // more per request. Counted on every reply: none for answers on the event loop, refusals and a 400 from the review;
  // one for the worker's answer, which the handler awaits.
  const rows: { name: string; payload: string; opts?: Partial<Parameters<typeof buildApp>[0]>; status: number; thenCalls: number }[] = [
    { name: 'an answer on the event loop', payload: good, status: 200, thenCalls: 0 },
    { name: 'an answer on the event loop, with a usable worker', payload: good, opts: { evaluationWorker: { usable: true, review: () => Promise.reject(new Error('not used')) } }, status: 200, thenCalls: 0 },
    { name: 'not an AdmissionReview (400 from the review)', payload: '{"kind":"Pod"}', status: 400, thenCalls: 0 },
    { name: 'no policies yet (503)', payload: good, opts: { getPolicies: () => undefined }, status: 503, thenCalls: 0 },
    {
      name: 'an answer from the worker',
      payload: good,
      opts: { inlineBodyLimit: 0, evaluationWorker: { usable: true, review: async () => ({ answered: false as const, reason: 'cutoff' as const }) } },
      status: 500,
      thenCalls: 1,
    },
  ];
  for (const row of rows) {
    const app = buildApp({ getPolicies: () => fakePolicies(), ...row.opts });
    let thenCalls = 0;
    app.addHook('onRequest', (_request, reply, done) => {
      const then = reply.then.bind(reply);
      reply.then = ((fulfilled: () => void, rejected: (err: Error) => void) => (thenCalls++, then(fulfilled, rejected))) as typeof reply.then;
      done();
    });
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: row.payload });
    await app.close();
    t.equal(res.statusCode, row.status, `${row.name}: ${row.status}`);
    t.equal(thenCalls, row.thenCalls, `${row.name}: reply.then called ${row.thenCalls} times`);
  }
});

t.test("the admission debug line follows the logger's level when it changes at run time", async (t) => {
  const lines: string[] = [];
  const app = buildApp({ getPolicies: () => fakePolicies(), logger: { level: 'info', stream: new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }) } });
  t.teardown(() => app.close());
  const admissions = async (): Promise<number> => {
    const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: good });
    t.equal(res.statusCode, 200);
    return lines.filter((l) => (JSON.parse(l) as { msg?: string }).msg === 'admission').length;
  };
  const steps: [string, number][] = [['info', 0], ['debug', 1], ['warn', 1], ['trace', 2], ['info', 2], ['debug', 3]];
  for (const [level, want] of steps) {
    app.log.level = level;
    t.equal(await admissions(), want, `level ${level}: ${want} admission lines so far`);
  }
});
