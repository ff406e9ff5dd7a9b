/**
 * The evaluation worker (src/server/evaluation-pool.ts, evaluation-worker.ts):
 * the same answers as the event loop for every recorded review, from every
 * source's recipe (files, cluster objects, admission policies with params,
 * Namespace labels); reviews move to it by size and by slice; a late worker is
 * cut off (ERR_EVALUATION_CUT_OFF) and replaced; an out-of-step worker is not used.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type BuildAppOptions } from '../../src/server/app.js';
import { EvaluationWorker } from '../../src/server/evaluation-pool.js';
import { loadPolicies } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { compileRecipe, type SourceRecipe } from '../../src/policy/sources/recipe.js';
import { InformerParamStore } from '../../src/policy/sources/cluster-admission.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { PolicySet } from '../../src/policy/types.js';
import type { Evaluation } from '../../src/policy/evaluate.js';
import type { PolicyObject } from '../../src/policy/sources/cluster-policies.js';
import type { JsonObject } from '../../src/kube/object.js';

const recordedDir = new URL('../data/admission/recorded/', import.meta.url).pathname;
const recorded = readdirSync(recordedDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f, review: (JSON.parse(readFileSync(join(recordedDir, f), 'utf8')) as { review: JsonObject }).review }));

const examples = new URL('../../examples/', import.meta.url).pathname;
const policyFiles = [
  join(examples, 'platform-policy.yaml'),
  join(examples, 'sidecar-policy.yaml'),
  join(examples, 'mutations', 'image-mirror', 'policy.yaml'),
  ...readdirSync(join(examples, 'policies')).map((d) => join(examples, 'policies', d, 'policy.yaml')),
];

/** Waits until the worker is in step (it compiles after its start: seconds under the test loader). */
async function usable(w: EvaluationWorker): Promise<boolean> {
  for (let i = 0; i < 600 && !w.usable; i++) await new Promise((r) => setTimeout(r, 50));
  return w.usable;
}

/** A worker fed one recipe whose names are those of `set`. */
function workerFor(recipes: SourceRecipe[], set: PolicySet, opts: ConstructorParameters<typeof EvaluationWorker>[0] = {}): EvaluationWorker {
  const w = new EvaluationWorker(opts);
  w.setRequired(recipes.map((r) => r.source));
  for (const r of recipes) w.updateRecipe(r, set.names);
  return w;
}

async function post(app: ReturnType<typeof buildApp>, url: string, body: unknown): Promise<{ status: number; body: string }> {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.statusCode, body: res.body };
}

/** Answers of every recorded review (both routes) from an app on the event loop and one where every body goes to the worker. */
async function compareAll(t: Test, set: PolicySet, worker: EvaluationWorker, extra: Partial<BuildAppOptions> = {}, reviews = recorded): Promise<void> {
  const plain = buildApp({ getPolicies: () => set, ...extra });
  const viaWorker = buildApp({ getPolicies: () => set, evaluationWorker: worker, inlineBodyLimit: 0, ...extra });
  t.teardown(() => Promise.all([plain.close(), viaWorker.close()]));
  let worked = 0;
  const counting = worker.review.bind(worker);
  worker.review = (r) => (worked++, counting(r));
  for (const { name, review } of reviews) {
    for (const url of ['/mutate?timeout=10s', '/validate']) {
      const a = await post(plain, url, review);
      const b = await post(viaWorker, url, review);
      t.same(b, a, `${name} ${url}: same answer`);
    }
  }
  t.equal(worked, reviews.length * 2, 'every review went to the worker');
}

t.test('files: every recorded review gets the same answer from the worker', async (t) => {
  const set = createPolicySet(loadPolicies(policyFiles, { compileCondition: conditionCompiler }).policies);
  t.ok(set.names.length >= 10, `${set.names.length} policies`);
  const w = workerFor([{ source: 'file', paths: policyFiles }], set);
  t.teardown(() => w.stop());
  t.ok(await usable(w), 'in step');
  await compareAll(t, set, w);
});

const clusterPolicy: PolicyObject = {
  apiVersion: 'postrender.io/v1alpha1',
  kind: 'ClusterPostRenderPolicy',
  metadata: { name: 'team-label', generation: 1 },
  spec: {
    match: { resources: [{ kinds: ['Deployment'] }], namespaceSelector: { matchLabels: { tier: 'shop' } } },
    transformers: [{ labels: { pairs: { 'team.example.com/tier': 'shop' } } }],
  },
} as unknown as PolicyObject;

