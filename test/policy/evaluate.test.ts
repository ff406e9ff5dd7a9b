/**
 * The one evaluation (src/policy/evaluate.ts): the trace records, per policy,
 * matched or the first excluding clause, per transformer ran/skipped/error
 * with references to the objects (never copies), findings with rule names,
 * deadline cut-offs; per-transformer patches computed on demand re-apply to
 * the final object; the policy-level modes (convergence, reinvocation).
 */
import t from 'tap';
import { createPolicySet, type CompiledPolicy } from '../../src/policy/compile.js';
import { appliedSteps, stepChangedPaths, stepPatch, type Evaluation } from '../../src/policy/evaluate.js';
import { summarize } from '../../src/server/admission-record.js';
import type { KubeObject, JsonObject } from '../../src/kube/object.js';
import type { Transformer } from '../../src/transform/types.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import { compilePolicies, policyDoc } from '../helpers/evaluation.js';
import { deepFreeze, reapply } from '../helpers/laws.js';

const compile = compilePolicies;
const doc = policyDoc;

const POLICIES = [
  doc('a-label', '  order: 1\n  transformers:\n  - {name: team, labels: {pairs: {team: shop}}}\n  - {name: noop, annotations: {}}\n  - name: warn-replicas\n    validate: {expression: "false", message: "look", action: Warn}\n'),
  doc('b-audit', '  order: 2\n  mode: Audit\n  transformers:\n  - {name: stamp, annotations: {audited: "yes"}}\n'),
  doc('c-deploy-only', '  order: 3\n  match: {resources: [{group: apps, kinds: [Deployment]}]}\n  transformers:\n  - {name: never, labels: {pairs: {x: y}}}\n'),
  doc('d-other-ns', '  order: 4\n  match: {namespaces: [other]}\n  transformers:\n  - {name: never, labels: {pairs: {x: y}}}\n'),
  doc('e-failing', '  order: 5\n  failurePolicy: Ignore\n  transformers:\n  - {name: first, annotations: {e: "1"}}\n  - name: test-op\n    patch: {target: {kind: ConfigMap}, patch: "- {op: test, path: /data/a, value: \'2\'}"}\n  - {name: after, annotations: {e2: "1"}}\n'),
  doc('f-last', '  order: 6\n  transformers:\n  - {name: data, annotations: {f: "1"}}\n'),
].join('');

const cm: KubeObject = deepFreeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'shop' }, data: { a: '1' } });
const input: EvaluationInput = { frontDoor: 'admission', operation: 'CREATE', namespace: 'shop' };

t.test('the trace: one step per policy, in order, with reasons', async (t) => {
  const set = createPolicySet(compile(POLICIES));
  const e = set.evaluate(cm, input);
  t.same(e.trace.map((p) => [p.policy.name, p.status, p.outcome ?? '']), [
    ['a-label', 'matched', 'applied'],
    ['b-audit', 'matched', 'audit'],
    ['c-deploy-only', 'skipped', ''],
    ['d-other-ns', 'skipped', ''],
    ['e-failing', 'matched', 'failed'],
    ['f-last', 'matched', 'applied'],
  ]);
  t.equal(e.trace[2]?.reason, 'match.resources', 'a kind ruled out by match.resources names that clause');
  t.equal(e.trace[3]?.reason, 'match.namespaces', 'the first excluding clause');
  const a = e.trace[0];
  t.same(a?.transformers.map((s) => [s.transformer.name, s.status]), [['team', 'ran'], ['noop', 'ran'], ['warn-replicas', 'ran']]);
  t.equal(a?.transformers[0]?.before, cm, 'the first step holds the input object itself (a reference)');
  t.equal(a?.transformers[1]?.before, a?.transformers[0]?.after, 'each step starts where the previous one left');
  t.equal(a?.transformers[1]?.after, a?.transformers[1]?.before, 'a no-op returns its input');
  t.same(a?.transformers[2]?.findings, [{ action: 'Warn', rule: 'warn-replicas', message: 'look' }], 'findings with the rule name');
  const failing = e.trace[4];
  t.same(failing?.transformers.map((s) => [s.transformer.name, s.status, s.reason ?? '']), [['first', 'ran', ''], ['test-op', 'error', ''], ['after', 'skipped', 'after error']]);
  t.match(failing?.transformers[1]?.error?.message, /test/, 'the error is kept');
  t.same(e.errors.map((x) => [x.policy, x.transformer]), [['e-failing', 'test-op']]);
  t.equal(e.trace[5]?.transformers[0]?.before, a?.transformers[2]?.after, 'an Audit or failed policy does not carry its changes on');
  t.same(e.changedBy, ['a-label/team', 'f-last/data']);
  t.same(appliedSteps(e).map((s) => s.name), ['a-label/team', 'f-last/data']);
  // The server's metrics read the same steps without their names (forEachAppliedStep).
  t.same(summarize(e).applied, appliedSteps(e).map(({ policy, step }) => ({ policy: policy.name, transformer: step.transformer.name })), 'summarize: the applied steps as policy/transformer pairs');
  t.same(summarize({ ...e, changed: false }).applied, [], 'summarize: none when the object did not change');
  t.same(stepChangedPaths(a?.transformers[0] as never), ['/metadata/labels']);
});

