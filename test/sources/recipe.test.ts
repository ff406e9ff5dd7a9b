/**
 * Recipes (src/policy/sources/recipe.ts): each reconciler's `recipe()` holds
 * the objects of its running (last good) policies, and `compileRecipe` builds
 * the same policies from them; the params store and the Namespace cache report
 * every change, and replaying those changes rebuilds an equal store.
 */
import t from 'tap';
import { ClusterPolicyReconciler, NamespaceLabelCache, type PolicyObject } from '../../src/policy/sources/cluster-policies.js';
import { MutatorReconciler } from '../../src/policy/sources/cluster-mutators.js';
import { AdmissionPolicyReconciler, InformerParamStore, type ParamChange } from '../../src/policy/sources/cluster-admission.js';
import { compileRecipe } from '../../src/policy/sources/recipe.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';

const names = (ps: CompiledPolicy[]): string[] => ps.map((p) => p.name).sort();

/** Generation `generation` of policy p; `type` is its one transformer's type (an unknown type does not compile). */
const policy = (generation: number, type: string): PolicyObject =>
  ({ apiVersion: 'postrender.io/v1alpha1', kind: 'ClusterPostRenderPolicy', metadata: { name: 'p', generation }, spec: { transformers: [{ [type]: { pairs: { a: 'x' } } }] } }) as unknown as PolicyObject;

const assign = (name: string, generation: number, location: string): JsonObject => ({
  metadata: { name, generation },
  spec: { applyTo: [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }], location, parameters: { assign: { value: 'Always' } } },
});

t.test('cluster: the recipe holds the last good objects and compiles to the same policies', async (t) => {
  const r = new ClusterPolicyReconciler({ compile: { compileCondition: conditionCompiler }, onChange: () => undefined });
  const m = new MutatorReconciler({ onChange: () => undefined });
  r.upsert('ClusterPostRenderPolicy', policy(1, 'labels'));
  r.upsert('ClusterPostRenderPolicy', policy(2, 'no-such-transformer'));
  m.upsert('Assign', assign('pull', 1, 'spec.containers[name: *].imagePullPolicy'));
  m.upsert('Assign', assign('pull', 2, 'metadata.labels.x'));
  t.equal(r.invalidCount(), 1, 'generation 2 is invalid');
  t.same(r.recipe().map((p) => p.object.metadata.generation), [1], 'the recipe holds generation 1, in effect');
  t.same(m.recipe().map((o) => (o.metadata as JsonObject).generation), [1]);
  t.equal(m.recipe()[0]?.kind, 'Assign', 'with the informer\'s kind');
  const compiled = compileRecipe({ source: 'cluster', policies: r.recipe(), mutators: m.recipe() }, { compileCondition: conditionCompiler, params: new InformerParamStore() });
  t.same(names(compiled), names([...r.policies(), ...m.policies()]));
  r.remove('ClusterPostRenderPolicy', policy(2, 'labels'));
  t.same(r.recipe(), [], 'deleted: gone from the recipe');
});

const admissionDocs = (expression: string): [string, KubeObject][] => [
  ['ValidatingAdmissionPolicy', { metadata: { name: 'v' }, spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] }, validations: [{ expression }] } }],
  ['ValidatingAdmissionPolicyBinding', { metadata: { name: 'b' }, spec: { policyName: 'v', validationActions: ['Deny'] } }],
];

t.test('admission: the recipe holds the running pairs\' documents', async (t) => {
  const params = new InformerParamStore();
  const r = new AdmissionPolicyReconciler({ params, onChange: () => undefined });
  for (const [kind, o] of admissionDocs('true')) r.upsert(kind as never, o);
  const good = r.recipe();
  t.equal(good.length, 1);
  for (const [kind, o] of admissionDocs('1 +')) r.upsert(kind as never, o);
  t.same(r.recipe(), good, 'an invalid new version: the last good documents stay');
  t.same(names(compileRecipe({ source: 'admission', pairs: r.recipe() }, { params })), names(r.policies()));
  r.remove('ValidatingAdmissionPolicyBinding', admissionDocs('true')[1][1]);
  t.same(r.recipe(), [], 'binding deleted: no pair');
});

t.test('params and Namespaces report every change; replaying them rebuilds the same state', async (t) => {
  const a = new InformerParamStore();
  const changes: ParamChange[] = [];
  a.onChange = (c) => changes.push(c);
  const kind = { apiVersion: 'example.com/v1', kind: 'Limits' };
  a.setScope(kind, 'Cluster');
  a.upsert(kind, { metadata: { name: 'one' }, spec: { max: 1 } });
  a.upsert(kind, { metadata: { name: 'two' }, spec: { max: 2 } });
  a.remove(kind, { metadata: { name: 'one' } });
  t.same(changes.map((c) => c.op), ['scope', 'upsert', 'upsert', 'remove']);
  const replayed = new InformerParamStore();
  for (const c of changes) replayed.apply(c);
  const snapshot = new InformerParamStore();
  for (const c of a.changes()) snapshot.apply(c);
  for (const s of [replayed, snapshot]) {
    t.same(s.list('example.com/v1', 'Limits'), a.list('example.com/v1', 'Limits'));
    t.equal(s.scope('example.com/v1', 'Limits'), 'Cluster');
  }
  const ns = new NamespaceLabelCache();
  const seen: [string, Record<string, string> | undefined][] = [];
  ns.onChange = (name, labels) => seen.push([name, labels]);
  ns.upsert({ metadata: { name: 'shop', labels: { tier: 'shop' } } });
  ns.upsert({ metadata: {} });
  ns.remove({ metadata: { name: 'shop' } });
  t.same(seen, [['shop', { tier: 'shop' }], ['shop', undefined]]);
  ns.upsert({ metadata: { name: 'b' } });
  t.same(ns.entries(), [['b', {}]]);
});