const mutator: JsonObject = {
  apiVersion: 'mutations.gatekeeper.sh/v1',
  kind: 'AssignMetadata',
  metadata: { name: 'owner' },
  spec: { match: { scope: 'Namespaced', kinds: [{ apiGroups: ['*'], kinds: ['*'] }] }, location: 'metadata.annotations.owner', parameters: { assign: { value: 'platform' } } },
};

t.test('cluster objects and Namespace labels: the same answers', async (t) => {
  const recipe: SourceRecipe = { source: 'cluster', policies: [{ kind: 'ClusterPostRenderPolicy', object: clusterPolicy }], mutators: [mutator] };
  const set = createPolicySet(compileRecipe(recipe, { compileCondition: conditionCompiler, params: new InformerParamStore() }));
  t.same([...set.names].sort(), ['gatekeeper-mutators', 'team-label']);
  const w = workerFor([recipe], set);
  t.teardown(() => w.stop());
  const labels = new Map([['shop', { tier: 'shop' }]]);
  w.namespace('shop', { tier: 'shop' });
  w.namespace('gone', { tier: 'shop' });
  w.namespace('gone', undefined);
  t.ok(await usable(w), 'in step');
  const shop = recorded.filter((r) => /Deployment/.test(r.name));
  t.ok(shop.length > 0);
  await compareAll(t, set, w, { namespaceLabels: (ns) => labels.get(ns) }, shop);
  const app = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0, namespaceLabels: (ns) => labels.get(ns) });
  t.teardown(() => app.close());
  const review = structuredClone(shop[0].review) as { request: { namespace: string; operation: string } };
  review.request.namespace = 'shop';
  review.request.operation = 'CREATE';
  const answer = JSON.parse((await post(app, '/mutate', review)).body) as { response: { patch?: string } };
  t.match(Buffer.from(answer.response.patch ?? '', 'base64').toString(), /team\.example\.com~1tier/, 'the mirrored Namespace labels select the policy');
});

const vap = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"]}]
  validations:
  - expression: "object.spec.replicas <= int(params.data.max)"
    messageExpression: "'replicas must be at most ' + params.data.max"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec:
  policyName: max-replicas
  validationActions: [Deny]
  paramRef: {name: limits, namespace: default, parameterNotFoundAction: Deny}
