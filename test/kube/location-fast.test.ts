/**
 * The direct walk of compiled locations (src/kube/location-fast.ts) against
 * `mutateAtLocation` (src/kube/location-mutate.ts), the reference: for every
 * row the direct walk either declines (undefined) or gives the same result:
 * `touched` the same, the same content in the same key order, the input
 * itself exactly when the reference returns it; it declines exactly where the
 * row says (a type mismatch on the way or a setter error, where the reference
 * throws). Laws on every row: frozen input untouched, idempotent, the JSON
 * patch of the change re-applied == output.
 */
import t from 'tap';
import { compileFastLocation, fastMutate, UNTOUCHED, type FastSetter } from '../../src/kube/location-fast.js';
import { createPathTester, parseLocation, type PathCondition } from '../../src/kube/location.js';
import { LocationMutateError, mutateAtLocation, type LocationSetter, type MutateResult } from '../../src/kube/location-mutate.js';
import { deepClone, deepEqual, type JsonObject, type JsonValue } from '../../src/kube/object.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { applyJson6902, type Json6902Op } from '../../src/patch/json6902.js';
import { deepFreeze, reapply } from '../helpers/laws.js';

t.test('compileFastLocation compiles map fields and globs, declines the rest', async (t) => {
  const rows: [string, boolean][] = [
    ['spec.priorityClassName', true],
    ['metadata.labels."platform.example.com/team"', true],
    ['spec.containers[name: *].image', true],
    ['spec.containers[name: *].env[name: *].value', true],
    ['spec.containers[name: app].image', false],
    ['spec.ports[containerPort: 80].protocol', false],
    ['spec.containers[name: app]', false],
    ['spec.containers[name: *]', false],
    ['', false],
  ];
  for (const [location, compiles] of rows) {
    const nodes = parseLocation(location);
    t.equal(compileFastLocation(nodes, createPathTester(nodes, [])) !== undefined, compiles, location || '(empty)');
  }
});

/** A setter in both forms, from one function of the current value. */
interface BothSetters {
  general: LocationSetter;
  fast: FastSetter<null>;
}

/** Writes a constant (a copy each time), with the `same` shortcut in the fast form. */
const constant = (v: JsonValue): BothSetters => ({
  general: { set: () => deepClone(v) },
  fast: { same: (current) => deepEqual(v, current), set: () => deepClone(v) },
});

/** Any function of the current value, in both forms (no `same`). */
const of = (f: (current: JsonValue | undefined) => JsonValue | undefined, test?: (current: JsonValue | undefined) => boolean): BothSetters => ({
  general: { set: f, ...(test ? { test } : {}) },
  fast: { set: f, ...(test ? { test } : {}) },
});

const upper = of((c) => (typeof c === 'string' ? c.toUpperCase() : 'NEW'));
const nothing = of(() => undefined);
const failing = of(() => {
  throw new LocationMutateError('not a string');
});

const pod = (): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', team: 'a' } },
  spec: {
    containers: [
      { name: 'app', image: 'nginx', env: [{ name: 'A', value: 'a' }, { name: 'B' }] },
      { name: 'sidecar', image: 'envoy', securityContext: { runAsUser: 1 } },
    ],
    priority: 0,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  },
});

const mod = (f: (o: JsonObject) => void): (() => JsonObject) => () => {
  const o = pod();
  f(o);
  return o;
};

interface Row {
  name: string;
  input: () => JsonObject;
  location: string;
  tests?: [string, PathCondition][];
  setter: BothSetters;
  /** The direct walk declines (the reference throws). */
  declines?: boolean;
}

