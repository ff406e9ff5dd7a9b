/**
 * The compiled map merge (src/patch/smp-fast.ts) against `strategicMerge`, the
 * reference: for every row the compiled merge either declines (undefined) or
 * gives the same content in the same key order; it declines exactly where the
 * row says (lists, nulls, `$` keys at compile time; marked maps and node-kind
 * mismatches at merge time). Laws: frozen inputs untouched, the result never
 * the base itself nor sharing the patch's maps, idempotent.
 */
import t from 'tap';
import { markEmptyNulls } from '../../src/kube/empty-nulls.js';
import type { JsonObject } from '../../src/kube/object.js';
import { applyMapMerge, compileMapMerge } from '../../src/patch/smp-fast.js';
import { strategicMerge } from '../../src/patch/smp.js';
import { deepFreeze } from '../helpers/laws.js';

t.test('compileMapMerge declines what is more than a map merge', async (t) => {
  const rows: [string, JsonObject, boolean][] = [
    ['maps and scalars', { spec: { a: 'x', b: 1, c: true, d: { e: 'f' } } }, true],
    ['empty map', { metadata: {} }, true],
    ['a list', { spec: { args: ['a'] } }, false],
    ['a list of maps', { spec: { containers: [{ name: 'a' }] } }, false],
    ['a null (deletes)', { spec: { a: null } }, false],
    ['$patch', { spec: { $patch: 'replace', a: 1 } }, false],
    ['$retainKeys', { spec: { $retainKeys: ['a'], a: 1 } }, false],
    ['any $ key', { spec: { $other: 1 } }, false],
    ['a deep list', { a: { b: { c: [1] } } }, false],
    ['a non-finite number', { a: Infinity }, false],
  ];
  for (const [name, patch, compiles] of rows) t.equal(compileMapMerge(patch) !== undefined, compiles, name);
});

const pod = (): JsonObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { generateName: 'web-', labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx' }], nodeSelector: { os: 'linux' }, priority: 0 },
});

t.test('applyMapMerge gives strategicMerge\'s result or declines', async (t) => {
  const marked = (): JsonObject => {
    const p = pod();
    markEmptyNulls(p.spec as JsonObject, []);
    return p;
  };
  const rows: [string, () => JsonObject, JsonObject, boolean][] = [
    ['new nested maps', pod, { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } }, true],
    ['a new map of several keys', pod, { spec: { securityContext: { runAsUser: 1, runAsGroup: 2, fsGroup: 3 } } }, true],
    ['a new scalar', pod, { spec: { priorityClassName: 'standard' } }, true],
    ['an existing scalar replaced in place', pod, { spec: { priority: 5 } }, true],
    ['the same value', pod, { spec: { priority: 0 } }, true],
    ['into an existing map', pod, { spec: { nodeSelector: { zone: 'a', os: 'bsd' } } }, true],
    ['patch key order: existing keys stay, new ones appended', pod, { z: 'z', metadata: { labels: { b: '2', app: 'x' } }, a: 'a' }, true],
    ['a map where the base has null', () => ({ ...pod(), spec: null }), { spec: { a: 1 } }, true],
    ['a scalar where the base has null', () => ({ ...pod(), kind: null }), { kind: 'Pod' }, true],
    ['no base map at all', () => ({ kind: 'Pod' }), { metadata: { name: 'a' } }, true],
    ['__proto__ stays data', pod, JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}') as JsonObject, true],
    ['an empty map into an existing map (kept as it is)', pod, { metadata: {} }, true],
    ['an empty map beside a set scalar (smpDoc: metadata without its restored name)', pod, { kind: 'Pod', metadata: {}, spec: { priorityClassName: 'standard' } }, true],
    ['a nested empty map into an existing map', pod, { spec: { nodeSelector: {} } }, true],
    ['an empty map where the base has none', pod, { spec: { securityContext: {} } }, true],
    ['an empty map where the base has null', () => ({ ...pod(), metadata: null }), { metadata: {} }, true],
    ['an empty map over a scalar (wrong node kind)', pod, { spec: { priority: {} } }, false],
    ['an empty map over a list (wrong node kind)', pod, { spec: { containers: {} } }, false],
    ['an empty map into a map marked with empty nulls', () => {
      const p = pod();
      markEmptyNulls(p.metadata as JsonObject, []);
      return p;
    }, { metadata: {} }, false],
    ['a map over a scalar (wrong node kind)', pod, { spec: { priority: { a: 1 } } }, false],
    ['a map over a list (wrong node kind)', pod, { spec: { containers: { a: 1 } } }, false],
    ['a scalar over a map (wrong node kind)', pod, { spec: { nodeSelector: 'x' } }, false],
    ['a scalar over a list (wrong node kind)', pod, { spec: { containers: 'x' } }, false],
    ['a base map marked with empty nulls', marked, { spec: { a: 1 } }, false],
  ];
  for (const [name, base, patch, decides] of rows) {
    t.test(name, async (t) => {
      const m = compileMapMerge(patch);
      t.ok(m, 'compiles');
      const input = deepFreeze(base());
      const snapshot = JSON.stringify(input);
      const got = applyMapMerge(input, m!);
      t.equal(got !== undefined, decides, decides ? 'decides' : 'declines');
      t.equal(JSON.stringify(input), snapshot, 'frozen input untouched');
      if (got === undefined) return;
      let want: JsonObject | null | undefined;
      try {
        want = strategicMerge(input, patch);
      } catch (e) {
        t.fail(`strategicMerge throws where the compiled merge decides: ${String(e)}`);
      }
      t.equal(JSON.stringify(got), JSON.stringify(want), 'same content and key order as strategicMerge');
      t.not(got, input, 'a new object');
      t.equal(JSON.stringify(applyMapMerge(got, m!)), JSON.stringify(got), 'idempotent');
      const patchMaps = new Set<unknown>();
      const collect = (v: unknown): void => {
        if (v === null || typeof v !== 'object') return;
        patchMaps.add(v);
        for (const x of Object.values(v)) collect(x);
      };
      collect(patch);
      const shares = (v: unknown): boolean => v !== null && typeof v === 'object' && (patchMaps.has(v) || Object.values(v).some(shares));
      t.notOk(shares(got), 'shares no map with the patch');
    });
  }
  t.test('declined rows: strategicMerge throws, or clears the marked map', async (t) => {
    t.throws(() => strategicMerge(pod(), { spec: { priority: { a: 1 } } }), /wrong node kind/);
    t.throws(() => strategicMerge(pod(), { spec: { nodeSelector: 'x' } }), /wrong node kind/);
  });
});
