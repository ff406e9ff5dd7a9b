/**
 * `explain` golden test: a corpus file under the platform policy and three
 * example policies, in text and JSON. Goldens live in test/fixtures/explain/
 * and are regenerated only with REFRESH_GOLDEN=true (never hand-edited).
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { explainCommand, explainManifests, formatExplanation } from '../../src/cli/explain.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { captureOutput } from '../helpers/capture.js';

const repo = resolve(import.meta.dirname, '../..');
const goldenDir = join(repo, 'test/fixtures/explain');
const refresh = process.env.REFRESH_GOLDEN === 'true';

const cases = [
  {
    name: 'blackbox-exporter',
    manifests: resolve(repo, 'test/data/corpus/kube-prometheus/blackboxExporter-deployment.yaml'),
    config: ['examples/platform-policy.yaml', 'examples/policies/disallow-latest-tag', 'examples/policies/require-labels', 'examples/policies/require-resource-limits'].map((p) => join(repo, p)),
  },
  {
    name: 'descheduler-cronjob',
    manifests: resolve(repo, 'test/data/corpus/descheduler-cronjob.yaml'),
    config: ['examples/platform-policy.yaml', 'examples/policies/require-run-as-non-root'].map((p) => join(repo, p)),
  },
];

function golden(t: Test, file: string, actual: string): void {
  const path = join(goldenDir, file);
  if (refresh || !existsSync(path)) {
    if (!refresh) t.fail(`${file}: missing golden (run with REFRESH_GOLDEN=true)`);
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  t.equal(actual, readFileSync(path, 'utf8'), `${file} matches its golden`);
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const loaded = loadPolicies(c.config, defaultLoadOptions());
    const list = explainManifests(readFileSync(c.manifests, 'utf8'), loaded);
    t.ok(list.length > 0, 'objects explained');
    golden(t, `${c.name}.txt`, formatExplanation(list));
    golden(t, `${c.name}.json`, `${JSON.stringify(list, null, 2)}\n`);
    const text = await captureOutput(() => explainCommand({ config: c.config, file: c.manifests }));
    t.equal(text.code, 0);
    t.equal(text.stdout, formatExplanation(list), 'the command prints the text form');
    const json = await captureOutput(() => explainCommand({ config: c.config, file: c.manifests, output: 'json' }));
    t.same(JSON.parse(json.stdout), JSON.parse(JSON.stringify(list)), 'the command prints the JSON form');
  });
}

t.test('the trace agrees with the outcome', async (t) => {
  const c = cases[0];
  const list = explainManifests(readFileSync(c.manifests, 'utf8'), loadPolicies(c.config, defaultLoadOptions()));
  for (const o of list) {
    const denyFindings = o.policies.flatMap((p) => (p.mode === 'Enforce' ? (p.transformers ?? []) : [])).flatMap((tr) => (tr.findings ?? []).filter((f) => f.action === 'Deny'));
    t.equal(denyFindings.length, o.outcome.denials.length, `${o.object}: every Deny finding is a denial`);
    const patched = o.policies.some((p) => p.mode === 'Enforce' && (p.transformers ?? []).some((tr) => tr.result === 'changed'));
    t.equal(patched, o.outcome.changed, `${o.object}: a patch iff changed`);
  }
});

t.test('bad policies exit 2', async (t) => {
  const code = await explainCommand({ config: [join(repo, 'no/such/policy.yaml')], file: cases[0].manifests });
  t.equal(code, 2);
});

t.test('kustomize replacements between objects: explain loads and evaluates the stream as run does', async (t) => {
  const dir = join(repo, 'test/data/conformance/cases/350-replacements-across-objects');
  const config = [join(dir, 'kustomization.yaml')];
  const file = join(dir, 'input.yaml');
  const text = await captureOutput(() => explainCommand({ config, file, output: 'json' }));
  t.equal(text.code, 0, 'accepted (run loads for the render, and so does explain)');
  const list = JSON.parse(text.stdout) as { object: string; outcome: { changed: boolean } }[];
  const run = renderManifests(readFileSync(file, 'utf8'), loadPolicies(config, { frontDoor: 'render' }).set);
  t.equal(list.filter((o) => o.outcome.changed).length, run.changed, 'the objects explain says change are the ones run changes');
  t.ok(run.changed > 0, 'replacements changed something');
  t.throws(() => loadPolicies(config, defaultLoadOptions()), /one object at a time/, 'loaded for admission: refused');
});
