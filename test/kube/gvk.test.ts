/**
 * gvkOf keeps the GVK it answered last (frozen) and answers it again for the
 * same apiVersion and kind: checked against splitApiVersion over objects in
 * every order, so an answer kept for another pair shows.
 */
import t from 'tap';
import { gvkOf, splitApiVersion, type JsonObject } from '../../src/kube/object.js';

const objects: JsonObject[] = [
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'Pod' },
  { apiVersion: 'v1', kind: 'Deployment' },
  { apiVersion: 'v1' },
  { kind: 'Pod' },
  {},
  { apiVersion: 5, kind: null } as unknown as JsonObject,
  { apiVersion: 'example.com/v1/extra', kind: 'Widget' },
  { apiVersion: 'a'.repeat(300), kind: 'Long' },
  { apiVersion: 'a'.repeat(300), kind: 'Long' },
];

const reference = (o: JsonObject): { group: string; version: string; kind: string } => {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  return { ...splitApiVersion(apiVersion), kind: typeof o.kind === 'string' ? o.kind : '' };
};

t.test('every object after every other, and twice in a row', async (t) => {
  for (const a of objects) {
    for (const b of objects) {
      for (const o of [a, b, b]) t.same({ ...gvkOf(o) }, reference(o), `${JSON.stringify(o).slice(0, 60)} after ${JSON.stringify(a).slice(0, 60)}`);
    }
  }
});

t.test('the GVK is frozen, and the same object for the same pair in a row', async (t) => {
  const g = gvkOf({ apiVersion: 'v1', kind: 'Pod' });
  t.ok(Object.isFrozen(g));
  t.throws(() => {
    (g as { kind: string }).kind = 'x';
  }, TypeError);
  t.equal(gvkOf({ apiVersion: 'v1', kind: 'Pod' }), g, 'kept');
  t.equal(gvkOf({ apiVersion: 'v1', kind: 'Pod' }).kind, 'Pod');
});
