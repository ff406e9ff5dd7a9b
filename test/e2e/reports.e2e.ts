/**
 * End to end: PolicyReports and denial Events on a real kube-apiserver
 * (v1.20.2, see docs/e2e.md), with the webhook as `serve --cluster --reports
 * --events`.
 *
 *  1. The wgpolicyk8s.io CRDs, which v1.20 does not have, install from the
 *     chart (templates/policyreport-crds.yaml as the chart renders it).
 *  2. A Deployment created before any policy or webhook; then an Audit
 *     policy it violates: the PolicyReport of its namespace lists it as fail
 *     (background scan), within seconds.
 *  3. The policy edited so that the Deployment passes: the report follows.
 *  4. An Enforce Deny rule refuses a ConfigMap: a Warning PolicyViolation
 *     Event names it, policy and rule.
 *  5. The reports Lease is held by the webhook; it exits 0 on SIGTERM.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { ROOT, apiRequest, httpsGet, startWebhook, waitFor, webhookConfigs, withCluster, within } from './lib/harness.js';
import type { Cluster, Webhook } from './lib/harness.js';
import { renderObjects } from '../packaging/helm-template.js';

const GROUP = 'postrender.io';
const VERSION = 'v1alpha1';
const WEBHOOK_LABEL = 'e2e.postrender.io/webhook';
const NS = 'reports-a';
const OWN_NS = 'reports-system';
const CALL_MS = 20_000;

interface ReportResult {
  policy: string;
  rule?: string;
  result: string;
  message?: string;
  resources: { kind: string; name: string; namespace?: string; uid?: string }[];
  properties?: Record<string, string>;
}
interface Report {
  summary?: Record<string, number>;
  results?: ReportResult[];
}


function auditPolicy(label: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ClusterPostRenderPolicy',
    metadata: { name: 'require-label' },
    spec: {
      mode: 'Audit',
      match: { resources: [{ group: 'apps', kinds: ['Deployment'] }] },
      transformers: [
        { name: 'has-label', validate: { expression: `has(object.metadata.labels) && '${label}' in object.metadata.labels`, message: `the label ${label} is required` } },
      ],
    },
  };
}

const denyPolicy = {
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'ClusterPostRenderPolicy',
  metadata: { name: 'no-forbidden' },
  spec: {
    match: { resources: [{ kinds: ['ConfigMap'] }] },
    transformers: [{ name: 'not-forbidden', validate: { expression: "!has(object.metadata.labels) || !('forbidden' in object.metadata.labels)", message: 'forbidden ConfigMaps are refused' } }],
  },
};

async function suite(cluster: Cluster): Promise<void> {
  const kc = cluster.kc;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const adm = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const logDir = join(cluster.state, 'logs');
  const pki = cluster.pki;
  const caBundle = readFileSync(join(pki, 'webhook-ca.crt')).toString('base64');
  let hook: Webhook | undefined;
  const call = <T>(what: string, p: Promise<T>): Promise<T> => within(CALL_MS, what, p);

  t.teardown(async () => {
    await hook?.stop(5000).catch(() => undefined);
    if (process.env.E2E_KEEP_CLUSTER) process.stderr.write(`E2E_KEEP_CLUSTER: KUBECONFIG=${cluster.kubeconfigFile}\n`);
    else await cluster.down();
  });

  async function createCrd(body: Record<string, unknown>): Promise<void> {
    const name = (body.metadata as { name: string }).name;
    // Raw JSON: the client's model would drop fields it does not know.
    const r = await apiRequest(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body);
    if (r.status !== 201) throw new Error(`create CRD ${name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    await waitFor(`CRD ${name} Established`, 30_000, async () => {
      const crd = (await apiRequest(cluster, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).body as { status?: { conditions?: { type: string; status: string }[] } };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
  async function report(): Promise<Report | undefined> {
    const r = await apiRequest(cluster, 'GET', `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${NS}/policyreports/kube-postrender`);
    return r.status === 200 ? (r.body as Report) : undefined;
  }
  const resultFor = (rep: Report | undefined, policy: string, name: string): ReportResult | undefined =>
    rep?.results?.find((r) => r.policy === policy && r.resources[0]?.name === name);

  await t.test('the PolicyReport CRDs install from the chart', async (t) => {
    const dir = join(ROOT, 'charts/kube-postrender/crds');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) await createCrd(YAML.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>);
    const crds = renderObjects(join(ROOT, 'charts/kube-postrender')).filter((o) => o.kind === 'CustomResourceDefinition' && (o.spec as { group?: string }).group === 'wgpolicyk8s.io');
    t.same(crds.map((c) => (c.metadata as { name: string }).name).sort(), ['clusterpolicyreports.wgpolicyk8s.io', 'policyreports.wgpolicyk8s.io']);
    for (const crd of crds) await createCrd(crd);
    const list = await apiRequest(cluster, 'GET', '/apis/wgpolicyk8s.io/v1alpha2/policyreports');
    t.equal(list.status, 200, 'policyreports served');
  });

  await t.test('an existing Deployment that violates an Audit policy is listed as fail within seconds', async (t) => {
    await call('create namespace', core.createNamespace({ body: { metadata: { name: NS, labels: { [WEBHOOK_LABEL]: 'reports' } } } }));
    await call('create own namespace', core.createNamespace({ body: { metadata: { name: OWN_NS } } }));
    await call(
      'create Deployment',
      apps.createNamespacedDeployment({
        namespace: NS,
        body: {
          metadata: { name: 'legacy', labels: { app: 'legacy' } },
          spec: { replicas: 0, selector: { matchLabels: { app: 'legacy' } }, template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
        },
      }),
    );
    await call('create audit policy', custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', body: auditPolicy('owner') }));
    await call('create deny policy', custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', body: denyPolicy }));
    hook = await startWebhook({
      name: 'reports',
      cluster,
      logDir,
      args: ['--cluster', '--reports', '--events', '--report-interval', '1', '--namespace', OWN_NS, '--tls-cert', join(pki, 'webhook-1.crt'), '--tls-key', join(pki, 'webhook-1.key')],
    });
    const start = Date.now();
    const rep = await waitFor('PolicyReport lists legacy as fail', 30_000, async () => {
      const r = await report();
      return resultFor(r, 'require-label', 'legacy')?.result === 'fail' ? r : undefined;
    });
    t.comment(`PolicyReport written ${Date.now() - start} ms after the webhook was ready`);
    const res = resultFor(rep, 'require-label', 'legacy')!;
    t.match(res, { rule: 'has-label', message: 'the label owner is required', resources: [{ kind: 'Deployment', name: 'legacy', namespace: NS }], properties: { origin: 'scan' } });
    t.ok(res.resources[0].uid, 'the result names the object by uid');
    t.ok((rep.summary?.fail ?? 0) >= 1, 'summary counts the failure');
  });

  await t.test('after a policy edit the report is updated', async (t) => {
    const cur = (await call('get policy', custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', name: 'require-label' }))) as { metadata: { resourceVersion: string } };
    const next = auditPolicy('app');
    (next.metadata as Record<string, unknown>).resourceVersion = cur.metadata.resourceVersion;
    await call('replace policy', custom.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', name: 'require-label', body: next }));
    const start = Date.now();
    await waitFor('legacy passes the edited policy', 30_000, async () => resultFor(await report(), 'require-label', 'legacy')?.result === 'pass');
    t.comment(`report updated ${Date.now() - start} ms after the edit`);
    t.pass('legacy now passes');
  });

  await t.test('a Deny produces an Event', async (t) => {
    const cfg = webhookConfigs({ name: 'e2e-reports', port: hook!.port, caBundle, selector: { [WEBHOOK_LABEL]: 'reports' } });
    await call('create MutatingWebhookConfiguration', adm.createMutatingWebhookConfiguration({ body: cfg.mutating }));
    await call('create ValidatingWebhookConfiguration', adm.createValidatingWebhookConfiguration({ body: cfg.validating }));
    // The API server picks configurations up through an informer: retry until a request is refused.
    let denied = '';
    await waitFor('the deny policy refuses a ConfigMap', 30_000, async () => {
      const name = `forbidden-${Date.now()}`;
      try {
        await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { forbidden: 'yes' } }, data: { k: 'v' } } });
        return false;
      } catch (e) {
        if ((e as { code?: number }).code !== 403) throw e;
        denied = name;
        return true;
      }
    }, 500);
    const event = await waitFor('a PolicyViolation Event for the denied ConfigMap', 30_000, async () => {
      const list = (await apiRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/events`)).body as { items?: { reason?: string; type?: string; message?: string; involvedObject?: { kind?: string; name?: string } }[] };
      return list.items?.find((e) => e.reason === 'PolicyViolation' && e.involvedObject?.name === denied);
    });
    t.match(event, { type: 'Warning', involvedObject: { kind: 'ConfigMap', name: denied }, message: /CREATE denied by policy no-forbidden rule not-forbidden/ });
  });

  await t.test('the latency a Pod create gains with the webhook registered (reported, not asserted)', async (t) => {
    // Issue 18 "what users feel": N Pod creates in a namespace the webhook
    // configurations select and N in one they do not, alternated; p50/p99 of
    // each. The API server here does not schedule Pods: a create is admission
    // plus storage. No bound is asserted (timing lives in `npm run bench`).
    const PLAIN = 'reports-plain';
    await call('create plain namespace', core.createNamespace({ body: { metadata: { name: PLAIN } } }));
    const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });
    const create = async (namespace: string, name: string): Promise<number> => {
      const t0 = performance.now();
      await call(`create Pod ${name}`, core.createNamespacedPod({ namespace, body: pod(name) }));
      return performance.now() - t0;
    };
    await create(NS, 'warm-with');
    await create(PLAIN, 'warm-without');
    const withHook: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < 40; i++) {
      withHook.push(await create(NS, `lat-${i}`));
      without.push(await create(PLAIN, `lat-${i}`));
    }
    const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    const ms = (x: number): string => x.toFixed(1);
    t.comment(`Pod create, ${withHook.length} each: with the webhook p50 ${ms(q(withHook, 0.5))} ms, p99 ${ms(q(withHook, 0.99))} ms; without p50 ${ms(q(without, 0.5))} ms, p99 ${ms(q(without, 0.99))} ms`);
    t.equal(withHook.length, 40, 'every create admitted');
  });

  await t.test('the reports Lease is held; the webhook exits 0', async (t) => {
    const lease = (await apiRequest(cluster, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${OWN_NS}/leases/kube-postrender-reports`)).body as { spec?: { holderIdentity?: string } };
    t.ok(lease.spec?.holderIdentity, 'held');
    const metrics = await within(CALL_MS, 'metrics', fetchMetrics(hook!.port, pki));
    t.match(metrics, /kube_postrender_report_writes_total\{result="created"\} [1-9]/, 'report writes counted');
    t.match(metrics, /kube_postrender_leader 1/, 'leader gauge');
    t.match(metrics, /kube_postrender_build_info\{version="[^"]+",node_version="[^"]+"\} 1/, 'build_info');
    t.equal(await hook!.stop(), 0);
    const released = (await apiRequest(cluster, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${OWN_NS}/leases/kube-postrender-reports`)).body as { spec?: { holderIdentity?: string } };
    t.equal(released.spec?.holderIdentity ?? '', '', 'released on shutdown');
  });
}

async function fetchMetrics(port: number, pki: string): Promise<string> {
  const r = await httpsGet(port, '/metrics', readFileSync(join(pki, 'webhook-ca.crt')));
  return r.body;
}

// Last: the suite reads the module-level constants above (a top-level await before
// their declaration would meet them uninitialised).
await withCluster(suite);
