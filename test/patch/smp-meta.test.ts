// The committed patch-metadata table equals a fresh generation from
// test/data/k8s/swagger.json (the repo's copy of the Kubernetes OpenAPI data;
// the test fails when it is missing), and the lookups by GVK and field behave as documented.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defFields, fieldMeta, isMergeList, schemaForGVK } from '../../src/patch/patch-meta.js';
import { K8S_PATCH_META } from '../../src/patch/k8s-patch-meta.generated.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const swagger = fileURLToPath(new URL('../data/k8s/swagger.json', import.meta.url));

t.test('committed table equals a fresh generation', async (tt) => {
  tt.ok(existsSync(swagger), `${swagger} exists (npm run sync-testdata)`);
  const fresh = execFileSync(process.execPath, ['scripts/gen-k8s-patch-meta.mjs', swagger, '--stdout'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const committed = readFileSync(new URL('../../src/patch/k8s-patch-meta.generated.ts', import.meta.url), 'utf8');
  tt.ok(fresh === committed, 'src/patch/k8s-patch-meta.generated.ts is up to date (npm run gen:k8s-patch-meta)');
});

const lookups: { name: string; gvk: { group: string; version: string; kind: string }; known: boolean; path: string[]; want?: Record<string, unknown> }[] = [
  { name: 'Deployment containers (exact GVK)', gvk: { group: 'apps', version: 'v1', kind: 'Deployment' }, known: true, path: ['spec', 'template', 'spec', 'containers'], want: { strategy: 'merge', mergeKey: 'name' } },
  { name: 'Deployment in another version falls back to the group+kind', gvk: { group: 'apps', version: 'v1beta2', kind: 'Deployment' }, known: true, path: ['spec', 'template', 'spec', 'volumes'], want: { strategy: 'merge,retainKeys', mergeKey: 'name' } },
  { name: 'container ports carry list-map keys', gvk: { group: '', version: 'v1', kind: 'Pod' }, known: true, path: ['spec', 'containers', 'ports'], want: { mergeKey: 'containerPort', mapKeys: ['containerPort', 'protocol'] } },
  { name: 'Service ports', gvk: { group: '', version: 'v1', kind: 'Service' }, known: true, path: ['spec', 'ports'], want: { mergeKey: 'port', mapKeys: ['port', 'protocol'] } },
  { name: 'finalizers: merge without key', gvk: { group: '', version: 'v1', kind: 'ConfigMap' }, known: true, path: ['metadata', 'finalizers'], want: { strategy: 'merge', listType: 'set' } },
  { name: 'tolerations: no merge strategy', gvk: { group: '', version: 'v1', kind: 'Pod' }, known: true, path: ['spec', 'tolerations'], want: undefined },
  { name: 'custom resource: unknown', gvk: { group: 'x.io', version: 'v1', kind: 'Deployment' }, known: false, path: ['spec'], want: undefined },
];

for (const row of lookups) {
  t.test(row.name, async (tt) => {
    const { known, schema } = schemaForGVK(row.gvk);
    tt.equal(known, row.known, 'known');
    let def = schema;
    let meta;
    for (const f of row.path) {
      meta = fieldMeta(def, f);
      def = meta?.ref;
    }
    if (row.want === undefined) {
      tt.notOk(isMergeList(meta), 'not a merge list');
      return;
    }
    tt.match(meta, row.want);
    tt.equal(isMergeList(meta), String(row.want.strategy ?? 'merge').includes('merge'));
  });
}

// createPatch reads a definition's fields once (defFields) and then each field from them: the same answers as fieldMeta.
t.test('defFields(def)?.[field] is fieldMeta(def, field)', async (tt) => {
  let n = 0;
  const probes = ['name', 'nosuchfield', 'constructor', '__proto__', 'toString', ''];
  for (const def of [...Object.keys(K8S_PATCH_META.defs), undefined, 'no.such.Def', 'constructor', '']) {
    const fields = defFields(def);
    for (const f of [...Object.keys(fields ?? {}), ...probes]) {
      if (fields?.[f] !== fieldMeta(def, f)) tt.fail(`${String(def)} ${f}`);
      n++;
    }
  }
  tt.ok(n > 1000, `${n} lookups agree`);
  tt.equal(defFields(undefined), undefined);
  tt.equal(defFields('no.such.Def'), undefined);
  tt.equal(defFields('core.v1.PodSpec')?.containers, fieldMeta('core.v1.PodSpec', 'containers'));
  tt.ok(fieldMeta('core.v1.PodSpec', 'containers') !== undefined, 'a known field');
});
