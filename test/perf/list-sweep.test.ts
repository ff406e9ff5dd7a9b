/**
 * The list sweep of `npm run bench` as a regression test, without timing: for
 * keyed lists of 10 to 3,000 entries, each edit's patch stays within its op
 * count and size bound, and re-applies (fast-json-patch with validation, which
 * is as strict as evanphx/json-patch v4 about missing parents and targets) to
 * exactly the mutated object.
 */
import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { createPatch, type Operation } from '../../src/patch/create-patch.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';

type Item = JsonObject;
type Edit = (list: Item[]) => Item[];

const NEW: Item = { name: 'INJECTED', value: 'x' };
/** Edits and their bounds: ops(n) and patch bytes(n). */
const EDITS: Record<string, { edit: Edit; maxOps: (n: number) => number; maxBytes: (n: number) => number }> = {
  prepend: { edit: (l) => [NEW, ...l], maxOps: () => 1, maxBytes: () => 120 },
  append: { edit: (l) => [...l, NEW], maxOps: () => 1, maxBytes: () => 120 },
  insertMiddle: { edit: (l) => [...l.slice(0, l.length >> 1), NEW, ...l.slice(l.length >> 1)], maxOps: () => 1, maxBytes: () => 120 },
  removeFirst: { edit: (l) => l.slice(1), maxOps: () => 1, maxBytes: () => 80 },
  removeLast: { edit: (l) => l.slice(0, -1), maxOps: () => 1, maxBytes: () => 80 },
  changeOne: { edit: (l) => l.map((e, i) => (i === l.length >> 1 ? { ...e, value: 'changed' } : e)), maxOps: () => 1, maxBytes: () => 120 },
  rotate: { edit: (l) => [...l.slice(1), l[0] as Item], maxOps: () => 2, maxBytes: () => 200 },
  swapEnds: { edit: (l) => [l[l.length - 1] as Item, ...l.slice(1, -1), l[0] as Item], maxOps: () => 4, maxBytes: () => 400 },
  reverse: { edit: (l) => [...l].reverse(), maxOps: (n) => 2 * (n - 1), maxBytes: (n) => 180 * n },
  replaceAll: { edit: (l) => l.map((e) => ({ ...e, value: `${String(e.value)}-new` })), maxOps: (n) => n, maxBytes: (n) => 100 * n },
};
const SIZES = [10, 100, 1000, 3000];

function env(n: number): Item[] {
  return Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
}

function deployment(list: Item[]): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27', env: list }] } } },
  };
}

/** Re-applies as the API server would (validation on: no add under a missing parent, no replace/remove of a missing key). */
function reapply(doc: JsonValue, ops: Operation[]): JsonValue {
  return jsonpatch.applyPatch(structuredClone(doc), ops as jsonpatch.Operation[], true, false).newDocument as JsonValue;
}

t.test('env list sweep: op count and patch size stay at their bounds', async (t) => {
  for (const n of SIZES) {
    const list = env(n);
    const base = deployment(list);
    for (const [name, { edit, maxOps, maxBytes }] of Object.entries(EDITS)) {
      const mutated = deployment(edit(list));
      const ops = createPatch(base, mutated);
      const bytes = JSON.stringify(ops).length;
      t.ok(ops.length <= maxOps(n), `${name} of ${n}: ${ops.length} ops <= ${maxOps(n)}`);
      t.ok(bytes <= maxBytes(n), `${name} of ${n}: ${bytes} bytes <= ${maxBytes(n)}`);
      t.same(reapply(base, ops), mutated, `${name} of ${n}: re-applies`);
    }
  }
});

t.test('the issue bound: one prepend to a 1,000-entry list is at most 2 ops', async (t) => {
  const list = env(1000);
  const ops = createPatch(deployment(list), deployment([NEW, ...list]));
  t.same(ops, [{ op: 'add', path: '/spec/template/spec/containers/0/env/0', value: NEW }]);
});

t.test('other keyed lists: containers, volumes, ports (containerPort+protocol), tolerations by index', async (t) => {
  const pod = (spec: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });
  const containers = Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, image: `img:${i}` }));
  const sidecar = { name: 'sidecar', image: 'proxy:1' };
  let ops = createPatch(pod({ containers }), pod({ containers: [sidecar, ...containers] }));
  t.same(ops, [{ op: 'add', path: '/spec/containers/0', value: sidecar }], 'container prepended');

  const volumes = Array.from({ length: 100 }, (_, i) => ({ name: `v${i}`, emptyDir: {} }));
  ops = createPatch(pod({ containers, volumes }), pod({ containers, volumes: [{ name: 'logs', emptyDir: {} }, ...volumes] }));
  t.equal(ops.length, 1, 'volume prepended');

  const ports = [{ containerPort: 53, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }];
  const withPorts = pod({ containers: [{ name: 'dns', ports }] });
  const reordered = pod({ containers: [{ name: 'dns', ports: [{ containerPort: 9153, protocol: 'TCP' }, ...ports] }] });
  ops = createPatch(withPorts, reordered);
  t.equal(ops.length, 1, '53/TCP and 53/UDP are distinct keys');
  t.same(reapply(withPorts, ops), reordered);

  const tolerations = [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }];
  const moreTolerations = pod({ containers, tolerations: [{ key: 'z', operator: 'Exists' }, ...tolerations] });
  ops = createPatch(pod({ containers, tolerations }), moreTolerations);
  t.equal(ops.length, 3, 'a list without merge key is diffed by index');
  t.same(reapply(pod({ containers, tolerations }), ops), moreTolerations);
});

t.test('custom resources: lists of distinctly named items are keyed by name', async (t) => {
  const cr = (containers: Item[]): JsonObject => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: { spec: { containers } } } });
  const containers = Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}`, image: `img:${i}` }));
  const ops = createPatch(cr(containers), cr([{ name: 'sidecar', image: 'x' }, ...containers]));
  t.equal(ops.length, 1);
});

t.test('missing or duplicate keys fall back to the index diff, which still re-applies', async (t) => {
  const dup = [{ name: 'A', value: '1' }, { name: 'A', value: '2' }, { name: 'B', value: '3' }];
  const cases: [Item[], Item[]][] = [
    [dup, [NEW, ...dup]],
    [[{ value: 'no name' }, { name: 'B' }], [NEW, { value: 'no name' }, { name: 'B' }]],
    [env(5), [...env(5), { name: 'VAR_0', value: 'again' }]],
  ];
  for (const [a, b] of cases) {
    const ops = createPatch(deployment(a), deployment(b));
    t.same(reapply(deployment(a), ops), deployment(b));
  }
});

t.test('keyed diffs of random edits re-apply exactly', async (t) => {
  let seed = 7;
  const rnd = (k: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  for (let round = 0; round < 300; round++) {
    const a = env(1 + rnd(30));
    let b = [...a];
    for (let e = rnd(6); e >= 0; e--) {
      const i = rnd(b.length + 1);
      const choice = rnd(4);
      if (choice === 0) b.splice(i, 0, { name: `NEW_${round}_${e}`, value: 'n' });
      else if (choice === 1 && b.length > 0) b.splice(Math.min(i, b.length - 1), 1);
      else if (choice === 2 && b.length > 1) {
        const [x] = b.splice(Math.min(i, b.length - 1), 1);
        b.splice(rnd(b.length + 1), 0, x as Item);
      } else b = b.map((x, j) => (j === i ? { ...x, value: `changed-${round}` } : x));
    }
    const ops = createPatch(deployment(a), deployment(b));
    t.same(reapply(deployment(a), ops), deployment(b), `round ${round}`);
    if (t.passing() === false) break;
  }
});
