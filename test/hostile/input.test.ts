/**
 * Hostile manifests, patches and policies (issue 8): deep YAML nesting,
 * duplicate keys, billion-laughs aliases, non-string map keys, invalid UTF-8,
 * and `__proto__` / `constructor` / `prototype` keys in objects, patches and
 * policies. Each case ends in a result or a typed error, never a crash, and
 * leaves Object.prototype untouched.
 */
import t from 'tap';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { applyJson6902, Json6902Error } from '../../src/patch/json6902.js';
import { parsePatchText, PatchTextError } from '../../src/patch/patch-text.js';
import { strategicMerge } from '../../src/patch/smp.js';
import { PolicyError } from '../../src/policy/compile.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, HOSTILE_KEYS, policySetFromYaml, prototypeSnapshot, prototypeUntouched } from '../fuzz/helpers.js';

const before = prototypeSnapshot();

t.teardown(() => {
  if (!prototypeUntouched(before)) throw new Error('Object.prototype changed');
});

/** Runs `f`; returns 'ok' or the error's class name (a RangeError or TypeError there is a crash). */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

const DEEP = 10_000;
t.test('10,000-deep YAML nesting: a result or a ManifestParseError', async (t) => {
  const cases: [string, string][] = [
    ['flow lists', 'a: ' + '['.repeat(DEEP) + ']'.repeat(DEEP)],
    ['flow maps', 'a: ' + '{a: '.repeat(DEEP) + '1' + '}'.repeat(DEEP)],
    ['block maps', Array.from({ length: DEEP }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1'],
    ['block lists', 'a:\n' + Array.from({ length: 3000 }, (_, i) => ' '.repeat(i * 2) + '-').join('\n') + ' 1'],
  ];
  for (const [name, text] of cases) t.match(outcome(() => parseManifests(text)), /^(ok|ManifestParseError)$/, name);
});

t.test('duplicate keys: a ManifestParseError naming the key, and a PolicyError in policies', async (t) => {
  t.throws(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: one\n  k: two\n'), { name: 'ManifestParseError', message: /mapping key "k" already defined/ });
  t.throws(() => policySetFromYaml('apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: a}\nmetadata: {name: b}\nspec: {transformers: []}\n'), PolicyError);
  t.throws(() => parsePatchText('- op: add\n  op: remove\n  path: /a\n'), PatchTextError, 'patch text');
});

/** Nine levels of ten aliases each: 10^9 nodes if expanded. */
function billionLaughs(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
  return lines.join('\n') + '\n';
}

t.test('billion laughs: capped everywhere YAML is read', async (t) => {
  const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n' + billionLaughs();
  t.throws(() => parseManifests(text), { name: 'ManifestParseError', message: /excessive aliasing/ }, 'manifest stream');
  const policy = 'apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: lol}\nspec:\n  transformers: []\n' + billionLaughs().replace(/^/gm, '  ');
  t.throws(() => policySetFromYaml(policy), PolicyError, 'policy document');
  t.throws(() => parsePatchText(billionLaughs()), PatchTextError, 'patch text');
  // A sane use of aliases still works.
  t.same(parseManifests('a: &x {b: 1}\nc: *x\n')[0].value, { a: { b: 1 }, c: { b: 1 } }, 'ordinary aliases expand');
});

t.test('non-string map keys: strings as go-yaml decodes them, or a typed error', async (t) => {
  const v = parseManifests('1: a\ntrue: b\nnull: c\n0x10: d\n1.5: e\n')[0].value as JsonObject;
  t.same(Object.keys(v).sort(), ['0x10', '1', '1.5', 'null', 'true'], 'scalar keys keep their text');
  for (const text of ['? [1, 2]\n: x\n', '? {a: 1}\n: x\n', '[1]: x\n', '{a: 1}: x\n', 'k: &k [1]\n*k : x\n']) {
    t.match(outcome(() => parseManifests(text)), /^(ok|ManifestParseError)$/, JSON.stringify(text));
  }
  const policy = 'apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: k}\nspec:\n  transformers:\n  - labels: {pairs: {? [1, 2] : x}}\n';
  t.match(outcome(() => policySetFromYaml(policy)), /^(ok|PolicyError)$/, 'policy with a list as a map key');
});

t.test('invalid UTF-8 in a manifest: rendered with U+FFFD, never a crash', async (t) => {
  const set = policySetFromYaml('apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: l}\nspec:\n  transformers:\n  - labels: {pairs: {a: b}}\n');
  const bytes = Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  k: "'), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"\n')]);
  const r = renderManifests(bytes.toString('utf8'), set);
  t.match(r.output, /a: b/, 'rendered');
  t.equal(parseManifests(r.output).length, 1, 'output parses');
});

t.test('hostile keys in objects: review and render treat them as data', async (t) => {
  const set = policySetFromYaml(`apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  transformers:
  - labels: {pairs: {a: b}}
  - patch:
      target: {kind: ConfigMap}
      patch: |
        - {op: add, path: /data/added, value: x}
`);
  for (const key of HOSTILE_KEYS) {
    const object = JSON.parse(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"${key}":"l"}},"data":{"${key}":"v"},"${key}":{"polluted":"yes"}}`) as JsonObject;
    const res = review(admissionReview(`u-${key}`, object), set, { route: 'mutate' });
    t.equal(res.statusCode, 200, `${key}: review 200`);
    const response = (res.body as unknown as { response: JsonObject }).response;
    t.equal(response.allowed, true, `${key}: allowed`);
    const ops = JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8')) as JsonObject[];
    const patched = applyJson6902(object, ops);
    t.equal((patched.data as JsonObject)[key], 'v', `${key}: data key kept`);
    t.equal((patched.metadata as { labels: JsonObject }).labels[key], 'l', `${key}: label kept`);
    const out = renderManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {${key}: l}\ndata: {${key}: v}\n${key}: {polluted: yes}\n`, set).output;
    const doc = parseManifests(out)[0].value as JsonObject;
    t.equal((doc.data as JsonObject)[key], 'v', `${key}: render keeps the data key`);
    t.equal(Object.getPrototypeOf(doc.data), Object.prototype, `${key}: plain prototype`);
  }
});

