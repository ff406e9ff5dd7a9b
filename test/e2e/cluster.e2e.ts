/**
 * End to end against a real kube-apiserver (v1.20.2) + etcd + kube-controller-manager
 * on loopback, with the webhook reached the way a cluster reaches it
 * (`clientConfig.url` + `caBundle`, failurePolicy Fail, so any webhook failure
 * is a failed API request). See docs/e2e.md.
 *
 * Sections (sequential, one control plane):
 *  1. CLI contract flags of `serve`.
 *  2. CRDs install.
 *  3. File mode (`serve -c DIR`): Deployment and its Pods transformed; file edit
 *     picked up; a broken file keeps the last good set; validate denies.
 *  4. Cluster mode (`serve --cluster`): ClusterPostRenderPolicy drives the same;
 *     edit within seconds; broken policy -> Ready=False, last good kept; tenant
 *     isolation of PostRenderPolicy.
 *  5. Certificate files replaced (kubelet-style `..data` symlink swap) during a
 *     request loop: zero failed requests, new certificate served.
 *  6. SIGTERM to one of two replicas behind a readiness-routed balancer during a
 *     request loop: zero failed requests, exit 0.
 *  7. /metrics reflects what happened; logs hold no object data.
 */
import t from 'tap';
import type { Test } from 'tap';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import {
  ROOT,
  apiRequest,
  errText,
  fixture,
  httpsGet,
  serveHas,
  servedFingerprint,
  sleep,
  startBalancer,
  withCluster,
  startWebhook,
  waitFor,
  webhookConfigs,
  within,
} from './lib/harness.js';
import type { Balancer, Cluster, Webhook } from './lib/harness.js';

const GROUP = 'postrender.io';
const VERSION = 'v1alpha1';
const MANAGED = 'e2e.postrender.io/managed';
const SOURCE = 'e2e.postrender.io/source';
const WEBHOOK_LABEL = 'e2e.postrender.io/webhook';
const MIRRORED = 'registry.e2e.invalid/mirror/nginx:1.27';
/** A value that must never appear in webhook output (Secret data, ConfigMap data). */
const MARKER = `e2e-marker-${randomBytes(8).toString('hex')}`;
/** API calls are bounded too. */
const CALL_MS = 20_000;

type Obj = { metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number }; [k: string]: unknown };

await withCluster(suite);

