import t from 'tap';
import type { KubeObject } from '../../src/kube/object.js';
import { imagesTransformer, splitImage } from '../../src/transform/images.js';
import { makeContext } from '../../src/transform/types.js';
import { configErrorPath, runCases, checkRows } from './kustomize-cases.js';

t.test('conformance: kustomize images cases', (t) => {
  runCases(t, ['images']);
  t.end();
});

t.test('splitImage (kustomize api/image Split)', (t) => {
  const rows: [string, { name: string; tag: string; digest: string }][] = [
    ['nginx', { name: 'nginx', tag: '', digest: '' }],
    ['nginx:1.25', { name: 'nginx', tag: '1.25', digest: '' }],
    ['nginx@sha256:abc', { name: 'nginx', tag: '', digest: 'sha256:abc' }],
    ['nginx:1.0@sha256:abc', { name: 'nginx', tag: '1.0', digest: 'sha256:abc' }],
    ['localhost:5000/app', { name: 'localhost:5000/app', tag: '', digest: '' }],
    ['localhost:5000/app:dev', { name: 'localhost:5000/app', tag: 'dev', digest: '' }],
    ['my.reg:443/a/b@sha256:x', { name: 'my.reg:443/a/b', tag: '', digest: 'sha256:x' }],
  ];
  for (const [image, want] of rows) t.same(splitImage(image), want, image);
  t.end();
});

const pod = (image: unknown, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image }], ...extra } }) as KubeObject;

t.test('unit rows', (t) => {
  const rows: { name: string; config: unknown; input: KubeObject; want: KubeObject }[] = [
    { name: 'host:port registry name', config: [{ name: 'localhost:5000/app', newTag: 'v2' }], input: pod('localhost:5000/app:dev'), want: pod('localhost:5000/app:v2') },
    { name: 'newTag + digest', config: [{ name: 'nginx', newTag: '1.27', digest: 'sha256:d' }], input: pod('nginx:1.25'), want: pod('nginx:1.27@sha256:d') },
    { name: 'digest replaces tag', config: [{ name: 'nginx', digest: 'sha256:d' }], input: pod('nginx:1.25'), want: pod('nginx@sha256:d') },
    { name: 'entry without name ignored', config: [{ newTag: 'x' }], input: pod('nginx'), want: pod('nginx') },
    {
      name: 'image volumes untouched in v5.5 (kubectl kustomize)', config: [{ name: 'data', newTag: '2' }],
      input: pod('nginx', { volumes: [{ name: 'v', image: { reference: 'data:1' } }] }),
      want: pod('nginx', { volumes: [{ name: 'v', image: { reference: 'data:1' } }] }),
    },
    {
      name: 'CRD skipped by the legacy walk', config: [{ name: 'nginx', newTag: '2' }],
      input: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x' }, x: { containers: [{ image: 'nginx' }] } },
      want: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x' }, x: { containers: [{ image: 'nginx' }] } },
    },
    { name: 'entries apply in order', config: [{ name: 'a', newName: 'b' }, { name: 'b', newTag: '2' }], input: pod('a:1'), want: pod('b:2') },
    // Go's MatchString searches: ^*... matches at the end of any image (kubectl kustomize v5.5).
    { name: 'name "*" retags every image, digest dropped', config: [{ name: '*', newTag: 'v9' }], input: pod('quay.io/team/app:1.0@sha256:2222'), want: pod('quay.io/team/app:v9') },
    { name: 'name "*" on a host:port registry', config: [{ name: '*', newTag: 'v9' }], input: pod('localhost:5000/app'), want: pod('localhost:5000/app:v9') },
    { name: 'an alternation leaves ^nginx a prefix', config: [{ name: 'nginx|envoy', newTag: '2' }], input: pod('nginx-unprivileged:1.25'), want: pod('nginx-unprivileged:2') },
    { name: 'an alternation: envoy(...)$ found at the end', config: [{ name: 'nginx|envoy', newTag: '2' }], input: pod('envoyproxy/envoy:v1.30'), want: pod('envoyproxy/envoy:2') },
    { name: 'an alternation does not match elsewhere', config: [{ name: 'nginx|envoy', newTag: '2' }], input: pod('localhost:5000/app'), want: pod('localhost:5000/app') },
  ];
  checkRows(t, rows, imagesTransformer);
  t.end();
});

