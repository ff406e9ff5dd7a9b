/**
 * The evaluation memo (src/expr/memo.ts, src/expr/cel.ts `memoizedProgram`):
 * an expression's evaluation is replayed when the values it reads are the
 * same. Its reference is the same expression compiled without the memo
 * (`setEvaluationMemo(false)`). Table over expressions (field reads, `has`,
 * sizes, keys in order, map equality, `in`, indexes, optionals, nested lists,
 * absorbed errors, errors, results that hold the input's maps, a JSONPatch
 * `transformList`, a costly one past the first clock read) and over a
 * sequence of objects that share or differ in what the expressions read:
 * the same value or error and the same units charged, evaluation after
 * evaluation; the same outcome at the per-expression limit and one unit
 * below it, under a policy budget one unit short, and with an injected clock
 * read the same number of times before the deadline trips. Then random
 * objects against every row, the memo's bounds and rest, and what is never
 * kept. No timing.
 */
import t from 'tap';
import { compileExpression, evaluationMemoReplays, setEvaluationMemo, type CompileExpressionOptions, type CompiledExpression } from '../../src/expr/cel.js';
import { EvaluationMemo, MAX_CHARS, MAX_LEAVES, MAX_STRING_CHARS, memoBytesHeld, NODE_BYTES, PAUSE, setMemoBytesLimit } from '../../src/expr/memo.js';
import { closeBudget, openBudget, setMeterClock, type PolicyBudget } from '../../src/expr/meter.js';
import { mulberry32 } from '../helpers/generators.js';

const ROOTS = ['object', 'oldObject', 'request', 'namespaceObject', 'params'];

/** Compiles `src` with the memo on or off. */
function compile(src: string, memo: boolean, options: CompileExpressionOptions = {}): CompiledExpression {
  const previous = setEvaluationMemo(memo);
  try {
    return compileExpression(src, { variables: ROOTS, mutation: true, estimatedCostLimit: Infinity, maxEvalMs: 600_000, ...options });
  } finally {
    setEvaluationMemo(previous);
  }
}

interface Outcome {
  value?: unknown;
  error?: string;
  units?: number;
}

