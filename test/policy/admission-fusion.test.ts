/**
 * Runs of constant mutations applied as one (src/policy/admission-mutation.ts
 * MutationRun, applyRun; src/patch/apply-configuration-fast.ts
 * fuseConfigMerges), against the same mutations applied one by one
 * (applyMutation in order, the reference): over a table of runs and objects,
 * applyRun gives the same object (content and key order), the object itself
 * exactly when the one-by-one pass does, nothing of the input changed, or
 * declines (undefined) where a single application is not known to be the
 * same; and whole policies, with fusion on and off (setMutationFusion), give
 * the same objects, denials and warnings under Fail and Ignore, with
 * failing members and the runtime budget running out inside a run.
 */
import t from 'tap';
import { compileExpression } from '../../src/expr/cel.js';
import { applyMutation, applyRun, compiledMutation, isMutationRun, mutationResult, mutationRuns, setMutationFusion, type Mutation, type MutationRun } from '../../src/policy/admission-mutation.js';
import { OwnedList } from '../../src/patch/owned.js';
import type { JsonObject } from '../../src/kube/object.js';
import { deepFreeze } from '../helpers/laws.js';
import { createReview } from '../helpers/admission.js';
import { mutatingPolicyYaml } from '../helpers/evaluation.js';

const POD: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'x', 'platform.example.com/team': 'payments' }, annotations: { n: null } },
  spec: { containers: [{ name: 'app', image: 'nginx:1' }], enableServiceLinks: false, securityContext: { runAsNonRoot: true } },
};

/** Objects each run is applied to: the Pod, one that already holds every value of the bench run, bare ones, wrong types on the way. */
const OBJECTS: Record<string, JsonObject> = {
  pod: POD,
  'already labelled and annotated': {
    ...POD,
    metadata: { name: 'p', labels: { 'platform.example.com/team': 'payments', 'platform.example.com/tier': 'backend' }, annotations: { 'platform.example.com/owner': 'platform-team', 'platform.example.com/policy': 'chain10' } },
    spec: { ...(POD.spec as JsonObject), priorityClassName: 'standard', terminationGracePeriodSeconds: 45, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
  },
  'no metadata maps, no spec': { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } },
  'metadata a string, labels a list': { apiVersion: 'v1', kind: 'Pod', metadata: 'm', spec: { securityContext: 'x' } },
  'labels a list': { apiVersion: 'v1', kind: 'Pod', metadata: { labels: ['a'] }, spec: {} },
  'a custom resource': { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { enableServiceLinks: true } },
};

const config = (expr: string): string => `A:${expr}`;
const patch = (expr: string): string => `J:${expr}`;

