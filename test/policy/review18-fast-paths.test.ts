/**
 * Session 18's small admission fast paths in src/policy/evaluate.ts, each
 * against its reference:
 * - the kind index's last pair (`kindIndex`): a set evaluating a sequence of
 *   objects (runs and switches of group and kind, texts past the bound)
 *   records the same trace and matched policies as a fresh set per object
 *   (whose index has no last pair); fails when the pair is compared by kind
 *   alone (a Pod of another group);
 * - `meterDeadlineOf`: the deadline itself on the default clock, the mapped
 *   reading otherwise (the reference, with the readings a test clock counts);
 * - a pass without findings skips `Run.report`: validate findings (Deny,
 *   Warn, Audit) still reach denials and warnings, whichever step reports.
 */
import t from 'tap';
import { createPolicySet } from '../../src/policy/compile.js';
import { meterDeadlineOf, performanceNow, type Evaluation } from '../../src/policy/evaluate.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import { compilePolicies, policyDoc } from '../helpers/evaluation.js';

const compile = compilePolicies;
const doc = policyDoc;
const input: EvaluationInput = { frontDoor: 'admission', operation: 'CREATE', namespace: 'shop' };

const LONG = 'K'.repeat(300);
const KIND_POLICIES = [
  doc('core-pod', '  match: {resources: [{kinds: [Pod]}]}\n  transformers:\n  - {name: a, annotations: {core-pod: "1"}}\n'),
  doc('example-pod', '  match: {resources: [{group: example.com, kinds: [Pod]}]}\n  transformers:\n  - {name: a, annotations: {example-pod: "1"}}\n'),
  doc('apps-deploy', '  match: {resources: [{group: apps, kinds: [Deployment]}]}\n  transformers:\n  - {name: a, annotations: {apps-deploy: "1"}}\n'),
  doc('ext-deploy', '  match: {resources: [{group: extensions, kinds: [Deployment]}]}\n  transformers:\n  - {name: a, annotations: {ext-deploy: "1"}}\n'),
  doc('long', `  match: {resources: [{group: example.com, kinds: [${LONG}]}]}\n  transformers:\n  - {name: a, annotations: {long: "1"}}\n`),
  doc('any', '  transformers:\n  - {name: a, annotations: {any: "1"}}\n'),
].join('');

const obj = (apiVersion: string, kind: string): KubeObject => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'shop' } });
const OBJECTS: KubeObject[] = [
  obj('v1', 'Pod'), obj('v1', 'Pod'), obj('example.com/v1', 'Pod'), obj('v1', 'Pod'), obj('example.com/v1', 'Pod'), obj('example.com/v1', 'Pod'),
  obj('apps/v1', 'Deployment'), obj('extensions/v1beta1', 'Deployment'), obj('apps/v1', 'Deployment'), obj('apps/v1', 'Deployment'),
  obj('example.com/v1', LONG), obj('example.com/v1', LONG), obj('v1', 'Pod'), obj('example.com/v1', LONG),
  obj('v1', 'ConfigMap'), obj('v1', 'Pod'), obj('apps/v1', 'Pod'), obj('v1', 'Pod'),
];

/** What the kind index decides, as the evaluation records it. */
const decided = (e: Evaluation): unknown => ({
  matched: e.matchedPolicies,
  trace: e.trace.map((p) => [p.policy.name, p.status, p.reason]),
  object: e.object,
});

t.test('the kind index\'s last pair: the same decisions as a fresh index, over runs and switches of group and kind', async (t) => {
  const policies = compile(KIND_POLICIES);
  const shared = createPolicySet(policies);
  for (const order of [OBJECTS, [...OBJECTS].reverse()]) {
    for (const [i, o] of order.entries()) {
      const want = createPolicySet(compile(KIND_POLICIES)).evaluate(o, input);
      t.same(decided(shared.evaluate(o, input)), decided(want), `${i}: ${String(o.apiVersion)} ${String(o.kind).slice(0, 20)}`);
    }
  }
});

t.test('meterDeadlineOf: the deadline itself on the default clock; else mapped by one reading of each clock', async (t) => {
  t.equal(meterDeadlineOf(undefined, performanceNow), Infinity);
  t.equal(meterDeadlineOf(undefined, () => 5), Infinity);
  for (const d of [0, 12.5, performance.now() + 1000, -3]) t.equal(meterDeadlineOf(d, performanceNow), d, `default clock, ${d}`);
  // A clock 1,000 ms behind performance.now(): the reference maps by the readings' difference.
  let reads = 0;
  const behind = (): number => {
    reads++;
    return performance.now() - 1000;
  };
  const before = performance.now();
  const got = meterDeadlineOf(500, behind);
  const after = performance.now();
  t.equal(reads, 1, 'the test clock read once');
  t.ok(got >= 1500 - (after - before) - 1e-6 && got <= 1500 + (after - before) + 1e-6, `mapped: ${got}`);
  // A bound clock that is performance.now but not the default function is mapped too (the reference path).
  const bound = performance.now.bind(performance);
  const mapped = meterDeadlineOf(100, bound);
  t.ok(Math.abs(mapped - 100) < 1000, 'a bound performance.now maps to about the deadline');
});

const FINDING_POLICIES = [
  doc('deny-late', '  order: 1\n  transformers:\n  - {name: a, annotations: {x: "1"}}\n  - {name: b, labels: {pairs: {y: "2"}}}\n  - name: no\n    validate: {expression: "false", message: "denied late"}\n'),
  doc('warn-first', '  order: 2\n  failurePolicy: Ignore\n  transformers:\n  - name: w\n    validate: {expression: "false", message: "careful", action: Warn}\n  - {name: a, annotations: {z: "1"}}\n'),
  doc('quiet', '  order: 3\n  transformers:\n  - name: ok\n    validate: {expression: "true", message: "never"}\n  - {name: a, annotations: {q: "1"}}\n'),
  doc('audit', '  order: 4\n  mode: Audit\n  transformers:\n  - {name: a, annotations: {au: "1"}}\n  - name: no\n    validate: {expression: "false", message: "would deny"}\n'),
].join('');

t.test('findings of any step still reach denials and warnings when other passes report none', async (t) => {
  const set = createPolicySet(compile(FINDING_POLICIES));
  const e = set.evaluate(obj('v1', 'ConfigMap'), input);
  t.same(e.denials.map((d) => [d.policy, d.rule, d.message]), [['deny-late', 'no', 'denied late']]);
  t.same([...e.warnings], ['warn-first/w: careful', '[audit] would deny: audit/no: would deny', '[audit] audit: would change /metadata/annotations/au']);
  const quiet = createPolicySet(compile(FINDING_POLICIES.split('---\n')[2] + '---\n')).evaluate(obj('v1', 'ConfigMap'), input);
  t.same([quiet.denials.length, quiet.warnings.length], [0, 0], 'a policy whose rule passes reports nothing');
});