const rows: Row[] = [
  { name: 'a new scalar', input: pod, location: 'spec.priorityClassName', setter: constant('standard') },
  { name: 'an existing scalar replaced in place', input: pod, location: 'spec.priority', setter: constant(5) },
  { name: 'the same scalar: unchanged, touched', input: pod, location: 'spec.priority', setter: constant(0) },
  { name: 'the same map (same shortcut)', input: pod, location: 'spec.securityContext.seccompProfile', setter: constant({ type: 'RuntimeDefault' }) },
  { name: 'a different map', input: pod, location: 'spec.securityContext.seccompProfile', setter: constant({ type: 'Localhost' }) },
  { name: 'missing parents created', input: pod, location: 'spec.dnsConfig.options.ndots', setter: constant('2') },
  { name: 'no spec at all', input: () => ({ apiVersion: 'v1', kind: 'Pod' }), location: 'spec.securityContext.runAsNonRoot', setter: constant(true) },
  { name: 'a label added', input: pod, location: 'metadata.labels."platform.example.com/team"', setter: constant('payments') },
  { name: 'a label kept (MustNotExist)', input: pod, location: 'metadata.labels.team', tests: [['metadata.labels.team', 'MustNotExist']], setter: constant('b') },
  { name: 'a missing label added (MustNotExist)', input: pod, location: 'metadata.labels.tier', tests: [['metadata.labels.tier', 'MustNotExist']], setter: constant('b') },
  { name: 'parent must exist and does not', input: pod, location: 'spec.dnsConfig.ndots', tests: [['spec.dnsConfig', 'MustExist']], setter: constant('2') },
  { name: 'parent must exist and does', input: pod, location: 'spec.securityContext.runAsUser', tests: [['spec.securityContext', 'MustExist']], setter: constant(1) },
  { name: 'parent must not exist and does', input: pod, location: 'spec.securityContext.runAsUser', tests: [['spec.securityContext', 'MustNotExist']], setter: constant(1) },
  { name: 'value must exist and does not', input: pod, location: 'spec.priorityClassName', tests: [['spec.priorityClassName', 'MustExist']], setter: constant('x') },
  { name: 'glob: every container', input: pod, location: 'spec.containers[name: *].image', setter: upper },
  { name: 'glob: a field only some containers have', input: pod, location: 'spec.containers[name: *].securityContext.runAsUser', setter: constant(1) },
  { name: 'glob: created on every container', input: pod, location: 'spec.containers[name: *].securityContext.runAsNonRoot', setter: constant(true) },
  { name: 'glob: nothing changes', input: pod, location: 'spec.containers[name: *].securityContext', tests: [['spec.containers[name: *].securityContext', 'MustExist']], setter: constant({ runAsUser: 1 }) },
  { name: 'glob under glob', input: pod, location: 'spec.containers[name: *].env[name: *].value', setter: upper },
  { name: 'glob over a missing list (created, walks nothing)', input: pod, location: 'spec.initContainers[name: *].image', setter: upper },
  { name: 'glob over an empty list', input: mod((o) => { (o.spec as JsonObject).initContainers = []; }), location: 'spec.initContainers[name: *].image', setter: upper },
  { name: 'glob that must not exist', input: pod, location: 'spec.containers[name: *].image', tests: [['spec.containers[name: *]', 'MustNotExist']], setter: upper },
  { name: 'a setter writing nothing keeps created parents', input: pod, location: 'spec.dnsConfig.options', setter: nothing },
  { name: 'a setter writing nothing on an existing value', input: pod, location: 'spec.priority', setter: nothing },
  { name: 'a failed value test writes nothing, not even parents', input: pod, location: 'spec.dnsConfig.ndots', setter: of(() => '2', () => false) },
  { name: 'a passed value test', input: pod, location: 'spec.priority', setter: of(() => 3, (c) => c === 0) },
  { name: '__proto__ stays data', input: pod, location: 'metadata.labels."__proto__"', setter: constant('x') },
  { name: '__proto__ map on the way', input: pod, location: 'spec."__proto__".a', setter: constant('x') },
  // keys that name Object.prototype members are read with an own-property test (FastLocation.plain)
  { name: 'a missing key named like Object.prototype\'s', input: pod, location: 'metadata.labels.toString', setter: constant('x') },
  { name: 'a missing map named like Object.prototype\'s', input: pod, location: 'spec.constructor.hasOwnProperty', setter: upper },
  { name: 'an own key named like Object.prototype\'s', input: mod((o) => { Object.assign(o.spec as JsonObject, JSON.parse('{"constructor": {"valueOf": "a"}}')); }), location: 'spec.constructor.valueOf', setter: upper },
  { name: 'a scalar where a map is expected', input: mod((o) => { o.spec = 'x'; }), location: 'spec.priority', setter: constant(1), declines: true },
  { name: 'a list where a map is expected', input: mod((o) => { o.spec = []; }), location: 'spec.priority', setter: constant(1), declines: true },
  { name: 'null where a map is expected', input: mod((o) => { o.spec = null; }), location: 'spec.priority', setter: constant(1), declines: true },
  { name: 'a map where a list is expected', input: mod((o) => { (o.spec as JsonObject).containers = { a: 1 }; }), location: 'spec.containers[name: *].image', setter: upper, declines: true },
  { name: 'a scalar element under a glob', input: mod((o) => { ((o.spec as JsonObject).containers as JsonValue[]).push('x'); }), location: 'spec.containers[name: *].image', setter: upper, declines: true },
  { name: 'a setter error', input: pod, location: 'spec.containers[name: *].image', setter: failing, declines: true },
];