/** Runs (two or more constant mutations of one patchType) and whether they fuse on the Pod. */
const RUNS: { name: string; members: string[]; fuses: boolean }[] = [
  {
    name: 'the bench labels and annotations',
    members: [
      config('Object{metadata: Object.metadata{labels: {"platform.example.com/team": "payments"}}}'),
      config('Object{metadata: Object.metadata{labels: {"platform.example.com/tier": "backend"}}}'),
      config('Object{metadata: Object.metadata{annotations: {"platform.example.com/owner": "platform-team"}}}'),
      config('Object{metadata: Object.metadata{annotations: {"platform.example.com/policy": "chain10"}}}'),
    ],
    fuses: true,
  },
  {
    name: 'the bench seccomp and priority',
    members: [
      config('Object{spec: Object.spec{securityContext: Object.spec.securityContext{seccompProfile: Object.spec.securityContext.seccompProfile{type: "RuntimeDefault"}}}}'),
      config('Object{spec: Object.spec{priorityClassName: "standard"}}'),
    ],
    fuses: true,
  },
  {
    name: 'nested maps in both, new keys in each',
    members: [
      config('Object{spec: Object.spec{securityContext: Object.spec.securityContext{runAsUser: 1}, hostname: "h"}}'),
      config('Object{metadata: Object.metadata{labels: {"b": "2"}}, spec: Object.spec{securityContext: Object.spec.securityContext{runAsGroup: 2}, subdomain: "s"}}'),
      config('Object{spec: Object.spec{securityContext: Object.spec.securityContext{runAsNonRoot: true}}}'),
    ],
    fuses: true,
  },
  {
    // a __proto__ key stays a key (src/expr/cel.ts evaluateMapKeepingKeys), and the fused merge keeps it as data
    name: 'a __proto__ label among others',
    members: [config('Object{metadata: Object.metadata{labels: {"__proto__": "p", "constructor": "c"}}}'), config('Object{metadata: Object.metadata{labels: {"q": "r"}}}')],
    fuses: true,
  },
  { name: 'the same scalar key twice (declines)', members: [config('Object{spec: Object.spec{hostname: "a"}}'), config('Object{spec: Object.spec{hostname: "b"}}')], fuses: false },
  {
    name: 'a value set and set back (declines: one merge would find it unchanged)',
    members: [config('Object{metadata: Object.metadata{labels: {"app": "z"}}}'), config('Object{metadata: Object.metadata{labels: {"app": "x"}}}')],
    fuses: false,
  },
  { name: 'a map, then the same map empty (declines)', members: [config('Object{metadata: Object.metadata{labels: {"a": "1"}}}'), config('Object{metadata: Object.metadata{labels: {}}}')], fuses: false },
  { name: 'an empty map, then keys in it (declines)', members: [config('Object{metadata: Object.metadata{annotations: {}}}'), config('Object{metadata: Object.metadata{annotations: {"a": "1"}}}')], fuses: false },
  { name: 'a configuration setting kind (declines: the next one’s schema)', members: [config('Object{kind: "Pod", spec: Object.spec{hostname: "h"}}'), config('Object{spec: Object.spec{subdomain: "s"}}')], fuses: false },
  { name: 'an atomic field (not compiled: declines)', members: [config('Object{spec: Object.spec{nodeSelector: {"disk": "ssd"}}}'), config('Object{spec: Object.spec{hostname: "h"}}')], fuses: false },
  { name: 'a list (not compiled: declines)', members: [config('Object{spec: Object.spec{containers: [Object.spec.containers{name: "app", image: "i"}]}}'), config('Object{spec: Object.spec{hostname: "h"}}')], fuses: false },
  { name: 'not a map (declines)', members: [config('[1, 2]'), config('Object{spec: Object.spec{hostname: "h"}}')], fuses: false },
  {
    name: 'the bench JSONPatch additions',
    members: [patch('[JSONPatch{op: "add", path: "/spec/enableServiceLinks", value: false}]'), patch('[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: 45}]')],
    fuses: true,
  },
  {
    name: 'JSONPatches of several operations, an empty one',
    members: [
      patch('[JSONPatch{op: "replace", path: "/metadata/labels/app", value: "y"}, JSONPatch{op: "add", path: "/metadata/labels/__proto__", value: "p"}]'),
      patch('[]'),
      patch('[JSONPatch{op: "add", path: "/spec/containers/0/image", value: "nginx:2"}, JSONPatch{op: "add", path: "/metadata/name", value: "q"}]'),
    ],
    fuses: true,
  },
  { name: 'the same path in two JSONPatches (declines)', members: [patch('[JSONPatch{op: "add", path: "/spec/x", value: 1}]'), patch('[JSONPatch{op: "add", path: "/spec/x", value: 2}]')], fuses: false },
  {
    name: 'a path inside another JSONPatch’s (declines)',
    members: [patch('[JSONPatch{op: "add", path: "/spec/securityContext/runAsUser", value: 1}]'), patch('[JSONPatch{op: "add", path: "/spec/securityContext", value: 2}]')],
    fuses: false,
  },
  {
    name: 'a test operation (declines)',
    members: [patch('[JSONPatch{op: "test", path: "/metadata/name", value: "p"}]'), patch('[JSONPatch{op: "add", path: "/spec/x", value: 2}]')],
    fuses: false,
  },
  {
    name: 'a missing parent (declines on the object: the general path and its error)',
    members: [patch('[JSONPatch{op: "add", path: "/spec/x", value: 1}]'), patch('[JSONPatch{op: "add", path: "/spec/missing/y", value: 2}]')],
    fuses: false,
  },
];

