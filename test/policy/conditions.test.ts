/**
 * match.conditions (CEL, like webhook matchConditions): all true -> match; an
 * evaluation error follows the policy's failurePolicy (and Audit reports it);
 * a compile error is a policy error naming the expression's path.
 */
import t from 'tap';
import { policiesFromText, PolicyError } from '../../src/index.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';

const policy = (cond: string, extra = ''): string => `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
${extra}  match:
    conditions:
    - {name: c1, expression: ${JSON.stringify(cond)}}
  transformers:
  - annotations: {stamped: "true"}
`;

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { a: '1' } };
const input = { frontDoor: 'render' as const, operation: 'CREATE' as const, namespace: 'shop' };

interface Row {
  name: string;
  cond: string;
  extra?: string;
  changed: boolean;
  denials: number;
  warning?: RegExp;
}

const rows: Row[] = [
  { name: 'true matches', cond: "object.metadata.name.startsWith('web-')", changed: true, denials: 0 },
  { name: 'false skips', cond: "object.metadata.name.startsWith('db-')", changed: false, denials: 0 },
  { name: 'error + Fail denies', cond: 'object.spec.replicas > 1', changed: false, denials: 1 },
  { name: 'error + Ignore warns', cond: 'object.spec.replicas > 1', extra: '  failurePolicy: Ignore\n', changed: false, denials: 0, warning: /p\/match\.conditions: .*failurePolicy Ignore/ },
  { name: 'error + Audit reports', cond: 'object.spec.replicas > 1', extra: '  mode: Audit\n', changed: false, denials: 0, warning: /^\[audit\] p\/match\.conditions/ },
  { name: 'request.namespace is visible', cond: "request.namespace == 'shop'", changed: true, denials: 0 },
];

t.test('conditions', async (t) => {
  for (const r of rows) {
    const set = policiesFromText(policy(r.cond, r.extra), defaultLoadOptions());
    const res = set.evaluate(cm, input);
    t.equal(res.changed, r.changed, `${r.name}: changed`);
    t.equal(res.denials.length, r.denials, `${r.name}: denials`);
    if (r.denials) t.equal(res.denials[0].rule, 'match.conditions');
    if (r.warning) t.match(res.warnings.join('\n'), r.warning, `${r.name}: warning`);
  }
});

t.test('a compile error names the expression path', async (t) => {
  let err: unknown;
  try {
    policiesFromText(policy('object.metadata.name ==== 1'), defaultLoadOptions());
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof PolicyError, 'a PolicyError');
  t.equal((err as PolicyError).path, 'spec.match.conditions[0].expression');
});

t.test('SDK defaults: conditions compile without options, as in run (loadPolicies, policiesFromText)', async (t) => {
  const set = policiesFromText(policy("object.metadata.name.startsWith('web-')"));
  t.equal(set.evaluate(cm, input).changed, true, 'the condition held and the policy ran');
  t.equal(policiesFromText(policy("object.metadata.name.startsWith('db-')")).evaluate(cm, input).changed, false, 'a false condition skips');
});

t.test('deadline: a policy not started in time follows failurePolicy', async (t) => {
  const text = (fp: string, name: string, order: number): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: ${name}}
spec:
  order: ${order}
  failurePolicy: ${fp}
  transformers:
  - annotations: {${name}: "x"}
`;
  const set = policiesFromText(`${text('Ignore', 'first', 1)}---\n${text('Fail', 'second', 2)}`);
  // The clock moves past the deadline after three reads: the evaluation's start, before the first policy,
  // before its one transformer; the read before the second policy is late.
  let reads = 0;
  const res = set.evaluate(cm, { ...input, deadline: 0, now: () => (++reads > 3 ? 10 : 0) });
  t.same(res.matchedPolicies, ['first'], 'the first policy ran');
  t.equal(res.denials.length, 1, 'the second (Fail) is denied for the deadline');
  t.equal(res.denials[0].rule, '(deadline)');
  t.same(res.changedBy, ['first/annotations[0]']);
  t.equal(res.deadlineHit, true, 'the evaluation says the deadline stopped it');
  const ignoring = policiesFromText(text('Ignore', 'only', 1));
  const r2 = ignoring.evaluate(cm, { ...input, deadline: -1, now: () => 0 });
  t.equal(r2.changed, false);
  t.equal(r2.deadlineHit, true, 'an Ignore policy skipped for the deadline: stopped too');
  t.match(r2.warnings[0], /deadline exceeded.*failurePolicy Ignore/);
});

t.test('deadline: a policy that cannot match the object is not failed by it', async (t) => {
  const set = policiesFromText(`apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: deployments-only}
spec:
  failurePolicy: Fail
  match: {resources: [{group: apps, kinds: [Deployment]}]}
  transformers:
  - annotations: {x: "y"}
`);
  const res = set.evaluate(cm, { ...input, deadline: -1, now: () => 0 });
  t.equal(res.denials.length, 0, 'a ConfigMap is not denied for a Deployment policy\'s deadline');
  t.equal(res.errors.length, 0);
  t.equal(res.deadlineHit, false, 'no check found the deadline passed: the result is the unbounded one');
});
