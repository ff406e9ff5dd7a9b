/**
 * CEL as Kubernetes users write it: every variable, macro and function the
 * policy-enforcement issue lists, compile errors with positions, evaluation
 * errors, and the evaluation bound (by cost, never by a stopwatch).
 */
import t from 'tap';
import { compileExpression, DEFAULT_COST_LIMIT, ExprError, fromCel, toCelValue } from '../../src/expr/cel.js';
import { buildExprVars, conditionCompiler } from '../../src/expr/vars.js';
import type { ConditionCompiler } from '../../src/policy/match.js';

const pod = Object.freeze({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-7f9c', namespace: 'team-a', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    replicas: 3,
    ratio: 0.5,
    containers: [
      { name: 'app', image: 'nginx:latest', ports: [{ containerPort: 80 }, { containerPort: 443 }] },
      { name: 'sidecar', image: 'registry.corp/envoy:1.30', securityContext: { runAsNonRoot: true } },
    ],
  },
});
const oldPod = { ...pod, metadata: { ...pod.metadata, labels: { app: 'web' } } };
const request = { uid: 'u1', operation: 'UPDATE', namespace: 'team-a', name: 'web-7f9c', userInfo: { username: 'alice', groups: ['devs', 'system:authenticated'] }, dryRun: true, object: pod };

const vars = buildExprVars(pod, { operation: 'UPDATE', namespace: 'team-a', oldObject: oldPod, namespaceLabels: { env: 'prod' }, request });

/** [expression, expected result] */
const values: [string, unknown][] = [
  // variables
  ['object.metadata.name', 'web-7f9c'],
  ["object.metadata.labels['tier']", 'frontend'],
  ['oldObject.metadata.labels.size()', 1],
  ["request.operation == 'UPDATE'", true],
  ['request.userInfo.username', 'alice'],
  ["'devs' in request.userInfo.groups", true],
  ['request.dryRun', true],
  ["has(request.object)", false], // object is its own variable, as in Kubernetes
  ["namespaceObject.metadata.name", 'team-a'],
  ["namespaceObject.metadata.labels.env == 'prod'", true],
  // JSON integers are CEL ints, other numbers doubles
  ['object.spec.replicas + 1', 4],
  ['object.spec.replicas * 2 == 6', true],
  ['object.spec.ratio * 2.0', 1],
  ['type(object.spec.replicas) == int', true],
  ['type(object.spec.ratio) == double', true],
  // has()
  ['has(object.metadata.labels)', true],
  ['has(object.metadata.labels.app)', true],
  ['has(object.metadata.annotations)', false],
  ['has(object.spec.containers[1].securityContext.runAsNonRoot)', true],
  // macros
  ["object.spec.containers.all(c, c.image.contains(':'))", true],
  ["object.spec.containers.all(c, has(c.securityContext))", false],
  ["object.spec.containers.exists(c, c.image.endsWith(':latest'))", true],
  ["object.spec.containers.exists(c, c.name == 'nope')", false],
  ["object.spec.containers.exists_one(c, c.name.startsWith('s'))", true],
  ['object.spec.containers.map(c, c.name)', ['app', 'sidecar']],
  ["object.spec.containers.filter(c, c.image.startsWith('registry.corp/')).map(c, c.name)", ['sidecar']],
  ['object.spec.containers[0].ports.map(p, p.containerPort)', [80, 443]],
  ['object.metadata.labels.all(k, k.size() > 2)', true],
  ["object.metadata.labels.exists(k, k == 'tier')", true],
  // strings
  ["object.metadata.name.startsWith('web-')", true],
  ["object.metadata.name.endsWith('9c')", true],
  ["object.metadata.name.contains('7f')", true],
  ["object.metadata.name.matches('^web-[0-9a-f]+$')", true],
  ["object.metadata.name.matches('^api-')", false],
  ["object.metadata.name.split('-')", ['web', '7f9c']],
  ["'Web-APP'.lowerAscii()", 'web-app'],
  ['size(object.metadata.name)', 8],
  ['object.metadata.name.size()', 8],
  ['size(object.spec.containers)', 2],
  ['size(object.metadata.labels)', 2],
  ["object.spec.containers[0].image.split(':')[1] == 'latest'", true],
  // maps in, maps out
  ['{"a": dyn(1), "b": dyn([true])}', { a: 1, b: [true] }],
  ['{"a": 1, "b": [true]}'.length > 0 ? 'true' : 'false', true],
  ['null', null],
];

t.test('variables, macros and functions', async (t) => {
  for (const [expr, want] of values) {
    t.same(compileExpression(expr).evaluate(vars), want, expr);
  }
});