function compile(member: string): Mutation {
  const type = member.startsWith('A:') ? 'ApplyConfiguration' : 'JSONPatch';
  return compiledMutation(type, compileExpression(member.slice(2), { variables: ['object', 'oldObject', 'request', 'namespaceObject', 'params'], mutation: true, estimatedCostLimit: Infinity }));
}

/** The members applied one by one from `object` with `owned` (the reference): the JSON after the last, or the first error; and whether the result is `object` itself. */
function oneByOne(ms: readonly Mutation[], object: JsonObject, results: unknown[], owned: OwnedList): { out: string; same: boolean } {
  let cur = object;
  try {
    ms.forEach((m, i) => (cur = applyMutation(m, cur, results[i], owned)));
  } catch (e) {
    return { out: `error: ${(e as Error).message}`, same: false };
  }
  return { out: JSON.stringify(cur), same: cur === object };
}

t.test('mutationRuns groups two or more consecutive constants of one patchType', async (t) => {
  const ms = [RUNS[0]?.members[0], RUNS[0]?.members[1], 'J:object.spec.containers.transformList(i, c, JSONPatch{op: "add", path: "/spec/x", value: c.name})', RUNS[1]?.members[0], RUNS[12]?.members[0], RUNS[12]?.members[1], RUNS[1]?.members[1]].map((m) => compile(m as string));
  const runs = mutationRuns(ms);
  t.same(
    runs.map((r) => (isMutationRun(r) ? r.members.length : 0)),
    [2, 0, 0, 2, 0],
    'labels (2), the transformList, one configuration, the two JSONPatches, one configuration',
  );
  const previous = setMutationFusion(false);
  try {
    t.ok(
      mutationRuns(ms).every((r) => !isMutationRun(r)),
      'with fusion off: no runs',
    );
  } finally {
    setMutationFusion(previous);
  }
});

for (const row of RUNS) {
  t.test(`applyRun: ${row.name}`, async (t) => {
    const ms = row.members.map(compile);
    t.ok(
      ms.every((m) => m.program.constant),
      'every member is a constant',
    );
    const run: MutationRun = { members: ms };
    let fusedOnPod = false;
    for (const [name, raw] of Object.entries(OBJECTS)) {
      for (const start of ['the input', 'an owned copy']) {
        const input = deepFreeze(structuredClone(raw));
        const results = ms.map((m) => mutationResult(m, () => ({})));
        const ownedRef = new OwnedList();
        const ownedRun = new OwnedList();
        // an owned copy: a copy the pass made before (changed in place by both)
        const objRef = start === 'the input' ? input : structuredClone(raw);
        const objRun = start === 'the input' ? input : structuredClone(raw);
        if (start !== 'the input') {
          ownedRef.add(objRef);
          ownedRun.add(objRun);
        }
        const want = oneByOne(ms, objRef, results, ownedRef);
        const fused = applyRun(run, objRun, results, ownedRun);
        if (name === 'pod' && start === 'the input') fusedOnPod = fused !== undefined;
        t.same(raw, input, `${name}, ${start}: the input untouched`);
        if (fused === undefined) {
          const again = oneByOne(ms, objRun, results, ownedRun);
          t.same(again, want, `${name}, ${start}: declined, then one by one: the same`);
          continue;
        }
        t.equal(JSON.stringify(fused), want.out, `${name}, ${start}: the same object, key order included`);
        if (start === 'the input') t.equal(fused === objRun, want.same, `${name}: the object itself exactly when one by one gives it`);
        t.notOk(ownedRun.has(input), `${name}, ${start}: the input is never owned`);
        if (start === 'the input') {
          const twice = applyRun(run, deepFreeze(fused), ms.map((m) => mutationResult(m, () => ({}))));
          t.equal(twice, fused, `${name}: applied again: unchanged`);
        }
      }
    }
    t.equal(fusedOnPod, row.fuses, row.fuses ? 'fused on the Pod' : 'declined on the Pod');
  });
}

