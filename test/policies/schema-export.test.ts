/**
 * The policy JSON Schema as authors and editors see it: every field has a
 * description (carried into the CRDs, so `kubectl explain` says something,
 * and into docs/policy-reference.md); the package exports it as
 * `kube-postrender/schema/policy.json`; the yaml-language-server modelines of
 * the examples and docs point at it; "did you mean" suggestions.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { didYouMean, editDistance } from '../../src/policy/schema-errors.js';

const root = resolve(import.meta.dirname, '../..');
type Schema = { $ref?: string; description?: string; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: boolean | Schema; definitions?: Record<string, Schema> };
const schema = JSON.parse(readFileSync(join(root, 'src/policy/policy.schema.json'), 'utf8')) as Schema;

/** JSON paths of properties without a description (their own, or their $ref target's). */
function undocumented(s: Schema, path: string, out: string[]): void {
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const target = v.$ref ? schema.definitions?.[v.$ref.replace('#/definitions/', '')] : undefined;
    if (!v.description && !target?.description) out.push(`${path}.${k}`);
    undocumented(v, `${path}.${k}`, out);
  }
  if (s.items) undocumented(s.items, `${path}[]`, out);
  if (typeof s.additionalProperties === 'object') undocumented(s.additionalProperties, `${path}{}`, out);
}

t.test('every field of the schema has a description', async (t) => {
  const missing: string[] = [];
  undocumented(schema, '', missing);
  for (const [name, def] of Object.entries(schema.definitions ?? {})) undocumented(def, `#/definitions/${name}`, missing);
  t.same(missing, [], 'fields without a description');
});

t.test('the CRDs carry the descriptions (kubectl explain)', async (t) => {
  const crd = readFileSync(join(root, 'charts/kube-postrender/crds/postrender.io_clusterpostrenderpolicies.yaml'), 'utf8');
  for (const d of ['Name of the injection, a DNS label', 'Admission operations', 'Replacement digest']) t.ok(crd.includes(d), d);
});

t.test('the package exports the schema as kube-postrender/schema/policy.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
  t.equal(pkg.exports['./schema/policy.json'], './dist/policy/policy.schema.json');
  // The build copies the schema next to load.js (resolveJsonModule); npm test builds first.
  t.same(JSON.parse(readFileSync(join(root, 'dist/policy/policy.schema.json'), 'utf8')), schema, 'dist holds the same schema');
  t.ok(pkg.files.includes('dist'));
  const resolved = import.meta.resolve('kube-postrender/schema/policy.json');
  t.equal(resolved, `file://${join(root, 'dist/policy/policy.schema.json')}`, 'self-reference resolves through exports');
});

t.test('yaml-language-server modelines point at the schema', async (t) => {
  const files = ['examples/platform-policy.yaml', 'examples/sidecar-policy.yaml', ...readdirSync(join(root, 'examples/mutations')).map((d) => `examples/mutations/${d}/policy.yaml`), ...readdirSync(join(root, 'examples/policies')).map((d) => `examples/policies/${d}/policy.yaml`)];
  for (const f of files) {
    const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(join(root, f), 'utf8'));
    t.ok(m, `${f} has a modeline`);
    if (m) t.ok(existsSync(resolve(dirname(join(root, f)), m[1])), `${f}: ${m[1]} exists`);
  }
  t.match(readFileSync(join(root, 'docs/policy-reference.md'), 'utf8'), /# yaml-language-server: \$schema=/);
});

t.test('did you mean', async (t) => {
  const rows: [string, string[], string | undefined][] = [
    ['transformerz', ['transformers', 'match'], 'transformers'],
    ['lables', ['labels', 'images'], 'labels'],
    ['Labels', ['labels'], 'labels'],
    ['failurPolicy', ['failurePolicy', 'mode'], 'failurePolicy'],
    ['xyz', ['labels', 'images'], undefined],
    ['mod', ['mode', 'order'], 'mode'],
    ['', ['a'], undefined],
  ];
  for (const [word, candidates, want] of rows) t.equal(didYouMean(word, candidates), want, `${word} -> ${want}`);
  t.equal(editDistance('ab', 'ba'), 1, 'a transposition is one edit');
  t.equal(editDistance('kitten', 'sitting'), 3);
});