t.test('per-transformer patches, computed on demand, re-apply to the final object', async (t) => {
  const set = createPolicySet(compile(POLICIES));
  const e: Evaluation = set.evaluate(cm, input);
  let object: KubeObject = cm;
  for (const { step } of appliedSteps(e)) object = reapply(object, stepPatch(step));
  t.same(object, e.object, 'the applied steps\' patches rebuild the result');
  t.same(stepPatch(e.trace[0]?.transformers[1] as never), [], 'a no-op has an empty patch');
});

t.test('deadline cut-offs are recorded', async (t) => {
  const set = createPolicySet(compile(POLICIES));
  const e = set.evaluate(cm, { ...input, deadline: 0, now: () => 1 });
  t.same(e.trace.filter((p) => p.status === 'deadline').map((p) => p.policy.name), ['a-label', 'b-audit', 'd-other-ns', 'e-failing', 'f-last']);
  t.equal(e.denials.length, 3, 'Fail policies deny (Audit warns, Ignore warns)');
  t.equal(e.deadlineHit, true, 'the evaluation says the deadline stopped it');
  t.equal(set.evaluate(cm, input).deadlineHit, false, 'without a deadline: never');
  t.equal(set.evaluate(cm, { ...input, deadline: 1, now: () => 0 }).deadlineHit, false, 'a deadline not reached: not hit');
});

t.test('every transformer of a chain gets one step, in order: ran, error, skipped after an error or a deletion, or on the validate route', async (t) => {
  // Transformers by letter: k keeps the object, c changes it, d deletes it, x throws, v is a validate rule that keeps it.
  const make = (letter: string, i: number): Transformer => ({
    type: letter === 'v' ? 'validate' : 'test',
    name: `${letter}${i}`,
    apply: (o) => {
      if (letter === 'd') return null;
      if (letter === 'x') throw new Error('boom');
      return letter === 'c' ? { ...o, metadata: { ...(o.metadata as JsonObject), labels: { [`l${i}`]: 'x' } } } : o;
    },
  });
  // The reference: the records one by one, as DESIGN.md states them.
  const expected = (letters: string, validateOnly: boolean): string[] => {
    let stop = '';
    return [...letters].map((l) => {
      if (stop) return `skipped:${stop}`;
      if (validateOnly && l !== 'v') return 'skipped:validate route';
      if (l === 'x') return (stop = 'after error'), 'error:';
      if (l === 'd') return (stop = 'after deletion'), 'ran:';
      return 'ran:';
    });
  };
  const [base] = compile(doc('chain', '  transformers:\n  - {name: a, annotations: {}}\n'));
  const chains: string[] = [''];
  for (let n = 1; n <= 3; n++) for (const prev of chains.filter((c) => c.length === n - 1)) for (const l of 'kcdxv') chains.push(prev + l);
  for (const letters of chains) {
    for (const validateOnly of letters.includes('v') ? [false, true] : [false]) { // the validate route skips a policy without rules
      const policy = { ...(base as CompiledPolicy), passInPlace: undefined, transformers: [...letters].map(make) };
      const e = createPolicySet([policy]).evaluate(cm, { ...input, validateOnly });
      const steps = e.trace[0]?.transformers ?? [];
      const row = `${letters || '(none)'}${validateOnly ? ', validate route' : ''}`;
      t.same(steps.map((s) => `${s.status}:${s.reason ?? ''}`), expected(letters, validateOnly), row);
      t.same(steps.map((s) => s.transformer.name), [...letters].map((l, i) => `${l}${i}`), `${row}: names`);
      t.equal(Object.keys(steps).length, letters.length, `${row}: no holes`);
    }
  }
});