t.test('hostile keys in patches: JSON6902 and strategic merge', async (t) => {
  const doc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} as JsonObject };
  for (const key of HOSTILE_KEYS) {
    for (const path of [`/${key}/polluted`, `/data/${key}`, `/data/${key}/polluted`, `/metadata/${key}`]) {
      const r = outcome(() => applyJson6902(doc, [{ op: 'add', path, value: 'yes' }]));
      t.match(r, /^(ok|Json6902Error)$/, `add ${path}`);
    }
    const r = applyJson6902(doc, [{ op: 'add', path: `/data/${key}`, value: { polluted: 'yes' } }, { op: 'copy', from: `/data/${key}`, path: '/data/copy' }, { op: 'move', from: `/data/${key}`, path: '/data/moved' }]);
    t.same(Object.keys(r.data as JsonObject).sort(), ['copy', 'moved'], `${key}: add, copy, move as data`);
    t.throws(() => applyJson6902(doc, [{ op: 'test', path: `/data/${key}`, value: 'x' }]), Json6902Error, `${key}: test on an inherited name fails`);
    t.throws(() => applyJson6902(doc, [{ op: 'remove', path: `/data/${key}` }]), Json6902Error, `${key}: remove of an inherited name fails`);
  }
});

t.test('hostile keys in strategic merge patches are data', async (t) => {
  const doc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} as JsonObject };
  for (const key of HOSTILE_KEYS) {
    const patch = JSON.parse(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"${key}":"v"},"${key}":{"polluted":"yes"}}`) as JsonObject;
    const merged = outcome(() => {
      const m = strategicMerge(doc, patch) as JsonObject;
      if ((m.data as JsonObject)[key] !== 'v' || !Object.prototype.hasOwnProperty.call(m, key) || (m as { polluted?: unknown }).polluted !== undefined) throw new TypeError('not data');
    });
    t.equal(merged, 'ok', `${key}: SMP sets the key as data`);
  }
});

t.test('hostile keys in policies: a PolicyError or a policy that treats them as data', async (t) => {
  for (const key of HOSTILE_KEYS) {
    const texts = [
      `apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec:\n  transformers:\n  - labels: {pairs: {${key}: x}}\n  - annotations: {${key}: y}\n`,
      `apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec:\n  ${key}: {polluted: yes}\n  transformers: []\n`,
      `apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec:\n  transformers:\n  - ${key}: {polluted: yes}\n`,
      `apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec:\n  match: {${key}: {polluted: yes}}\n  transformers: []\n`,
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${key}: {polluted: yes}\ncommonLabels: {${key}: x}\n`,
    ];
    for (const [i, text] of texts.entries()) {
      const r = outcome(() => {
        const set = policySetFromYaml(text);
        const res = set.evaluate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { frontDoor: 'render', operation: 'CREATE', namespace: 'a' });
        const labels = ((res.object as JsonObject | null)?.metadata as { labels?: JsonObject } | undefined)?.labels;
        if (i === 0 && labels && labels[key] !== 'x') throw new TypeError(`label ${key} not set as data`);
      });
      t.match(r, /^(ok|PolicyError)$/, `${key}: policy ${i}: ${r}`);
    }
  }
});

t.test('a non-string `$patch` value is a PatchError', async (t) => {
  const base = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } };
  for (const d of ['{"toString":1}', '{"toString":[]}', '[1]', '7']) {
    const patch = JSON.parse(`{"apiVersion":"v1","kind":"Service","spec":{"$patch":${d}}}`) as JsonObject;
    t.equal(outcome(() => strategicMerge(base, patch)), 'PatchError', `$patch: ${d}`);
  }
});
