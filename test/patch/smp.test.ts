// Unit table for strategicMerge: every row checks the expected result (or a
// PatchError), that the deep-frozen inputs are not mutated, that no directive
// key reaches the output, and, where the law holds, idempotence:
// merge(merge(x, p), p) == merge(x, p).
import t from 'tap';
import YAML from 'yaml';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { PatchError, strategicMerge } from '../../src/patch/smp.js';
import { deepFreeze } from '../helpers/laws.js';


const y = (s: string): JsonObject => YAML.parse(s) as JsonObject;

function directiveKeys(v: JsonValue, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => directiveKeys(x, `${path}/${i}`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k.startsWith('$') ? [`${path}/${k}`] : []), ...directiveKeys(x, `${path}/${k}`)]);
}

interface Row {
  name: string;
  base: string;
  patch: string;
  /** Expected YAML; `null` for a deleted object. */
  want?: string | null;
  /** Expected PatchError message fragment and path. */
  error?: { match: RegExp; path: string };
  /** Set false where merge(merge(x,p),p) == merge(x,p) does not hold. */
  idempotent?: boolean;
}

const dep = (spec: string): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n${spec.replace(/^/gm, '      ')}`;

const rows: Row[] = [
  {
    name: 'container merged by name; patched element first (kyaml Prepend)',
    base: dep('containers:\n- {name: app, image: a:1, args: [x]}\n- {name: side, image: s:1}'),
    patch: dep('containers:\n- {name: side, image: s:2}'),
    want: dep('containers:\n- {name: side, image: s:2}\n- {name: app, image: a:1, args: [x]}'),
  },
  {
    name: 'new container and new env prepended, base-only kept in base order',
    base: dep('containers:\n- name: app\n  env: [{name: A, value: "1"}, {name: B, value: "2"}]'),
    patch: dep('containers:\n- {name: new, image: n}\n- name: app\n  env: [{name: C, value: "3"}]'),
    want: dep('containers:\n- {name: new, image: n}\n- name: app\n  env: [{name: C, value: "3"}, {name: A, value: "1"}, {name: B, value: "2"}]'),
  },
  {
    name: 'union types keep both keys without $retainKeys (finding 4)',
    base: dep('volumes:\n- {name: v, configMap: {name: c}}'),
    patch: dep('volumes:\n- {name: v, secret: {secretName: s}}'),
    want: dep('volumes:\n- {name: v, configMap: {name: c}, secret: {secretName: s}}'),
  },
  {
    name: 'list without merge strategy is replaced verbatim (tolerations, args)',
    base: dep('tolerations: [{key: a, operator: Exists}]\ncontainers:\n- {name: app, args: [a, b]}'),
    patch: dep('tolerations: [{key: b, value: null}]\ncontainers:\n- {name: app, args: [c]}'),
    want: dep('tolerations: [{key: b, value: null}]\ncontainers:\n- {name: app, args: [c]}'),
  },
  {
    name: 'finalizers: union, patch values first (case 043)',
    base: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x, y]}',
    patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [z, y]}',
    want: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [z, y, x]}',
  },
  {
    name: 'custom resource: lists replaced even with name keys, maps merged, null deletes',
    base: 'apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec: {items: [{name: a, v: 1}], m: {a: 1, b: 2}, finalizers: [p]}',
    patch: 'apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec: {items: [{name: b, v: 2}], m: {a: null, c: 3}, finalizers: [q]}',
    want: 'apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec: {items: [{name: b, v: 2}], m: {b: 2, c: 3}, finalizers: [q]}',
  },
  {
    name: 'null deletes; deleting the last label leaves labels: {} (case 037); null for a missing key adds nothing',
    base: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: web}}\ndata: {a: "1"}',
    patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: null}, annotations: null}\ndata: {zz: null}\nnewmap: {a: null, b: {c: null, d: 1}}',
    want: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {}}\ndata: {a: "1"}\nnewmap: {b: {d: 1}}',
  },
  {
    name: '$patch: delete on a map field and on list elements',
    base: dep('affinity: {nodeAffinity: {}}\ncontainers:\n- {name: a}\n- {name: b}\n- {name: c}'),
    patch: dep('affinity: {$patch: delete}\ncontainers:\n- {name: a, $patch: delete}\n- {name: c, $patch: delete}\n- {name: zz, $patch: delete}'),
    want: dep('containers:\n- {name: b}'),
  },
  {
    name: 'top-level $patch: delete deletes the object',
    base: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}',
    patch: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n$patch: delete',
    want: null,
    idempotent: false,
  },
  {
    name: '$patch: replace on a map and as a list element; $patch: merge is a plain merge',
    base: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {a: "1"}}\nspec:\n  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}\n  template:\n    spec:\n      containers:\n      - name: app\n        env: [{name: X, value: "1"}]',
    patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {$patch: merge, b: "2"}}\nspec:\n  strategy: {$patch: replace, type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: app\n        env: [{name: Z, value: "3"}, {$patch: replace}]',
    want: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {a: "1", b: "2"}}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: app\n        env: [{name: Z, value: "3"}]',
  },
  {
    name: 'directives inside new content never reach the output',
    base: dep('containers: [{name: a}]'),
    patch: dep('volumes: [{name: v, emptyDir: {}}, {name: w, $patch: delete}]\ninitContainers: [{name: i, env: [{name: E, value: e}, {name: F, $patch: delete}], resources: {limits: null}}]'),
    want: dep('containers: [{name: a}]\nvolumes: [{name: v, emptyDir: {}}]\ninitContainers: [{name: i, env: [{name: E, value: e}], resources: {}}]'),
  },
  {
    name: 'unknown $patch is an error (case 203)',
    base: dep('containers: [{name: app}]'),
    patch: dep('containers: [{name: app, $patch: bogus}]'),
    error: { match: /unknown patch strategy "bogus"/, path: '/spec/template/spec/containers/0' },
  },
  {
    name: 'scalar where the base has a list is an error (case 204)',
    base: dep('containers: [{name: app}]'),
    patch: dep('containers: not-a-list'),
    error: { match: /expected SequenceNode but got ScalarNode/, path: '/spec/template/spec/containers' },
  },
  {
    name: 'map where the base has a list is an error (case 215)',
    base: dep('containers: [{name: app}]'),
    patch: dep('containers: {name: app}'),
    error: { match: /expected SequenceNode but got MappingNode/, path: '/spec/template/spec/containers' },
  },
  {
    name: '$patch: delete on a scalar field is an error (finding 2)',
    base: dep('containers: [{name: app, image: nginx}]'),
    patch: dep('containers: [{name: app, image: {$patch: delete}}]'),
    error: { match: /expected ScalarNode but got MappingNode/, path: '/spec/template/spec/containers/0/image' },
  },
  {
    name: 'keyed-list patch element without its merge key is an error',
    base: dep('containers: [{name: app}]'),
    patch: dep('containers: [{image: x}]'),
    error: { match: /merge key: name/, path: '/spec/template/spec/containers/0' },
  },
  {
    name: '$setElementOrder sorts listed elements and interleaves server-only ones (apiserver)',
    base: dep('containers: [{name: a}, {name: b}, {name: c}]'),
    patch: dep('$setElementOrder/containers: [{name: c}, {name: a}]\ncontainers: [{name: c, image: c2}]'),
    want: dep('containers: [{name: b}, {name: c, image: c2}, {name: a}]'),
  },
  {
    name: '$setElementOrder with a new element (case 040)',
    base: dep('containers:\n- name: app\n  env: [{name: L, value: l}, {name: M, value: m}]'),
    patch: dep('containers:\n- name: app\n  $setElementOrder/env: [{name: M}, {name: E}, {name: L}]\n  env: [{name: E, value: "1"}]'),
    want: dep('containers:\n- name: app\n  env: [{name: M, value: m}, {name: E, value: "1"}, {name: L, value: l}]'),
  },
  {
    name: '$setElementOrder on a primitive list and without the list in the patch',
    base: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x, y, z]}',
    patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, $setElementOrder/finalizers: [z, x, y]}',
    want: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [z, x, y]}',
  },
  {
    name: 'patch list that does not follow $setElementOrder is an error',
    base: dep('containers: [{name: a}, {name: b}]'),
    patch: dep('$setElementOrder/containers: [{name: a}, {name: b}]\ncontainers: [{name: b}, {name: a}]'),
    error: { match: /does not follow/, path: '/spec/template/spec/$setElementOrder~1containers' },
  },
  {
    name: '$retainKeys drops the unlisted keys (case 035)',
    base: dep('volumes:\n- {name: v, configMap: {name: c}}\n- {name: w, emptyDir: {}}'),
    patch: dep('volumes:\n- {name: v, $retainKeys: [name, secret], secret: {secretName: s}}'),
    want: dep('volumes:\n- {name: v, secret: {secretName: s}}\n- {name: w, emptyDir: {}}'),
  },
  {
    name: '$retainKeys must list every patched key',
    base: dep('volumes: [{name: v, configMap: {name: c}}]'),
    patch: dep('volumes: [{name: v, $retainKeys: [name], secret: {secretName: s}}]'),
    error: { match: /not listed in \$retainKeys/, path: '/spec/template/spec/volumes/0/$retainKeys' },
  },
  {
    name: '$deleteFromPrimitiveList removes values (case 036), together with an addition',
    base: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x, y, z]}',
    patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, $deleteFromPrimitiveList/finalizers: [x, q], finalizers: [w]}',
    want: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [w, y, z]}',
  },
  {
    name: 'container ports: missing protocol reads as TCP (case 006), new port after in API server order',
    base: dep('containers:\n- name: app\n  ports: [{containerPort: 80, name: http}]'),
    patch: dep('containers:\n- name: app\n  ports: [{containerPort: 80, name: web, protocol: TCP}, {containerPort: 8443, name: https}]'),
    want: dep('containers:\n- name: app\n  ports: [{containerPort: 80, name: web, protocol: TCP}, {containerPort: 8443, name: https}]'),
  },
  {
    name: 'container ports: 53/UDP distinct from 53/TCP; API server order (mergeSortedSlice) (case 007)',
    base: dep('containers:\n- name: dns\n  ports: [{containerPort: 53, name: a, protocol: TCP}, {containerPort: 53, name: b, protocol: UDP}, {containerPort: 80, name: c, protocol: TCP}, {containerPort: 90, name: e}]'),
    patch: dep('containers:\n- name: dns\n  ports: [{containerPort: 80, name: c2}, {containerPort: 100, name: n}, {containerPort: 53, protocol: UDP, name: u}]'),
    want: dep('containers:\n- name: dns\n  ports: [{containerPort: 53, name: a, protocol: TCP}, {containerPort: 80, name: c2, protocol: TCP}, {containerPort: 100, name: n}, {containerPort: 53, name: u, protocol: UDP}, {containerPort: 90, name: e}]'),
  },
  {
    name: 'Service port without protocol patches the TCP port (case 008)',
    base: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: http, port: 80, protocol: TCP, targetPort: http}]}',
    patch: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, ports: [{port: 80, targetPort: 8080}, {name: https, port: 443}]}',
    want: 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}, {name: https, port: 443}]}',
  },
  {
    name: 'another version of a built-in kind uses the same schema (group+kind fallback)',
    base: 'apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: w}\nspec: {template: {spec: {containers: [{name: a}, {name: b}]}}}',
    patch: 'apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: w}\nspec: {template: {spec: {containers: [{name: b, image: x}]}}}',
    want: 'apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: w}\nspec: {template: {spec: {containers: [{name: b, image: x}, {name: a}]}}}',
  },
  {
    name: 'CronJob job template pod spec is keyed; base null treated as absent',
    base: 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, annotations: null}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a}, {name: b}]}}}}}',
    patch: 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, annotations: {x: "1"}}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: b, image: i}]}}}}}',
    want: 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, annotations: {x: "1"}}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: b, image: i}, {name: a}]}}}}}',
  },
];

for (const row of rows) {
  t.test(row.name, async (tt) => {
    const base = deepFreeze(y(row.base));
    const patch = deepFreeze(y(row.patch));
    const baseCopy = structuredClone(base);
    const patchCopy = structuredClone(patch);
    if (row.error) {
      const err = (() => { try { strategicMerge(base, patch); } catch (e) { return e; } return undefined; })();
      tt.ok(err instanceof PatchError, 'throws PatchError');
      if (err instanceof PatchError) {
        tt.match(err.message, row.error.match);
        tt.equal(err.path, row.error.path);
      }
      return;
    }
    const got = strategicMerge(base, patch);
    tt.same(got, row.want === null ? null : y(row.want as string), 'result');
    tt.same(base, baseCopy, 'base not mutated');
    tt.same(patch, patchCopy, 'patch not mutated');
    if (got !== null) {
      tt.same(directiveKeys(got), [], 'no directive keys in the output');
      if (row.idempotent !== false) tt.same(strategicMerge(deepFreeze(got), patch), got, 'idempotent');
    }
  });
}

t.test('long keyed lists: 3,000 env entries merge by key, patch first', async (tt) => {
  const env = Array.from({ length: 3000 }, (_, i) => ({ name: `V${i}`, value: String(i) }));
  const base = deepFreeze(y(dep('containers: []')));
  const b = structuredClone(base) as JsonObject;
  ((((b.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonValue[]).push({ name: 'app', env });
  const patchEnv: JsonValue = [{ name: 'V2999', value: 'x' }, { name: 'NEW', value: 'n' }, { name: 'V0', $patch: 'delete' }];
  const patch = deepFreeze(y(dep('containers: [{name: app, env: []}]'))) as JsonObject;
  const p = structuredClone(patch);
  ((((p.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[])[0]!.env = patchEnv;
  const got = strategicMerge(deepFreeze(b), deepFreeze(p)) as JsonObject;
  const out = ((((got.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[])[0]!.env as JsonObject[];
  tt.equal(out.length, 3000);
  tt.same(out.slice(0, 3), [{ name: 'V2999', value: 'x' }, { name: 'NEW', value: 'n' }, { name: 'V1', value: '1' }]);
  tt.same(out[2999], { name: 'V2998', value: '2998' });
});

t.test('structural sharing: untouched subtrees of the base are reused', async (tt) => {
  const base = deepFreeze(y(dep('containers: [{name: a, resources: {limits: {cpu: "1"}}}]\nvolumes: [{name: v}]')));
  const got = strategicMerge(base, y('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {a: b}}')) as JsonObject;
  tt.equal(got.spec, base.spec);
});
