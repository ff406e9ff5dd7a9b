/**
 * Variables shared by several evaluations (src/expr/vars.ts `shareConversions`,
 * used by the validate rules of one object): each variable is converted to
 * CEL values once and reused. Table over expressions (the example policies'
 * rules and messages, errors, optionals, a list concatenation), each
 * evaluated over fresh variables and over one shared set that earlier
 * expressions already converted: the same value or error, the same cost (the
 * per-expression limit at the cost and one unit below it), in both orders; a
 * variable replaced by another value is converted again. No timing.
 */
import t from 'tap';
import { compileExpression } from '../../src/expr/cel.js';
import { buildExprVars, shareConversions } from '../../src/expr/vars.js';
import type { KubeObject } from '../../src/kube/object.js';
import { deepFreeze } from '../helpers/laws.js';

const POD = deepFreeze<KubeObject>({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'front' }, annotations: { 'a/b': 'x' } },
  spec: {
    securityContext: { runAsNonRoot: true },
    containers: [
      { name: 'app', image: 'quay.io/org/app:latest', ports: [{ containerPort: 8080 }], resources: { limits: { cpu: '1', memory: '1Gi' } } },
      { name: 'side', image: 'registry.example.com/side@sha256:abc', securityContext: { privileged: false }, env: [{ name: 'A', value: '1' }] },
    ],
    volumes: [{ name: 'v', hostPath: { path: '/x' } }, { name: 'w', emptyDir: {} }],
  },
});

const SPEC = "[(object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)]";
const ALL = '(spec.containers + (has(spec.initContainers) ? spec.initContainers : []))';

const EXPRESSIONS: string[] = [
  `${SPEC}.all(spec, ${ALL}.all(c, c.image.matches('^(registry[.]example[.]com|ghcr[.]io/example)/')))`,
  `${SPEC}.map(spec, 'images: ' + ${ALL}.filter(c, !c.image.matches('^registry[.]example[.]com/')).map(c, c.image).join(', '))[0]`,
  `${SPEC}.all(spec, ${ALL}.all(c, c.image.contains('@') || (c.image.split('/')[size(c.image.split('/')) - 1].contains(':') && !c.image.endsWith(':latest'))))`,
  `${SPEC}.all(spec, !has(spec.volumes) || spec.volumes.all(v, !has(v.hostPath)))`,
  `${SPEC}.map(spec, spec.volumes.filter(v, has(v.hostPath)).map(v, v.name).join(', '))[0]`,
  `${SPEC}.all(spec, ${ALL}.all(c, has(c.resources) && has(c.resources.limits) && has(c.resources.limits.cpu)))`,
  `${SPEC}.all(spec, ${ALL}.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot) ? c.securityContext.runAsNonRoot == true : spec.securityContext.runAsNonRoot == true))`,
  'object.spec.containers[0].ports[0].containerPort + 1',
  "object.metadata.labels.all(k, object.metadata.labels[k] != '') && object.metadata.?annotations['a/b'].orValue('') == 'x'",
  'object.spec.containers.map(c, c.name) + [request.operation, namespaceObject.metadata.name]',
  'object.spec.nope',
  'object.spec.containers[5].name',
  'int(object.metadata.name) > 0',
];

/** The value, or the error's message, of one evaluation. */
function outcome(f: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

const input = { operation: 'CREATE', namespace: 'shop' };
const fresh = (): Record<string, unknown> => buildExprVars(POD, input);

/** The smallest per-expression limit under which `src` evaluates over `vars()` (its cost in units). */
function costOf(src: string, vars: () => Record<string, unknown>): number {
  let lo = 0;
  let hi = 100_000;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (outcome(() => compileExpression(src, { costLimit: mid }).evaluate(vars())).error === undefined) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

t.test('shared variables: same values, errors and costs as fresh ones, in any order', async (t) => {
  const programs = EXPRESSIONS.map((src) => compileExpression(src, {}));
  for (const order of [programs, [...programs].reverse()]) {
    const shared = shareConversions(fresh());
    for (const p of order) {
      const want = outcome(() => p.evaluate(fresh()));
      t.same(outcome(() => p.evaluate(shared)), want, `${p.source.slice(0, 60)}: same outcome`);
      t.same(outcome(() => p.evaluate(shared)), want, `${p.source.slice(0, 60)}: and again`);
    }
  }
  const outcomes = programs.map((p) => outcome(() => p.evaluate(fresh())));
  t.ok(outcomes.some((o) => o.error !== undefined) && outcomes.some((o) => o.value === false) && outcomes.some((o) => o.value === true), 'the table has errors, false and true');
  const warm = shareConversions(fresh());
  for (const p of programs) outcome(() => p.evaluate(warm));
  for (const src of EXPRESSIONS.slice(0, 3)) {
    const cost = costOf(src, fresh);
    t.ok(cost > 0, `${src.slice(0, 40)}: costs ${cost} units`);
    t.equal(costOf(src, () => warm), cost, `${src.slice(0, 40)}: the same cost over converted variables`);
  }
});

t.test('a variable replaced by another value is converted again', async (t) => {
  const p = compileExpression("object.metadata.name == 'web'", {});
  const vars = shareConversions(fresh());
  t.equal(p.evaluate(vars), true, 'the first object');
  vars.object = { ...POD, metadata: { name: 'other' } };
  t.equal(p.evaluate(vars), false, 'the replacing object');
  vars.object = POD;
  t.equal(p.evaluate(vars), true, 'the first object again');
  t.same(Object.keys(vars), Object.keys(fresh()), 'the mark is not a variable');
  t.equal(JSON.stringify(vars), JSON.stringify({ ...fresh(), object: POD }), 'nor JSON');
});
