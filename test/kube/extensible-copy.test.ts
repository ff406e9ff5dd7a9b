/**
 * extensibleCopy (src/kube/object.ts) is `{ ...o }` built from `{}` (a key
 * added to it later does not take V8's slow store), and copyFor (the same
 * module; the sidecar's and setEntries' copies) picks between the two: the same own keys, in the same order, with
 * the same values and prototype as the spread, whatever the keys.
 */
import t from 'tap';
import { copyFor, extensibleCopy, setOwn, type JsonObject } from '../../src/kube/object.js';
import { setEntries } from '../../src/kube/fieldspecs.js';
import { setMeta, setStatus, SIDECAR_STATUS_ANNOTATION } from '../../src/transform/sidecar.js';

const ROWS: [string, JsonObject][] = [
  ['empty', {}],
  ['a pod metadata', { generateName: 'web-', labels: { app: 'web' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1' }] }],
  ['integer-like keys (listed first, ascending)', JSON.parse('{"b": 1, "2": 2, "a": 3, "1": 4, "01": 5}') as JsonObject],
  ['__proto__ as an own key', JSON.parse('{"x": 1, "__proto__": {"polluted": true}, "y": [2]}') as JsonObject],
  ['null, false, 0 and empty values', { a: null, b: false, c: 0, d: '', e: [], f: {} }],
  ['many keys', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))],
  ['inherited keys are not copied', Object.assign(Object.create({ up: 1 }) as JsonObject, { own: 2 })],
];

/** What a copy is: its own keys in order, each value (by identity), its prototype, and the own property descriptors. */
function shape(o: object): unknown {
  return { keys: Reflect.ownKeys(o), proto: Object.getPrototypeOf(o) === Object.prototype, descriptors: Object.getOwnPropertyDescriptors(o) };
}

t.test('extensibleCopy copies as the spread does', async (t) => {
  for (const [name, o] of ROWS) {
    const copy = extensibleCopy(o);
    t.not(copy, o, `${name}: a new object`);
    t.strictSame(shape(copy), shape({ ...o }), name);
    for (const k of Object.keys(o)) t.equal(copy[k], o[k], `${name}: ${k} shared`);
    copy.added = 1;
    t.notOk(Object.prototype.hasOwnProperty.call(o, 'added'), `${name}: the source is untouched`);
  }
  t.equal(Object.getPrototypeOf(extensibleCopy(ROWS[3]![1])), Object.prototype, '__proto__ copied as data, not as the prototype');
});

t.test('copyFor copies as the spread does, with or without the keys', async (t) => {
  for (const [name, o] of ROWS) {
    for (const keys of [[], ['a'], ['annotations'], ['a', 'b'], ['x', 'y'], Object.keys(o)]) {
      t.strictSame(shape(copyFor(o, keys)), shape({ ...o }), `${name}: ${keys.join(',')}`);
    }
  }
});

t.test('setEntries copies (when it must) as the spread does, then sets the entries', async (t) => {
  const entries: Record<string, string>[] = [{ team: 'a' }, { team: 'a', tier: 'web' }, JSON.parse('{"__proto__": "p", "1": "one"}') as Record<string, string>];
  const maps: [string, JsonObject | undefined][] = [['absent', undefined], ...ROWS, ['has the entries', { team: 'a', tier: 'web', x: 'y' }], ['has one of them, another value', { tier: 'api', z: '1' }]];
  for (const e of entries) {
    const set = setEntries(e);
    for (const [name, current] of maps) {
      const reference: JsonObject = { ...(current ?? {}) };
      for (const [k, v] of Object.entries(e)) setOwn(reference, k, v);
      const out = set(current, { path: 'metadata.labels' }) as JsonObject;
      t.strictSame(shape(out), shape(reference), `${name} + ${Object.keys(e).join(',')}`);
      if (current !== undefined && Object.entries(e).every(([k, v]) => Object.prototype.hasOwnProperty.call(current, k) && current[k] === v)) t.equal(out, current, `${name}: kept when every entry is set`);
    }
  }
});

t.test("the sidecar's setMeta and setStatus make the map `{ ...current, ...entries }` makes", async (t) => {
  const entriesRows: Record<string, string>[] = [{}, { a: '1' }, { [SIDECAR_STATUS_ANNOTATION]: '{"x":{"hash":"h"}}' }, { z: 'new', a: 'replaced' }, JSON.parse('{"__proto__": "p", "2": "two", "b": "x"}') as Record<string, string>];
  const currents: [string, unknown][] = [['absent', undefined], ['null', null], ['a string', 's'], ['a list', ['a']], ...ROWS, ['annotations', { a: '0', [SIDECAR_STATUS_ANNOTATION]: 'old', q: 'r' }]];
  for (const entries of [...entriesRows, Object.freeze({ f: 'frozen' })]) {
    for (const [name, current] of currents) {
      for (const field of ['annotations', 'labels'] as const) {
        const meta = { name: 'm', ...(current === undefined ? {} : { [field]: current as JsonObject }) } as JsonObject;
        const before = JSON.stringify(meta);
        const reference = Object.keys(entries).length === 0 ? meta : { ...meta, [field]: { ...(typeof current === 'object' && current !== null && !Array.isArray(current) ? current : {}), ...entries } };
        const out = { ...meta };
        setMeta(out, field, entries);
        const view = (v: unknown): unknown => (typeof v === 'object' && v !== null ? shape(v) : v);
        t.strictSame(view(out[field]), view(reference[field]), `${name}, ${field}: ${Object.keys(entries).join(',')}`);
        t.equal(JSON.stringify(meta), before, `${name}, ${field}: the input untouched`);
      }
      const meta = { ...(current === undefined ? {} : { annotations: current as JsonObject }) } as JsonObject;
      const text = `t-${name}`;
      const withStatus = { ...meta };
      setStatus(withStatus, text);
      t.strictSame(shape(withStatus.annotations as object), shape({ ...(typeof current === 'object' && current !== null && !Array.isArray(current) ? current : {}), [SIDECAR_STATUS_ANNOTATION]: text }), `${name}: setStatus`);
    }
  }
});