`;

t.test('admission policies with params mirrored from the event loop', async (t) => {
  const { readPolicyText } = await import('../../src/policy/load.js');
  const docs = readPolicyText(vap, 'vap.yaml', { compileCondition: conditionCompiler, registry: (await import('../../src/transform/registry.js')).builtinRegistry() });
  const pair = docs.admission as unknown as [never, never];
  const recipe: SourceRecipe = { source: 'admission', pairs: [pair] };
  const params = new InformerParamStore();
  const set = createPolicySet(compileRecipe(recipe, { compileCondition: conditionCompiler, params }));
  const w = workerFor([recipe], set);
  t.teardown(() => w.stop());
  const cm = (max: string): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits', namespace: 'default' }, data: { max } });
  const kind = { apiVersion: 'v1', kind: 'ConfigMap' };
  // The event loop's store and the worker's mirror get the same changes.
  params.onChange = (change) => w.param(change);
  params.upsert(kind, cm('0'));
  t.ok(await usable(w), 'in step');
  const deployments = recorded.filter((r) => /mutate-Deployment-(CREATE|UPDATE)/.test(r.name));
  const app = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0 });
  t.teardown(() => app.close());
  t.match(JSON.parse((await post(app, '/validate', deployments[0].review)).body), { response: { allowed: false, status: { message: /replicas must be at most 0/ } } }, 'the worker reads the mirrored params');
  await compareAll(t, set, w, {}, deployments);
  params.upsert(kind, cm('100'));
  await compareAll(t, set, w, {}, deployments);
  params.remove(kind, cm('100'));
  await compareAll(t, set, w, {}, deployments);
});

t.test('the reports read the same record from the worker', async (t) => {
  const { ruleOutcomes } = await import('../../src/reports/outcomes.js');
  const set = createPolicySet(loadPolicies(policyFiles, { compileCondition: conditionCompiler }).policies);
  const w = workerFor([{ source: 'file', paths: policyFiles }], set);
  t.teardown(() => w.stop());
  t.ok(await usable(w));
  const seen: unknown[][] = [[], []];
  const record = (i: number) => (body: unknown, e: Evaluation): void => {
    const req = (body as { request: Record<string, unknown> }).request;
    const object = req.object as { metadata?: Record<string, unknown> } | undefined;
    seen[i].push({ uid: req.uid, kind: req.kind, operation: req.operation, name: object?.metadata?.name, outcomes: ruleOutcomes(e, { origin: 'admission' }), denials: e.denials, object: e.object });
  };
  const plain = buildApp({ getPolicies: () => set, onEvaluation: record(0) });
  const viaWorker = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0, onEvaluation: record(1) });
  t.teardown(() => Promise.all([plain.close(), viaWorker.close()]));
  for (const { review } of recorded) {
    await post(plain, '/mutate', review);
    await post(viaWorker, '/mutate', review);
  }
  t.ok(seen[0].length > 5, `${seen[0].length} evaluations`);
  t.same(seen[1], seen[0], 'uid, kind, operation, name, rule outcomes, denials and the final object');
});

t.test('size and slice decide where a review is evaluated', async (t) => {
  const set = createPolicySet(loadPolicies([join(examples, 'platform-policy.yaml')], { compileCondition: conditionCompiler }).policies);
  const w = workerFor([{ source: 'file', paths: [join(examples, 'platform-policy.yaml')] }], set);
  t.teardown(() => w.stop());
  t.ok(await usable(w));
  const calls: string[] = [];
  const review = w.review.bind(w);
  // A large body reaches the worker as the bytes received; a review moved past the slice, as text.
  w.review = (r) => (calls.push(typeof r.body === 'string' ? `small text` : `large bytes`), review(r));
  const small = recorded.find((r) => r.name.includes('Deployment-CREATE'))?.review as JsonObject;
  const deleted = recorded.find((r) => r.name.includes('ConfigMap-DELETE'))?.review as JsonObject;
  const large = structuredClone(small) as { request: { object: { metadata: { annotations?: Record<string, string> } } } };
  large.request.object.metadata.annotations = { ...large.request.object.metadata.annotations, big: 'x'.repeat(300_000) };
  const rows: { name: string; opts: Partial<BuildAppOptions>; body: unknown; worker: string[] }[] = [
    // inlineSliceMs 0 where only the size decides: a slow machine must not move these rows by time.
    { name: 'small body: event loop', opts: { inlineSliceMs: 0 }, body: small, worker: [] },
    { name: 'large body: worker', opts: { inlineBodyLimit: 256 * 1024 }, body: large, worker: ['large bytes'] },
    { name: 'large body under a raised inlineBodyLimit: event loop', opts: { inlineBodyLimit: 1 << 20, inlineSliceMs: 0 }, body: large, worker: [] },
    // A clock that jumps 1 s per reading: every evaluation outlasts the slice.
    { name: 'evaluation past the slice: again in the worker', opts: { now: jumpingClock() }, body: small, worker: ['small text'] },
    // Past the slice on the clock, but nothing a deadline check stopped (a DELETE runs only ValidatingAdmissionPolicies: this set has none): answered here.
    { name: 'a DELETE past the slice on the clock: event loop', opts: { now: jumpingClock() }, body: deleted, worker: [] },
    { name: 'slice 0: no slice', opts: { now: jumpingClock(), inlineSliceMs: 0 }, body: small, worker: [] },
  ];
  const plain = buildApp({ getPolicies: () => set, inlineBodyLimit: 1 << 20 });
  t.teardown(() => plain.close());
  for (const row of rows) {
    calls.length = 0;
    const app = buildApp({ getPolicies: () => set, evaluationWorker: w, ...row.opts });
    const got = await post(app, '/mutate', row.body);
    await app.close();
    t.same(calls, row.worker, `${row.name}: ${row.worker.length ? 'worker' : 'event loop'}`);
    if (row.name.startsWith('slice 0')) continue; // the jumping clock passes the deadline of a sliceless evaluation too
    t.same(got, await post(plain, '/mutate', row.body), `${row.name}: same answer`);
  }
});

t.test('a body handed over as bytes is transferred when it owns its buffer, else copied; the answer is the same', async (t) => {
  const set = createPolicySet(loadPolicies([join(examples, 'platform-policy.yaml')], { compileCondition: conditionCompiler }).policies);
  const w = workerFor([{ source: 'file', paths: [join(examples, 'platform-policy.yaml')] }], set);
  t.teardown(() => w.stop());
  t.ok(await usable(w));
  const text = JSON.stringify(recorded.find((r) => r.name.includes('Deployment-CREATE'))?.review);
  const encoded = Buffer.from(text, 'utf8');
  const own = new Uint8Array(encoded.byteLength);
  own.set(encoded);
  const shared = new Uint8Array(encoded.byteLength + 16);
  shared.set(encoded, 8);
  const rows: { name: string; body: string | Uint8Array; detached: boolean }[] = [
    { name: 'text', body: text, detached: false },
    { name: 'bytes owning their buffer: transferred', body: own, detached: true },
    { name: 'bytes sharing a buffer: copied, the caller keeps them', body: shared.subarray(8, 8 + encoded.byteLength), detached: false },
  ];
  const answers: string[] = [];
  for (const row of rows) {
    const pending = w.review({ body: row.body, route: 'mutate', maxEvaluationMs: 0, withEvaluation: false, cutoffAt: Date.now() + 60_000 });
    t.equal(typeof row.body !== 'string' && row.body.byteLength === 0, row.detached, `${row.name}: ${row.detached ? 'detached' : 'intact'}`);
    const o = await pending;
    t.ok(o.answered, `${row.name}: answered`);
    if (o.answered) answers.push(o.body);
  }
  t.equal(new Set(answers).size, 1, 'one answer for the three forms');
});

function jumpingClock(): () => number {
  let ms = 0;
  return () => (ms += 1000);
}

t.test('a late worker is cut off and replaced; the next review is answered', async (t) => {
  const set = createPolicySet(loadPolicies([join(examples, 'platform-policy.yaml')], { compileCondition: conditionCompiler }).policies);
  const restarts: string[] = [];
  const w = workerFor([{ source: 'file', paths: [join(examples, 'platform-policy.yaml')] }], set, { onRestart: (r) => restarts.push(r) });
  t.teardown(() => w.stop());
  t.ok(await usable(w));
  const small = recorded.find((r) => r.name.includes('Deployment-CREATE'))?.review as JsonObject;
  const slow = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0, maxEvaluationMs: 1, workerCutoffGraceMs: 0 });
  t.teardown(() => slow.close());
  // 1 ms for everything, parse included: this worker cannot make it.
  const huge = structuredClone(small) as { request: { object: { metadata: { annotations?: Record<string, string> } } } };
  huge.request.object.metadata.annotations = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v'.repeat(20)]));
  const cut = await post(slow, '/mutate', huge);
  t.equal(cut.status, 500);
  t.same(JSON.parse(cut.body), { code: 'ERR_EVALUATION_CUT_OFF', message: 'evaluation did not finish in time and was cut off' });
  t.same(restarts, ['cutoff']);
  t.equal(w.restartCount, 1);
  t.notOk(w.usable, 'the new worker compiles first');
  t.ok(await usable(w), 'the new worker is in step again');
  const app = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0 });
  const plain = buildApp({ getPolicies: () => set });
  t.teardown(() => Promise.all([app.close(), plain.close()]));
  t.same(await post(app, '/mutate', small), await post(plain, '/mutate', small), 'answered by the new worker');
});

t.test('an out-of-step worker is not used', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpr-worker-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, readFileSync(join(examples, 'platform-policy.yaml')));
  const set = createPolicySet(loadPolicies([file], { compileCondition: conditionCompiler }).policies);
  const failures: string[] = [];
  const w = new EvaluationWorker({ onSyncFailed: (source, reason) => failures.push(`${source}: ${reason}`) });
  t.teardown(() => w.stop());
  w.setRequired(['file']);
  w.updateRecipe({ source: 'file', paths: [file] }, ['some-other-policy']);
  await new Promise((r) => setTimeout(r, 3000));
  t.notOk(w.usable, 'names differ (the file changed between the two reads): not used');
  w.updateRecipe({ source: 'file', paths: [file] }, set.names);
  t.ok(await usable(w), 'names agree: used');
  writeFileSync(file, 'kind: [');
  w.updateRecipe({ source: 'file', paths: [file] }, set.names);
  for (let i = 0; i < 600 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.match(failures, [/^file: .*p\.yaml: document 1: invalid YAML/], 'a recipe that no longer compiles is reported');
  t.notOk(w.usable, 'and the worker is not used');
  const calls: unknown[] = [];
  const review = w.review.bind(w);
  w.review = (r) => (calls.push(r), review(r));
  const app = buildApp({ getPolicies: () => set, evaluationWorker: w, inlineBodyLimit: 0 });
  t.teardown(() => app.close());
  const small = recorded.find((r) => r.name.includes('Deployment-CREATE'))?.review as JsonObject;
  const got = await post(app, '/mutate', small);
  t.equal(got.status, 200, 'answered on the event loop');
  t.equal(calls.length, 0);
  t.same((await post(app, '/mutate', '{"a":')).status, 400, 'a large body parsed on the event loop: invalid JSON is still a 400');
});
