/**
 * The images transformer at admission on Pods and workloads: the one-pass
 * path (src/transform/images-pod.ts) against kustomize's passes
 * (`imagesInPasses`, the reference), over the corpus's pod-bearing objects
 * (and Pods made from their templates) and hand-made edge cases, with
 * configs that match, rewrite twice (a name matching itself again, a digest
 * added twice), chain entries or match nothing: the same result or error,
 * the same reference when nothing changes, the input untouched. The laws
 * hold on the one-pass results.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createPatch } from '../../src/patch/create-patch.js';
import { podTemplateLocation, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { imagesInPasses, imagesTransformer } from '../../src/transform/images.js';
import { IMAGE_MEMO_ENTRIES, IMAGE_MEMO_MAX_LENGTH, imageRewrite } from '../../src/transform/images-pod.js';
import { makeContext } from '../../src/transform/types.js';
import { corpusFiles, streamObjects } from '../helpers/corpus.js';
import { deepFreeze, reapply } from '../helpers/laws.js';

const admission = makeContext({ frontDoor: 'admission' });

const CONFIGS: unknown[] = [
  [{ name: 'quay.io/argoproj/argocd', newName: 'mirror.example.com/argoproj/argocd' }],
  [{ name: 'envoyproxy/envoy', newName: 'mirror.example.com/envoyproxy/envoy' }],
  [{ name: 'nginx', newTag: '1.27' }, { name: 'redis', digest: 'sha256:abc' }],
  [{ name: 'a', newName: 'a:1' }],
  [{ name: 'redis', newName: 'redis@sha256:x' }],
  [{ name: 'ghcr.io/dexidp/dex', newTag: 'v9' }, { name: 'ghcr.io/dexidp/dex', newName: 'other/dex' }, { name: 'other/dex', digest: 'sha256:d' }],
  [{ name: '.*', newTag: 'all' }],
  [{ name: 'docker.io/library/redis', newName: 'r' }, { name: 'redis', newTag: '7' }],
  [{ newTag: 'ignored' }],
];

const podOf = (template: JsonObject): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'x-' }, spec: template.spec as JsonObject });

const HANDMADE: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'nginx:1.0' }], initContainers: [{ name: 'i', image: 'redis' }] } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', image: 'a' }], template: { spec: { containers: [{ image: 'a' }] } } } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a' }, { name: 'b', image: null }, { name: 'c', image: 3 }, { name: 'd', image: 'a' }] } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', image: { ref: 'a' } }] } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: ['a', { image: 'a' }] } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: { image: 'a' } } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: null, initContainers: [{ image: 'redis' }] } },
  { apiVersion: 'v1', kind: 'Pod', spec: 'scalar' },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-spec' } },
  { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: 'a', __proto__: 'own' } as unknown as JsonObject] } },
  { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { containers: [{ image: 'nginx' }], initContainers: [{ image: 'a' }] } } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', spec: { containers: [{ image: 'a' }], template: { spec: { containers: [{ image: 'a' }] } } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: null } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: 'scalar' } },
  { apiVersion: 'batch/v1', kind: 'Job', spec: { template: { spec: { containers: [{ image: 'redis:6' }] } } } },
  { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'a' }] } } } } } },
  { apiVersion: 'v1', kind: 'ReplicationController', spec: { template: { spec: { containers: [{ image: 'é' }, { image: 'a' }] } } } },
  { apiVersion: 'extensions/v1beta1', kind: 'DaemonSet', spec: { template: { spec: { containers: [{ image: 'nginx' }] } } } },
];

function outcome(fn: () => KubeObject): { value?: KubeObject; error?: string } {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message} ${JSON.stringify((e as { path?: unknown }).path)}` };
  }
}

const corpus = corpusFiles().flatMap((f) => streamObjects(readFileSync(f, 'utf8'))).filter((o) => podTemplateLocation(o) !== undefined);
const templated = corpus.flatMap((o) => {
  const tpl = (o.spec as JsonObject | undefined)?.template;
  return tpl && typeof tpl === 'object' && !Array.isArray(tpl) && (tpl as JsonObject).spec ? [podOf(tpl as JsonObject)] : [];
});
const objects = [...HANDMADE, ...corpus, ...templated];

t.test('one pass answers as the passes (corpus and edge cases, every config)', async (t) => {
  let rows = 0;
  let changed = 0;
  for (const config of CONFIGS) {
    const fast = imagesTransformer(config, { name: 'images' });
    const passes = imagesInPasses(config);
    for (const obj of objects) {
      const input = deepFreeze(structuredClone(obj));
      const want = outcome(() => passes(input, admission));
      const got = outcome(() => fast.apply(input, admission) as KubeObject);
      rows++;
      if (want.value !== undefined && want.value !== input) changed++;
      if (JSON.stringify(got) !== JSON.stringify(want) || (got.value === input) !== (want.value === input)) {
        t.fail(`${JSON.stringify(config)} on ${String(obj.kind)}`, { got, want });
      }
    }
  }
  t.ok(rows > 300 && changed > 50, `${rows} rows agree, ${changed} of them rewrite an image`);
});

t.test('laws on the one-pass results: input untouched, re-applied patch == output', async (t) => {
  const fast = imagesTransformer(CONFIGS[2], { name: 'images' });
  for (const obj of [...templated, ...HANDMADE.slice(0, 3)]) {
    const input = deepFreeze(structuredClone(obj));
    const out = fast.apply(input, admission) as KubeObject;
    t.same(reapply(input, createPatch(input, out)), out, `${String(obj.kind)} ${JSON.stringify(obj.metadata ?? {}).slice(0, 40)}`);
  }
});

t.test('render keeps the legacy walk over the whole object', async (t) => {
  const obj = deepFreeze({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: 'a' }] }, extra: { containers: [{ image: 'a' }] } } as KubeObject);
  const out = imagesTransformer([{ name: 'a', newTag: '2' }], { name: 'images' }).apply(obj, makeContext()) as JsonObject;
  t.same(out.extra, { containers: [{ image: 'a:2' }] }, 'the free-form list is rewritten at render');
});

t.test('the remembered images answer as the passes: one transformer over Pods whose images repeat and change', async (t) => {
  const images = [
    ...Array.from({ length: IMAGE_MEMO_ENTRIES + 5 }, (_, i) => (i % 3 === 0 ? `nginx:1.${i}` : i % 3 === 1 ? `redis@sha256:${i}` : `a:${i}`)),
    'nginx', 'a', 'redis', `nginx:${'9'.repeat(IMAGE_MEMO_MAX_LENGTH)}`, 'é', 'quay.io/argoproj/argocd:latest', 'envoyproxy/envoy:v1',
  ];
  // Every image seen again after 1, IMAGE_MEMO_ENTRIES and more other images; two containers per Pod.
  const order = [...images, ...images, ...[...images].reverse(), ...images.filter((_, i) => i % 2 === 0), ...images];
  let rows = 0;
  for (const config of CONFIGS) {
    const fast = imagesTransformer(config, { name: 'images' });
    const passes = imagesInPasses(config);
    for (let i = 0; i < order.length; i++) {
      const pod = deepFreeze({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', image: order[i] }, { name: 'b', image: order[(i + 7) % order.length] }] } } as KubeObject);
      const want = outcome(() => passes(pod, admission));
      const got = outcome(() => fast.apply(pod, admission) as KubeObject);
      rows++;
      if (JSON.stringify(got) !== JSON.stringify(want) || (got.value === pod) !== (want.value === pod)) t.fail(`${JSON.stringify(config)} at ${i}`, { got, want });
    }
  }
  t.ok(rows > 500, `${rows} rows agree`);
});

t.test('imageRewrite: entries through their updates twice, in order; remembers at most IMAGE_MEMO_ENTRIES images up to IMAGE_MEMO_MAX_LENGTH characters', async (t) => {
  const calls: string[] = [];
  const rewrite = imageRewrite([
    (s) => (calls.push(`1:${s}`), s.startsWith('x') ? `y${s.slice(1)}` : s),
    (s) => (calls.push(`2:${s}`), s.startsWith('y') ? `${s}!` : s),
  ]);
  t.equal(rewrite('xa'), 'ya!!', 'each update twice, entry by entry');
  t.same(calls, ['1:xa', '1:ya', '2:ya', '2:ya!'], 'in that order');
  calls.length = 0;
  t.equal(rewrite('xa'), 'ya!!', 'remembered');
  t.same(calls, [], 'without calling the updates');
  for (let i = 0; i < IMAGE_MEMO_ENTRIES; i++) rewrite(`x${i}`);
  calls.length = 0;
  t.equal(rewrite('xa'), 'ya!!', 'forgotten after IMAGE_MEMO_ENTRIES others');
  t.equal(calls.length, 4, 'computed again');
  for (let i = 1; i < IMAGE_MEMO_ENTRIES; i++) rewrite(`x${i}`);
  calls.length = 0;
  t.equal(rewrite('xa'), 'ya!!', 'still held with IMAGE_MEMO_ENTRIES - 1 others after it');
  t.same(calls, [], 'remembered');
  const long = `x${'a'.repeat(IMAGE_MEMO_MAX_LENGTH)}`;
  rewrite(long);
  calls.length = 0;
  rewrite(long);
  t.equal(calls.length, 4, 'an image over IMAGE_MEMO_MAX_LENGTH characters is not remembered');
  const justUnder = `x${'a'.repeat(IMAGE_MEMO_MAX_LENGTH - 2)}`;
  rewrite(justUnder);
  calls.length = 0;
  rewrite(justUnder);
  t.equal(calls.length, 4, 'nor one whose result is over it');
});
