/**
 * ValidatingAdmissionPolicies on DELETE through the webhook, end to end
 * against the real kube-apiserver (v1.20.2, see docs/e2e.md; it has no
 * admission policies of its own, so the webhook enforces them):
 * `webhook-config` derives a ValidatingWebhookConfiguration whose rules name
 * DELETE for namespaces only because the loaded policy asks for it; with it
 * registered (reached by URL), deleting a namespace labelled
 * `protected=true` is refused with the policy's message, and deleting
 * another one is not.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { CLI, apiOk, apiRequest, freePort, startWebhook, teardownSuite, waitFor, withCluster } from './lib/harness.js';
import type { Cluster, Webhook } from './lib/harness.js';

type Dict = Record<string, any>;

const PROTECT = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: protect-ns}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      resources: [namespaces]
      operations: [DELETE]
  validations:
  - expression: "!has(oldObject.metadata.labels) || !('protected' in oldObject.metadata.labels) || oldObject.metadata.labels['protected'] != 'true'"
    messageExpression: "'namespace ' + oldObject.metadata.name + ' is protected'"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: protect-ns}
spec:
  policyName: protect-ns
  validationActions: [Deny]
`;

await withCluster(suite);

async function suite(cluster: Cluster): Promise<void> {
  const hooks: Webhook[] = [];
  teardownSuite(cluster, hooks);
  const api = (method: string, path: string, body?: unknown, ok?: number[]): Promise<Dict> => apiOk(cluster, method, path, body, ok);
  const policyDir = join(cluster.state, 'policies-objectless');
  mkdirSync(policyDir, { recursive: true });
  writeFileSync(join(policyDir, 'protect-ns.yaml'), PROTECT);

  await t.test('a namespace labelled protected=true cannot be deleted; another can', async (t) => {
    const port = await freePort();
    const hook = await startWebhook({
      name: 'objectless', cluster, logDir: join(cluster.state, 'logs'), port,
      args: ['-c', policyDir, '--tls-cert', join(cluster.pki, 'webhook-1.crt'), '--tls-key', join(cluster.pki, 'webhook-1.key')],
    });
    hooks.push(hook);
    const text = execFileSync(process.execPath, [CLI, 'webhook-config', '-c', policyDir, '--name', 'kpr-objectless', '--namespace', 'kpr-system', '--kubernetes-version', '1.20', '--ca-file', join(cluster.pki, 'webhook-ca.crt')], { encoding: 'utf8' });
    const cfgs = YAML.parseAllDocuments(text).map((d) => d.toJS() as Dict).filter((o) => o?.kind);
    const validating = cfgs.find((o) => o.kind === 'ValidatingWebhookConfiguration');
    t.ok(validating, 'a ValidatingWebhookConfiguration is printed');
    const rules = (validating!.webhooks as Dict[]).flatMap((w) => (w.rules ?? []) as Dict[]);
    t.same([...new Set(rules.map((r) => `${r.resources.join(',')}:${r.operations.join('+')}`))], ['namespaces:DELETE'], 'its rules: DELETE of namespaces, nothing else');
    for (const w of validating!.webhooks as Dict[]) w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? '/validate'}`, caBundle: w.clientConfig.caBundle };
    await api('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', validating);

    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault', labels: { protected: 'true' } } });
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scratch' } });
    // The API server learns the configuration through an informer: probe with
    // throw-away protected namespaces until one is refused.
    let probes = 0;
    await waitFor('the configuration in effect', 30_000, async () => {
      const name = `probe-${++probes}`;
      await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { protected: 'true' } } });
      const r = await apiRequest(cluster, 'DELETE', `/api/v1/namespaces/${name}`);
      return r.status === 403;
    }, 500);
    const refused = await apiRequest(cluster, 'DELETE', '/api/v1/namespaces/vault');
    t.equal(refused.status, 403, `DELETE of the protected namespace refused (HTTP ${refused.status})`);
    t.match(JSON.stringify(refused.body), /namespace vault is protected/, 'with the policy\'s message');
    const vault = await api('GET', '/api/v1/namespaces/vault');
    t.equal(vault.status?.phase, 'Active', 'the protected namespace is still there, Active');
    const other = await apiRequest(cluster, 'DELETE', '/api/v1/namespaces/scratch');
    t.ok(other.status === 200 || other.status === 202, `DELETE of a namespace without the label: accepted (HTTP ${other.status})`);
    await api('DELETE', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/kpr-objectless');
  });
}