t.test('a deadline inside a policy: the transformer that cannot start fails, failurePolicy decides', async (t) => {
  // The clock reads 0 for the first `budget` reads, then 100 (past the deadline 10). Reads: one when the
  // evaluation starts, one before the policy, one before each transformer.
  const clock = (budget: number): (() => number) => () => (budget-- > 0 ? 0 : 100);
  const rows: [string, string, number, string[], string[], number][] = [
    // name, failurePolicy, clock reads before the deadline passes, step statuses, error transformers, denials
    ['between transformers, Fail', 'Fail', 3, ['ran', 'error', 'skipped'], ['second'], 1],
    ['between transformers, Ignore', 'Ignore', 3, ['ran', 'error', 'skipped'], ['second'], 0],
    ['before the policy', 'Fail', 0, [], ['(deadline)'], 1],
    ['in time', 'Fail', 99, ['ran', 'ran', 'ran'], [], 0],
  ];
  for (const [name, fp, reads, statuses, errors, denials] of rows) {
    const [policy] = compile(doc('chain', `  failurePolicy: ${fp}\n  transformers:\n  - {name: first, labels: {pairs: {a: "1"}}}\n  - {name: second, labels: {pairs: {b: "1"}}}\n  - {name: third, labels: {pairs: {c: "1"}}}\n`));
    const e = createPolicySet([policy as CompiledPolicy]).evaluate(cm, { ...input, deadline: 10, now: clock(reads) });
    t.same(e.trace[0]?.transformers.map((s) => s.status), statuses, `${name}: steps`);
    t.same(e.errors.map((x) => x.transformer), errors, `${name}: errors`);
    t.equal(e.denials.length, denials, `${name}: denials`);
    if (errors.length) t.match(e.errors[0]?.message, /deadline exceeded/, `${name}: message`);
    t.equal(e.deadlineHit, errors.length > 0, `${name}: deadlineHit`);
    if (errors.length) t.equal(e.object, cm, `${name}: a failed policy changes nothing`);
    else t.notOk(e.errors.length, `${name}: no error`);
  }
});

t.test('a deadline inside CEL stops the running expression; the policy budget spans its expressions', async (t) => {
  // 90,000 units each (a scan of 900,000 characters: one unit per 10), quick to run.
  const scan = "!object.data.s.contains('zz')";
  const big: KubeObject = deepFreeze({ ...cm, data: { s: 'a'.repeat(900_000) } });
  const [one] = compile(doc('scan', `  failurePolicy: Fail\n  transformers:\n  - {name: mark, labels: {pairs: {a: "1"}}}\n  - name: scan\n    validate: {expression: ${JSON.stringify(scan)}, message: m}\n`));
  const set = createPolicySet([one as CompiledPolicy]);
  t.same(set.evaluate(big, input).errors, [], 'without a deadline it passes');
  t.equal(set.evaluate(big, input).deadlineHit, false, 'without a deadline: not hit');
  // The injected clock stands still at the deadline (never past it between transformers); the meter reads
  // the real clock, on which the deadline is already behind: the expression stops at its first clock read.
  const e = set.evaluate(big, { ...input, deadline: 0, now: () => 0 });
  t.same(e.trace[0]?.transformers.map((s) => s.status), ['ran', 'error'], 'the transformers before it ran');
  t.same(e.errors.map((x) => [x.transformer, x.message]), [['scan', 'expression failed: admission deadline exceeded']]);
  t.equal(e.denials.length, 1, 'failurePolicy Fail denies');
  t.equal(e.deadlineHit, true, 'the meter\'s stop is a deadline hit (PolicyBudget.deadlineHit)');
  // Kubernetes' runtime budget per policy evaluation (RuntimeCELCostBudget, 10,000,000 units): 120 such
  // rules pass one by one (each under PerCallLimit), not all in one policy; the 112th runs out.
  const rules = (n: number): string => Array.from({ length: n }, (_, i) => `  - name: r${i + 1}\n    validate: {expression: ${JSON.stringify(scan)}, message: m}\n`).join('');
  const [many] = compile(doc('budget', `  failurePolicy: Fail\n  transformers:\n${rules(120)}`));
  const b = createPolicySet([many as CompiledPolicy]).evaluate(big, input);
  t.same(b.errors.map((x) => [x.transformer, x.message]), [['r112', 'expression failed: validation failed due to running out of cost budget, no further validation rules will be run']]);
  t.equal(b.deadlineHit, false, 'a spent cost budget is not a deadline');
  const split = compile(doc('first', `  order: 1\n  transformers:\n${rules(60)}`) + doc('second', `  order: 2\n  transformers:\n${rules(60)}`));
  t.same(createPolicySet(split).evaluate(big, input).errors, [], 'the budget is per policy');
});