/** The value, or the error's message, of one evaluation. */
function outcome(f: () => unknown): Outcome {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** The open budget (openBudget returns the one it replaces: open a second and close it at once). */
function currentBudget(): PolicyBudget {
  const mine = openBudget(0, 0) as PolicyBudget;
  closeBudget(mine);
  return mine;
}

/** One evaluation under a policy budget of `units`: its outcome and the units it charged. */
function charged(p: CompiledExpression, vars: Record<string, unknown>, units = 1e9, how: 'evaluate' | 'evaluateShared' = 'evaluate'): Outcome {
  const outer = openBudget(units, Infinity);
  try {
    const o = outcome(() => p[how](vars));
    return { ...o, units: units - currentBudget().remaining };
  } finally {
    closeBudget(outer);
  }
}

const long = 'x'.repeat(700);

/** Rows: the expression, and whether its evaluations of the base object are kept (replayed the second time). */
const ROWS: { src: string; kept: boolean }[] = [
  { src: 'object.spec.replicas + 1', kept: true },
  { src: 'object.metadata.name', kept: true },
  { src: 'object.spec.containers.map(c, c.image)', kept: true },
  { src: "object.spec.containers.all(c, c.image.startsWith('quay.io/'))", kept: true },
  { src: 'has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.hostPath))', kept: true },
  { src: 'size(object.metadata.labels)', kept: true },
  { src: "object.metadata.labels.map(k, k + '=' + object.metadata.labels[k])", kept: true },
  { src: "object.metadata.labels == {'app': 'web', 'tier': 'front'}", kept: true },
  { src: "'app' in object.metadata.labels", kept: true },
  { src: 'object.spec.containers[1].name', kept: true },
  { src: 'object.?spec.?replicas.orValue(0)', kept: true },
  { src: 'object.spec.matrix[1][1].a', kept: true },
  { src: 'object.spec.matrix[0][1] + 1', kept: true },
  { src: 'object.spec.matrix', kept: false },
  { src: 'object.metadata', kept: false },
  { src: "object.spec.containers.filter(c, c.name == 'app')", kept: false },
  { src: 'object.spec.nope.x == 1 || true', kept: true },
  { src: "object.spec.containers.exists(c, c.image.matches('^quay[.]io/'))", kept: true },
  { src: "{'n': size(object.spec.containers), 'first': size(object.spec.containers[0].name)}", kept: true },
  {
    src: "object.spec.containers.transformList(i, c, c.image.startsWith('quay.io/'), JSONPatch{op: 'replace', path: '/spec/containers/' + string(i) + '/image', value: 'mirror/' + c.image})",
    kept: true,
  },
  { src: "request.operation == 'CREATE' && oldObject == null && namespaceObject.metadata.name == 'shop'", kept: true },
  { src: 'params.limit > size(object.spec.containers)', kept: true },
  { src: 'object.metadata.labels.all(k, k.size() < 10)', kept: true },
  { src: 'object.metadata.labels.exists(k, true)', kept: true },
  { src: 'type(object.spec.replicas) == int', kept: true },
  { src: 'string(object.spec.replicas)', kept: true },
  { src: 'dyn(object.spec).containers.size()', kept: true },
  { src: 'object.spec.containers.map(c, c.ports.map(p, p.containerPort))', kept: true },
  { src: `object.spec.containers.all(c, '${long}'.contains(c.image))`, kept: true },
  { src: "object.spec.containers + [{'name': 'x'}]", kept: false },
  { src: 'object.metadata.labels.exists_one(k, k.startsWith("a"))', kept: true },
  { src: 'object.spec.containers.size() > 0 && object.spec.containers[0].args.join(",") == "a,b"', kept: true },
  // keys Object.prototype has (the lookup reads a map's key without hasOwnProperty only for other keys)
  { src: "has(object.metadata.constructor) ? object.metadata.constructor : object.metadata.?toString.orValue('none')", kept: true },
];

const BASE = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', labels: { app: 'web', tier: 'front' }, annotations: { 'a/b': 'x' } },
  spec: {
    replicas: 2,
    containers: [
      { name: 'app', image: 'quay.io/org/app:1.0', args: ['a', 'b'], ports: [{ containerPort: 8080 }], securityContext: { privileged: false } },
      { name: 'side', image: 'registry.example.com/side@sha256:abc', ports: [] },
    ],
    volumes: [{ name: 'v', hostPath: { path: '/x' } }, { name: 'w', emptyDir: {} }],
    matrix: [[1, 2], [3, { a: 1 }]],
  },
};

type Pod = typeof BASE;
const variant = (f: (p: Pod) => void): Pod => {
  const p = structuredClone(BASE);
  f(p);
  return p;
};

/** Objects in the order evaluated: repeats, objects differing where a rule does not read, and where it does. */
const OBJECTS: [string, unknown][] = [
  ['base', BASE],
  ['base again', structuredClone(BASE)],
  ['another name', variant((p) => (p.metadata.name = 'web-2'))],
  ['another image', variant((p) => (p.spec.containers[0].image = 'docker.io/app:2'))],
  ['base, third time', structuredClone(BASE)],
  ['labels in another order', variant((p) => (p.metadata.labels = { tier: 'front', app: 'web' }))],
  ['a label changed', variant((p) => (p.metadata.labels.tier = 'back'))],
  ['a label more', variant((p) => Object.assign(p.metadata.labels, { apex: 'y' }))],
  ['one container', variant((p) => p.spec.containers.pop())],
  ['three containers', variant((p) => p.spec.containers.push({ name: 'third', image: 'quay.io/x', ports: [{ containerPort: 1 }] } as never))],
  ['replicas a double', variant((p) => (p.spec.replicas = 2.5))],
  ['replicas a string', variant((p) => ((p.spec as Record<string, unknown>).replicas = '2'))],
  ['replicas null', variant((p) => ((p.spec as Record<string, unknown>).replicas = null))],
  ['no replicas', variant((p) => delete (p.spec as Record<string, unknown>).replicas)],
  ['no volumes', variant((p) => delete (p.spec as Record<string, unknown>).volumes)],
  ['matrix changed inside', variant((p) => (p.spec.matrix = [[1, 2], [3, { a: 2 }]]))],
  ['matrix: a scalar changed in a nested list', variant((p) => (p.spec.matrix = [[1, 5], [3, { a: 1 }]]))],
  ['matrix a list less', variant((p) => (p.spec.matrix = [[1, 2]]))],
  ['no containers', variant((p) => (p.spec.containers = []))],
  ['an image null', variant((p) => ((p.spec.containers[0] as Record<string, unknown>).image = null))],
  ['args changed', variant((p) => (p.spec.containers[0].args = ['a', 'c']))],
  ['a key before name', variant((p) => (p.spec.containers[0] = { zone: 'a', ...p.spec.containers[0] } as never))],
  ['keys Object.prototype has', variant((p) => Object.assign(p.metadata, { constructor: 'c', toString: 't' }))],
  ['one of them', variant((p) => Object.assign(p.metadata, { toString: 't' }))],
  ['spec null', variant((p) => ((p as Record<string, unknown>).spec = null))],
  ['no spec', variant((p) => delete (p as Record<string, unknown>).spec)],
  ['base, last time', structuredClone(BASE)],
];

