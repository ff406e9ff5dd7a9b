/**
 * Gatekeeper mutators in `--cluster` mode: the reconciler compiles each
 * object, publishes one mutator set, keeps the last good version of an
 * object whose new generation is invalid, and drops a deleted one; the
 * cluster source watches the four CRDs only when asked and counts them in
 * the first sync.
 */
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { MutatorReconciler, type MutatorCompileEvent } from '../../src/policy/sources/cluster-mutators.js';
import { ClusterSource, collectionPath, type InformerTarget, type SourceInformer } from '../../src/policy/sources/cluster-source.js';
import { mutatorsOf } from '../../src/policy/gatekeeper.js';
import type { JsonObject } from '../../src/kube/object.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';

const assign = (name: string, generation: number, location: string): JsonObject => ({
  apiVersion: 'mutations.gatekeeper.sh/v1', kind: 'Assign', metadata: { name, generation },
  spec: { applyTo: [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }], location, parameters: { assign: { value: 'Always' } } },
});

t.test('reconciler: compile, last good kept, delete', async (t) => {
  const events: MutatorCompileEvent[] = [];
  let changes = 0;
  const r = new MutatorReconciler({ onChange: () => changes++, onCompile: (e) => events.push(e) });
  t.same(r.policies(), [], 'no mutators, no policy');
  r.upsert('Assign', assign('pull', 1, 'spec.containers[name: *].imagePullPolicy'));
  t.equal(changes, 1);
  t.same(mutatorsOf(r.policies()[0]!)?.map((m) => m.id), ['Assign/pull']);
  r.upsert('Assign', assign('pull', 1, 'spec.containers[name: *].imagePullPolicy'));
  t.equal(events.length, 1, 'same generation and spec: not compiled again');
  r.upsert('Assign', assign('pull', 2, 'metadata.labels.x'));
  t.match(events[1], { ok: false, keptLastGood: true, error: { path: 'spec.location', reason: /assign pull can't change metadata/ } });
  t.equal(r.invalidCount(), 1);
  t.same(mutatorsOf(r.policies()[0]!)?.map((m) => m.id), ['Assign/pull'], 'the last good version stays in effect');
  r.upsert('AssignMetadata', { metadata: { name: 'owner', generation: 1 }, spec: { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } } });
  t.same(mutatorsOf(r.policies()[0]!)?.map((m) => m.id), ['Assign/pull', 'AssignMetadata/owner'], 'the informer\'s kind when the item has none');
  r.remove('Assign', assign('pull', 2, ''));
  t.same(mutatorsOf(r.policies()[0]!)?.map((m) => m.id), ['AssignMetadata/owner']);
});

class Fake implements SourceInformer {
  private readonly cbs: Record<string, ((x: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  synced = false;
  constructor(private readonly items: KubernetesObject[]) {}
  on(verb: string, cb: (x: never) => void): void {
    this.cbs[verb]!.push(cb);
  }
  async start(): Promise<void> {
    for (const o of this.items) for (const cb of this.cbs.add!) cb(o as never);
    this.synced = true;
  }
  async stop(): Promise<void> {}
  hasSynced(): boolean {
    return this.synced;
  }
}

t.test('cluster source: mutator CRDs watched only when asked', async (t) => {
  for (const gatekeeperMutators of [false, true]) {
    const targets: InformerTarget[] = [];
    const published: CompiledPolicy[][] = [];
    const source = new ClusterSource({
      informers: (target) => {
        targets.push(target);
        return new Fake(target === 'Assign' ? [assign('pull', 1, 'spec.containers[name: *].imagePullPolicy') as KubernetesObject] : []);
      },
      compile: {},
      onPolicies: (p) => published.push(p),
      gatekeeperMutators,
    });
    source.start();
    await source.synced;
    await source.stop();
    t.equal(targets.length, gatekeeperMutators ? 7 : 3, `${targets.length} informers`);
    t.equal(published[0]!.length, gatekeeperMutators ? 1 : 0, 'first sync publishes the mutator set');
  }
  t.equal(collectionPath('AssignImage'), '/apis/mutations.gatekeeper.sh/v1alpha1/assignimage');
});