t.test('render-time variables: synthetic request, null oldObject, namespaceObject', async (t) => {
  const rows: [string, { namespace: string; labels?: Record<string, string> }, unknown][] = [
    ["request.operation", { namespace: 'team-a' }, 'CREATE'],
    ['request.userInfo.username', { namespace: 'team-a' }, ''],
    ['request.kind.kind', { namespace: 'team-a' }, 'Pod'],
    ['request.name', { namespace: 'team-a' }, 'web-7f9c'],
    ['request.dryRun', { namespace: 'team-a' }, false],
    ['oldObject == null', { namespace: 'team-a' }, true],
    ['namespaceObject == null', { namespace: '' }, true],
    ['namespaceObject.metadata.labels', { namespace: 'team-a' }, {}],
    ["namespaceObject.metadata.labels['env']", { namespace: 'team-a', labels: { env: 'dev' } }, 'dev'],
  ];
  for (const [expr, c, want] of rows) {
    const v = buildExprVars(pod, { operation: 'CREATE', namespace: c.namespace, namespaceLabels: c.labels });
    t.same(compileExpression(expr).evaluate(v), want, expr);
  }
});

t.test('compile errors: ExprError with position and path', async (t) => {
  const rows: [string, RegExp, { line: number; column: number } | undefined][] = [
    ['object.metadata.name ==', /syntax error/, undefined],
    ["object.spec.containers.all(c, c.name == 'x'", /syntax error at 1:\d+/, undefined],
    ['params.maxReplicas > 1', /undeclared reference to 'params' at 1:1/, { line: 1, column: 1 }],
    ["object.metadata.name == 'a' &&\n  objet.kind == 'Pod'", /undeclared reference to 'objet' at 2:3/, { line: 2, column: 3 }],
    ['object.spec.containers.all(c, d.name == "x")', /undeclared reference to 'd'/, undefined],
    ['variables.foo', /undeclared reference to 'variables'/, undefined],
    ['   ', /empty expression/, undefined],
    ['x'.repeat(10_001), /over the limit/, undefined],
  ];
  for (const [src, re, pos] of rows) {
    let err: unknown;
    try {
      compileExpression(src, { path: 'spec.transformers[0].validate.expression' });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ExprError, `${src.slice(0, 40)}: ExprError`);
    t.match((err as ExprError).message, re, src.slice(0, 40));
    t.equal((err as ExprError).path, 'spec.transformers[0].validate.expression');
    if (pos) t.same((err as ExprError).position, pos, `${src}: position`);
  }
  t.ok(compileExpression("object.spec.containers.all(c, c.ports.all(p, p.containerPort > 0))"), 'nested comprehension variables are in scope');
});

t.test('evaluation errors throw ExprError', async (t) => {
  const rows: [string, RegExp][] = [
    ['object.metadata.annotations.foo', /no such key|not found/],
    ["object.metadata.name + 1", /no such overload/],
    ['1 / 0', /division by zero/],
    ['object.spec.containers[5].name', /index|out of range|bound/i],
    ["object.metadata.name.matches('(')", /.+/],
  ];
  for (const [expr, re] of rows) {
    t.throws(() => compileExpression(expr).evaluate(vars), re, expr);
    try {
      compileExpression(expr).evaluate(vars);
    } catch (e) {
      t.ok(e instanceof ExprError, `${expr}: ExprError`);
    }
  }
  t.equal(compileExpression("false && object.metadata.annotations.foo == 'x'").evaluate(vars), false, 'errors absorbed by && as in CEL');
});

t.test('evaluation bound: comprehension iterations are counted and capped', async (t) => {
  const list = Array.from({ length: 100 }, (_, i) => i);
  const v = { object: { items: list }, oldObject: null, request: {}, namespaceObject: null };
  const rows: [string, number, boolean][] = [
    // [expression, cost limit, should succeed]
    // one unit per iteration, one per `>=` (cel-go charges operators as calls)
    ['object.items.all(x, x >= 0)', 200, true],
    ['object.items.all(x, x >= 0)', 199, false],
    ['object.items.map(x, x).size() == 100', 102, true], // 100 iterations + size() + `==`
    ['object.items.all(x, object.items.all(y, true))', 100 + 100 * 100, true],
    ['object.items.all(x, object.items.all(y, true))', 100 * 100, false],
    ['object.items.exists(x, object.items.exists(y, object.items.exists(z, x + y + z < 0)))', DEFAULT_COST_LIMIT, false],
    // the bound holds even when && would absorb the error
    ['false && object.items.all(x, object.items.all(y, true))', 50, true],
    ['object.items.all(x, object.items.all(y, true)) || true', 50, false],
  ];
  for (const [expr, limit, ok] of rows) {
    // counts, not the clock; the load-time estimate (test/expr/cost-estimate.test.ts) is off to reach the runtime bound
    const p = compileExpression(expr, { costLimit: limit, maxEvalMs: 600_000, estimatedCostLimit: Infinity });
    if (ok) t.doesNotThrow(() => p.evaluate(v), `${expr} within ${limit}`);
    else t.throws(() => p.evaluate(v), /cost limit exceeded|took longer than/, `${expr} over ${limit}`);
  }
  const p = compileExpression('object.items.all(x, x >= 0)', { costLimit: 200 });
  t.throws(() => p.evaluate({ ...v, object: { items: [...list, 100] } }));
  t.equal(p.evaluate(v), true, 'the meter resets on every evaluation');
});