const varsOf = (object: unknown, params: unknown = { limit: 5 }): Record<string, unknown> => ({
  object,
  oldObject: null,
  request: { operation: 'CREATE', namespace: 'shop' },
  namespaceObject: { metadata: { name: 'shop' } },
  params,
});

for (const row of ROWS) {
  t.test(row.src.slice(0, 90), async (t) => {
    const memo = compile(row.src, true);
    const plain = compile(row.src, false);
    const before = evaluationMemoReplays();
    charged(memo, varsOf(BASE));
    t.same(charged(memo, varsOf(structuredClone(BASE))), charged(plain, varsOf(BASE)), 'the base object again: same value, same units');
    t.equal(evaluationMemoReplays() > before, row.kept, row.kept ? 'replayed the second time' : 'never kept');
    for (const pass of [1, 2]) {
      for (const [name, object] of OBJECTS) {
        const vars = varsOf(object);
        t.same(charged(memo, vars), charged(plain, vars), `pass ${pass}, ${name}: same value or error, same units`);
        t.same(charged(memo, vars, 1e9, 'evaluateShared'), charged(plain, vars, 1e9, 'evaluateShared'), `pass ${pass}, ${name}: evaluateShared`);
      }
    }
    for (const [name, object] of OBJECTS) {
      const cost = charged(plain, varsOf(object));
      if (cost.error !== undefined) continue;
      const units = cost.units as number;
      for (const limit of [units, units - 1].filter((l) => l >= 0)) {
        const m = compile(row.src, true, { costLimit: limit });
        const p = compile(row.src, false, { costLimit: limit });
        const want = [charged(p, varsOf(object)), charged(p, varsOf(object))];
        t.same([charged(m, varsOf(object)), charged(m, varsOf(object))], want, `${name}: per-expression limit ${limit} (cost ${units}), twice`);
      }
      for (const budget of [units - 1, units].filter((u) => u >= 0)) {
        charged(memo, varsOf(object));
        t.same(charged(memo, varsOf(object), budget), charged(plain, varsOf(object), budget), `${name}: policy budget ${budget}`);
      }
    }
  });
}

t.test('past the first clock read: a replay reads the clock at the same units, and a passed deadline stops it the same way', async (t) => {
  const src = ROWS.find((r) => r.src.includes(long))?.src as string;
  const memo = compile(src, true);
  const plain = compile(src, false);
  const vars = varsOf(BASE);
  const units = charged(plain, vars).units as number;
  t.ok(units > 64, `costly enough to read the clock (${units} units)`);
  for (const deadlineAt of [0, 1, 2, 3, 10]) {
    const run = (p: CompiledExpression): [Outcome, number] => {
      let reads = 0;
      const restore = setMeterClock(() => reads++);
      const outer = openBudget(1e9, deadlineAt - 0.5);
      try {
        return [outcome(() => p.evaluate(vars)), reads];
      } finally {
        closeBudget(outer);
        setMeterClock(restore);
      }
    };
    charged(memo, vars);
    const before = evaluationMemoReplays();
    const got = run(memo);
    t.same(got, run(plain), `deadline after ${deadlineAt} clock reads: same outcome, same reads`);
    t.equal(evaluationMemoReplays() - before, 1, 'replayed');
  }
});


