/**
 * The compiled paths of Gatekeeper mutators against their references:
 * `apply` (the direct walk of src/kube/location-fast.ts where the location
 * compiles, with each kind's setter and AssignImage's remembered images)
 * against `mutate` (mutateAtLocation, the general walk), and `matches` (its
 * applyTo/match.kinds answer remembered per apiVersion, kind and operation)
 * against `appliesTo && match.fn`. Every (mutator, object) row: the same
 * object (content, key order, the input itself when unchanged) or the same
 * error, the frozen input untouched, idempotent, the JSON patch re-applied ==
 * output.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { deepEqual, isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { compileMutator, type GatekeeperMutator } from '../../src/policy/gatekeeper.js';
import { PassOwned } from '../../src/kube/location-fast.js';
import { appliesTo, decodeMatch } from '../../src/policy/gatekeeper-match.js';
import { makeContext, type Operation } from '../../src/transform/types.js';
import { deepFreeze, reapply } from '../helpers/laws.js';
import { dataPath, REPO_ROOT } from '../helpers/testdata.js';
import { checkLaws, gatekeeperPolicy } from './gatekeeper-helpers.js';

const docs = (text: string): JsonObject[] => YAML.parseAllDocuments(text).map((d) => d.toJS() as JsonObject).filter(isObject);

const POD_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }];
const mutator = (kind: string, name: string, spec: JsonObject): JsonObject => ({
  apiVersion: `mutations.gatekeeper.sh/${kind === 'AssignImage' ? 'v1alpha1' : 'v1'}`, kind, metadata: { name }, spec,
});
const assign = (name: string, location: string, parameters: JsonObject): JsonObject => mutator('Assign', name, { applyTo: POD_APPLY, location, parameters });

/** Mutators of every kind, over locations the direct walk decides and ones it leaves to the general walk. */
const MUTATORS: JsonObject[] = [
  ...docs(readFileSync(dataPath('gatekeeper/docs-examples.yaml'), 'utf8')),
  ...docs(readFileSync(join(REPO_ROOT, 'bench/policies/chain10-gatekeeper.yaml'), 'utf8')),
  assign('scalar', 'spec.priority', { assign: { value: 7 } }),
  assign('map', 'spec.securityContext', { assign: { value: { runAsNonRoot: true } } }),
  assign('list', 'spec.tolerations', { assign: { value: [{ key: 'a', operator: 'Exists' }] } }),
  assign('from-name', 'spec.hostname', { assign: { fromMetadata: { field: 'name' } } }),
  assign('from-namespace', 'spec.subdomain', { assign: { fromMetadata: { field: 'namespace' } } }),
  assign('glob', 'spec.containers[name: *].imagePullPolicy', { assign: { value: 'Always' } }),
  assign('glob-deep', 'spec.containers[name: *].securityContext.runAsUser', { assign: { value: 1000 } }),
  assign('glob-must-exist', 'spec.containers[name: *].securityContext.runAsUser', {
    assign: { value: 2000 }, pathTests: [{ subPath: 'spec.containers[name: *].securityContext', condition: 'MustExist' }],
  }),
  assign('add-if-absent', 'spec.dnsPolicy', { assign: { value: 'None' }, pathTests: [{ subPath: 'spec.dnsPolicy', condition: 'MustNotExist' }] }),
  assign('keyed', 'spec.containers[name: app].imagePullPolicy', { assign: { value: 'Never' } }),
  assign('keyed-end', 'spec.containers[name: extra]', { assign: { value: { name: 'extra', image: 'busybox' } } }),
  assign('over-a-list', 'spec.containers.image', { assign: { value: 'x' } }),
  { ...assign('assign-if', 'spec.restartPolicy', { assign: { value: 'Never' }, assignIf: { in: ['Always', 'OnFailure'] } }), apiVersion: 'mutations.gatekeeper.sh/v1alpha1' },
  { ...assign('assign-if-not', 'spec.priority', { assign: { value: 3 }, assignIf: { notIn: [7] } }), apiVersion: 'mutations.gatekeeper.sh/v1alpha1' },
  mutator('AssignMetadata', 'label', { location: 'metadata.labels.owner', parameters: { assign: { value: 'me' } } }),
  mutator('AssignMetadata', 'annotation-name', { location: 'metadata.annotations."example.com/name"', parameters: { assign: { fromMetadata: { field: 'name' } } } }),
  mutator('ModifySet', 'merge-args', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { values: { fromList: ['--v=2', '--x'] } } }),
  mutator('ModifySet', 'prune-args', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { operation: 'prune', values: { fromList: ['--v=2'] } } }),
  mutator('ModifySet', 'prune-missing', { applyTo: POD_APPLY, location: 'spec.dnsConfig.searches', parameters: { operation: 'prune', values: { fromList: ['a'] } } }),
  mutator('AssignImage', 'tag', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignTag: ':v2' } }),
  mutator('AssignImage', 'path', { applyTo: POD_APPLY, location: 'spec.initContainers[name: *].image', parameters: { assignDomain: 'r.example.com', assignPath: 'lib/x' } }),
];

const pods = (): KubeObject[] => docs(readFileSync(dataPath('gatekeeper/pods.yaml'), 'utf8'));
const edge = (): KubeObject[] => [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 's', labels: { owner: 'x' } }, spec: 'not a map' },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'l' }, spec: { containers: { app: {} } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'e' }, spec: { containers: ['x', { name: 'app', image: 3 }] } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'i' }, spec: { containers: [{ name: 'app', image: 7 }], restartPolicy: 'Always', priority: 7 } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'n' }, spec: { containers: [{ name: 'app', image: 'a:1', args: ['--x', '--v=2', '--x'] }], initContainers: [{ name: 'i', image: 'b@sha256:0123456789abcdef0123456789abcdef' }] } },
];

