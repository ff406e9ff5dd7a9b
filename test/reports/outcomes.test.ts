/**
 * Rule outcomes (src/reports/outcomes.ts) over real evaluations: one row per
 * kind of result (pass, fail, warn, error, skip, mutations at admission and in
 * the scan, Audit mode), then the report built from them.
 */
import t from 'tap';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import { ruleOutcomes, type RuleOutcome } from '../../src/reports/outcomes.js';

function policies(text: string): ReturnType<typeof createPolicySet> {
  return createPolicySet(compilePolicyText(text, '<test>', { registry: builtinRegistry(), compileCondition: conditionCompiler }));
}

const policy = (name: string, spec: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: ${name}}
spec:
${spec}
---
`;

const deployment = (labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'team-a', labels },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
});

const input: EvaluationInput = { frontDoor: 'admission', operation: 'CREATE', namespace: 'team-a' };

const rows: { name: string; policies: string; object: KubeObject; origin: 'admission' | 'scan'; input?: Partial<EvaluationInput>; want: RuleOutcome[] }[] = [
  {
    name: 'a validate rule that holds: pass for the rule',
    policies: policy('owner', `  transformers:\n  - name: has-owner\n    validate: {expression: "has(object.metadata.labels.owner)", message: "needs an owner label"}`),
    object: deployment({ owner: 'x' }),
    origin: 'scan',
    want: [{ policy: 'owner', rule: 'has-owner', result: 'pass', message: '' }],
  },
  {
    name: 'an Enforce Deny rule that fails: fail with its message',
    policies: policy('owner', `  transformers:\n  - name: has-owner\n    validate: {expression: "has(object.metadata.labels.owner)", message: "needs an owner label"}`),
    object: deployment(),
    origin: 'scan',
    want: [{ policy: 'owner', rule: 'has-owner', result: 'fail', message: 'needs an owner label' }],
  },
  {
    name: 'an Audit Deny rule that fails: fail (would deny)',
    policies: policy('owner', `  mode: Audit\n  transformers:\n  - name: has-owner\n    validate: {expression: "has(object.metadata.labels.owner)", message: "needs an owner label"}`),
    object: deployment(),
    origin: 'admission',
    want: [{ policy: 'owner', rule: 'has-owner', result: 'fail', message: 'needs an owner label' }],
  },
  {
    name: 'a Warn rule: warn',
    policies: policy('owner', `  transformers:\n  - name: has-owner\n    validate: {expression: "has(object.metadata.labels.owner)", message: "owner label recommended", action: Warn}`),
    object: deployment(),
    origin: 'admission',
    want: [{ policy: 'owner', rule: 'has-owner', result: 'warn', message: 'owner label recommended' }],
  },
  {
    name: 'a mutation at admission: pass, applied',
    policies: policy('team', `  transformers:\n  - name: team-label\n    labels: {pairs: {team: a}}`),
    object: deployment(),
    origin: 'admission',
    want: [{ policy: 'team', rule: 'team-label', result: 'pass', message: 'changed 1 path', changedPaths: 1 }],
  },
  {
    name: 'a mutation in the scan: warn, would change N paths',
    policies: policy('team', `  transformers:\n  - name: team-label\n    labels: {pairs: {team: a}}`),
    object: deployment(),
    origin: 'scan',
    want: [{ policy: 'team', rule: 'team-label', result: 'warn', message: 'would change 1 path', changedPaths: 1 }],
  },
  {
    name: 'an Audit mutation: warn with the paths it would change',
    policies: policy('team', `  mode: Audit\n  transformers:\n  - name: team-label\n    annotations: {a.example/x: "1", b.example/y: "2"}`),
    object: deployment(),
    origin: 'admission',
    // kustomize's commonAnnotations also annotate the pod template.
    want: [{ policy: 'team', rule: 'team-label', result: 'warn', message: 'would change 2 paths', changedPaths: 2 }],
  },
  {
    name: 'a failing transformer (Ignore): error, not also a warning',
    policies: policy('bad', `  failurePolicy: Ignore\n  transformers:\n  - name: boom\n    validate: {expression: "object.spec.missing.field == 1"}`),
    object: deployment(),
    origin: 'admission',
    want: [{ policy: 'bad', rule: 'boom', result: 'error', message: 'x' }],
  },
  {
    name: 'the deadline ran out before the policy: skip',
    policies: policy('late', `  transformers:\n  - labels: {pairs: {a: b}}`),
    object: deployment(),
    origin: 'admission',
    input: { deadline: 0, now: () => 1 },
    want: [{ policy: 'late', rule: '', result: 'skip', message: 'deadline exceeded' }],
  },
  {
    name: 'a policy that does not match: no result',
    policies: policy('pods', `  match: {resources: [{kinds: [Pod]}]}\n  transformers:\n  - labels: {pairs: {a: b}}`),
    object: deployment(),
    origin: 'scan',
    want: [],
  },
  {
    name: 'namespaced policy names with a slash are attributed whole',
    policies: `apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: tenant, namespace: team-a}
