/**
 * The convergence bookkeeping's shortcuts (src/policy/evaluate.ts,
 * `setConvergenceShortcuts`) against the bookkeeping without them (the
 * reference): a converging pass's changes counted per pass and summed
 * (a pass in place from its flags, a settled pass as none) instead of
 * counted over all its steps, changedBy's names read only up to the last
 * change, and a pair of objects `movedOn` found to differ not compared again
 * by `finish` or the next convergence test. Every (policies, object, clock)
 * row: the same object (content, and the input itself when unchanged),
 * `changed`, changedBy, errors, denials, warnings, iterations, and per step
 * the status, reason, error, `stepChanged` and objects (content and which
 * steps share one); changedBy is also checked against the trace's applied
 * steps. The rows hold passes whose mutators undo each other within a pass
 * and across two policies (the objects differ by reference, not content),
 * sets that settle, that run a second pass, that fail, that do not converge,
 * and deadlines inside each pass.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { isObject, type JsonObject, type JsonValue, type KubeObject } from '../../src/kube/object.js';
import { compileMutator, mutatorSetPolicy } from '../../src/policy/gatekeeper.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { appliedSteps, createPolicySet, setConvergenceShortcuts, stepChanged, type Evaluation } from '../../src/policy/evaluate.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import type { Transformer } from '../../src/transform/types.js';
import { deepFreeze } from '../helpers/laws.js';
import { dataPath, REPO_ROOT } from '../helpers/testdata.js';
import { deadlineClock, evaluationRecord } from '../helpers/evaluation.js';

const docs = (text: string): JsonObject[] => YAML.parseAllDocuments(text).map((d) => d.toJS() as JsonObject).filter(isObject);
const POD_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }];
const assign = (name: string, location: string, value: JsonValue, extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'mutations.gatekeeper.sh/v1', kind: 'Assign', metadata: { name }, spec: { applyTo: POD_APPLY, location, parameters: { assign: { value } }, ...extra },
});
const label = (name: string, key: string, value: string): JsonObject => ({
  apiVersion: 'mutations.gatekeeper.sh/v1', kind: 'AssignMetadata', metadata: { name }, spec: { location: `metadata.labels."${key}"`, parameters: { assign: { value } } },
});

/** A Gatekeeper set's policy (with its pass in place), named `name`, ordered `order`; `inPlace` false: without it (step by step). */
function gk(set: JsonObject[], name = 'gatekeeper-mutators', order = 0, inPlace = true): CompiledPolicy {
  const p = mutatorSetPolicy(set.map((d) => compileMutator(d)), { file: `${name}.yaml`, document: 0 });
  return { ...p, name, order, passInPlace: inPlace ? p.passInPlace : undefined };
}

/** A transformer that counts an annotation up to `limit` (one change per pass until then). */
function counter(limit: number): Transformer {
  return {
    type: 'count',
    name: `count-${limit}`,
    apply(o) {
      const md = o.metadata as JsonObject;
      const n = Number((md.annotations as JsonObject | undefined)?.n ?? 0);
      if (n >= limit) return o;
      return { ...o, metadata: { ...md, annotations: { ...((md.annotations as JsonObject) ?? {}), n: String(n + 1) } } };
    },
  };
}

const ours = (text: string): CompiledPolicy[] => compilePolicyText(text, 'ours.yaml', { registry: builtinRegistry() });
const OURS_AFTER = ours('apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: z-after}\nspec:\n  order: 9\n  transformers:\n  - {name: z, labels: {pairs: {z: "1"}}}\n');
const bench = docs(readFileSync(join(REPO_ROOT, 'bench/policies/chain10-gatekeeper.yaml'), 'utf8'));
const notConverging = docs(readFileSync(dataPath('gatekeeper/not-converging.yaml'), 'utf8')).map((d) => ({
  ...d, spec: { ...(d.spec as JsonObject), applyTo: POD_APPLY, location: 'spec.x' },
}));
const counting = (limit: number, max: number): CompiledPolicy => ({ ...(OURS_AFTER[0] as CompiledPolicy), name: `count-${limit}`, order: 1, transformers: [counter(limit), counter(limit + 1)], convergence: { maxIterations: max } });