t.test('applyRun declines results other than the kept ones', async (t) => {
  const ms = RUNS[0]?.members.map(compile) as Mutation[];
  const run: MutationRun = { members: ms };
  const results = ms.map((m) => mutationResult(m, () => ({})));
  t.not(applyRun(run, POD, results), undefined, 'the kept results: fused');
  t.equal(applyRun(run, POD, results.map((r) => structuredClone(r))), undefined, 'equal results that are not the kept ones: declined');
  const fresh: MutationRun = { members: ms };
  t.equal(applyRun(fresh, POD, results.map((r) => structuredClone(r))), undefined, 'results that are not frozen JSON: no plan');
  t.equal(applyRun(fresh, POD, results), undefined, 'and one by one from then on');
});

/** A MAP of `mutations` (list items' YAML) and its binding. */
const map = (mutations: string[], failurePolicy: string): string => mutatingPolicyYaml(mutations.map((m) => `  - ${m}`).join('\n'), failurePolicy);

const ac = (expr: string): string => `{patchType: ApplyConfiguration, applyConfiguration: {expression: '${expr}'}}`;
const jp = (expr: string): string => `{patchType: JSONPatch, jsonPatch: {expression: '${expr}'}}`;
const costly = (i: number): string =>
  `{patchType: ApplyConfiguration, applyConfiguration: {expression: "Object{metadata: Object.metadata{labels: {'c${i}': string('${'a'.repeat(4900)}'.contains('${'b'.repeat(4900)}'))}}}"}}`;

/** Whole policies: runs among other mutations, failing members, the budget running out inside a run. */
const POLICIES: { name: string; mutations: string[] }[] = [
  { name: 'the bench chain', mutations: [...RUNS[0]!.members.map((m) => ac(m.slice(2))), ...RUNS[1]!.members.map((m) => ac(m.slice(2))), ...RUNS[12]!.members.map((m) => jp(m.slice(2)))] },
  {
    name: 'a failing member inside runs: a missing parent, an atomic field, not a map',
    mutations: [
      jp('[JSONPatch{op: "add", path: "/spec/x", value: 1}]'),
      jp('[JSONPatch{op: "add", path: "/spec/missing/y", value: 2}]'),
      jp('[JSONPatch{op: "add", path: "/spec/z", value: 3}]'),
      ac('Object{metadata: Object.metadata{labels: {"a": "1"}}}'),
      ac('Object{spec: Object.spec{nodeSelector: {"disk": "ssd"}}}'),
      ac('[1, 2]'),
      ac('Object{metadata: Object.metadata{labels: {"b": "2"}}}'),
    ],
  },
  {
    name: 'a runtime error in a member, then members after it',
    mutations: [ac('Object{metadata: Object.metadata{labels: {"a": "1"}}}'), jp('[JSONPatch{op: "add", path: "/spec/x", value: 1}]'), jp('[JSONPatch{op: "add", path: "/spec/y", value: 1 / 0}]'), jp('[JSONPatch{op: "add", path: "/spec/z", value: 3}]')],
  },
  {
    name: 'an atomic member, then a member whose evaluation fails (the first error denies)',
    mutations: [ac('Object{spec: Object.spec{nodeSelector: {"disk": "ssd"}}}'), ac('Object{metadata: Object.metadata{labels: {"x": string(1 / 0)}}}'), ac('Object{metadata: Object.metadata{labels: {"b": "2"}}}')],
  },
  // 45 x 240,100 units is over the 10,000,000-unit budget: it runs out at the 42nd member of one run
  { name: "the policy's runtime cost budget runs out inside a run", mutations: Array.from({ length: 45 }, (_, i) => costly(i)) },
];