/** The reference's answer, or its error message. */
function reference(input: JsonObject, row: Row): MutateResult<JsonObject> | string {
  const nodes = parseLocation(row.location);
  const tester = createPathTester(nodes, (row.tests ?? []).map(([p, condition]) => ({ subPath: parseLocation(p), condition })));
  try {
    return mutateAtLocation(input, nodes, tester, row.setter.general);
  } catch (e) {
    return (e as Error).message;
  }
}

function fast(input: JsonObject, row: Row): JsonObject | typeof UNTOUCHED | undefined {
  const nodes = parseLocation(row.location);
  const tester = createPathTester(nodes, (row.tests ?? []).map(([p, condition]) => ({ subPath: parseLocation(p), condition })));
  const loc = compileFastLocation(nodes, tester);
  if (!loc) throw new Error(`${row.location} does not compile`);
  return fastMutate(input, loc, row.setter.fast, null);
}

t.test('fastMutate gives mutateAtLocation\'s result or declines where it throws', async (t) => {
  for (const row of rows) {
    t.test(row.name, async (t) => {
      const input = deepFreeze(row.input());
      const snapshot = JSON.stringify(input);
      const want = reference(input, row);
      const got = fast(input, row);
      t.equal(JSON.stringify(input), snapshot, 'frozen input untouched');
      if (row.declines) {
        t.equal(got, undefined, 'declines');
        t.type(want, 'string', 'where the reference throws');
        return;
      }
      t.not(got, undefined, 'decides');
      if (typeof want === 'string') return t.fail(`the reference throws: ${want}`);
      t.equal(got !== UNTOUCHED, want.touched, `touched: ${String(want.touched)}`);
      const out = got === UNTOUCHED ? input : (got as JsonObject);
      t.equal(JSON.stringify(out), JSON.stringify(want.value), 'same content and key order');
      t.equal(out === input, want.value === input, want.value === input ? 'the input itself' : 'a new object');
      const again = fast(out, row);
      const outAgain = again === UNTOUCHED ? out : again;
      t.ok(outAgain === out || deepEqual(outAgain as JsonObject, out), 'idempotent');
      // fast-json-patch refuses `__proto__` paths by design: those rows re-apply with our evanphx-compatible applyJson6902
      const ops = createPatch(row.input(), out);
      const patched = row.location.includes('__proto__') ? applyJson6902(row.input(), ops as Json6902Op[]) : reapply(row.input(), ops);
      t.equal(JSON.stringify(patched), JSON.stringify(out), 'createPatch re-applied == output');
    });
  }
});

t.test('the result shares every subtree off the changed path', async (t) => {
  const input = deepFreeze(pod());
  const row = rows.find((r) => r.name === 'a new scalar') as Row;
  const out = fast(input, row) as JsonObject;
  t.equal(out.metadata, input.metadata, 'metadata shared');
  t.equal((out.spec as JsonObject).containers, (input.spec as JsonObject).containers, 'containers shared');
  const glob = fast(input, rows.find((r) => r.name === 'glob: nothing changes') as Row);
  t.equal(glob, input, 'a glob that changes nothing returns the input');
});