t.test('a compiled expression is reusable and does not mutate its input', async (t) => {
  const p = compileExpression("object.spec.containers.map(c, c.name + '-x')");
  t.same(p.evaluate(vars), ['app-x', 'sidecar-x']);
  t.same(p.evaluate(vars), ['app-x', 'sidecar-x']);
  t.equal(p.source, "object.spec.containers.map(c, c.name + '-x')");
  t.equal(pod.spec.replicas, 3);
});

t.test('toCelValue / fromCel round trip plain JSON', async (t) => {
  for (const v of [null, 1, 1.5, 'x', true, [1, [2]], { a: { b: [1, 'c'] } }]) t.same(fromCel(toCelValue(v)), v, JSON.stringify(v));
});

/** A JSON object with `key` as an own property (`{__proto__: v}` in a literal would set the prototype). */
function own(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

t.test('map keys the engine would leave out (__proto__, constructor, prototype) stay keys, as in cel-go', async (t) => {
  const special = { data: own([['__proto__', 'x'], ['constructor', 'c'], ['a', 'b']]) };
  const v = buildExprVars({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, ...special } as never, { operation: 'CREATE', namespace: '' });
  /** [expression, expected JSON result] */
  const rows: [string, unknown][] = [
    ['{"__proto__": "p"}', own([['__proto__', 'p']])],
    ['{"__proto__": {"a": 1}}', own([['__proto__', { a: 1 }]])],
    ['{"constructor": "x", "b": "y"}', own([['constructor', 'x'], ['b', 'y']])],
    ['{"prototype": 1}', own([['prototype', 1]])],
    ['{"constructor": "x"}.constructor', 'x'],
    ['{"constructor": "x", "b": "y"}.size()', 2],
    ['"prototype" in {"prototype": 1}', true],
    ['{"constructor": 1} == {"constructor": 1}', true],
    ['{"constructor": 1} == {"constructor": 2}', false],
    // a key computed at evaluation: the same
    ['["a", "constructor"].map(k, {k: 1})', [{ a: 1 }, own([['constructor', 1]])]],
    ['{object.metadata.name + "onstructor": "v"}', own([['constructor', 'v']])],
    ['{"c" + "onstructor": "v"}', own([['constructor', 'v']])],
    // a repeated key: the last value in the first place (cel-go's map literal)
    ['{"a": 1, "b": 2, "a": 3}', { a: 3, b: 2 }],
    ['{"constructor": 1, "b": 2, "constructor": 3}', own([['constructor', 3], ['b', 2]])],
    // ordinary maps are the engine's own
    ['{"a": [1], "b": [2, 3]}', { a: [1], b: [2, 3] }],
    // an input map's keys survive a transform into JSON (fromCel of a Map)
    ['object.data.transformMap(k, x, x + "!")', own([['__proto__', 'x!'], ['constructor', 'c!'], ['a', 'b!']])],
    ['object.data', special.data],
  ];
  for (const [expr, want] of rows) {
    const got = compileExpression(expr).evaluate(v);
    t.same(got, want, expr);
    if (typeof want === 'object' && want !== null && !Array.isArray(want)) {
      t.same(Object.keys(got as object), Object.keys(want), `${expr}: keys in order`);
      t.equal(Object.getPrototypeOf(got), Object.prototype, `${expr}: a plain object`);
    }
  }
  // a Map with a __proto__ key becomes an own key, never the result's prototype
  const fromMap = fromCel(new Map<string, unknown>([['__proto__', { polluted: 1 }]])) as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(fromMap), Object.prototype);
  t.same(Object.keys(fromMap), ['__proto__']);
  t.equal((fromMap as { polluted?: unknown }).polluted, undefined);
});

t.test('conditionCompiler: boolean or throw', async (t) => {
  const c: ConditionCompiler = conditionCompiler; // assignable to policy/match.ts
  const input = { frontDoor: 'admission' as const, operation: 'CREATE' as const, namespace: 'team-a', namespaceLabels: { env: 'prod' } };
  const rows: [string, boolean | RegExp][] = [
    ["!object.metadata.name.startsWith('system-')", true],
    ["namespaceObject.metadata.labels.env == 'dev'", false],
    ["request.operation == 'CREATE'", true],
    ['object.metadata.name', /must evaluate to a bool, got string$/],
    ['object.metadata.nope', /no such key|not found/],
  ];
  for (const [expr, want] of rows) {
    const fn = c(expr, 'spec.match.conditions[0].expression');
    if (typeof want === 'boolean') t.equal(fn(pod as never, input), want, expr);
    else t.throws(() => fn(pod as never, input), want, expr);
  }
  t.throws(() => c('object.', 'spec.match.conditions[1].expression'), { name: 'ExprError', path: 'spec.match.conditions[1].expression' });
});