spec:
  transformers:
  - name: owner
    validate: {expression: "false", message: "no"}
`,
    object: deployment(),
    origin: 'scan',
    want: [{ policy: 'team-a/tenant', rule: 'owner', result: 'fail', message: 'no' }],
  },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const set = policies(row.policies);
    const object = row.object;
    const result = set.evaluate(object, { ...input, ...row.input });
    const got = ruleOutcomes(result, { origin: row.origin });
    if (row.want.some((w) => w.result === 'error')) {
      // Error texts come from the CEL engine: compare all but the message, which must be non-empty.
      t.same(got.map((o) => ({ ...o, message: o.message ? 'x' : '' })), row.want);
    } else {
      t.same(got, row.want);
    }
  });
}

t.test('messages are one line of at most 240 characters', async (t) => {
  const set = policies(policy('long', `  transformers:\n  - name: r\n    validate: {expression: "false", message: "${'m'.repeat(400)}"}`));
  const [o] = ruleOutcomes(set.evaluate(deployment(), input), { origin: 'scan' });
  t.equal(o.message.length, 240);
  t.ok(o.message.endsWith('…'));
});

t.test('with a trace (src/policy/evaluate.ts): one result per transformer, own patch counts', async (t) => {
  const before = deployment();
  const after = { ...before, metadata: { ...(before.metadata as object), labels: { a: '1', b: '2' } } } as KubeObject;
  const step = (name: string, s: Record<string, unknown>) => ({ transformer: { name, type: 'x' }, status: 'ran', before, after: before, ...s });
  const evaluation = {
    object: before, changed: false, denials: [], warnings: [], errors: [], matchedPolicies: [], changedBy: [],
    trace: [
      { policy: { name: 'skipped' }, status: 'skipped', reason: 'match.namespaces', transformers: [] },
      { policy: { name: 'late' }, status: 'deadline', reason: 'deadline exceeded', transformers: [] },
      { policy: { name: 'cond' }, status: 'error', reason: 'no such key', transformers: [] },
      {
        policy: { name: 'mixed' }, status: 'matched', reason: '', outcome: 'audit',
        transformers: [
          step('ok', {}),
          step('deny', { findings: [{ action: 'Deny', rule: 'deny', message: 'no' }] }),
          step('warn', { findings: [{ action: 'Warn', rule: 'warn', message: 'hm' }] }),
          step('mutate', { after }),
          step('boom', { status: 'error', error: new Error('bad') }),
          step('rest', { status: 'skipped', reason: 'after error' }),
          step('val-only', { status: 'skipped', reason: 'validate route' }),
        ],
      },
      { policy: { name: 'applied' }, status: 'matched', reason: '', outcome: 'applied', transformers: [step('m', { after })] },
    ],
  };
  const results = (origin: 'admission' | 'scan') => ruleOutcomes(evaluation as never, { origin }).map((o) => `${o.policy}/${o.rule} ${o.result} ${o.message}${o.changedPaths !== undefined ? ` [${o.changedPaths}]` : ''}`);
  t.same(results('admission'), [
    'late/ skip deadline exceeded',
    'cond/match.conditions error no such key',
    'mixed/ok pass ',
    'mixed/deny fail no',
    'mixed/warn warn hm',
    'mixed/mutate warn would change 2 paths [2]',
    'mixed/boom error bad',
    'mixed/rest skip after error',
    'applied/m pass changed 2 paths [2]',
  ]);
  t.equal(results('scan').at(-1), 'applied/m warn would change 2 paths [2]', 'the scan: an Enforce mutation means drift');
});
