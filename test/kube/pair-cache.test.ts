/**
 * PairCache (src/kube/pair-cache.ts): values by two strings, no mix-up of
 * pairs that would join to the same string, emptied whole at its limit.
 */
import t from 'tap';
import { PairCache } from '../../src/kube/pair-cache.js';

t.test('values by two keys; pairs that join to the same string stay apart', async (t) => {
  const c = new PairCache<number>(10);
  const rows: [string, string, number][] = [['apps', 'Deployment', 1], ['', 'Pod', 2], ['a/b', 'c', 3], ['a', 'b/c', 4], ['apps', 'StatefulSet', 5]];
  for (const [a, b, v] of rows) c.set(a, b, v);
  for (const [a, b, v] of rows) t.equal(c.get(a, b), v, `${a} ${b}`);
  t.equal(c.get('apps', 'Pod'), undefined, 'a pair never set');
  c.set('apps', 'Deployment', 6);
  t.equal(c.get('apps', 'Deployment'), 6, 'set again: replaced');
});

t.test('bounded: setting a pair again does not count; a new pair past the limit empties it first', async (t) => {
  const c = new PairCache<number>(3);
  c.set('g', 'a', 1);
  c.set('g', 'b', 2);
  c.set('g', 'b', 3);
  c.set('h', 'c', 4);
  t.same([c.get('g', 'a'), c.get('g', 'b'), c.get('h', 'c')], [1, 3, 4], 'three pairs kept');
  c.set('h', 'd', 5);
  t.same([c.get('g', 'a'), c.get('g', 'b'), c.get('h', 'c'), c.get('h', 'd')], [undefined, undefined, undefined, 5], 'the fourth emptied it first');
});
