/**
 * Safe by default in a real cluster (issue 16), end to end against the real
 * kube-apiserver (v1.20.2, see docs/e2e.md):
 *  1. The chart's webhook configurations, rendered with default values and
 *     installed as rendered, with no webhook running (its Service does not
 *     even exist): a Deployment and a Pod in an ordinary namespace are
 *     created; in a namespace the platform team labelled
 *     `postrender.io/enforce=true` (the opt-in) validation fails closed.
 *  2. `serve --cluster --manage-webhooks NAME`: the configurations' rules list
 *     exactly the kinds the loaded policies match, follow an edit of a policy
 *     within seconds, are not widened by a broken policy, and a Lease names
 *     the one writer. v1.20 has no matchConditions: none are written.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT, apiOk, apiRequest, startWebhook, teardownSuite, waitFor, withCluster } from './lib/harness.js';
import type { Cluster, Webhook } from './lib/harness.js';
import { renderObjects } from '../packaging/helm-template.js';

type Dict = Record<string, any>;

await withCluster(suite);

async function suite(cluster: Cluster): Promise<void> {
  const hooks: Webhook[] = [];
  teardownSuite(cluster, hooks);
  const api = (method: string, path: string, body?: unknown, ok?: number[]): Promise<Dict> => apiOk(cluster, method, path, body, ok);
  const ns = (name: string, labels: Record<string, string> = {}): Promise<Dict> => api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const deployment = (name: string): Dict => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
  });
  const pod = (name: string): Dict => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });

  await t.test('chart defaults with no webhook running: an ordinary namespace is never blocked', async (t) => {
    const objs = renderObjects(join(ROOT, 'charts/kube-postrender'), { namespace: 'kube-postrender' }) as Dict[];
    const cfgs = objs.filter((o) => /WebhookConfiguration$/.test(String(o.kind)));
    t.equal(cfgs.length, 2, 'both configurations rendered');
    await api('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', cfgs.find((o) => o.kind === 'MutatingWebhookConfiguration'));
    await api('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', cfgs.find((o) => o.kind === 'ValidatingWebhookConfiguration'));
    await ns('ordinary');
    await ns('enforced', { 'postrender.io/enforce': 'true' });
    // The API server learns configurations through an informer: the enforced
    // namespace shows when they are in effect (its Fail webhook is unreachable).
    await waitFor('webhook configurations in effect', 30_000, async () => {
      const r = await apiRequest(cluster, 'POST', '/api/v1/namespaces/enforced/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'probe-' } });
      return r.status >= 400;
    }, 500);
    const d = await apiRequest(cluster, 'POST', '/apis/apps/v1/namespaces/ordinary/deployments', deployment('web'));
    t.equal(d.status, 201, `Deployment in an ordinary namespace: created (HTTP ${d.status})`);
    // A new namespace's default ServiceAccount comes from kube-controller-manager a moment later.
    const p = await waitFor('Pod created or refused for another reason', 30_000, async () => {
      const r = await apiRequest(cluster, 'POST', '/api/v1/namespaces/ordinary/pods', pod('web'));
      return /serviceaccount/i.test(JSON.stringify(r.body)) ? undefined : r;
    }, 500);
    t.equal(p.status, 201, `Pod in an ordinary namespace: created (HTTP ${p.status})`);
    const e = await waitFor('Pod in the enforced namespace answered', 30_000, async () => {
      const r = await apiRequest(cluster, 'POST', '/api/v1/namespaces/enforced/pods', pod('web'));
      return /serviceaccount/i.test(JSON.stringify(r.body)) ? undefined : r;
    }, 500);
    t.equal(e.status, 500, 'the opted-in namespace fails closed (validation failurePolicy Fail)');
    t.match(JSON.stringify(e.body), /validate-enforce\.postrender\.io/, 'refused by the enforce webhook');
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      await api('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}/kube-postrender`);
    }
  });

  await t.test('serve --cluster --manage-webhooks: rules follow the policies', async (t) => {
    const dir = join(ROOT, 'charts/kube-postrender/crds');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const body = YAML.parse(readFileSync(join(dir, f), 'utf8')) as Dict;
      await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body);
      await waitFor(`CRD ${body.metadata.name} Established`, 30_000, async () => {
        const crd = await api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${body.metadata.name}`);
        return (crd.status?.conditions ?? []).some((c: Dict) => c.type === 'Established' && c.status === 'True');
      });
    }
    await ns('kpr-system');
    // The configurations as an install would hold them (broad initial rules), reached by URL.
    const port = 18000 + Math.floor(Math.random() * 2000);
    const caBundle = readFileSync(join(cluster.pki, 'webhook-ca.crt')).toString('base64');
    const initial = [{ apiGroups: ['', 'apps'], apiVersions: ['v1'], resources: ['pods', 'configmaps', 'deployments'], operations: ['CREATE', 'UPDATE'] }];
    const hook = (name: string, path: string): Dict => ({
      name, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
      clientConfig: { url: `https://127.0.0.1:${port}/${path}`, caBundle }, rules: initial,
      namespaceSelector: { matchLabels: { 'e2e.postrender.io/managed': 'yes' } },
    });
    await api('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'kpr-managed' }, webhooks: [hook('mutate.postrender.io', 'mutate')] });
    await api('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'kpr-managed' }, webhooks: [hook('validate.postrender.io', 'validate'), hook('validate-enforce.postrender.io', 'validate')] });
    const policy = (kinds: string[], validate: boolean, expression = 'true'): Dict => ({
      apiVersion: 'postrender.io/v1alpha1', kind: 'ClusterPostRenderPolicy', metadata: { name: 'e2e-rules' },
      spec: { match: { resources: [{ kinds }], operations: ['CREATE', 'UPDATE'] }, transformers: [{ labels: { pairs: { 'e2e.postrender.io/seen': 'yes' } } }, ...(validate ? [{ validate: { expression, message: 'm' } }] : [])] },
    });
    await api('POST', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies', policy(['Deployment', 'StatefulSet'], false));
    const webhook = await startWebhook({
      name: 'managed', cluster, logDir: join(cluster.state, 'logs'), port,
      args: ['--cluster', '--manage-webhooks', 'kpr-managed', '--namespace', 'kpr-system', '--tls-cert', join(cluster.pki, 'webhook-1.crt'), '--tls-key', join(cluster.pki, 'webhook-1.key')],
    });
    hooks.push(webhook);
    const rulesOf = async (kind: string): Promise<string[][]> => {
      const cfg = await api('GET', `/apis/admissionregistration.k8s.io/v1/${kind}/kpr-managed`);
      return (cfg.webhooks as Dict[]).map((w) => (w.rules ?? []).flatMap((r: Dict) => (r.resources as string[]).map((x) => `${r.apiGroups[0]}/${x}:${(r.operations as string[]).join('+')}`)).sort());
    };
    const want = (m: string[], v: string[]): (() => Promise<boolean>) => async () => {
      const [mm, vv] = [await rulesOf('mutatingwebhookconfigurations'), await rulesOf('validatingwebhookconfigurations')];
      return JSON.stringify(mm) === JSON.stringify([m]) && JSON.stringify(vv) === JSON.stringify([v, v]);
    };
    let t0 = Date.now();
    await waitFor('rules = the policy\'s kinds', 30_000, want(['apps/deployments:CREATE+UPDATE', 'apps/statefulsets:CREATE+UPDATE'], []), 250);
    t.pass(`mutating rules: exactly Deployments and StatefulSets; validating: none (no validate rules), ${Date.now() - t0} ms after start`);

    const current = await api('GET', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies/e2e-rules');
    t0 = Date.now();
    await api('PUT', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies/e2e-rules', { ...policy(['Pod', 'ConfigMap'], true), metadata: current.metadata });
    await waitFor('rules follow the edit', 30_000, want(['/configmaps:CREATE+UPDATE', '/pods:CREATE+UPDATE'], ['/configmaps:CREATE+UPDATE', '/pods:CREATE+UPDATE']), 250);
    const followed = Date.now() - t0;
    t.ok(followed < 15_000, `the edit is followed in ${followed} ms (Pods and ConfigMaps; validating too: validate rules)`);

    const edited = await api('GET', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies/e2e-rules');
    await api('PUT', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies/e2e-rules', { ...policy(['*'], true, 'object.('), metadata: edited.metadata });
    await waitFor('the broken policy is reported', 30_000, async () => {
      const p = await api('GET', '/apis/postrender.io/v1alpha1/clusterpostrenderpolicies/e2e-rules');
      return (p.status?.conditions ?? []).some((c: Dict) => c.type === 'Ready' && c.status === 'False');
    });
    await new Promise((r) => setTimeout(r, 3000));
    t.ok(await want(['/configmaps:CREATE+UPDATE', '/pods:CREATE+UPDATE'], ['/configmaps:CREATE+UPDATE', '/pods:CREATE+UPDATE'])(), 'a broken policy matching every kind does not widen the rules');

    const mwc = await api('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/kpr-managed');
    t.notOk(mwc.webhooks[0].matchConditions, 'v1.20: no matchConditions written');
    const lease = await api('GET', '/apis/coordination.k8s.io/v1/namespaces/kpr-system/leases/kpr-managed-webhooks');
    t.ok(lease.spec?.holderIdentity, `the Lease names the writer: ${lease.spec?.holderIdentity}`);
    t.match(webhook.output(), /webhook rules updated/, 'the writes are logged');
  });
}