t.test('the /validate route runs validate rules only; the rest are skipped steps', async (t) => {
  const set = createPolicySet(compile(POLICIES));
  const e = set.evaluate(cm, { ...input, validateOnly: true });
  t.same(e.trace.map((p) => p.policy.name), ['a-label'], 'policies without validate rules are left out');
  t.same(e.trace[0]?.transformers.map((s) => s.status), ['skipped', 'skipped', 'ran']);
  t.equal(e.object, cm);
});

/** A transformer that counts an annotation up to `limit`. */
function counter(limit: number): Transformer {
  return {
    type: 'count',
    name: 'count',
    apply(o) {
      const md = o.metadata as JsonObject;
      const n = Number((md.annotations as JsonObject | undefined)?.n ?? 0);
      if (n >= limit) return o;
      return { ...o, metadata: { ...md, annotations: { ...((md.annotations as JsonObject) ?? {}), n: String(n + 1) } } };
    },
  };
}

t.test('convergence: the chain runs until a pass changes nothing', async (t) => {
  const [base] = compile(doc('conv', '  transformers:\n  - {annotations: {}}\n'));
  const policy = { ...(base as CompiledPolicy), transformers: [counter(3)], convergence: { maxIterations: 5 } };
  const e = createPolicySet([policy]).evaluate(cm, input);
  t.equal(((e.object as KubeObject).metadata as JsonObject).annotations && (((e.object as KubeObject).metadata as JsonObject).annotations as JsonObject).n, '3');
  t.equal(e.trace[0]?.iterations, 4, 'three changing passes and one that changed nothing');
  const short = createPolicySet([{ ...policy, convergence: { maxIterations: 2 } }]).evaluate(cm, input);
  t.match(short.denials[0]?.message, /no fixed point after 2 passes/, 'not converging is a policy error (failurePolicy Fail)');
  t.equal(short.object, cm);
});

t.test('reinvocationPolicy IfNeeded: a policy runs again when a later one changed the object', async (t) => {
  const [a, b] = compile(doc('a', '  order: 1\n  transformers:\n  - {annotations: {}}\n') + doc('b', '  order: 2\n  transformers:\n  - {name: mark, annotations: {b: "x"}}\n'));
  const copyB: Transformer = {
    type: 'copy',
    name: 'copy-b',
    apply(o) {
      const md = o.metadata as JsonObject;
      const v = (md.annotations as JsonObject | undefined)?.b;
      if (v === undefined || (md.labels as JsonObject | undefined)?.b === v) return o;
      return { ...o, metadata: { ...md, labels: { ...((md.labels as JsonObject) ?? {}), b: v } } };
    },
  };
  const reinvoked = { ...(a as CompiledPolicy), transformers: [copyB], reinvocationPolicy: 'IfNeeded' as const };
  const e = createPolicySet([reinvoked, b as CompiledPolicy]).evaluate(cm, input);
  t.same(e.trace.map((p) => [p.policy.name, p.reinvoked ?? false]), [['a', false], ['b', false], ['a', true]]);
  t.equal(((e.object as KubeObject).metadata as JsonObject).labels && (((e.object as KubeObject).metadata as JsonObject).labels as JsonObject).b, 'x');
  const never = createPolicySet([{ ...reinvoked, reinvocationPolicy: 'Never' }, b as CompiledPolicy]).evaluate(cm, input);
  t.equal(never.trace.length, 2, 'Never: once');
});