/** The mutator's result (or TransformError message) by one of its two paths. */
function outcome(m: GatekeeperMutator, input: KubeObject, how: 'apply' | 'mutate'): KubeObject | string {
  const ctx = makeContext({ namespace: 'default' });
  try {
    return how === 'apply' ? m.apply(input, ctx) : m.mutate(input, ctx).value;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

t.test('apply gives mutate\'s object or error, twice (the convergence pass)', async (t) => {
  const mutators = MUTATORS.map((d) => compileMutator(d));
  for (const m of mutators) {
    t.test(m.id, async (t) => {
      for (const raw of [...pods(), ...edge()]) {
        const name = `${String(raw.kind)} ${String((raw.metadata as JsonObject).name)}`;
        const input = deepFreeze(structuredClone(raw));
        const want = outcome(m, input, 'mutate');
        const got = outcome(m, input, 'apply');
        t.equal(JSON.stringify(input), JSON.stringify(raw), `${name}: frozen input untouched`);
        if (typeof want === 'string' || typeof got === 'string') {
          t.equal(got, want, `${name}: the same error`);
          continue;
        }
        t.equal(JSON.stringify(got), JSON.stringify(want), `${name}: same content and key order`);
        t.equal(got === input, want === input, `${name}: ${want === input ? 'the input itself' : 'a new object'}`);
        // in place with nothing of the pass's own yet: the same object, `changed` as `apply` says, the input untouched
        const own = new PassOwned();
        const owned = m.applyOwned(input, makeContext({ namespace: 'default' }), own);
        if (owned !== undefined) {
          t.equal(JSON.stringify(owned), JSON.stringify(got), `${name}: applyOwned's content and key order`);
          t.equal(own.changed, got !== input, `${name}: applyOwned's changed`);
        }
        const again = outcome(m, got, 'apply');
        t.equal(JSON.stringify(again), JSON.stringify(outcome(m, got, 'mutate')), `${name}: second pass == mutate's`);
        if (deepEqual(got, input)) continue;
        t.same(reapply(raw, createPatch(raw, got)), got, `${name}: createPatch re-applied == output`);
      }
    });
  }
});

t.test('the bench chain and the documented examples keep the laws as one set', async (t) => {
  for (const file of [dataPath('gatekeeper/docs-examples.yaml'), join(REPO_ROOT, 'bench/policies/chain10-gatekeeper.yaml')]) {
    const policy = gatekeeperPolicy(readFileSync(file, 'utf8'));
    for (const pod of [...pods(), ...edge().slice(0, 1)]) checkLaws(t, `${file} ${String((pod.metadata as JsonObject).name)}`, policy.transformers, pod);
  }
});

t.test('matches == appliesTo && match.fn, whatever the order of kinds and operations', async (t) => {
  const kinds = { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }] };
  const docs: JsonObject[] = [
    assign('no-match', 'spec.a', { assign: { value: 1 } }),
    mutator('Assign', 'ops', { applyTo: [{ groups: ['', 'apps'], versions: ['v1'], kinds: ['Pod', 'Deployment'], operations: ['UPDATE'] }], match: kinds, location: 'spec.a', parameters: { assign: { value: 1 } } }),
    mutator('Assign', 'kinds-ns', { applyTo: POD_APPLY, match: { ...kinds, namespaces: ['prod-*'], labelSelector: { matchLabels: { app: 'web' } } }, location: 'spec.a', parameters: { assign: { value: 1 } } }),
    mutator('AssignMetadata', 'any-kind', { location: 'metadata.labels.a', parameters: { assign: { value: 'x' } } }),
    mutator('AssignMetadata', 'wild-kinds', { match: { kinds: [{ apiGroups: ['*'], kinds: ['*'] }], scope: 'Namespaced' }, location: 'metadata.labels.a', parameters: { assign: { value: 'x' } } }),
    mutator('AssignMetadata', 'kinds-only', { match: kinds, location: 'metadata.labels.a', parameters: { assign: { value: 'x' } } }),
  ];
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { app: 'web' } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'c', labels: { app: 'web' } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod-x' } },
    { apiVersion: 7, kind: 'Pod', metadata: { name: 'e' } } as unknown as KubeObject,
    { kind: 'Pod', metadata: { name: 'f' } },
    { apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'g' } },
  ];
  const steps: [KubeObject, Operation, string][] = [];
  for (const op of ['CREATE', 'UPDATE', 'CREATE'] as Operation[]) {
    for (const ns of ['prod-a', 'dev', '']) for (const o of [...objects, ...objects.slice().reverse()]) steps.push([o, op, ns]);
  }
  for (const doc of docs) {
    const m = compileMutator(doc);
    const match = decodeMatch((doc.spec as JsonObject).match, 'spec.match');
    let agree = 0;
    for (const [o, operation, namespace] of steps) {
      const ctx = makeContext({ namespace, operation });
      const want = (!m.applyTo || appliesTo(m.applyTo, o, operation)) && match.fn(o, ctx);
      if (m.matches(o, ctx) === want) agree++;
      else t.fail(`${m.id}: ${String(o.apiVersion)} ${String(o.kind)} ${operation} ${namespace}: want ${String(want)}`);
    }
    t.equal(agree, steps.length, `${m.id}: ${steps.length} answers agree`);
  }
});