t.test('random objects from a small domain, every row, in random order: the same as without the memo', async (t) => {
  const next = mulberry32(18);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const images = ['quay.io/org/app:1.0', 'docker.io/app:2', 'registry.example.com/side@sha256:abc'];
  const randomPod = (): unknown => {
    const labels: Record<string, string> = {};
    for (const k of ['tier', 'app', 'apex']) if (next() < 0.6) labels[k] = pick(['web', 'front', 'back']);
    const containers = Array.from({ length: Math.floor(next() * 3) }, (_, i) => ({ name: `c${i}`, image: pick(images), args: next() < 0.5 ? ['a', 'b'] : [], ports: next() < 0.5 ? [{ containerPort: 80 }] : [] }));
    const spec: Record<string, unknown> = { containers, matrix: pick([[[1, 2], [3, { a: 1 }]], [[1, 3], [3, { a: 1 }]], [[1, 2], [3, { a: 2 }]], [[1]], []]) };
    const replicas = pick([1, 2, 2.5, '2', null, undefined]);
    if (replicas !== undefined) spec.replicas = replicas;
    if (next() < 0.5) spec.volumes = [{ name: 'v', ...(next() < 0.5 ? { hostPath: { path: '/x' } } : {}) }];
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: pick(['a', 'b']), labels }, spec };
  };
  const programs = ROWS.map((r) => ({ src: r.src, memo: compile(r.src, true), plain: compile(r.src, false) }));
  const pool = Array.from({ length: 40 }, randomPod);
  let same = 0;
  const before = evaluationMemoReplays();
  for (let i = 0; i < 1500; i++) {
    const p = pick(programs);
    const vars = varsOf(structuredClone(pick(pool)), pick([{ limit: 5 }, { limit: 1 }, null]));
    const a = charged(p.memo, vars);
    const b = charged(p.plain, vars);
    if (JSON.stringify(a) === JSON.stringify(b)) same++;
    else t.same(a, b, `${p.src.slice(0, 60)} on ${JSON.stringify(vars.object).slice(0, 200)}`);
  }
  t.equal(same, 1500, 'every evaluation the same');
  t.ok(evaluationMemoReplays() - before > 500, 'most were replayed');
});

t.test('bounds: a memo filled without a hit rests for PAUSE evaluations, twice as long the next time in a row, then is used again', async (t) => {
  const memo = compile('object.metadata.name + "!"', true);
  for (let i = 0; i <= MAX_LEAVES; i++) t.same(memo.evaluate(varsOf({ metadata: { name: `n${i}` } })), `n${i}!`);
  const before = evaluationMemoReplays();
  for (let i = 0; i < PAUSE; i++) memo.evaluate(varsOf({ metadata: { name: 'same' } }));
  t.equal(evaluationMemoReplays(), before, 'resting: never replayed');
  t.same(memo.evaluate(varsOf({ metadata: { name: 'same' } })), 'same!');
  t.same(memo.evaluate(varsOf({ metadata: { name: 'same' } })), 'same!');
  t.equal(evaluationMemoReplays(), before + 1, 'used again');
  const other = compile('object.metadata.name + "?"', true);
  const fill = (from: number): void => {
    for (let i = from; i <= from + MAX_LEAVES; i++) other.evaluate(varsOf({ metadata: { name: `n${i}` } }));
  };
  fill(0);
  for (let i = 0; i < PAUSE; i++) other.evaluate(varsOf({ metadata: { name: 'same' } }));
  fill(1000);
  const start = evaluationMemoReplays();
  // the fill's last evaluation was the first of the rest
  for (let i = 0; i < 2 * PAUSE - 1; i++) other.evaluate(varsOf({ metadata: { name: 'same' } }));
  t.equal(evaluationMemoReplays(), start, 'filled again without a hit: rests twice as long');
  for (let i = 0; i < 3; i++) t.same(other.evaluate(varsOf({ metadata: { name: 'same' } })), 'same?');
  t.equal(evaluationMemoReplays(), start + 2, 'then used again');
});

