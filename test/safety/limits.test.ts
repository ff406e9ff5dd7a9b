/**
 * Bounded input (issue 16): the nesting-depth limit answers 400 ERR_TOO_DEEP
 * before any policy runs (never a rule's denial), the body limit is 7 MiB
 * (413), and admission requests past the in-flight limits (count, bytes) get
 * 429 with Retry-After while probes stay open.
 */
import t from 'tap';
import Fastify from 'fastify';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { buildApp, DEFAULT_BODY_LIMIT } from '../../src/server/app.js';
import { installInFlightLimit } from '../../src/server/limits.js';
import type { EvaluationWorker } from '../../src/server/evaluation-pool.js';
import { MAX_NESTING_DEPTH, nestingDepth } from '../../src/admission/parse.js';
import { review } from '../../src/admission/review.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, policySetFromYaml } from '../fuzz/helpers.js';

const POLICY = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: mirror-images}
spec:
  transformers:
  - labels: {pairs: {seen: "yes"}}
  - validate: {expression: "object.metadata.name != ''", message: m}
`;
const set = policySetFromYaml(POLICY);

/** A ConfigMap whose data nests `depth` levels below `data` (object depth = depth + 2... see nestingDepth). */
function deep(levels: number): JsonObject {
  let v: JsonObject = {};
  for (let i = 0; i < levels; i++) v = { a: v };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: v };
}

t.test('nestingDepth: exact up to the limit, limit + 1 past it, at any depth', async (t) => {
  const rows: [string, unknown, number][] = [['scalar', 1, 0], ['empty map', {}, 1], ['list of map', [{}], 2], ['map in map', { a: { b: 1 } }, 2]];
  for (const [name, v, d] of rows) t.equal(nestingDepth(v, 10), d, name);
  t.equal(nestingDepth(deep(100_000), MAX_NESTING_DEPTH), MAX_NESTING_DEPTH + 1, '100,000 levels: stops past the limit');
  t.equal(nestingDepth(deep(100_000), 1_000_000), 100_002, '100,000 levels under a higher limit: exact, no stack overflow');
  // Around the switch from the recursive walk to the stack walk (64 levels), in maps and lists.
  for (const n of [0, 1, 61, 62, 63, 64, 65, 200]) {
    t.equal(nestingDepth(deep(n), 10_000), n + 2, `${n} levels: exact`);
    t.equal(nestingDepth(deep(n), n + 2), n + 2, `${n} levels, limit at the depth: exact`);
    t.equal(nestingDepth(deep(n), n + 1), n + 2, `${n} levels, limit one below: limit + 1`);
    let list: unknown = [];
    for (let i = 0; i < n; i++) list = [1, { x: 'y' }, list, []];
    t.equal(nestingDepth({ a: [{}], b: list, c: { d: {} } }, 10_000), Math.max(n + 2, 3), `${n} levels of lists beside shallower siblings`);
  }
  // Past the recursive walk's budget of containers (512), the stack walk answers.
  const wide = { items: Array.from({ length: 3000 }, () => ({ a: {} })), last: deep(100) };
  t.equal(nestingDepth(wide, 10_000), 103, 'wide object: exact');
  t.equal(nestingDepth(wide, 50), 51, 'wide object: limit + 1');
  t.equal(nestingDepth({ first: deep(100), items: wide.items }, 10_000), 103, 'deep branch first: exact');
});

t.test('too deep: 400 ERR_TOO_DEEP before evaluation, not a rule denial', async (t) => {
  // Both JSON parsers of the app: fastify's (no evaluation worker: every review walks)
  // and ours (with a worker, here one that is never usable: the body's bytes bound its
  // nesting, and only a bound past the limit walks; src/admission/nesting-bound.ts).
  const apps: [string, ReturnType<typeof buildApp>][] = [
    ['fastify parser', buildApp({ getPolicies: () => set })],
    ['bounded parser', buildApp({ getPolicies: () => set, evaluationWorker: { usable: false } as EvaluationWorker })],
  ];
  // deep(n) nests n + 2 levels (the object, data, then n maps minus the innermost empty one counted as a level).
  const maps = (levels: number): string => `${'{"a":'.repeat(levels)}{}${'}'.repeat(levels)}`;
  const lists = (levels: number): string => `${'['.repeat(levels + 1)}${']'.repeat(levels + 1)}`;
  const rows: [string, number, (levels: number) => string, number, string | undefined][] = [
    ['5,000 levels', 5000, maps, 400, 'ERR_TOO_DEEP'],
    ['5,000 levels of lists', 5000, lists, 400, 'ERR_TOO_DEEP'],
    ['just past the limit', MAX_NESTING_DEPTH - 1, maps, 400, 'ERR_TOO_DEEP'],
    ['just past the limit, lists', MAX_NESTING_DEPTH - 1, lists, 400, 'ERR_TOO_DEEP'],
    ['at the limit', MAX_NESTING_DEPTH - 2, maps, 200, undefined],
    ['ordinary', 10, maps, 200, undefined],
  ];
  for (const [parser, app] of apps) {
    for (const [name, levels, nest, status, code] of rows) {
      // Built as text: JSON.stringify recurses and would itself run out of stack.
      const payload = JSON.stringify(admissionReview('u-deep', deep(0))).replace('"data":{}', `"data":${nest(levels)}`);
      const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload });
      t.equal(res.statusCode, status, `${parser}, ${name} (depth ${levels + 2}): ${status}`);
      if (code) {
        t.same(res.json(), { code, message: `request.object nests deeper than ${MAX_NESTING_DEPTH} levels` }, `${parser}, ${name}: its own code`);
        t.notMatch(res.body, /mirror-images|call stack/, `${parser}, ${name}: no rule blamed`);
      }
    }
    await app.close();
  }
  t.equal(nestingDepth(deep(MAX_NESTING_DEPTH - 1), 10_000), MAX_NESTING_DEPTH + 1, 'deep(n) nests n + 2 levels');
  const old = review(admissionReview('u-old', deep(3), 'UPDATE', 'team-a', deep(5000)), set, { route: 'mutate' });
  t.same(old.body, { code: 'ERR_TOO_DEEP', message: `request.oldObject nests deeper than ${MAX_NESTING_DEPTH} levels` }, 'oldObject too');
});

t.test('body limit: 7 MiB as controller-runtime', async (t) => {
  t.equal(DEFAULT_BODY_LIMIT, 7 * 1024 * 1024);
  const app = buildApp({ getPolicies: () => set });
  const base = JSON.stringify(admissionReview('u-big', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { x: '' } }));
  const fill = (n: number): string => base.replace('"x":""', `"x":"${'y'.repeat(n - base.length)}"`);
  const at = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: fill(DEFAULT_BODY_LIMIT) });
  t.equal(at.statusCode, 200, 'exactly 7 MiB: answered');
  const past = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: fill(DEFAULT_BODY_LIMIT + 1) });
  t.equal(past.statusCode, 413, 'one byte more: 413');
  t.equal(past.json().code, 'ERR_BODY_TOO_LARGE');
  await app.close();
});

t.test('in-flight limits: 429 with Retry-After past the count or the bytes; probes unlimited', async (t) => {
  for (const [name, limits, second] of [
    ['count', { maxRequests: 1, maxBytes: 1e9 }, 10],
    ['bytes', { maxRequests: 100, maxBytes: 1000 }, 600],
  ] as const) {
    const app = Fastify();
    const state = installInFlightLimit(app, limits, 7 * 1024 * 1024);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    app.post('/mutate', async () => {
      await gate;
      return { ok: true };
    });
    app.get('/readyz', async () => ({ ok: true }));
    const first = app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(500) }) });
    await new Promise((r) => setTimeout(r, 20));
    t.equal(state.requests, 1, `${name}: one in flight`);
    const refused = await app.inject({ method: 'POST', url: '/mutate?timeout=5s', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(second) }) });
    t.equal(refused.statusCode, 429, `${name}: 429`);
    t.equal(refused.headers['retry-after'], '1', `${name}: Retry-After`);
    t.equal(refused.json().code, 'ERR_TOO_MANY_REQUESTS');
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, `${name}: probes are not limited`);
    release();
    t.equal((await first).statusCode, 200, `${name}: the first is answered`);
    t.same({ requests: state.requests, bytes: state.bytes, refused: state.refused }, { requests: 0, bytes: 0, refused: 1 }, `${name}: counters released`);
    const again = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(second) }) });
    t.equal(again.statusCode, 200, `${name}: admitted again once the first finished`);
    await app.close();
  }
});

t.test('a lone request larger than the byte limit is still served', async (t) => {
  const app = buildApp({ getPolicies: () => set, inFlight: { maxBytes: 10 } });
  const res = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(admissionReview('u-lone', deep(2))) });
  t.equal(res.statusCode, 200);
  await app.close();
});

/** A request's head and body as bytes (`length` declared; `body` may be shorter: the rest never comes). */
function post(url: string, body: string, length = Buffer.byteLength(body)): string {
  return `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`;
}

/** A socket to `port` that has written `bytes`; `answer` resolves with what came back once it closed. */
function open(port: number, bytes: string): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (d) => (got += String(d)));
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
  socket.on('error', () => undefined);
  socket.on('connect', () => socket.write(bytes));
  return { socket, answer };
}

/** Waits until `done()` holds, at most ~3 s (the server sees a socket close asynchronously); no timing is asserted. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

t.test('in-flight counts are released however a request ends (answer, error, hang-up, pipelining, timeout)', async (t) => {
  const entered: (() => void)[] = [];
  let gate!: Promise<void>;
  let open_!: () => void;
  const newGate = (): void => {
    gate = new Promise<void>((r) => (open_ = r));
  };
  newGate();
  // requestTimeout and its check interval small, so a stalled body times out here (node's 408).
  const app = Fastify({ bodyLimit: 1000, serverFactory: (handler) => createServer({ requestTimeout: 300, connectionsCheckingInterval: 50 }, handler) });
  const state = installInFlightLimit(app, { maxRequests: 100, maxBytes: 1e9 }, 1000);
  app.post('/mutate', async (request) => {
    await new Promise<void>((r) => entered.push(r)).then(() => gate);
    if ((request.body as { fail?: boolean }).fail) throw new Error('handler failed');
    return { ok: true };
  });
  // Handlers signal that they started: `entered` holds one resolver per waiting handler.
  const started = async (n: number): Promise<void> => {
    await until(() => entered.length >= n);
    for (const go of entered.splice(0)) go();
  };
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const released = async (name: string): Promise<void> => {
    await until(() => state.requests === 0);
    t.same({ requests: state.requests, bytes: state.bytes }, { requests: 0, bytes: 0 }, `${name}: released`);
  };

  // Answered (200), and an error thrown by the handler (500).
  for (const [name, body, status] of [['answered', '{}', '200'], ['handler error', '{"fail":true}', '500']] as const) {
    open_();
    const { socket, answer } = open(port, post('/mutate', body));
    await started(1);
    await until(() => state.requests === 0);
    socket.end();
    t.match(await answer, new RegExp(`^HTTP/1.1 ${status} `), `${name}: ${status}`);
    await released(name);
  }
  newGate();

  // The client hangs up after sending its body, while the handler runs (the API server's
  // call cancelled): fastify's onResponse never ran for these, the count stayed for good.
  {
    const { socket, answer } = open(port, post('/mutate', '{}'));
    await started(1);
    t.equal(state.requests, 1, 'hang-up after the body: counted while the handler runs');
    socket.destroy();
    await answer;
    open_();
    await released('hang-up after the body');
  }
  newGate();

  // Two pipelined requests on one socket, then a hang-up: the second's answer was queued.
  {
    const { socket, answer } = open(port, post('/mutate', '{}') + post('/mutate', '{}'));
    await until(() => state.requests === 2);
    t.equal(state.requests, 2, 'pipelined: both counted');
    socket.destroy();
    await answer;
    open_();
    await started(1);
    await released('pipelined, then a hang-up');
  }
  newGate();

  // The client hangs up halfway through its body.
  {
    const { socket, answer } = open(port, post('/mutate', '{"a":', 100));
    await until(() => state.requests === 1);
    t.equal(state.requests, 1, 'hang-up in the body: counted');
    socket.destroy();
    await answer;
    await released('hang-up in the body');
  }

  // The body stalls past the server's requestTimeout: node answers 408 and closes.
  {
    const { answer } = open(port, post('/mutate', '{"a":', 100));
    t.match(await answer, /^HTTP\/1.1 408 /, 'stalled body: 408');
    await released('stalled body');
  }

  // Parser errors: invalid JSON (400), a declared body over bodyLimit (413).
  for (const [name, bytes, status] of [['invalid JSON', post('/mutate', '{"a":'), '400'], ['body too large', post('/mutate', '{}', 5000), '413']] as const) {
    const { socket, answer } = open(port, bytes);
    await until(() => state.requests === 0);
    setTimeout(() => socket.end(), 50);
    t.match(await answer, new RegExp(`^HTTP/1.1 ${status} `), `${name}: ${status}`);
    await released(name);
  }
  open_();
  await app.close();
});
