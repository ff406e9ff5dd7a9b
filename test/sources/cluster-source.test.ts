/**
 * Cluster source logic with fake informers (no API server here; test/e2e has
 * the real one): add/update/delete, invalid policy -> Ready=False with the last
 * good version kept, no status write loop, namespace labels, first sync,
 * restart after an informer error.
 */
import t, { type Test } from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ClusterSource, type InformerTarget, type SourceInformer } from '../../src/policy/sources/cluster-source.js';
import type { PolicyKind, PolicyObject, PolicyStatus } from '../../src/policy/sources/cluster-policies.js';
import { PolicyStore } from '../../src/policy/sources/store.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { buildApp } from '../../src/server/app.js';
import { configMapReview, patchOf, until } from './_helpers.js';

type Verb = 'add' | 'update' | 'delete' | 'error';

class FakeInformer implements SourceInformer {
  private readonly cbs: Record<Verb, ((x: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  starts = 0;
  synced = false;
  /** What start() does: list these objects or fail; undefined: the list is in flight until `respond`. */
  next: { items: KubernetesObject[] } | { error: Error } | undefined;
  private release: (() => void) | undefined;
  /** Completes an in-flight list (and decides later ones). */
  respond(next: { items: KubernetesObject[] } | { error: Error }): void {
    this.next = next;
    this.release?.();
    this.release = undefined;
  }
  on(verb: Verb, cb: (x: never) => void): void {
    this.cbs[verb].push(cb);
  }
  emit(verb: Verb, x: unknown): void {
    for (const cb of this.cbs[verb]) cb(x as never);
  }
  async start(): Promise<void> {
    this.starts++;
    if (!this.next) await new Promise<void>((r) => (this.release = r));
    if (!this.next) return;
    if ('error' in this.next) {
      this.emit('error', this.next.error);
      return;
    }
    for (const o of this.next.items) this.emit('add', o);
    this.synced = true;
  }
  async stop(): Promise<void> {}
  hasSynced(): boolean {
    return this.synced;
  }
}

function policy(name: string, generation: number, team: unknown, ns?: string): PolicyObject {
  return {
    apiVersion: 'postrender.io/v1alpha1',
    kind: ns ? 'PostRenderPolicy' : 'ClusterPostRenderPolicy',
    metadata: { name, generation, resourceVersion: String(generation * 10), ...(ns ? { namespace: ns } : {}) },
    spec: {
      match: { namespaceSelector: { matchLabels: { tier: 'apps' } } },
      transformers: [{ name: 'team', labels: { pairs: { team } } }],
    },
  };
}

function setup(t: Test) {
  const informers = new Map<InformerTarget, FakeInformer>();
  const writes: { kind: PolicyKind; name: string; status: PolicyStatus }[] = [];
  const store = new PolicyStore(['cluster']);
  const errors: string[] = [];
  const source = new ClusterSource({
    informers: (target) => {
      const f = new FakeInformer();
      informers.set(target, f);
      return f;
    },
    writeStatus: async (kind, object, status) => {
      writes.push({ kind, name: object.metadata.name ?? '', status });
    },
    compile: { compileCondition: conditionCompiler, ownNamespace: 'postrender-system' },
    onPolicies: (p) => store.update('cluster', p),
    onError: (what) => errors.push(what),
    backoffMs: { initial: 10, max: 40 },
    now: () => new Date('2026-01-02T03:04:05.678Z'),
  });
  const app = buildApp({ getPolicies: () => store.current(), namespaceLabels: (ns) => source.namespaces.get(ns) });
  t.teardown(async () => {
    await source.stop();
    await app.close();
  });
  const team = async (ns: string): Promise<unknown> => {
    const res = await app.inject({ method: 'POST', url: '/mutate', payload: configMapReview('u', ns) });
    const add = patchOf(res.json()).find((op) => op.path === '/metadata/labels');
    return (add?.value as Record<string, string> | undefined)?.team;
  };
  return { informers, writes, store, source, app, team, errors };
}

t.test('lifecycle of a ClusterPostRenderPolicy', async (t) => {
  const { informers, writes, store, source, team } = setup(t);
  source.start();
  const nsInf = informers.get('Namespace')!;
  const cpp = informers.get('ClusterPostRenderPolicy')!;
  t.equal(store.current(), undefined, 'no set before the first sync');
  // Lists still in flight: not synced. Complete them one by one.
  await new Promise((r) => setImmediate(r));
  t.notOk(source.isSynced);
  nsInf.respond({ items: [{ metadata: { name: 'web', labels: { tier: 'apps' } } }, { metadata: { name: 'other' } }] as KubernetesObject[] });
  informers.get('PostRenderPolicy')!.respond({ items: [] });
  await new Promise((r) => setImmediate(r));
  t.notOk(source.isSynced, 'not synced while one list is missing');
  cpp.respond({ items: [policy('p', 1, 'one') as KubernetesObject] });
  await source.synced;
  t.ok(source.isSynced);
  t.same(store.current()?.names, ['p']);
  t.same(source.namespaces.get('web'), { tier: 'apps' });
  t.equal(await team('web'), 'one', 'namespaceSelector matched through the Namespace informer');
  t.equal(await team('other'), undefined, 'namespace without the label: not matched');

  t.equal(writes.length, 1, 'one status write');
  t.same(writes[0], {
    kind: 'ClusterPostRenderPolicy',
    name: 'p',
    status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Compiled', message: 'compiled; in effect', lastTransitionTime: '2026-01-02T03:04:05Z', observedGeneration: 1 }] },
  });
  // Our own write comes back as an update with the same generation: no compile, no write.
  cpp.emit('update', { ...policy('p', 1, 'one'), metadata: { ...policy('p', 1, 'one').metadata, resourceVersion: '11' }, status: writes[0].status });
  t.equal(writes.length, 1, 'no write loop');

  // Edit: generation 2.
  cpp.emit('update', { ...policy('p', 2, 'two'), status: writes[0].status });
  t.equal(await team('web'), 'two', 'edit in effect');
  t.equal(writes.length, 2);
  t.equal(writes[1].status.observedGeneration, 2);

  // Break it: generation 3 has an invalid transformer. Last good (2) keeps running.
  const broken = policy('p', 3, 'three');
  (broken.spec as { transformers: unknown[] }).transformers = [{ labelz: {} }];
  cpp.emit('update', { ...broken, status: writes[1].status });
  t.equal(await team('web'), 'two', 'last good version keeps answering');
  t.equal(writes.length, 3);
  const cond = writes[2].status.conditions[0];
  t.equal(cond.status, 'False');
  t.equal(cond.reason, 'Invalid');
  t.match(cond.message, /^spec\.transformers\[0\]\.labelz: unknown transformer type "labelz" \(did you mean "labels"\?\); the last valid version \(generation 2\) stays in effect$/);
  t.equal(cond.observedGeneration, 3);
  t.equal(source.reconciler.invalidCount(), 1);
  // Status echo of the failure: no second write.
  cpp.emit('update', { ...broken, metadata: { ...broken.metadata, resourceVersion: '31' }, status: writes[2].status });
  t.equal(writes.length, 3, 'no write loop on Ready=False');

  // A schema error (wrong type) is also Ready=False.
  const badType = policy('p', 4, 'x');
  (badType.spec as Record<string, unknown>).order = 'first';
  cpp.emit('update', { ...badType, status: writes[2].status });
  t.equal(writes.length, 4);
  t.match(writes[3].status.conditions[0].message, /^spec\.order: /);
  t.equal(writes[3].status.conditions[0].lastTransitionTime, '2026-01-02T03:04:05Z');

  // Repair, then delete.
  cpp.emit('update', { ...policy('p', 5, 'five'), status: writes[3].status });
  t.equal(await team('web'), 'five');
  t.equal(source.reconciler.invalidCount(), 0);
  t.equal(writes[4].status.conditions[0].status, 'True');
  cpp.emit('delete', policy('p', 5, 'five'));
  t.same(store.current()?.names, [], 'deleted policy no longer applies');
  t.equal(await team('web'), undefined);

  // Namespace label change.
  nsInf.emit('update', { metadata: { name: 'other', labels: { tier: 'apps' } } });
  t.same(source.namespaces.get('other'), { tier: 'apps' });
  nsInf.emit('delete', { metadata: { name: 'other' } });
  t.equal(source.namespaces.get('other'), undefined);
});

t.test('a policy that is invalid from the start never applies', async (t) => {
  const { informers, writes, store, source } = setup(t);
  source.start();
  const bad = policy('bad', 1, 'x');
  (bad.spec as { transformers: unknown[] }).transformers = [{ patch: { path: '/etc/passwd' } }];
  informers.get('ClusterPostRenderPolicy')!.respond({ items: [bad as KubernetesObject] });
  informers.get('PostRenderPolicy')!.respond({ items: [] });
  informers.get('Namespace')!.respond({ items: [] });
  await source.synced;
  t.same(store.current()?.names, []);
  t.equal(writes[0].status.conditions[0].status, 'False');
  t.match(writes[0].status.conditions[0].message, /not in effect$/);
});

t.test('PostRenderPolicy: own namespace only, never cluster-scoped objects', async (t) => {
  const { informers, source, team, app } = setup(t);
  source.start();
  informers.get('Namespace')!.respond({ items: [{ metadata: { name: 'team-a', labels: { tier: 'apps' } } }, { metadata: { name: 'team-b', labels: { tier: 'apps' } } }] as KubernetesObject[] });
  informers.get('PostRenderPolicy')!.respond({ items: [policy('mine', 1, 'a', 'team-a') as KubernetesObject] });
  informers.get('ClusterPostRenderPolicy')!.respond({ items: [] });
  await source.synced;
  t.equal(await team('team-a'), 'a');
  t.equal(await team('team-b'), undefined, 'another namespace is untouched');
  const review = configMapReview('u', '');
  const req = review.request as Record<string, unknown>;
  delete req.namespace;
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: review });
  t.same(patchOf(res.json()), [], 'cluster-scoped request untouched');
});

t.test('informer error: restart with backoff until the list succeeds', async (t) => {
  const { informers, source, errors, store } = setup(t);
  const realFactory = (source as unknown as { opts: { informers: (x: InformerTarget) => FakeInformer } }).opts.informers;
  (source as unknown as { opts: { informers: (x: InformerTarget) => FakeInformer } }).opts.informers = (target) => {
    const f = realFactory(target);
    f.next = target === 'ClusterPostRenderPolicy' ? { error: Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }) } : { items: [] };
    return f;
  };
  source.start();
  const cpp = informers.get('ClusterPostRenderPolicy')!;
  await until(() => cpp.starts >= 3, 'restarted twice');
  t.notOk(source.isSynced, 'not synced while the list fails');
  t.equal(store.current(), undefined);
  t.ok(errors.every((e) => e === 'ClusterPostRenderPolicy informer'));
  cpp.respond({ items: [] });
  await until(() => source.isSynced, 'synced after recovery');
  t.same(store.current()?.names, []);
});