t.test('policies: fused and one by one give the same objects, denials and warnings', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default', labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: 'nginx:1' }] } };
  const input = { frontDoor: 'admission' as const, operation: 'CREATE' as const, namespace: 'default', request: createReview(obj, 'u1').request as JsonObject };
  for (const row of POLICIES) {
    for (const failurePolicy of ['Fail', 'Ignore']) {
      const results = [true, false].map((fuse) => {
        const previous = setMutationFusion(fuse);
        try {
          const r = policiesFromText(map(row.mutations, failurePolicy)).evaluate(deepFreeze(structuredClone(obj)), input);
          return { object: JSON.stringify(r.object), denials: r.denials.map((d) => d.message), warnings: r.warnings, changedBy: r.changedBy };
        } finally {
          setMutationFusion(previous);
        }
      });
      t.same(results[0], results[1], `${row.name} (${failurePolicy})`);
      if (row.name.includes('budget')) t.match(results[0], failurePolicy === 'Fail' ? { denials: [/running out of cost budget/] } : { denials: [] }, `${row.name} (${failurePolicy}): the budget ran out`);
      if (row.name.includes('budget') && failurePolicy === 'Ignore') t.equal(Object.keys((JSON.parse(results[0]!.object).metadata as JsonObject).labels as JsonObject).length, 1 + 41, 'the 41 mutations within the budget applied');
    }
  }
});

t.test('a run charged at once: the same budget left and errors as its members evaluated one by one, for every budget', async (t) => {
  const { openBudgetObject, closeBudget, chargeAllWithinBounds } = await import('../../src/expr/meter.js');
  const ms = [...(RUNS[0]?.members ?? []), ...(RUNS[1]?.members ?? [])].map(compile);
  const runs = mutationRuns(ms);
  t.equal(runs.length, 1, 'one run');
  const run = runs[0] as MutationRun;
  t.ok(run.atOnce !== undefined, 'every member charged at once: the run is');
  const sum = run.atOnce?.total ?? 0;
  t.ok(sum > 0, 'the members charge something');
  t.same(run.atOnce?.results, ms.map((m) => mutationResult(m, () => ({}))), 'the kept results');
  /** The members evaluated one after the other under a budget of `remaining`: what is left, and each one's error. */
  const oneByOne = (remaining: number): { left: number; errors: string[] } => {
    const b = { remaining, deadline: Infinity, deadlineHit: false };
    const previous = openBudgetObject(b);
    const errors: string[] = [];
    try {
      for (const m of ms) {
        try {
          mutationResult(m, () => ({}));
          errors.push('');
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    } finally {
      closeBudget(previous);
    }
    return { left: b.remaining, errors };
  };
  for (let remaining = 0; remaining <= sum + 2; remaining++) {
    const want = oneByOne(remaining);
    const b = { remaining, deadline: Infinity, deadlineHit: false };
    const previous = openBudgetObject(b);
    let charged: boolean;
    try {
      charged = chargeAllWithinBounds(sum);
    } finally {
      closeBudget(previous);
    }
    if (charged) t.same({ left: b.remaining, errors: ms.map(() => '') }, want, `budget ${remaining}: charged at once, as one by one`);
    else {
      t.equal(b.remaining, remaining, `budget ${remaining}: nothing charged when it does not fit`);
      t.ok(want.errors.some((e) => e !== ''), `budget ${remaining}: one by one, a member runs out`);
    }
  }
  t.equal(chargeAllWithinBounds(sum), true, 'no budget open: at once');
});