t.test('lists an evaluation records nothing in are shared frozen empty lists; a list with entries is its own', async (t) => {
  const none = createPolicySet([]).evaluate(cm, input);
  const lists = (e: Evaluation): readonly (readonly unknown[])[] => [e.denials, e.warnings, e.errors, e.matchedPolicies, e.changedBy, e.trace];
  for (const l of lists(none)) {
    t.same(l, [], 'empty');
    t.ok(Object.isFrozen(l), 'frozen: a reader pushing into it fails loudly');
  }
  t.equal(none.object, cm, 'the input object itself');
  t.equal(none.changed, false);
  const unmatched = createPolicySet(compile(doc('deploy-only', '  match: {resources: [{group: apps, kinds: [Deployment]}]}\n  transformers:\n  - {name: never, labels: {pairs: {x: y}}}\n'))).evaluate(cm, input);
  t.same(unmatched.trace.map((p) => p.status), ['skipped'], 'a skipped policy is still traced');
  t.equal(unmatched.matchedPolicies, none.matchedPolicies, 'the same shared list');
  // Two evaluations that record entries never share a list (a first entry makes a new list).
  const set = createPolicySet(compile(POLICIES));
  const e1 = set.evaluate(cm, input);
  const e2 = set.evaluate(cm, input);
  for (const [i, l] of lists(e1).entries()) {
    if (l.length === 0) continue;
    t.not(l, lists(e2)[i], `list ${i} is the evaluation's own`);
    t.notOk(Object.isFrozen(l));
  }
  t.same(e1.warnings, e2.warnings);
  t.same(e1.matchedPolicies, ['a-label', 'b-audit', 'e-failing', 'f-last']);
});

t.test('changedBy (counted while the chain runs, named by index) is the applied steps\' names, read from the trace', async (t) => {
  const [base] = compile(doc('conv', '  transformers:\n  - {annotations: {}}\n'));
  const counting = { ...(base as CompiledPolicy), transformers: [counter(2), ...(base as CompiledPolicy).transformers, counter(3)], convergence: { maxIterations: 5 } };
  const deleting: Transformer = { type: 'delete', name: 'delete', apply: () => null };
  const sets: [string, CompiledPolicy[]][] = [
    ['the trace test\'s set', compile(POLICIES)],
    ['a converging chain (steps of several passes)', [counting]],
    ['a converging chain, then another policy', [{ ...counting, order: 1 }, ...compile(doc('z-after', '  order: 9\n  transformers:\n  - {name: z, labels: {pairs: {z: "1"}}}\n'))]],
    ['two changing policies', compile(doc('p1', '  order: 1\n  transformers:\n  - {name: a, labels: {pairs: {a: "1"}}}\n  - {name: same, labels: {pairs: {a: "1"}}}\n  - {name: b, annotations: {b: "1"}}\n') + doc('p2', '  order: 2\n  transformers:\n  - {name: c, annotations: {c: "1"}}\n'))],
    ['a transformer list not the compiled one (named on the spot)', compile(POLICIES).map((p) => ({ ...p, transformers: [...p.transformers].reverse() }))],
    ['a deletion (render; dropped at admission)', [{ ...(base as CompiledPolicy), transformers: [counter(1), deleting, counter(2)] }]],
  ];
  for (const [name, policies] of sets) {
    for (const frontDoor of ['admission', 'render'] as const) {
      const e = createPolicySet(policies).evaluate(cm, { ...input, frontDoor });
      const want = e.changed ? appliedSteps(e).map((s) => s.name) : [];
      t.same(e.changedBy, want, `${name}, ${frontDoor}: ${want.join(', ')}`);
      t.equal(e.changedBy.length, want.length, `${name}, ${frontDoor}: no holes`);
    }
  }
});