t.test('not idempotent where kustomize is not: newName matching its own name', (t) => {
  const tr = imagesTransformer([{ name: 'a', newName: 'a:1' }], { name: 'images' });
  const cr = (image: string): KubeObject => ({ apiVersion: 'x.io/v1', kind: 'X', metadata: { name: 'x' }, spec: { job: { containers: [{ image }] } } });
  const once = tr.apply(cr('a'), makeContext())!;
  t.same(once, cr('a:1'));
  t.same(tr.apply(once, makeContext()), cr('a:1:1'), 'kustomize rewrites again on a second run');
  // On a pod spec the field-spec pass already applies it a second time within one run.
  t.same(tr.apply(pod('a'), makeContext()), pod('a:1:1'));
  t.end();
});

t.test('config errors', (t) => {
  const rows: [unknown, string][] = [
    [[{ name: 'nginx', newTag: 1.2 }], '[0].newTag'],
    [[{ name: 'nginx', newTag: 7 }], '[0].newTag'],
    [[{ name: 'nginx', tag: '1' }], '[0].tag'],
    [[{ name: 5 }], '[0].name'],
    [{ name: 'nginx' }, ''],
    [['nginx'], '[0]'],
    [[{ name: 'ngi(nx' }], '[0].name'],
  ];
  for (const [config, path] of rows) {
    t.equal(configErrorPath(() => imagesTransformer(config, { name: 'images' })), path, JSON.stringify(config));
  }
  t.end();
});

t.test('compileImageMatcher: the plain-name fast path answers as the RE2 regex (property)', async (t) => {
  const { default: fc } = await import('fast-check');
  const { RE2JS } = await import('re2js');
  const { compileImageMatcher } = await import('../../src/transform/images.js');
  const nameArb = fc.stringMatching(/^[ab.\/_-]{1,6}$/);
  const imageArb = fc.array(fc.constantFrom('a', 'b', '.', '/', '-', '_', ':', '@', 'sha256:', '{', '\n', 'é', '😀', 'x'), { maxLength: 12 }).map((xs) => xs.join(''));
  let matched = 0;
  fc.assert(fc.property(nameArb, imageArb, fc.boolean(), (name, tail, prefixed) => {
    // Half the inputs start with the name, so matches are frequent.
    const image = prefixed ? name + tail : tail;
    const re = RE2JS.compile(`^${name}(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$`);
    // Go's MatchString, as kustomize calls it: a search.
    const want = re.matcher(image).find();
    if (want) matched++;
    return compileImageMatcher(name, '/0/name')(image) === want;
  }), { numRuns: 5000, seed: 7 });
  t.ok(matched > 100, `the property saw matches (${matched})`);
  const m = compileImageMatcher('quay.io/app', '/0/name');
  t.same(['quay.io/app', 'quayXio/app:v1', 'quay.io/app@sha256:ab', 'quay.io/app:1@sha256:x', 'quay.io/apps', 'quay\nio/app', 'quay😀io/app'].map(m),
    [true, true, true, true, false, false, true], '`.` is any character but a newline, one code point');
});

t.test('admission shortcut: pod-bearing kinds give the same result as the legacy whole-object walk (corpus)', async (t) => {
  const { corpusFiles, streamObjects } = await import('../helpers/corpus.js');
  const { readFileSync } = await import('node:fs');
  const { podTemplateLocation } = await import('../../src/kube/object.js');
  // Every image rewritten: both front doors must find exactly the same lists.
  const tr = imagesTransformer([{ name: '.*', newTag: 'pinned' }], { name: 'all' });
  let pods = 0;
  for (const file of corpusFiles()) {
    for (const obj of streamObjects(readFileSync(file, 'utf8'))) {
      if (!podTemplateLocation(obj)) continue;
      pods++;
      const viaWalk = tr.apply(obj, makeContext({ frontDoor: 'render' }));
      const viaTypes = tr.apply(obj, makeContext({ frontDoor: 'admission' }));
      if (JSON.stringify(viaWalk) !== JSON.stringify(viaTypes)) t.fail(`${file}: ${String(obj.kind)} ${JSON.stringify(obj.metadata)}`);
    }
  }
  t.ok(pods > 40, `compared ${pods} pod-bearing objects`);
  // The walk also finds lists the API server would have pruned; the shortcut does not look.
  const odd = { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: 'a' }], extra: { containers: [{ image: 'b' }] } } } as KubeObject;
  t.same(((tr.apply(odd, makeContext({ frontDoor: 'render' })) as KubeObject).spec as KubeObject).extra, { containers: [{ image: 'b:pinned' }] }, 'render walks everything (kustomize)');
  t.same(((tr.apply(odd, makeContext({ frontDoor: 'admission' })) as KubeObject).spec as KubeObject).extra, { containers: [{ image: 'b' }] }, 'admission reads the typed pod spec only');
});
