/**
 * ApplyConfiguration merging (server-side apply), table over the facts
 * observed on a v1.36 API server (the project's notes on its behaviour,
 * copied into the rows; docs/admission-policies.md) and merge.go's ordering; laws: frozen input
 * untouched, idempotent.
 */
import t from 'tap';
import { applyConfiguration, ApplyConfigurationError } from '../../src/patch/apply-configuration.js';
import { schemaForGVK } from '../../src/patch/patch-meta.js';
import type { JsonObject } from '../../src/kube/object.js';

const POD = schemaForGVK({ group: '', version: 'v1', kind: 'Pod' }).schema;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const c = (name: string, extra: JsonObject = {}): JsonObject => ({ name, image: `${name}:1`, ...extra });

const ROWS: { name: string; object: JsonObject; config: JsonObject; want?: JsonObject; error?: RegExp }[] = [
  {
    name: 'containers: the patch order wins ([proxy, app] onto [app, log])',
    object: { spec: { containers: [c('app'), c('log')] } },
    config: { spec: { containers: [c('proxy'), { name: 'app' }] } },
    want: { spec: { containers: [c('proxy'), c('app'), c('log')] } },
  },
  {
    name: 'env: an existing key replaced in place, a new one appended',
    object: { spec: { containers: [c('app', { env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'REGION', value: 'eu' }] })] } },
    config: { spec: { containers: [{ name: 'app', env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'TRACING', value: 'on' }] }] } },
    want: { spec: { containers: [c('app', { env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'REGION', value: 'eu' }, { name: 'TRACING', value: 'on' }] })] } },
  },
  {
    name: 'only new items: appended at the end',
    object: { spec: { containers: [c('a'), c('b')] } },
    config: { spec: { containers: [c('n')] } },
    want: { spec: { containers: [c('a'), c('b'), c('n')] } },
  },
  {
    name: 'maps merge (labels)',
    object: { metadata: { name: 'p', labels: { a: '1' } }, spec: {} },
    config: { metadata: { labels: { b: '2' } } },
    want: { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: {} },
  },
  { name: 'atomic list: container args', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ name: 'app', args: ['x'] }] } }, error: /may not mutate atomic arrays, maps or structs: \.spec\.containers\[0\]\.args/ },
  { name: 'atomic map: nodeSelector', object: { spec: {} }, config: { spec: { nodeSelector: { a: 'b' } } }, error: /: \.spec\.nodeSelector$/ },
  { name: 'atomic struct items: imagePullSecrets', object: { spec: {} }, config: { spec: { imagePullSecrets: [{ name: 's' }] } }, error: /\.spec\.imagePullSecrets\[0\]/ },
  { name: 'a keyed item without its key', object: { spec: { containers: [c('app')] } }, config: { spec: { containers: [{ image: 'x' }] } }, error: /omits key field "name"/ },
];

for (const row of ROWS) {
  t.test(row.name, async (t) => {
    const object = deepFreeze(structuredClone(row.object));
    const config = deepFreeze(structuredClone(row.config));
    if (row.error) {
      t.throws(() => applyConfiguration(object, config, POD), row.error);
      t.throws(() => applyConfiguration(object, config, POD), ApplyConfigurationError);
      return;
    }
    const out = applyConfiguration(object, config, POD);
    t.same(out, row.want);
    t.same(object, row.object, 'input untouched');
    t.same(applyConfiguration(out, config, POD), out, 'idempotent');
  });
}
