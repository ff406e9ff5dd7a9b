/**
 * File policy source: a changed file is picked up by the next review; a broken
 * edit keeps the old set answering and is counted as a failed reload; a
 * ConfigMap-style `..data` symlink swap is seen.
 */
import t, { type Test } from 'tap';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilePolicySource, type ReloadEvent } from '../../src/policy/sources/file-source.js';
import { PolicyStore } from '../../src/policy/sources/store.js';
import { buildApp } from '../../src/server/app.js';
import { WebhookMetrics } from '../../src/server/metrics.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';
import { configMapReview, labelPolicy, patchOf, until } from './_helpers.js';

async function teamLabel(app: ReturnType<typeof buildApp>): Promise<unknown> {
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: configMapReview('u1') });
  const add = patchOf(res.json()).find((op) => op.path === '/metadata/labels');
  return (add?.value as Record<string, string> | undefined)?.team;
}

function setup(t: Test, paths: string[]) {
  const store = new PolicyStore(['file']);
  const metrics = new WebhookMetrics();
  const events: ReloadEvent[] = [];
  const source = new FilePolicySource({
    paths,
    load: defaultLoadOptions(),
    debounceMs: 50,
    onPolicies: (p) => store.update('file', p),
    onReload: (e) => {
      events.push(e);
      metrics.observeReload('file', e.ok, e.policies);
    },
  });
  const app = buildApp({ getPolicies: () => store.current(), metrics });
  t.teardown(async () => {
    await source.stop();
    await app.close();
  });
  return { store, metrics, events, source, app };
}

t.test('edit, break, repair a policy file', async (t) => {
  const dir = t.testdir({ 'policy.yaml': labelPolicy('p', 'one') });
  const file = join(dir, 'policy.yaml');
  const { events, source, app, metrics } = setup(t, [file]);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503, 'not ready before the first load');
  t.ok(source.reload().ok);
  await source.start();
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready after the first load');
  t.equal(await teamLabel(app), 'one');

  writeFileSync(file, labelPolicy('p', 'two'));
  await until(async () => (await teamLabel(app)) === 'two', 'new policy in effect');

  const before = events.length;
  writeFileSync(file, labelPolicy('p', 'three').replace('labels:', 'labelz:'));
  await until(() => events.slice(before).some((e) => !e.ok), 'failed reload reported');
  const failed = events.slice(before).find((e) => !e.ok)!;
  t.match(failed.error?.message, /policy\.yaml: document 1: spec\.transformers\[0\]\.labelz: unknown transformer type "labelz"/);
  t.equal(await teamLabel(app), 'two', 'the old set keeps answering');
  const text = await metrics.registry.metrics();
  t.match(text, /kube_postrender_policy_reloads_total\{source="file",result="failure"\} [1-9]/);
  t.match(text, /kube_postrender_policy_reloads_total\{source="file",result="success"\} [1-9]/);
  t.match(text, /kube_postrender_policy_last_reload_success_timestamp_seconds\{source="file"\} \d/);

  writeFileSync(file, labelPolicy('p', 'four'));
  await until(async () => (await teamLabel(app)) === 'four', 'repaired policy in effect');
});

t.test('ConfigMap volume: ..data symlink swap in a watched directory', async (t) => {
  const dir = t.testdir({ '..v1': { 'policy.yaml': labelPolicy('p', 'v1') } });
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/policy.yaml', join(dir, 'policy.yaml'));
  const { source, app } = setup(t, [dir]);
  t.ok(source.reload().ok);
  await source.start();
  t.equal(await teamLabel(app), 'v1');
  // kubelet's AtomicWriter: new timestamped dir, new ..data_tmp link renamed over ..data.
  mkdirSync(join(dir, '..v2'));
  writeFileSync(join(dir, '..v2', 'policy.yaml'), labelPolicy('p', 'v2'));
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await until(async () => (await teamLabel(app)) === 'v2', 'swapped ConfigMap content in effect');
});

t.test('initial load failure: no set, error reported', async (t) => {
  const dir = t.testdir({ 'policy.yaml': 'apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: x}\n' });
  const { source, store } = setup(t, [join(dir, 'policy.yaml')]);
  const e = source.reload();
  t.notOk(e.ok);
  t.match(e.error?.message, /spec/);
  t.equal(store.current(), undefined);
  t.equal(source.policies, undefined);
});