/** Policy lists: one row each. */
const ROWS: Record<string, () => CompiledPolicy[]> = {
  bench: () => [gk(bench)],
  'bench step by step': () => [gk(bench, 'gatekeeper-mutators', 0, false)],
  'bench, then our own policy': () => [gk(bench), ...OURS_AFTER],
  // a = 1, b = 2: over priority 2 the pass's object equals its input in content, not by reference
  'undo within a pass': () => [gk([assign('a', 'spec.priority', 1), assign('b', 'spec.priority', 2), label('team', 'team', 'a')])],
  'undo within a pass, alone': () => [gk([assign('a', 'spec.priority', 1), assign('b', 'spec.priority', 2)])],
  // the first policy sets priority 1, the second sets it back to 2
  'undo across policies': () => [gk([assign('a', 'spec.priority', 1)], 'p1', 1), gk([assign('b', 'spec.priority', 2)], 'p2', 2)],
  'undo across policies, settled': () => [gk([assign('a', 'spec.priority', 1), label('team', 'team', 'a')], 'p1', 1), gk([assign('b', 'spec.priority', 2), label('team2', 'team', 'b')], 'p2', 2)],
  'two passes that change': () => [gk([assign('a-sc', 'spec.securityContext', { runAsNonRoot: true }), assign('b-user', 'spec.securityContext.runAsUser', 7)])],
  'not converging': () => [gk(notConverging)],
  failing: () => [gk([label('a-team', 'team', 'a'), { apiVersion: 'mutations.gatekeeper.sh/v1', kind: 'ModifySet', metadata: { name: 'b-bad' }, spec: { applyTo: POD_APPLY, location: 'spec.nodeSelector', parameters: { values: { fromList: ['x'] } } } }])],
  'our converging chain': () => [counting(3, 9)],
  'our converging chain, cut short': () => [counting(3, 2)],
  'our converging chain, then the bench set': () => [counting(2, 9), gk(bench, 'gk', 5)],
};

const OBJECTS = (): KubeObject[] => [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'two', namespace: 'n', labels: { team: 'a' } }, spec: { priority: 2, x: '1', containers: [{ name: 'app', image: 'nginx:1' }] } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one', labels: { team: 'b' } }, spec: { priority: 1, x: '2', nodeSelector: { a: 'b' } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'done', labels: { 'platform.example.com/team': 'payments', 'platform.example.com/tier': 'backend' } }, spec: { priorityClassName: 'standard', containers: [{ name: 'app', image: 'mirror.example.com/app:1' }] } },
];

/** A clock past the deadline from its `after`-th reading on (Infinity: never). */
const clock = deadlineClock;

/** The evaluation as comparable data. */
const record = evaluationRecord;

/** Evaluates with the shortcuts on or off (restored after). */
function evaluated(policies: CompiledPolicy[], input: KubeObject, opts: EvaluationInput, on: boolean): Evaluation {
  const previous = setConvergenceShortcuts(on);
  try {
    return createPolicySet(policies).evaluate(input, opts);
  } finally {
    setConvergenceShortcuts(previous);
  }
}

t.test('the convergence bookkeeping with its shortcuts == without them', async (t) => {
  const seen = { unchangedByContent: 0, notConverging: 0, settled: 0, deadline: 0 };
  for (const [name, make] of Object.entries(ROWS)) {
    t.test(name, async (t) => {
      for (const raw of OBJECTS()) {
        for (const after of [Infinity, 0, 1, 2, 3, 5, 9, 11, 12, 15, 21, 30]) {
          const row = `${String((raw.metadata as JsonObject).name)}, deadline after ${after}`;
          const input = deepFreeze(structuredClone(raw));
          const base = { frontDoor: 'admission' as const, operation: 'CREATE' as const, namespace: 'default', subResource: '' };
          const got = evaluated(make(), input, { ...base, ...clock(after) }, true);
          const want = evaluated(make(), input, { ...base, ...clock(after) }, false);
          t.same(record(got, input), record(want, input), row);
          t.same(got.changedBy, got.changed ? appliedSteps(got).map((s) => s.name) : [], `${row}: changedBy is the applied steps' names`);
          if (!got.changed && got.trace.some((p) => p.transformers.some(stepChanged))) seen.unchangedByContent++;
          if (got.errors.some((e) => e.transformer === '(convergence)')) seen.notConverging++;
          if (got.trace.some((p) => (p.iterations ?? 0) > 1)) seen.settled++;
          if (got.errors.some((e) => e.message.includes('deadline'))) seen.deadline++;
        }
      }
    });
  }
  t.test('the rows reach every case', async (t) => {
    t.ok(seen.unchangedByContent > 0, 'objects changed by reference only');
    t.ok(seen.notConverging > 0, 'not converging');
    t.ok(seen.settled > 0, 'second passes');
    t.ok(seen.deadline > 0, 'deadlines');
  });
});

t.test('setConvergenceShortcuts returns the previous setting', async (t) => {
  t.equal(setConvergenceShortcuts(false), true);
  t.equal(setConvergenceShortcuts(true), false);
});