async function suite(cluster: Cluster): Promise<void> {
  const kc = cluster.kc;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const adm = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const logDir = join(cluster.state, 'logs');
  const pki = cluster.pki;
  const webhookCa = readFileSync(join(pki, 'webhook-ca.crt'));
  const caBundle = webhookCa.toString('base64');
  const clientCert = { cert: readFileSync(join(pki, 'webhook-client.crt')), key: readFileSync(join(pki, 'webhook-client.key')) };
  const hooks: Webhook[] = [];
  const balancers: Balancer[] = [];
  let seq = 0;

  t.comment(`control plane state and logs: ${cluster.state}`);
  t.teardown(async () => {
    for (const b of balancers) await b.close().catch(() => undefined);
    for (const h of hooks) await h.stop(5000).catch(() => undefined);
    if (process.env.E2E_KEEP_CLUSTER) {
      process.stderr.write(`E2E_KEEP_CLUSTER: KUBECONFIG=${cluster.kubeconfigFile}; stop with scripts/e2e/cluster-down.sh ${cluster.state}\n`);
    } else {
      await cluster.down();
      // keep the logs of a failed run; a passing run leaves nothing behind
      if (t.passing()) rmSync(cluster.state, { recursive: true, force: true });
      else process.stderr.write(`e2e: logs kept in ${cluster.state}/logs\n`);
    }
  });

  // ---- helpers bound to this cluster
  const call = <T>(what: string, p: Promise<T>): Promise<T> => within(CALL_MS, what, p);
  async function namespace(name: string, webhook: string): Promise<void> {
    await call(`create namespace ${name}`, core.createNamespace({ body: { metadata: { name, labels: { [WEBHOOK_LABEL]: webhook } } } }));
  }
  async function configMap(ns: string, extra: Partial<k8s.V1ConfigMap> = {}): Promise<k8s.V1ConfigMap> {
    const name = `cm-${++seq}`;
    return call(
      `create ConfigMap ${ns}/${name}`,
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { app: 'probe' } }, data: { k: 'v' }, ...extra } }),
    );
  }
  async function register(name: string, port: number, selector: string, probeNs: string, expectSource: string): Promise<void> {
    const cfg = webhookConfigs({ name, port, caBundle, selector: { [WEBHOOK_LABEL]: selector } });
    await call('create MutatingWebhookConfiguration', adm.createMutatingWebhookConfiguration({ body: cfg.mutating }));
    await call('create ValidatingWebhookConfiguration', adm.createValidatingWebhookConfiguration({ body: cfg.validating }));
    // The API server picks configurations up through an informer: wait until objects show it.
    await waitFor(`webhook configuration ${name} in effect`, 30_000, async () => (await configMap(probeNs)).metadata?.labels?.[SOURCE] === expectSource, 500);
  }
  async function applyCrds(): Promise<void> {
    const dir = join(ROOT, 'charts/kube-postrender/crds');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const body = YAML.parse(readFileSync(join(dir, f), 'utf8')) as k8s.V1CustomResourceDefinition;
      // raw JSON: the client's model would drop x-kubernetes-preserve-unknown-fields (status would be pruned)
      const r = await apiRequest(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body);
      if (r.status !== 201) throw new Error(`create CRD ${f}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      await waitFor(`CRD ${body.metadata?.name} Established`, 30_000, async () => {
        const crd = await ext.readCustomResourceDefinition({ name: body.metadata!.name! });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
  }
  function policyObject(vars: Record<string, string>, mutate?: (o: Obj) => void): Obj {
    const o = YAML.parse(fixture('platform-policy.yaml', vars)) as Obj;
    mutate?.(o);
    return o;
  }
  const breakValidate = (o: Obj): void => {
    const spec = o.spec as { transformers: { validate?: { expression: string } }[] };
    const v = spec.transformers.find((x) => x.validate);
    v!.validate!.expression = 'object.metadata.name ===';
  };
  async function getPolicy(name: string): Promise<Obj & { status?: { conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[]; observedGeneration?: number } }> {
    return call(`get policy ${name}`, custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', name }));
  }
  /**
   * GET, then PUT with that resourceVersion; on 409 Conflict, again (as
   * client-go's RetryOnConflict): the webhook writes the policy's status
   * concurrently, which bumps its resourceVersion between our GET and PUT.
   */
  async function replacePolicy(name: string, next: Obj): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const cur = await getPolicy(name);
      const body = { ...next, metadata: { ...next.metadata, resourceVersion: (cur.metadata as { resourceVersion?: string }).resourceVersion } };
      try {
        await call(`replace policy ${name}`, custom.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', name, body }));
        return;
      } catch (e) {
        if ((e as { code?: number }).code !== 409 || attempt >= 5) throw e;
      }
    }
  }
  function readyCondition(p: Awaited<ReturnType<typeof getPolicy>>): { status: string; reason?: string; message?: string; observedGeneration?: number } | undefined {
    return p.status?.conditions?.find((c) => c.type === 'Ready');
  }
  /** Deployment `web` in `ns`: the stored object and its Pods, as the API server returns them. */
  async function deploymentAndPods(t: Test, ns: string, value: string, source: string): Promise<void> {
    const dep = await call(
      'create Deployment',
      apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: 'web', labels: { app: 'web' } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } },
          },
        },
      }),
    );
    t.equal(dep.metadata?.labels?.[MANAGED], value, 'Deployment labelled by the policy');
    t.equal(dep.metadata?.labels?.[SOURCE], source, `Deployment transformed by the ${source} webhook`);
    t.equal(dep.metadata?.annotations?.['e2e.postrender.io/owner'], 'platform', 'Deployment annotated');
    t.equal(dep.spec?.template.spec?.containers[0]?.image, MIRRORED, 'image mirrored in the pod template');
    t.equal(dep.spec?.revisionHistoryLimit, 3, 'strategic merge patch applied');
    t.equal(dep.spec?.template.metadata?.labels?.[MANAGED], undefined, 'labels transformer leaves the template alone (includeTemplates false)');
    const again = await call('read Deployment', apps.readNamespacedDeployment({ namespace: ns, name: 'web' }));
    t.equal(again.metadata?.labels?.[MANAGED], value, 'stored Deployment keeps the transform');
    const pods = await waitFor(`2 Pods of ${ns}/web created by kube-controller-manager`, 90_000, async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      return list.items.length >= 2 ? list.items : undefined;
    }, 500);
    for (const pod of pods) {
      const n = pod.metadata?.name;
      t.ok(pod.metadata?.ownerReferences?.some((r) => r.kind === 'ReplicaSet'), `${n}: created by a ReplicaSet`);
      // The template carries no managed label: a Pod has it only if its own admission went through the webhook.
      t.equal(pod.metadata?.labels?.[MANAGED], value, `${n}: Pod labelled at its own admission`);
      t.equal(pod.metadata?.annotations?.['e2e.postrender.io/owner'], 'platform', `${n}: Pod annotated`);
      t.equal(pod.spec?.containers[0]?.image, MIRRORED, `${n}: Pod image mirrored`);
    }
  }
  /** Sequential request loops until `stop()`; counts failures with their reasons. */
  function requestLoop(ns: string, workers: number, expectSource: string): { stop: () => Promise<{ ok: number; failed: string[]; untransformed: number }> } {
    let running = true;
    let ok = 0;
    let untransformed = 0;
    const failed: string[] = [];
    const loops = Array.from({ length: workers }, async () => {
      while (running) {
        try {
          const cm = await configMap(ns, { data: { k: 'v', secretish: MARKER } });
          ok++;
          if (cm.metadata?.labels?.[SOURCE] !== expectSource) untransformed++;
        } catch (e) {
          failed.push(errText(e));
        }
      }
    });
    return {
      stop: async () => {
        running = false;
        await within(60_000, 'request loop to finish', Promise.all(loops));
        return { ok, failed, untransformed };
      },
    };
  }

  /** `E2E_ONLY=shutdown,tls` runs only those sections (for iterating; later sections may depend on earlier ones). */
  const only = (key: string): { skip?: string } =>
    process.env.E2E_ONLY && !process.env.E2E_ONLY.split(',').includes(key) ? { skip: `E2E_ONLY=${process.env.E2E_ONLY}` } : {};
  const flags = {
    cluster: false,
    clientCa: await serveHas('--client-ca'),
    namespace: await serveHas('--namespace'),
    logLevel: await serveHas('--log-level'),
  };
  const commonArgs = (): string[] => [
    ...(flags.namespace ? ['--namespace', 'kube-postrender-system'] : []),
    ...(flags.clientCa ? ['--client-ca', join(pki, 'webhook-ca.crt')] : []),
  ];

  // ---------------------------------------------------------------- 1
  await t.test('serve has the flags of the CLI contract', only('flags'), async (t) => {
    t.ok(flags.clientCa, 'serve --client-ca');
    t.ok(flags.namespace, 'serve --namespace');
    t.ok(flags.logLevel, 'serve --log-level');
    t.ok(await serveHas('--cluster'), 'serve --cluster');
  });

  // ---------------------------------------------------------------- 2
  await t.test('policy CRDs install on the API server', only('crds'), async (t) => {
    await applyCrds();
    const list = await call('list ClusterPostRenderPolicies', custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies' }));
    t.same((list as { items: unknown[] }).items, [], 'ClusterPostRenderPolicy served');
    const crd = (await apiRequest(cluster, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterpostrenderpolicies.postrender.io')).body as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { status: Record<string, unknown> } } }; subresources?: { status?: unknown } }[] };
    };
    const v = crd.spec.versions[0]!;
    t.equal(v.schema.openAPIV3Schema.properties.status['x-kubernetes-preserve-unknown-fields'], true, 'stored schema keeps status fields (not pruned)');
    t.ok(v.subresources?.status, 'status subresource');
    t.equal(((await call('list PostRenderPolicies', custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: 'postrenderpolicies' }))) as { items: unknown[] }).items.length, 0, 'PostRenderPolicy served');
  });

  // ---------------------------------------------------------------- 3
  const tlsDir = join(cluster.state, 'tls-file');
  const policyDir = join(cluster.state, 'policies-file');
  let fileHook: Webhook | undefined;
  await t.test('file mode: serve -c DIR as the API server reaches it', only('file'), async (t) => {
    // kubelet-style secret volume: tls.crt -> ..data/tls.crt, ..data -> ..v1
    mkdirSync(join(tlsDir, '..v1'), { recursive: true });
    copyFileSync(join(pki, 'webhook-1.crt'), join(tlsDir, '..v1/tls.crt'));
    copyFileSync(join(pki, 'webhook-1.key'), join(tlsDir, '..v1/tls.key'));
    symlinkSync('..v1', join(tlsDir, '..data'));
    symlinkSync('..data/tls.crt', join(tlsDir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(tlsDir, 'tls.key'));
    mkdirSync(policyDir, { recursive: true });
    writeFileSync(join(policyDir, 'platform.yaml'), fixture('platform-policy.yaml', { LABEL_VALUE: 'f1', SOURCE: 'file' }));
    fileHook = await startWebhook({
      name: 'file',
      cluster,
      logDir,
      args: ['-c', policyDir, '--tls-cert', join(tlsDir, 'tls.crt'), '--tls-key', join(tlsDir, 'tls.key'), ...commonArgs()],
    });
    hooks.push(fileHook);
    await namespace('file-mode', 'file');
    await register('e2e-file', fileHook.port, 'file', 'file-mode', 'file');

    await t.test('a Deployment comes back transformed, and its Pods too', (t) => deploymentAndPods(t, 'file-mode', 'f1', 'file'));

    await t.test('validate rules deny at admission, naming policy and rule', async (t) => {
      const err = await configMap('file-mode', { metadata: { name: `denied-${++seq}`, labels: { 'e2e.postrender.io/forbidden': 'x' } } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.ok(err, 'create refused');
      const text = errText(err);
      t.match(text, /HTTP (403|400)/, 'refused by admission');
      t.match(text, /e2e-platform/, 'message names the policy');
      t.match(text, /forbidden label is not allowed/, 'message carries the rule message');
    });

    await t.test('Secrets matched explicitly are transformed (marker data inside)', async (t) => {
      const s = await call(
        'create Secret',
        core.createNamespacedSecret({ namespace: 'file-mode', body: { metadata: { name: 'marker' }, stringData: { token: MARKER } } }),
      );
      t.equal(s.metadata?.labels?.[SOURCE], 'file', 'Secret went through the webhook');
    });

    await t.test('editing the policy file: the next objects reflect it within seconds', async (t) => {
      const began = Date.now();
      const tmp = join(policyDir, '.platform.yaml.tmp');
      writeFileSync(tmp, fixture('platform-policy.yaml', { LABEL_VALUE: 'f2', SOURCE: 'file' }));
      renameSync(tmp, join(policyDir, 'platform.yaml'));
      await waitFor('a ConfigMap labelled f2', 30_000, async () => (await configMap('file-mode')).metadata?.labels?.[MANAGED] === 'f2', 300);
      t.pass(`file edit in effect after ${Date.now() - began} ms`);
    });

    await t.test('a broken policy file keeps the last good set', async (t) => {
      const tmp = join(policyDir, '.platform.yaml.tmp');
      writeFileSync(tmp, YAML.stringify(policyObject({ LABEL_VALUE: 'f3', SOURCE: 'file' }, breakValidate)));
      renameSync(tmp, join(policyDir, 'platform.yaml'));
      const seen = new Set<string>();
      const until = Date.now() + 5000; // well past any debounce
      while (Date.now() < until) {
        const cm = await configMap('file-mode');
        seen.add(cm.metadata?.labels?.[MANAGED] ?? '(none)');
        await sleep(250);
      }
      t.same([...seen], ['f2'], 'every object created after the broken edit still got the last good policy (f2)');
      // and the good file comes back
      writeFileSync(tmp, fixture('platform-policy.yaml', { LABEL_VALUE: 'f4', SOURCE: 'file' }));
      renameSync(tmp, join(policyDir, 'platform.yaml'));
      await waitFor('a ConfigMap labelled f4 after the fix', 30_000, async () => (await configMap('file-mode')).metadata?.labels?.[MANAGED] === 'f4', 300);
    });
  });

  // ---------------------------------------------------------------- 4
  let clusterHook: Webhook | undefined;
  await t.test('cluster mode: serve --cluster with policy CRDs', only('cluster'), async (t) => {
    await call(
      'create ClusterPostRenderPolicy',
      custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusterpostrenderpolicies', body: policyObject({ LABEL_VALUE: 'c1', SOURCE: 'cluster' }) }),
    );
    clusterHook = await startWebhook({
      name: 'cluster',
      cluster,
      logDir,
      args: ['--cluster', '--tls-cert', join(pki, 'webhook-1.crt'), '--tls-key', join(pki, 'webhook-1.key'), ...commonArgs()],
    });
    hooks.push(clusterHook);
    flags.cluster = true;
    await namespace('cluster-mode', 'cluster');
    await register('e2e-cluster', clusterHook.port, 'cluster', 'cluster-mode', 'cluster');

    await t.test('a valid policy gets Ready=True and observedGeneration', async (t) => {
      const p = await waitFor('Ready=True on e2e-platform', 30_000, async () => {
        const p = await getPolicy('e2e-platform');
        return readyCondition(p)?.status === 'True' ? p : undefined;
      });
      const gen = p.metadata?.generation;
      const observed = p.status?.observedGeneration ?? readyCondition(p)?.observedGeneration;
      t.equal(observed, gen, `observedGeneration ${observed} = generation ${gen}`);
    });

    await t.test('a Deployment comes back transformed, and its Pods too', (t) => deploymentAndPods(t, 'cluster-mode', 'c1', 'cluster'));

    await t.test('editing the policy: the next objects reflect it within seconds', async (t) => {
      const began = Date.now();
      await replacePolicy('e2e-platform', policyObject({ LABEL_VALUE: 'c2', SOURCE: 'cluster' }));
      await waitFor('a ConfigMap labelled c2', 30_000, async () => (await configMap('cluster-mode')).metadata?.labels?.[MANAGED] === 'c2', 300);
      t.pass(`policy edit in effect after ${Date.now() - began} ms`);
    });

    await t.test('a broken policy: Ready=False with the reason, last good behaviour kept', async (t) => {
      await replacePolicy('e2e-platform', policyObject({ LABEL_VALUE: 'c3', SOURCE: 'cluster' }, breakValidate));
      const p = await waitFor('Ready=False on e2e-platform', 30_000, async () => {
        const p = await getPolicy('e2e-platform');
        const c = readyCondition(p);
        return c?.status === 'False' && (p.status?.observedGeneration ?? c.observedGeneration) === p.metadata?.generation ? p : undefined;
      });
      const c = readyCondition(p)!;
      t.ok(c.reason && c.reason.length > 0, `reason: ${c.reason}`);
      t.match(c.message ?? '', /expression|syntax/i, `message says what is wrong: ${c.message}`);
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        seen.add((await configMap('cluster-mode')).metadata?.labels?.[MANAGED] ?? '(none)');
        await sleep(250);
      }
      t.same([...seen], ['c2'], 'objects keep getting the last good version (c2)');
      await replacePolicy('e2e-platform', policyObject({ LABEL_VALUE: 'c4', SOURCE: 'cluster' }));
      await waitFor('Ready=True again after the fix', 30_000, async () => readyCondition(await getPolicy('e2e-platform'))?.status === 'True');
      await waitFor('a ConfigMap labelled c4', 30_000, async () => (await configMap('cluster-mode')).metadata?.labels?.[MANAGED] === 'c4', 300);
    });

    await t.test('a tenant PostRenderPolicy cannot touch another namespace', async (t) => {
      await namespace('tenant-a', 'cluster');
      await namespace('tenant-b', 'cluster');
      const tenantPolicy = {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'PostRenderPolicy',
        metadata: { name: 'tenant-a-labels', namespace: 'tenant-a' },
        spec: {
          // reaching out on purpose: only tenant-a may ever be affected
          match: { resources: [{ kinds: ['ConfigMap', 'Pod'] }], namespaces: ['tenant-a', 'tenant-b', '*'] },
          transformers: [{ labels: { pairs: { 'tenant-a/touched': 'yes' } } }],
        },
      };
      await call('create PostRenderPolicy', custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'tenant-a', plural: 'postrenderpolicies', body: tenantPolicy }));
      await waitFor('the tenant policy in effect in its own namespace', 30_000, async () => (await configMap('tenant-a')).metadata?.labels?.['tenant-a/touched'] === 'yes', 300);
      for (let i = 0; i < 3; i++) {
        const b = await configMap('tenant-b');
        t.equal(b.metadata?.labels?.['tenant-a/touched'], undefined, `${b.metadata?.name} in tenant-b untouched`);
        t.equal(b.metadata?.labels?.[SOURCE], 'cluster', `${b.metadata?.name} in tenant-b still gets the cluster policy`);
        const other = await configMap('cluster-mode');
        t.equal(other.metadata?.labels?.['tenant-a/touched'], undefined, `${other.metadata?.name} in cluster-mode untouched`);
      }
    });

    await t.test('Secret with marker data through the cluster-mode webhook', async (t) => {
      const s = await call(
        'create Secret',
        core.createNamespacedSecret({ namespace: 'cluster-mode', body: { metadata: { name: 'marker' }, stringData: { token: MARKER }, data: { other: Buffer.from(MARKER).toString('base64') } } }),
      );
      t.equal(s.metadata?.labels?.[SOURCE], 'cluster', 'Secret went through the webhook');
    });
  });

  // ---------------------------------------------------------------- 5
  await t.test('certificate files replaced during a request loop: zero failed requests', only('tls'), async (t) => {
    if (!fileHook) return t.fail('file-mode webhook not running (see above)');
    const before = await servedFingerprint(fileHook.port, webhookCa, clientCert);
    const next = new X509Certificate(readFileSync(join(pki, 'webhook-2.crt'))).fingerprint256;
    t.equal(before, new X509Certificate(readFileSync(join(pki, 'webhook-1.crt'))).fingerprint256, 'serving certificate #1 before');
    const loop = requestLoop('file-mode', 2, 'file');
    await sleep(1500);
    // What the kubelet does when cert-manager renews the Secret: new dir, atomic ..data swap.
    mkdirSync(join(tlsDir, '..v2'));
    copyFileSync(join(pki, 'webhook-2.crt'), join(tlsDir, '..v2/tls.crt'));
    copyFileSync(join(pki, 'webhook-2.key'), join(tlsDir, '..v2/tls.key'));
    symlinkSync('..v2', join(tlsDir, '..data_tmp'));
    renameSync(join(tlsDir, '..data_tmp'), join(tlsDir, '..data'));
    const rotated = await waitFor('certificate #2 served', 30_000, async () => (await servedFingerprint(fileHook!.port, webhookCa, clientCert)) === next).catch((e: unknown) => errText(e));
    await sleep(1500);
    const r = await loop.stop();
    t.equal(rotated, true, 'new certificate served without a restart');
    t.ok(r.ok > 10, `${r.ok} requests went through during the rotation`);
    t.same(r.failed, [], 'zero failed requests');
    t.equal(r.untransformed, 0, 'every object transformed');
    t.equal(fileHook.proc.exitCode, null, 'webhook still running (no restart)');
  });

  // ---------------------------------------------------------------- 6
  await t.test('SIGTERM to one of two replicas during a request loop: zero failed requests, exit 0', only('shutdown'), async (t) => {
    const pairDir = join(cluster.state, 'policies-pair');
    mkdirSync(pairDir, { recursive: true });
    writeFileSync(join(pairDir, 'platform.yaml'), fixture('platform-policy.yaml', { LABEL_VALUE: 'p1', SOURCE: 'pair' }));
    const args = ['-c', pairDir, '--tls-cert', join(pki, 'webhook-1.crt'), '--tls-key', join(pki, 'webhook-1.key'), ...commonArgs()];
    const a = await startWebhook({ name: 'pair-a', cluster, logDir, args });
    hooks.push(a);
    const b = await startWebhook({ name: 'pair-b', cluster, logDir, args });
    hooks.push(b);
    const lb = await startBalancer([a.port, b.port], webhookCa, clientCert);
    balancers.push(lb);
    await namespace('pair', 'pair');
    await register('e2e-pair', lb.port, 'pair', 'pair', 'pair');
    const loop = requestLoop('pair', 3, 'pair');
    await sleep(2000);
    // terminate the replica that holds the API server's connections
    const [victim, survivor] = (lb.accepted.get(a.port) ?? 0) >= (lb.accepted.get(b.port) ?? 0) ? [a, b] : [b, a];
    const victimConns = lb.accepted.get(victim.port) ?? 0;
    const survivorBefore = lb.accepted.get(survivor.port) ?? 0;
    t.ok(victimConns > 0, `victim ${victim.name} had ${victimConns} connections from the API server`);
    const served = (await httpsGet(victim.port, '/metrics', webhookCa, clientCert)).body
      .split('\n')
      .filter((l) => /^\S*admission_requests_total\{/.test(l))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    t.ok(served > 0, `victim ${victim.name} answered ${served} admission requests before SIGTERM`);
    const code = await victim.stop(30_000);
    await sleep(3000);
    const r = await loop.stop();
    t.equal(code, 0, `${victim.name} exited 0 after SIGTERM`);
    t.ok(r.ok > 10, `${r.ok} requests during the shutdown`);
    t.same(r.failed, [], 'zero failed requests (failurePolicy Fail)');
    t.equal(r.untransformed, 0, 'every object transformed');
    t.ok((lb.accepted.get(survivor.port) ?? 0) > survivorBefore || survivorBefore > 0, `${survivor.name} took over`);
    t.equal(lb.refused(), 0, 'the balancer always had a ready replica');
  });

  // ---------------------------------------------------------------- 7
  await t.test('/metrics reflects what happened', only('metrics'), async (t) => {
    const targets = [fileHook, clusterHook].filter((h): h is Webhook => h !== undefined && h.proc.exitCode === null);
    t.ok(targets.length > 0, 'a webhook to scrape');
    for (const h of targets) {
      const m = await httpsGet(h.port, '/metrics', webhookCa, clientCert);
      t.equal(m.status, 200, `${h.name}: /metrics 200`);
      const lines = m.body.split('\n').filter((l) => l && !l.startsWith('#'));
      const nonzero = (re: RegExp): string[] => lines.filter((l) => re.test(l) && Number(l.split(' ').pop()) > 0);
      t.ok(nonzero(/admission.*(request|review)/i).length > 0, `${h.name}: admission requests counted`);
      t.ok(nonzero(/_bucket\{/).length > 0, `${h.name}: latency histogram observed`);
      t.ok(nonzero(/policy="e2e-platform"/).length > 0, `${h.name}: per-policy counts for e2e-platform`);
      t.ok(lines.some((l) => /transformer="(managed-label|mirror-images|owner-annotation|history)"/.test(l)), `${h.name}: per-transformer counts`);
      t.ok(nonzero(/[Dd]en(y|ied|ial)/).length > 0 || h.name !== 'file', `${h.name}: the denial counted`);
      t.ok(nonzero(/reload/i).length > 0, `${h.name}: config reloads counted`);
      if (h.name === 'file') {
        t.ok(nonzero(/reload.*(error|fail|invalid)|(error|fail|invalid).*reload/i).length > 0, 'file: the failed reload counted');
        t.ok(nonzero(/tls.*reload/i).length > 0, 'file: the certificate reload counted');
      }
      t.comment(`${h.name} metrics sample:\n${lines.filter((l) => /admission|policy|reload/i.test(l)).slice(0, 12).join('\n')}`);
    }
  });

  await t.test('webhook output holds no object data', only('logs'), async (t) => {
    const outputs = hooks.map((h) => ({ name: h.name, text: h.output() }));
    for (const f of readdirSync(logDir).filter((f) => f.startsWith('webhook-'))) outputs.push({ name: f, text: readFileSync(join(logDir, f), 'utf8') });
    let total = 0;
    for (const o of outputs) {
      total += o.text.length;
      t.notOk(o.text.includes(MARKER), `${o.name}: marker value (Secret/ConfigMap data) not in the output`);
      t.notOk(o.text.includes(Buffer.from(MARKER).toString('base64')), `${o.name}: base64 marker not in the output`);
    }
    t.ok(total > 0, `${total} bytes of webhook output checked`);
    const lines = hooks.flatMap((h) => h.output().split('\n')).filter((l) => l.trim());
    const json = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) === 'object';
      } catch {
        return false;
      }
    });
    t.ok(json.length > 0, `structured JSON log lines (${json.length} of ${lines.length})`);
    const plain = lines.filter((l) => !json.includes(l));
    if (plain.length) t.comment(`non-JSON output lines:\n${plain.slice(0, 10).join('\n')}`);
  });

  await t.test('the remaining webhooks exit 0 on SIGTERM', only('exit'), async (t) => {
    for (const h of hooks) {
      if (h.proc.exitCode !== null || h.proc.signalCode !== null) continue;
      t.equal(await h.stop(30_000), 0, `${h.name} exit 0`);
    }
  });
}