t.test('the thread-wide bound: past MAX_TOTAL_BYTES nothing more is kept, the values stay the same, and an emptied memo gives its bytes back', async (t) => {
  const a = compile('object.metadata.name + "#"', true);
  const b = compile('object.metadata.name + "%"', true);
  const held0 = memoBytesHeld();
  t.same(a.evaluate(varsOf({ metadata: { name: 'a0' } })), 'a0#');
  const one = memoBytesHeld() - held0;
  t.ok(one > 0, 'a kept evaluation holds bytes');
  const previous = setMemoBytesLimit(memoBytesHeld() + one / 2);
  t.teardown(() => setMemoBytesLimit(previous));
  const before = evaluationMemoReplays();
  t.same(b.evaluate(varsOf({ metadata: { name: 'b0' } })), 'b0%');
  t.equal(memoBytesHeld(), held0 + one, 'over the bound: not kept');
  t.same(b.evaluate(varsOf({ metadata: { name: 'b0' } })), 'b0%');
  t.equal(evaluationMemoReplays(), before, 'so never replayed');
  t.same(a.evaluate(varsOf({ metadata: { name: 'a0' } })), 'a0#');
  t.equal(evaluationMemoReplays(), before + 1, 'what was kept before is still replayed');
  // a memo emptied at its own bounds gives its share back
  const memo = new EvaluationMemo();
  setMemoBytesLimit(Infinity);
  const step = (i: number) => [{ op: 1, cid: 0, key: 'k', answer: i }];
  const leaf = { value: 1, json: 1, charges: [1], total: 1, chars: 0 };
  const start = memoBytesHeld();
  for (let i = 0; i < MAX_LEAVES; i++) t.ok(memo.insert(step(i) as never, leaf));
  t.ok(memoBytesHeld() - start >= MAX_LEAVES * NODE_BYTES, 'its nodes are counted');
  t.ok(memo.insert(step(MAX_LEAVES) as never, leaf), 'full: emptied, then kept');
  t.ok(memoBytesHeld() - start < 3 * NODE_BYTES + 1024, 'the emptied trie gave its bytes back');
});

t.test('never kept: values that are not JSON, long strings, more characters than a memo keeps, errors; results are copies, evaluateShared frozen', async (t) => {
  const cases: [string, unknown][] = [
    ['object.when', { when: new Date(0) }],
    ['size(object.image)', { image: 'x'.repeat(MAX_STRING_CHARS + 1) }],
    ['object.images.map(i, size(i))', { images: Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(MAX_CHARS / 32, 'x')) }],
    ['object.spec.replicas / 0', { spec: { replicas: 1 } }],
    ['object.spec.x', { spec: {} }],
  ];
  for (const [src, object] of cases) {
    const memo = compile(src, true);
    const plain = compile(src, false);
    const before = evaluationMemoReplays();
    for (let i = 0; i < 3; i++) t.same(charged(memo, varsOf(object)), charged(plain, varsOf(object)), `${src}: same outcome`);
    t.equal(evaluationMemoReplays(), before, `${src}: never replayed`);
  }
  const memo = compile("{'names': object.spec.containers.map(c, c.name)}", true);
  const vars = varsOf(BASE);
  const first = memo.evaluate(vars) as { names: string[] };
  first.names.push('changed');
  t.same(memo.evaluate(vars), { names: ['app', 'side'] }, 'a caller changing its copy changes nothing');
  const shared = memo.evaluateShared(vars);
  t.equal(memo.evaluateShared(vars), shared, 'evaluateShared: the kept value');
  t.ok(Object.isFrozen(shared) && Object.isFrozen((shared as { names: string[] }).names), 'deep-frozen');
  t.same(memo.evaluateNative(vars) instanceof Object, true, 'evaluateNative: the engine value');
});
