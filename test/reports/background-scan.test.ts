/**
 * BackgroundScan over a fake API server: plan from match.resources, paged
 * lists, watch events, re-list on 410 and on a policy change, objects
 * deleted while not watched dropped, kinds no longer named dropped.
 */
import t from 'tap';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet, type CompiledPolicy } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { KubeRest, RestResponse, WatchHandler } from '../../src/policy/sources/kube-rest.js';
import { BackgroundScan } from '../../src/reports/background-scan.js';
import { planScan, type ServedResource } from '../../src/reports/discovery.js';
import { ReportStore } from '../../src/reports/report-store.js';

const compile = (text: string): CompiledPolicy[] => compilePolicyText(text, '<test>', { registry: builtinRegistry(), compileCondition: conditionCompiler });

const auditOwner = (kinds: string) => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: owner}
spec:
  mode: Audit
  match: {resources: [{group: apps, kinds: [${kinds}]}]}
  transformers:
  - name: has-owner
    validate: {expression: "has(object.metadata.labels) && has(object.metadata.labels.owner)", message: "needs an owner label"}
`;

const SERVED: ServedResource[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
];

t.test('planScan: kinds some policy names; never Secrets; unrestricted policies listed', async (t) => {
  const all = compile(`${auditOwner('Deployment')}---
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: everything}
spec:
  transformers: [{labels: {pairs: {a: b}}}]
---
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: secrets}
spec:
  match: {resources: [{kinds: [Secret]}]}
  transformers: [{labels: {pairs: {a: b}}}]
`);
  const plan = planScan(all, SERVED);
  t.same(plan.targets.map((r) => r.kind), ['Deployment']);
  t.same(plan.unrestricted, ['everything']);
});

const dep = (name: string, labels: Record<string, string> = {}, rv = '1') => ({ metadata: { name, namespace: 'team-a', uid: `uid-${name}`, labels, resourceVersion: rv, managedFields: [{ manager: 'x' }] }, spec: {} });

/** A fake API server: deployments listed in pages of 2; one watch at a time, driven by the test. */
function fakeRest(items: () => Record<string, unknown>[]) {
  const log: string[] = [];
  let watcher: { onEvent: WatchHandler; done: (err: unknown) => void } | undefined;
  const rest: KubeRest = {
    request: async (method, path, opts = {}): Promise<RestResponse> => {
      const q = opts.query ?? {};
      log.push(`${method} ${path}${q.continue ? ` continue=${q.continue}` : ''}`);
      if (path === '/apis/apps/v1/deployments') {
        const start = Number(q.continue ?? 0);
        const all = items();
        const page = all.slice(start, start + Number(q.limit));
        const next = start + page.length < all.length ? String(start + page.length) : undefined;
        return { status: 200, body: { metadata: { resourceVersion: '100', continue: next }, items: page } };
      }
      return { status: 404, body: {} };
    },
    watch: async (path, query, onEvent, done) => {
      log.push(`WATCH ${path} rv=${query.resourceVersion}`);
      watcher = { onEvent, done };
      return { abort: () => log.push('abort') };
    },
  };
  return { rest, log, event: (type: string, o: Record<string, unknown>) => watcher?.onEvent(type, o), end: (err: unknown) => watcher?.done(err) };
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('list (paged), watch, delete, 410 re-list, policy change', async (t) => {
  let objects = [dep('a'), dep('b', { owner: 'x' }), dep('c')];
  const api = fakeRest(() => objects);
  const store = new ReportStore();
  let policies = compile(auditOwner('Deployment'));
  let scans = 0;
  const scan = new BackgroundScan({
    rest: api.rest, store, pageSize: 2, debounceMs: 1,
    discover: async () => SERVED,
    getPolicies: () => ({ set: createPolicySet(policies), policies }),
    onScanned: () => scans++,
    now: () => 5000,
  });
  scan.start();
  await until('first scan', () => scans === 1);
  t.same(api.log.slice(0, 3), ['GET /apis/apps/v1/deployments', 'GET /apis/apps/v1/deployments continue=2', 'WATCH /apis/apps/v1/deployments rv=100']);
  const report = store.report('team-a')!;
  t.same(report.summary, { pass: 1, fail: 2, warn: 0, error: 0, skip: 0 });
  t.match(report.results[0], { policy: 'owner', rule: 'has-owner', result: 'fail', message: 'needs an owner label', resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'a', namespace: 'team-a', uid: 'uid-a' }], timestamp: { seconds: 5 } });

  api.event('MODIFIED', { apiVersion: 'apps/v1', kind: 'Deployment', ...dep('a', { owner: 'y' }, '101') });
  t.same(store.report('team-a')!.summary, { pass: 2, fail: 1, warn: 0, error: 0, skip: 0 }, 'a watch event re-evaluates');
  api.event('DELETED', { apiVersion: 'apps/v1', kind: 'Deployment', ...dep('c', {}, '102') });
  t.same(store.report('team-a')!.summary.fail, 0, 'a deleted object loses its results');

  // The watch expires (410): re-list; an object deleted meanwhile is dropped.
  objects = [dep('a', { owner: 'y' })];
  api.log.length = 0;
  api.event('ERROR', { code: 410 });
  api.end(null);
  await until('re-list', () => api.log.some((l) => l.startsWith('WATCH')));
  t.same(store.report('team-a')!.results.map((r) => r.resources[0].name), ['a']);

  // A policy change: the new set judges every object again; kinds no longer named are dropped.
  objects = [dep('a', { owner: 'y' }), dep('d')];
  policies = compile(auditOwner('StatefulSet'));
  scan.policiesChanged();
  await until('re-plan', () => scans === 2);
  t.equal(store.size, 0, 'Deployments are no longer scanned: their results are gone');
  t.same(scan.scannedKinds(), ['apps/StatefulSet']);
  await scan.stop();
});

t.test('a failed list is retried with backoff', async (t) => {
  let fail = true;
  const errors: string[] = [];
  const api = fakeRest(() => [dep('a')]);
  const request = api.rest.request;
  api.rest.request = async (m, p, o) => (fail ? ((fail = false), { status: 500, body: { reason: 'InternalError' } }) : request(m, p, o));
  const store = new ReportStore();
  const policies = compile(auditOwner('Deployment'));
  const scan = new BackgroundScan({ rest: api.rest, store, backoffMs: { initial: 5, max: 10 }, discover: async () => SERVED, getPolicies: () => ({ set: createPolicySet(policies), policies }), onError: (what) => errors.push(what) });
  scan.start();
  await until('retry', () => store.size === 1);
  t.same(errors, ['list apps/Deployment']);
  await scan.stop();
});
