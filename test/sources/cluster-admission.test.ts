/**
 * `serve --cluster --admission-policies` without a cluster: fake informers
 * feed ClusterAdmissionSource; bindings resolve against policies, params are
 * watched once a policy names their kind and read at evaluation time, an
 * invalid pair keeps its last good compilation, deletes stop a pair.
 */
import t from 'tap';
import { ClusterAdmissionSource, type AdmissionInformerTarget } from '../../src/policy/sources/cluster-admission.js';
import type { SourceInformer } from '../../src/policy/sources/cluster-source.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { createPolicySet } from '../../src/policy/compile.js';
import type { JsonObject } from '../../src/kube/object.js';

class FakeInformer implements SourceInformer {
  private readonly handlers = new Map<string, ((o: never) => void)[]>();
  on(verb: string, cb: (o: never) => void): void {
    this.handlers.set(verb, [...(this.handlers.get(verb) ?? []), cb]);
  }
  emit(verb: 'add' | 'update' | 'delete', o: JsonObject): void {
    for (const cb of this.handlers.get(verb) ?? []) cb(o as never);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  hasSynced(): boolean {
    return true;
  }
}

const policy: JsonObject = {
  metadata: { name: 'limit', generation: 1 },
  spec: {
    paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
    matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
    validations: [{ expression: 'object.spec.replicas <= int(params.data.max)', messageExpression: "'max ' + params.data.max" }],
  },
};
const binding: JsonObject = {
  metadata: { name: 'limit-binding' },
  spec: { policyName: 'limit', validationActions: ['Deny'], paramRef: { name: 'limits', parameterNotFoundAction: 'Deny' } },
};
const deploy = (replicas: number): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', namespace: 'team' }, spec: { replicas } });

t.test('policies, bindings and params from informers', async (t) => {
  const informers = new Map<string, FakeInformer>();
  let running: CompiledPolicy[] = [];
  const errors: string[] = [];
  const source = new ClusterAdmissionSource({
    informers: (target: AdmissionInformerTarget) => {
      const inf = new FakeInformer();
      informers.set('admission' in target ? target.admission : `${target.params.apiVersion}/${target.params.kind}`, inf);
      return inf as SourceInformer;
    },
    onPolicies: (p) => {
      running = p;
    },
    onCompile: (e) => {
      if (!e.ok) errors.push(`${e.name}: ${e.error?.path}: ${e.error?.reason}`);
    },
  });
  source.start();
  const vap = informers.get('ValidatingAdmissionPolicy') as FakeInformer;
  const vapb = informers.get('ValidatingAdmissionPolicyBinding') as FakeInformer;
  vapb.emit('add', binding);
  t.same(running, [], 'a binding without its policy is inactive');
  vap.emit('add', policy);
  t.same(running.map((p) => p.name), ['limit/limit-binding']);
  const cms = informers.get('v1/ConfigMap');
  t.ok(cms, 'a params informer for the paramKind');
  const evaluate = (replicas: number): string[] => createPolicySet(running).evaluate(deploy(replicas), { frontDoor: 'admission', operation: 'CREATE', namespace: 'team' }).denials.map((d) => d.message);
  t.match(evaluate(3)[0], /no params found for policy binding with `Deny` parameterNotFoundAction/, 'no params yet: Deny');
  (cms as FakeInformer).emit('add', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits', namespace: 'team' }, data: { max: '5' } });
  t.same(evaluate(3), [], 'params read at evaluation time');
  t.same(evaluate(7), ["ValidatingAdmissionPolicy 'limit' with binding 'limit-binding' denied request: max 5"]);
  vap.emit('update', { ...policy, spec: { ...(policy.spec as JsonObject), validations: [{ expression: 'object.spec.(' }] } });
  t.match(errors[0], /limit\/limit-binding: spec\.validations\[0\]\.expression: syntax error/);
  t.same(evaluate(7).length, 1, 'the last good compilation stays in effect');
  vapb.emit('delete', binding);
  t.same(running, [], 'a deleted binding stops applying');
  await source.stop();
});
