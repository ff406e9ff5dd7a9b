/**
 * Reporting glue (src/reports/reporting.ts) and the plain-JSON client
 * (src/policy/sources/kube-rest.ts): against a small in-memory API server
 * over HTTP, the leader takes the Lease, scans, writes the PolicyReport,
 * records admission results, and a denial becomes an Event.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { kubeRest, microTime, kubeTime, expectOk, KubeRestError } from '../../src/policy/sources/kube-rest.js';
import { Reporting } from '../../src/reports/reporting.js';

/** An in-memory API server: objects by path; discovery for apps/v1 Deployments; lists; watches stay open and idle. */
function apiServer() {
  const objects = new Map<string, Record<string, unknown>>();
  let rv = 1;
  const requests: string[] = [];
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    requests.push(`${req.method} ${path}`);
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;
    }
    if (path === '/api/v1') return send(res, 200, { resources: [{ name: 'pods', kind: 'Pod', namespaced: true, verbs: ['list', 'watch'] }] });
    if (path === '/apis') return send(res, 200, { groups: [{ name: 'apps', preferredVersion: { version: 'v1' } }] });
    if (path === '/apis/apps/v1') return send(res, 200, { resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true, verbs: ['list', 'watch'] }, { name: 'deployments/scale', kind: 'Scale', verbs: ['get'] }] });
    if (path === '/apis/apps/v1/deployments') return send(res, 200, { metadata: { resourceVersion: String(rv) }, items: [...objects.entries()].filter(([k]) => k.includes('/deployments/')).map(([, v]) => v) });
    if (path.endsWith('/policyreports') || path.endsWith('/clusterpolicyreports')) {
      if (req.method === 'GET') return send(res, 200, { items: [...objects.entries()].filter(([k]) => k.startsWith(path.replace('/policyreports', ''))).map(([, v]) => v) });
    }
    const item = (o: Record<string, unknown>): string => `${path}/${(o.metadata as { name?: string; generateName?: string }).name ?? `${(o.metadata as { generateName: string }).generateName}${rv}`}`;
    switch (req.method) {
      case 'GET':
        return objects.has(path) ? send(res, 200, objects.get(path)) : send(res, 404, { reason: 'NotFound' });
      case 'POST': {
        const o = JSON.parse(body) as Record<string, unknown>;
        const key = item(o);
        if (objects.has(key)) return send(res, 409, { reason: 'AlreadyExists' });
        o.metadata = { ...(o.metadata as object), resourceVersion: String(++rv) };
        objects.set(key, o);
        return send(res, 201, o);
      }
      case 'PUT': {
        const o = JSON.parse(body) as Record<string, unknown>;
        const cur = objects.get(path);
        if (!cur || (cur.metadata as { resourceVersion: string }).resourceVersion !== (o.metadata as { resourceVersion?: string }).resourceVersion) return send(res, 409, { reason: 'Conflict' });
        o.metadata = { ...(o.metadata as object), resourceVersion: String(++rv) };
        objects.set(path, o);
        return send(res, 200, o);
      }
      case 'DELETE':
        return objects.delete(path) ? send(res, 200, {}) : send(res, 404, { reason: 'NotFound' });
    }
    send(res, 405, {});
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => handle(req, res, body));
  });
  return { server, objects, requests };
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const POLICIES = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: owner}
spec:
  mode: Audit
  match: {resources: [{group: apps, kinds: [Deployment]}]}
  transformers:
  - name: has-owner
    validate: {expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels", message: "needs an owner"}
---
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: no-bad}
spec:
  match: {resources: [{kinds: [ConfigMap]}]}
  transformers:
  - name: not-bad
    validate: {expression: "object.metadata.name != 'bad'", message: "the value s3cr3t"}
