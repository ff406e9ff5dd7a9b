/**
 * A Gatekeeper mutator set's pass run in place (`passInPlace` of
 * src/policy/gatekeeper.ts: each container on the changed paths copied once
 * per pass, the objects between steps recomputed when the trace is read, and
 * the convergence pass recorded without running when the set is proven to
 * settle) against its reference: the same set evaluated step by step (the
 * policy without `passInPlace`). Every (set, object, clock) row: the same
 * object (content, key order, the input itself when unchanged), changedBy,
 * errors, denials, warnings, iterations, and per step the same status,
 * reason, error, `stepChanged`, objects (content and which steps share one)
 * and patch; the frozen input untouched. Every pass that says `settled`
 * is checked: a pass of the reference over its object changes nothing.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { compileMutator, mutatorSetPolicy } from '../../src/policy/gatekeeper.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { createPolicySet, plainStep, stepPatch, type Evaluation } from '../../src/policy/evaluate.js';
import { makeContext } from '../../src/transform/types.js';
import { deepFreeze } from '../helpers/laws.js';
import { dataPath, REPO_ROOT } from '../helpers/testdata.js';
import { deadlineClock, evaluationRecord } from '../helpers/evaluation.js';

const docs = (text: string): JsonObject[] => YAML.parseAllDocuments(text).map((d) => d.toJS() as JsonObject).filter(isObject);
const POD_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }];
const POD_MATCH = { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] };
const mutator = (kind: string, name: string, spec: JsonObject): JsonObject => ({
  apiVersion: `mutations.gatekeeper.sh/${kind === 'AssignImage' ? 'v1alpha1' : 'v1'}`, kind, metadata: { name }, spec,
});
const assign = (name: string, location: string, parameters: JsonObject, extra: JsonObject = {}): JsonObject => mutator('Assign', name, { applyTo: POD_APPLY, location, parameters, ...extra });
const label = (name: string, key: string, value: string, extra: JsonObject = {}): JsonObject => mutator('AssignMetadata', name, { location: `metadata.labels."${key}"`, parameters: { assign: { value } }, ...extra });
const annotation = (name: string, key: string, value: string): JsonObject => mutator('AssignMetadata', name, { location: `metadata.annotations."${key}"`, parameters: { assign: { value } } });
const image = (name: string, location: string, parameters: JsonObject): JsonObject => mutator('AssignImage', name, { applyTo: POD_APPLY, match: POD_MATCH, location, parameters });

/** Mutator sets: ones the settle proof covers, and ones it must not (each a way for one mutator to act on another). */
const SETS: Record<string, JsonObject[]> = {
  bench: docs(readFileSync(join(REPO_ROOT, 'bench/policies/chain10-gatekeeper.yaml'), 'utf8')),
  'docs-examples': docs(readFileSync(dataPath('gatekeeper/docs-examples.yaml'), 'utf8')),
  'parted-globs': [
    assign('pull', 'spec.containers[name: *].imagePullPolicy', { assign: { value: 'Always' } }),
    assign('user', 'spec.containers[name: *].securityContext.runAsUser', { assign: { value: 1000 } }),
    mutator('ModifySet', 'args', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { values: { fromList: ['--v=2', '--x', '--x'] } } }),
    mutator('ModifySet', 'prune', { applyTo: POD_APPLY, location: 'spec.dnsConfig.searches', parameters: { operation: 'prune', values: { fromList: ['a'] } } }),
    assign('host', 'spec.hostname', { assign: { fromMetadata: { field: 'name' } } }),
    assign('sub', 'spec.subdomain', { assign: { fromMetadata: { field: 'namespace' } } }),
    image('tag', 'spec.initContainers[name: *].image', { assignTag: ':v2' }),
    label('team', 'team', 'a'),
    annotation('note', 'example.com/note', 'x'),
  ],
  // spec.securityContext and spec.securityContext.runAsUser: one writes inside the other's value
  prefix: [
    assign('a-sc', 'spec.securityContext', { assign: { value: { runAsNonRoot: true } } }),
    assign('b-user', 'spec.securityContext.runAsUser', { assign: { value: 7 } }),
  ],
  'prefix-reversed': [
    assign('a-user', 'spec.securityContext.runAsUser', { assign: { value: 7 } }),
    assign('b-sc', 'spec.securityContext', { assign: { value: { runAsNonRoot: true } } }),
  ],
  // b creates spec.foo, which a's MustExist test then finds: a writes only in the second pass
  'test-on-shared-part': [
    assign('a-bar', 'spec.foo.bar', { assign: { value: 1 }, pathTests: [{ subPath: 'spec.foo', condition: 'MustExist' }] }),
    assign('b-baz', 'spec.foo.baz', { assign: { value: 2 } }),
  ],
  'test-below-parting': [
    assign('a-bar', 'spec.foo.bar.x', { assign: { value: 1 }, pathTests: [{ subPath: 'spec.foo.bar', condition: 'MustNotExist' }] }),
    assign('b-baz', 'spec.foo.baz', { assign: { value: 2 } }),
  ],
  // a labelSelector reads a label that a later AssignMetadata writes
  'selector-and-label': [
    assign('a-prio', 'spec.priority', { assign: { value: 5 } }, { match: { ...POD_MATCH, labelSelector: { matchLabels: { tier: 'gold' } } } }),
    label('b-tier', 'tier', 'gold'),
  ],
  // `a@b/c` with assignPath `x.y` gives `x.y@b/c`, whose domain is then `x.y@b`: the image changes again
  'image-unsettled': [
    image('path', 'spec.containers[name: *].image', { assignPath: 'x.y' }),
    assign('pull', 'spec.containers[name: *].imagePullPolicy', { assign: { value: 'Always' } }),
  ],
  'same-location': [
    assign('a', 'spec.priority', { assign: { value: 1 } }),
    assign('b', 'spec.priority', { assign: { value: 2 } }),
  ],
  'kind-location': [
    assign('a-kind', 'kind', { assign: { value: 'Pod' } }),
    assign('b-prio', 'spec.priority', { assign: { value: 5 } }),
  ],
  // keyed selectors: not compiled, run by the general walk inside the pass
  keyed: [
    assign('app-pull', 'spec.containers[name: app].imagePullPolicy', { assign: { value: 'Never' } }),
    assign('extra', 'spec.containers[name: extra]', { assign: { value: { name: 'extra', image: 'busybox' } } }),
    assign('pull', 'spec.containers[name: *].imagePullPolicy', { assign: { value: 'Always' } }),
    label('team', 'team', 'a'),
  ],
  // ModifySet on a map: an error in the middle of a pass
  failing: [
    label('a-team', 'team', 'a'),
    mutator('ModifySet', 'b-bad', { applyTo: POD_APPLY, location: 'spec.nodeSelector', parameters: { values: { fromList: ['x'] } } }),
    assign('c-prio', 'spec.priority', { assign: { value: 5 } }),
  ],
  'assign-if': [
    { ...assign('a-restart', 'spec.restartPolicy', { assign: { value: 'Never' }, assignIf: { in: ['Always', 'OnFailure'] } }), apiVersion: 'mutations.gatekeeper.sh/v1alpha1' },
    { ...assign('b-prio', 'spec.priority', { assign: { value: 3 }, assignIf: { notIn: [7] } }), apiVersion: 'mutations.gatekeeper.sh/v1alpha1' },
    label('team', 'team', 'a'),
  ],
};

