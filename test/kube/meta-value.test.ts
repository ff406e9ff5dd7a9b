/**
 * metaValue (src/kube/object.ts): `metaMap(obj, field)[key]` without the
 * copy. Reference: metaMap itself, over a table of metadata shapes and keys
 * (those the default exclusions read, and keys Object.prototype holds).
 */
import t from 'tap';
import { metaMap, metaValue, type JsonObject } from '../../src/kube/object.js';

const inherited = Object.create({ owner: 'helm' }) as JsonObject;
inherited.other = 'x';

const maps: { name: string; map: unknown }[] = [
  { name: 'strings', map: { owner: 'helm', 'kubernetes.io/config.mirror': 'abc', 'helm.sh/hook': 'pre-install' } },
  { name: 'empty strings', map: { owner: '', 'kubernetes.io/config.mirror': '', 'helm.sh/hook': '' } },
  { name: 'not strings', map: { owner: 1, 'kubernetes.io/config.mirror': null, 'helm.sh/hook': ['x'], toString: { a: 'b' } } },
  { name: 'own keys Object.prototype holds', map: JSON.parse('{"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h"}') },
  { name: 'an own __proto__ map', map: JSON.parse('{"__proto__": {"owner": "helm"}}') },
  { name: 'inherited keys', map: inherited },
  { name: 'null prototype', map: Object.assign(Object.create(null) as JsonObject, { owner: 'helm' }) },
  { name: 'empty', map: {} },
  { name: 'a list', map: ['owner'] },
  { name: 'a string', map: 'owner=helm' },
  { name: 'null', map: null },
  { name: 'absent', map: undefined },
];
const keys = ['owner', 'kubernetes.io/config.mirror', 'helm.sh/hook', 'other', 'missing', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

t.test('metaValue reads as metaMap(obj, field)[key]', async (t) => {
  for (const { name, map } of maps) {
    for (const field of ['labels', 'annotations'] as const) {
      const obj = { apiVersion: 'v1', kind: 'Pod', metadata: map === undefined ? {} : { [field]: map } } as JsonObject;
      for (const key of keys) t.equal(metaValue(obj, field, key), metaMap(obj, field)[key], `${name}, ${field}, ${JSON.stringify(key)}`);
    }
  }
  for (const metadata of [undefined, null, 'x', ['a']]) {
    const obj = { kind: 'Pod', metadata } as JsonObject;
    for (const key of keys) t.equal(metaValue(obj, 'labels', key), metaMap(obj, 'labels')[key], `metadata ${JSON.stringify(metadata)}, ${JSON.stringify(key)}`);
  }
});