`;

t.test('leader scans, writes reports, records admission; denials become events', async (t) => {
  const api = apiServer();
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    api.server.closeAllConnections();
    api.server.close();
  });
  const port = (api.server.address() as AddressInfo).port;
  api.objects.set('/apis/apps/v1/namespaces/team-a/deployments/legacy', { metadata: { name: 'legacy', namespace: 'team-a', uid: 'u1', resourceVersion: '1' }, spec: {} });
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const policies = compilePolicyText(POLICIES, '<test>', { registry: builtinRegistry(), compileCondition: conditionCompiler });
  const set = createPolicySet(policies);
  const registry = new Registry();
  const reporting = new Reporting({ rest: kubeRest(kc), reports: true, events: true, namespace: 'system', identity: 'me', getPolicies: () => ({ set, policies }), registry, intervalMs: 100 });
  reporting.start();
  t.teardown(() => reporting.stop());
  const reportPath = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/team-a/policyreports/kube-postrender';
  await until('the report', () => api.objects.has(reportPath));
  t.equal((api.objects.get('/apis/coordination.k8s.io/v1/namespaces/system/leases/kube-postrender-reports')?.spec as { holderIdentity?: string }).holderIdentity, 'me');
  t.ok(reporting.isLeader);
  const report = api.objects.get(reportPath) as { kind: string; summary: Record<string, number>; results: { policy: string; result: string; resources: { name: string }[] }[] };
  t.equal(report.kind, 'PolicyReport');
  t.match(report.results, [{ policy: 'owner', result: 'fail', resources: [{ name: 'legacy', uid: 'u1' }] }]);

  // Admission: an allowed request of a named object is recorded; a dry run is not.
  const review = (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    request: { uid: 'x', operation: 'CREATE', namespace: 'team-a', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'team-a', labels } }, ...extra },
  });
  for (const [name, labels, extra] of [['fresh', { owner: 'me' }, {}], ['dry', {}, { dryRun: true }]] as const) {
    const body = review(name, labels, extra);
    reporting.admitted(body, set.evaluate(body.request.object, { frontDoor: 'admission', operation: 'CREATE', namespace: 'team-a' }));
  }
  await until('fresh in the report', () => ((api.objects.get(reportPath) as typeof report).results.length === 2));
  t.same((api.objects.get(reportPath) as typeof report).summary, { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });

  // A denial: an Event, naming policy and rule, never the rule's message.
  const denied = { request: { uid: 'y', operation: 'CREATE', namespace: 'team-a', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' } } } };
  reporting.admitted(denied, set.evaluate(denied.request.object, { frontDoor: 'admission', operation: 'CREATE', namespace: 'team-a' }));
  await until('the event', () => [...api.objects.keys()].some((k) => k.startsWith('/api/v1/namespaces/team-a/events/')));
  const event = [...api.objects.entries()].find(([k]) => k.includes('/events/'))![1];
  t.match(event, { reason: 'PolicyViolation', involvedObject: { kind: 'ConfigMap', name: 'bad', namespace: 'team-a' }, message: 'CREATE denied by policy no-bad rule not-bad' });
  t.notMatch(JSON.stringify(event), /s3cr3t/);
  let text = '';
  for (let i = 0; i < 300 && !/denial_events_total\{result="created"\} 1/.test(text); i++) {
    text = await registry.metrics();
    await new Promise((r) => setTimeout(r, 10));
  }
  t.match(text, /kube_postrender_leader 1/);
  t.match(text, /kube_postrender_report_results\{result="fail"\} 1/);
  t.match(text, /kube_postrender_denial_events_total\{result="created"\} 1/);

  await reporting.stop();
  t.equal((api.objects.get('/apis/coordination.k8s.io/v1/namespaces/system/leases/kube-postrender-reports')?.spec as { holderIdentity?: string }).holderIdentity, '', 'Lease released');
  t.notOk(reporting.isLeader);
});

t.test('kube-rest helpers', async (t) => {
  t.equal(microTime(Date.UTC(2026, 11, 5, 21, 40, 0, 123)), '2026-12-05T21:40:00.123000Z');
  t.equal(kubeTime(Date.UTC(2026, 11, 5, 21, 40, 0, 123)), '2026-12-05T21:40:00Z');
  t.same(expectOk('x', { status: 201, body: { a: 1 } }), { a: 1 });
  t.throws(() => expectOk('get thing', { status: 403, body: { reason: 'Forbidden', message: 'quoted object' } }), new KubeRestError('get thing', 403, 'Forbidden'));
  t.equal(new KubeRestError('get thing', 403, 'Forbidden').message, 'get thing: HTTP 403 Forbidden', 'the body message is not repeated');
});