const pods = (): KubeObject[] => docs(readFileSync(dataPath('gatekeeper/pods.yaml'), 'utf8'));
const OBJECTS = (): KubeObject[] => [
  ...pods(),
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 's', labels: { team: 'a' } }, spec: 'not a map' },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'l' }, spec: { containers: { app: {} } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'e' }, spec: { containers: ['x', { name: 'app', image: 3 }] } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w', namespace: 'n', labels: { tier: 'gold' } }, spec: { containers: [{ name: 'app', image: 'a@b/c' }], securityContext: { runAsUser: 7 }, restartPolicy: 'Always', priority: 7, foo: {} } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'i', namespace: 'n' }, spec: { containers: [{ name: 'app', image: 'a:1', args: ['--x', '--v=2'] }], initContainers: [{ name: 'i', image: 'b@sha256:0123456789abcdef0123456789abcdef' }], nodeSelector: { a: 'b' } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'done', labels: { 'platform.example.com/team': 'payments', 'platform.example.com/tier': 'backend' } }, spec: { priorityClassName: 'standard' } },
];

/** The set's policy, and the same policy without its pass in place (the reference). */
function policies(set: JsonObject[]): { fast: CompiledPolicy; ref: CompiledPolicy } {
  const fast = mutatorSetPolicy(set.map((d) => compileMutator(d)), { file: 'set.yaml', document: 0 });
  return { fast, ref: { ...fast, passInPlace: undefined } };
}

