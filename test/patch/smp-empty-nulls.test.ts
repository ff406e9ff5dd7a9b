// kyaml's null handling during a strategic merge (src/kube/empty-nulls.ts):
// which nulls of the original and of the patch are cleared, and when. Every
// row is pinned by `kubectl kustomize` (v5.5) on the same input (cases
// 320-322 of test/data/conformance hold the end-to-end versions). Laws per
// row: the deep-frozen base is not mutated, merging twice equals merging once,
// and createPatch(base, result) re-applied to the base gives the result.
import t from 'tap';
import fjp from 'fast-json-patch';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { parseManifestsSlow } from '../../src/kube/yaml-stream.js';
import { EMPTY_NULLS, emptyNullKeys, explicitNulls } from '../../src/kube/empty-nulls.js';
import { strategicMerge } from '../../src/patch/smp.js';
import { createPatch } from '../../src/patch/create-patch.js';

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Plain JSON (markers dropped) for comparisons. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const read = (s: string, slow = false): JsonObject =>
  (slow ? parseManifestsSlow(s, { emptyNulls: true }) : parseManifests(s, { emptyNulls: true }))[0]?.value as JsonObject;

interface Row {
  name: string;
  base: string;
  patch: string;
  want: string;
}

const dep = (spec: string): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n${spec.replace(/^/gm, '  ')}`;

const rows: Row[] = [
  {
    name: 'empty nulls of walked maps cleared, written null and ~ kept',
    base: dep('strategy:\nminReadySeconds: ~\npaused: null\ntemplate:\n  metadata:\n    annotations:\n  spec:\n    containers:\n    - name: app\n      image: a'),
    patch: dep('replicas: 2'),
    want: dep('minReadySeconds: null\npaused: null\nreplicas: 2\ntemplate:\n  metadata: {}\n  spec:\n    containers:\n    - name: app\n      image: a'),
  },
  {
    name: 'elements of a merge-keyed list are walked, base-only ones too',
    base: dep('template:\n  spec:\n    containers:\n    - name: app\n      image: a\n      volumeMounts:\n    - name: side\n      image: s\n      command:\n      env:\n      - name: A\n        value:'),
    patch: dep('template:\n  spec:\n    containers:\n    - name: app\n      image: b'),
    want: dep('template:\n  spec:\n    containers:\n    - name: app\n      image: b\n    - name: side\n      image: s\n      env:\n      - name: A'),
  },
  {
    name: 'elements of a list without merge key are not walked',
    base: dep('template:\n  spec:\n    tolerations:\n    - key: k\n      value:\n    containers:\n    - name: app\n      image: a'),
    patch: dep('paused: true'),
    want: dep('paused: true\ntemplate:\n  spec:\n    tolerations:\n    - key: k\n      value: null\n    containers:\n    - name: app\n      image: a'),
  },
  {
    name: 'custom resource: maps walked, lists never',
    base: 'apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: cr\nspec:\n  a:\n  b: null\n  list:\n  - x:\n    y: 1',
    patch: 'apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: cr\nspec:\n  c: 1',
    want: 'apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: cr\nspec:\n  b: null\n  c: 1\n  list:\n  - x: null\n    y: 1',
  },
  {
    name: 'patch nulls cleared where walked (new keys, new elements, new maps), kept in a replaced list',
    base: dep('template:\n  spec:\n    containers:\n    - name: app\n      image: a'),
    patch: dep('foo:\nbar: null\ntemplate:\n  metadata:\n    labels:\n      a:\n  spec:\n    containers:\n    - name: new\n      image: x\n      command:\n      env: null\n    tolerations:\n    - key: a\n      value:'),
    want: dep('template:\n  metadata:\n    labels: {}\n  spec:\n    containers:\n    - name: new\n      image: x\n    - name: app\n      image: a\n    tolerations:\n    - key: a\n      value: null'),
  },
  {
    name: 'a null element of a walked merge-keyed list is dropped',
    base: dep('template:\n  spec:\n    initContainers:\n    -\n    containers:\n    - name: app\n      image: a'),
    patch: dep('paused: true'),
    want: dep('paused: true\ntemplate:\n  spec:\n    initContainers: []\n    containers:\n    - name: app\n      image: a'),
  },
  {
    name: 'the patch setting an empty-null key replaces it',
    base: dep('strategy:\ntemplate:\n  spec:\n    containers:\n    - name: app\n      resources:'),
    patch: dep('strategy:\n  type: Recreate\ntemplate:\n  spec:\n    containers:\n    - name: app\n      resources:\n        limits: {cpu: "1"}'),
    want: dep('strategy:\n  type: Recreate\ntemplate:\n  spec:\n    containers:\n    - name: app\n      resources:\n        limits: {cpu: "1"}'),
  },
];

for (const row of rows) {
  for (const slow of [false, true]) {
    t.test(`${row.name}${slow ? ' (reference reader)' : ''}`, (t) => {
      const base = deepFreeze(read(row.base, slow));
      const before = plain(base);
      const patch = read(row.patch);
      const got = strategicMerge(base, patch) as JsonObject;
      t.same(plain(got), plain(read(row.want)), 'kustomize v5.5 result');
      t.same(plain(base), before, 'frozen base untouched');
      t.same(plain(strategicMerge(got, patch)), plain(got), 'idempotent');
      const ops = createPatch(plain(base) as JsonValue, plain(got) as JsonValue);
      t.same(fjp.applyPatch(plain(base), ops as fjp.Operation[], false, false).newDocument, plain(got), 'createPatch re-applied == output');
      t.end();
    });
  }
}

t.test('the reader marks only empty nulls, and the maps above them', (t) => {
  const fast = read('a:\nb: null\nc: ~\nd:\n  e:\nf:\n  g: 1\nh:\n- i:\n');
  for (const v of [fast, read('a:\nb: null\nc: ~\nd:\n  e:\nf:\n  g: 1\nh:\n- i:\n', true)]) {
    t.same(emptyNullKeys(v), ['a']);
    t.same(emptyNullKeys(v.d as JsonObject), ['e']);
    t.equal(emptyNullKeys(v.f as JsonObject), undefined);
    t.same(emptyNullKeys((v.h as JsonObject[])[0] as JsonObject), ['i']);
    t.same(Object.keys(v), ['a', 'b', 'c', 'd', 'f', 'h'], 'invisible to Object.keys');
    t.equal(JSON.stringify(v), '{"a":null,"b":null,"c":null,"d":{"e":null},"f":{"g":1},"h":[{"i":null}]}', 'invisible to JSON');
  }
  t.equal(emptyNullKeys(parseManifests('a:\n')[0]?.value as JsonObject), undefined, 'not recorded unless asked');
  t.end();
});

/** Every map's marker, by JSON path (for comparing the two readers). */
function markers(v: unknown, path = '$', out: Record<string, readonly string[]> = {}): Record<string, readonly string[]> {
  if (Array.isArray(v)) v.forEach((x, i) => markers(x, `${path}[${i}]`, out));
  else if (typeof v === 'object' && v !== null) {
    const keys = emptyNullKeys(v as JsonObject);
    if (keys) out[path] = keys;
    for (const [k, x] of Object.entries(v)) markers(x, `${path}.${k}`, out);
  }
  return out;
}

t.test('document markers: the fast reader marks what the reference reader marks', (t) => {
  // js-yaml probes for one more key at each `---`/`...` (an empty node it drops);
  // the fast reader skips its unwrap pass when that is the only empty node.
  const rows: [string, string][] = [
    ['no empty null, three documents', 'a: 1\n---\nb:\n  c: 2\n---\nd: [1]\n...\n'],
    ['an empty null right before a marker', 'a: 1\nb:\n---\nc: 1\n'],
    ['a nested empty null before a marker', 'a:\n  b:\n---\nc:\n  d: x\n'],
    ['an empty document between two', 'a: 1\n---\n---\nb:\n...\n'],
    ['an empty null after the last marker', '---\na: 1\n---\nb:\n  c:\n'],
    ['a written null element', 'a: 1\n---\nb:\n- null\n'],
    ['a marker-like scalar', 'a: "---"\nb: ...x\n---\nc:\n'],
  ];
  for (const [name, text] of rows) {
    const fast = parseManifests(text, { emptyNulls: true }).map((d) => markers(d.value));
    const slow = parseManifestsSlow(text, { emptyNulls: true }).map((d) => markers(d.value));
    t.same(fast, slow, name);
    t.same(plain(parseManifests(text, { emptyNulls: true }).map((d) => d.value)), plain(parseManifestsSlow(text).map((d) => d.value)), `${name}: same values`);
  }
  t.same(markers(parseManifests('a: 1\nb:\n---\nc: 1\n', { emptyNulls: true })[0].value), { $: ['b'] }, 'the empty null before a marker is recorded');
  t.end();
});

t.test('explicitNulls: a JSON6902 round trip makes every null written', (t) => {
  const v = deepFreeze(read('a:\nb:\n  c:\nd:\n  e: 1\n'));
  const out = explicitNulls(v);
  t.equal(emptyNullKeys(out), undefined);
  t.equal(emptyNullKeys(out.b as JsonObject), undefined);
  t.equal(out.d, v.d, 'unmarked subtrees shared');
  t.same(plain(out), plain(v));
  t.notOk(Object.getOwnPropertySymbols(out).includes(EMPTY_NULLS));
  t.end();
});
