/**
 * Secrets never leak (issue 8): objects carry a marker value in data, env,
 * annotations and labels; policies deny, warn, fail, audit and error on them,
 * through `run` (stderr) and admission (warnings, status messages, logs,
 * /metrics). The marker may appear only in the object itself: stdout of `run`
 * and the patch (which carries only what policies add, so here: never).
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCommand } from '../../src/cli/run.js';
import { buildApp } from '../../src/server/app.js';
import { printManifests } from '../../src/kube/yaml-stream.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, policySetFromYaml } from '../fuzz/helpers.js';
import { captureOutput, type Captured } from '../helpers/capture.js';

const MARKER = 'S3CR3T-MARKER-7f3a9c';

const objects: JsonObject[] = [
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'team-a' }, type: 'Opaque', stringData: { password: MARKER }, data: { token: Buffer.from(MARKER).toString('base64') } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sh.helm.release.v1.app.v1', namespace: 'team-a', labels: { owner: 'helm' } }, data: { release: MARKER } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team-a', annotations: { note: MARKER }, labels: { v: MARKER.toLowerCase().slice(0, 20) } }, data: { password: MARKER, port: MARKER } },
  {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'team-a' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx', env: [{ name: 'PASSWORD', value: MARKER }] }] } } },
  },
];

/** Policies that touch the marked values in every way that produces text: deny, warn, CEL errors, transformer errors, audit. */
const POLICIES: Record<string, string> = {
  'deny.yaml': `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: deny-marked}
spec:
  match: {resources: [{kinds: [ConfigMap, Secret, Deployment]}]}
  transformers:
  - validate: {expression: "!has(object.data) || !('password' in object.data)", message: "no passwords in ConfigMaps", action: Deny}
`,
  'warn.yaml': `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: warn-marked}
spec:
  failurePolicy: Ignore
  match: {resources: [{kinds: [ConfigMap, Secret, Deployment]}]}
  transformers:
  - validate: {expression: "!has(object.metadata.annotations)", message: "annotations present", action: Warn}
  - validate: {expression: "int(object.data.port) > 0", message: "port", action: Warn}
  - validate: {expression: "object.data[object.data.password] == 'x'", message: "lookup", action: Warn}
  - validate: {expression: "bool(object.data.password)", message: "bool", action: Warn}
  - patch:
      target: {kind: ConfigMap}
      patch: |
        - {op: test, path: /data/password, value: nope}
`,
  'audit.yaml': `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: audit-marked}
spec:
  mode: Audit
  match:
    resources: [{kinds: [ConfigMap, Deployment]}]
    conditions: [{name: port-is-int, expression: "int(object.data.port) > 0"}]
  transformers:
  - labels: {pairs: {audited: "yes"}}
`,
  'fail.yaml': `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: fail-marked}
spec:
  failurePolicy: Fail
  match:
    resources: [{kinds: [Deployment]}]
  transformers:
  - validate: {expression: "object.spec.template.spec.containers[0].env[0].value + 1 > 0", message: "m", action: Deny}
  - patch:
      target: {kind: Deployment}
      patch: |
        - {op: test, path: /spec/template/spec/containers/0/env/0/value, value: nope}
`,
};

const dir = mkdtempSync(join(tmpdir(), 'kpr-secrets-'));
const inputs = mkdtempSync(join(tmpdir(), 'kpr-secrets-in-'));
for (const [f, text] of Object.entries(POLICIES)) writeFileSync(join(dir, f), text);

/** Runs `runCommand` in-process, capturing stdout and stderr. */
async function run(config: string[], manifests: string): Promise<Captured> {
  const file = join(inputs, `in-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, manifests);
  return captureOutput(() => runCommand({ config, file, namespace: 'team-a' }));
}

t.test('run: the marker never reaches stderr', async (t) => {
  let checked = 0;
  for (const f of Object.keys(POLICIES)) {
    for (const obj of objects) {
      const r = await run([join(dir, f)], printManifests([obj]));
      t.notMatch(r.stderr, MARKER, `${f} ${String(obj.kind)}/${String((obj.metadata as JsonObject).name)}: stderr clean (exit ${r.code})`);
      checked++;
    }
  }
  const all = await run([dir], printManifests(objects));
  t.not(all.code, 0, 'the deny policy fails the whole stream');
  t.match(all.stderr, /denied by deny-marked/, `the reason is on stderr: ${all.stderr.split('\n')[0]}`);
  t.notMatch(all.stderr, MARKER, 'all policies, all objects: stderr clean');
  t.equal(all.stdout, '', 'nothing on stdout on failure');
  t.comment(`run: ${checked + 1} invocations checked`);
});

t.test('admission: the marker never reaches warnings, status, patches, logs or metrics', async (t) => {
  const logs: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  for (const f of Object.keys(POLICIES)) {
    const set = policySetFromYaml(POLICIES[f], f);
    const app = buildApp({ getPolicies: () => set, logger: { level: 'trace', stream } });
    for (const obj of objects) {
      for (const [operation, route] of [['CREATE', '/mutate'], ['UPDATE', '/mutate'], ['CREATE', '/validate']] as const) {
        const oldObject = operation === 'UPDATE' ? { ...obj, metadata: { ...(obj.metadata as JsonObject), labels: { old: MARKER } } } : undefined;
        const body = admissionReview(`u-${f}`, obj, operation, 'team-a', oldObject);
        const res = await app.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        t.equal(res.statusCode, 200, `${f} ${String(obj.kind)} ${operation} ${route}: 200`);
        const response = (res.json() as { response: JsonObject }).response;
        const { patch, ...rest } = response;
        t.notMatch(JSON.stringify(rest), MARKER, `${f} ${String(obj.kind)} ${operation} ${route}: warnings and status clean`);
        if (patch) t.notMatch(Buffer.from(String(patch), 'base64').toString('utf8'), MARKER, `${f} ${String(obj.kind)}: patch carries only what policies add`);
      }
    }
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    if (metrics.statusCode === 200) t.notMatch(metrics.body, MARKER, `${f}: /metrics clean`);
    else t.comment(`${f}: no /metrics route (${metrics.statusCode})`);
    await app.close();
  }
  t.ok(logs.length > 0, `the logger was used (${logs.length} lines)`);
  t.notMatch(logs.join(''), MARKER, 'logs clean');
});

t.test('a condition returning object data does not quote it', async (t) => {
  const set = policySetFromYaml(`apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: leak}
spec:
  failurePolicy: Fail
  match: {conditions: [{name: c, expression: "object.data.password"}]}
  transformers:
  - validate: {expression: "object.data.password", message: m, action: Warn}
`);
  const body = admissionReview('u-leak', objects[2]);
  const res = await buildApp({ getPolicies: () => set }).inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  t.notMatch(res.body, MARKER, 'response clean');
});