/** A clock past the deadline from its `after`-th reading on (Infinity: never). */
const clock = deadlineClock;

/** The evaluation as comparable data, with each step's patch and plain form. */
const record = (e: Evaluation, input: KubeObject): unknown => evaluationRecord(e, input, (s) => ({ patch: stepPatch(s), plain: Object.keys(plainStep(s)).sort() }));

t.test('a pass in place == the pass step by step', async (t) => {
  for (const [name, set] of Object.entries(SETS)) {
    const { fast, ref } = policies(set);
    t.ok(fast.passInPlace, `${name}: has a pass in place`);
    const fastSet = createPolicySet([fast]);
    const refSet = createPolicySet([ref]);
    t.test(name, async (t) => {
      for (const raw of OBJECTS()) {
        for (const after of [Infinity, 0, 1, 3, 7, 12, 15]) {
          const row = `${String(raw.kind)} ${String((raw.metadata as JsonObject).name)}, deadline after ${after}`;
          // frozen (a write into it throws), or not (a write into it shows below)
          const input = after % 2 === 1 ? structuredClone(raw) : deepFreeze(structuredClone(raw));
          const base = { frontDoor: 'admission' as const, operation: 'CREATE' as const, namespace: 'default', subResource: '' };
          const got = record(fastSet.evaluate(input, { ...base, ...clock(after) }), input);
          const want = record(refSet.evaluate(input, { ...base, ...clock(after) }), input);
          t.same(got, want, row);
          t.equal(JSON.stringify(input), JSON.stringify(raw), `${row}: input untouched`);
        }
      }
    });
  }
});

t.test('a pass that says settled is followed by a pass that changes nothing', async (t) => {
  const settled: string[] = [];
  for (const [name, set] of Object.entries(SETS)) {
    const { fast, ref } = policies(set);
    for (const raw of OBJECTS()) {
      const ctx = makeContext({ namespace: 'default' });
      const input = deepFreeze(structuredClone(raw));
      const pass = fast.passInPlace?.(input, ctx, () => false);
      if (!pass?.settled) continue;
      const row = `${name}: ${String((raw.metadata as JsonObject).name)}`;
      settled.push(row);
      const result = deepFreeze(pass.object);
      let o = result;
      for (const tr of ref.transformers) o = tr.apply(o, ctx) as KubeObject;
      t.equal(o, result, `${row}: every mutator returns its input`);
    }
  }
  // the proof covers these sets and no other
  const sets = [...new Set(settled.map((r) => r.split(':')[0]))].sort();
  t.same(sets, ['assign-if', 'bench', 'docs-examples', 'failing', 'image-unsettled', 'parted-globs', 'test-below-parting'], 'the sets proven to settle');
  t.ok(settled.includes('image-unsettled: i'), 'an image that parses back settles');
  t.notOk(settled.includes('image-unsettled: w'), 'an image that does not parse back is run again');
});

t.test('a set in a schema conflict runs step by step', async (t) => {
  const { fast } = policies([
    assign('a-list', 'spec.foo[name: *].x', { assign: { value: 1 } }),
    assign('b-map', 'spec.foo.y', { assign: { value: 2 } }),
  ]);
  t.equal(fast.passInPlace, undefined);
});
