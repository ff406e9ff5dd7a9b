import t from 'tap'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import YAML from 'yaml'
import { renderObjects, renderChart } from './helm-template.js'
import { objectProblems, webhookProblems, excludedNamespaces, SYSTEM_NAMESPACES } from './k8s-shapes.js'

const chart = fileURLToPath(new URL('../../charts/kube-postrender', import.meta.url))
type Dict = Record<string, any>
const read = (f: string): string => readFileSync(`${chart}/${f}`, 'utf8')
const values = YAML.parse(read('values.yaml')) as Dict
const byKind = (objs: Dict[], kind: string): Dict[] => objs.filter((o) => o.kind === kind)

t.test('values.yaml validates against values.schema.json', async (t) => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(read('values.schema.json')))
  t.ok(validate(values), JSON.stringify(validate.errors))
  // The schema can fail: each of these must be rejected.
  const bad: [string, Dict][] = [
    ['unknown top-level key', { ...values, replicas: 2 }],
    ['failurePolicy typo', { ...values, webhook: { ...values.webhook, mutating: { enabled: true, failurePolicy: 'ignore' } } }],
    ['timeout above 30s', { ...values, webhook: { ...values.webhook, timeoutSeconds: 31 } }],
    ['unknown certificate mode', { ...values, certificates: { ...values.certificates, mode: 'vault' } }],
    ['policy file not yaml', { ...values, policies: { 'p.json': '{}' } }],
  ]
  for (const [name, v] of bad) t.notOk(validate(v), name)
})

t.test('every rendered object is a well-formed Kubernetes object', async (t) => {
  for (const mode of ['helm', 'cert-manager']) {
    const objs = renderObjects(chart, { values: { certificates: { mode }, autoscaling: { enabled: true }, policies: { 'a.yaml': 'kind: X\n' } } })
    t.ok(objs.length >= 10, `${mode}: objects rendered`)
    for (const o of objs) t.same(objectProblems(o), [], `${mode}: ${o.kind}/${(o.metadata as { name?: string } | undefined)?.name}`)
  }
})

t.test('webhook configurations are done right', async (t) => {
  for (const namespace of ['kube-postrender', 'platform-system']) {
    const objs = renderObjects(chart, { namespace })
    const [mwc] = byKind(objs, 'MutatingWebhookConfiguration')
    const [vwc] = byKind(objs, 'ValidatingWebhookConfiguration')
    t.ok(mwc && vwc, 'both configurations rendered')
    t.equal(mwc.webhooks.length, 1)
    t.same(vwc.webhooks.map((w: Dict) => w.name), ['validate.postrender.io', 'validate-enforce.postrender.io'])
    for (const [cfg, mutating, w] of [[mwc, true, mwc.webhooks[0]], [vwc, false, vwc.webhooks[0]], [vwc, false, vwc.webhooks[1]]] as const) {
      t.same(webhookProblems(w, mutating), [], `${cfg.kind} shape`)
      t.equal(w.sideEffects, 'None')
      t.same(w.admissionReviewVersions, ['v1'])
      t.equal(w.matchPolicy, 'Equivalent')
      t.ok(w.timeoutSeconds <= 10, 'small timeout')
      t.same(excludedNamespaces(w).slice(0, 3).sort(), [namespace, ...SYSTEM_NAMESPACES].sort(), `${cfg.kind} excludes its own namespace and the system ones`)
      t.same(w.objectSelector.matchExpressions[0], { key: 'owner', operator: 'NotIn', values: ['helm'] }, 'Helm release records excluded')
      t.equal(w.clientConfig.service.namespace, namespace)
      t.ok(w.clientConfig.caBundle, 'helm mode sets caBundle')
      t.notOk(w.rules.some((r: Dict) => r.resources.some((x: string) => /secrets|events|leases|\*/.test(x))), 'no secrets, events, leases or wildcards by default')
    }
    t.equal(mwc.webhooks[0].reinvocationPolicy, 'IfNeeded')
    t.equal(mwc.webhooks[0].failurePolicy, 'Ignore', 'mutation fails open by default')
    t.equal(vwc.webhooks[0].failurePolicy, 'Ignore', 'validation fails open in ordinary namespaces')
    t.equal(vwc.webhooks[1].failurePolicy, 'Fail', 'validation fails closed only where opted in')
    t.same(vwc.webhooks[1].namespaceSelector.matchExpressions.at(-1), { key: 'postrender.io/enforce', operator: 'In', values: ['true'] }, 'opt-in by namespace label')
    t.same(vwc.webhooks[0].namespaceSelector.matchExpressions.at(-1), { key: 'postrender.io/enforce', operator: 'NotIn', values: ['true'] }, 'never both')
    t.same(vwc.webhooks[1].rules, vwc.webhooks[0].rules, 'same rules')
    t.equal(mwc.webhooks[0].clientConfig.service.path, '/mutate')
    t.equal(vwc.webhooks[0].clientConfig.service.path, '/validate')
    const [secret] = byKind(objs, 'Secret')
    t.equal(secret.data['ca.crt'], mwc.webhooks[0].clientConfig.caBundle, 'one CA for the Secret and the webhooks')
  }
})

t.test('webhook values are honoured, exclusions cannot be removed', async (t) => {
  const objs = renderObjects(chart, {
    values: {
      webhook: {
        timeoutSeconds: 3,
        mutating: { failurePolicy: 'Fail' },
        excludeNamespaces: ['argocd'],
        namespaceSelector: { matchLabels: { 'postrender.io/enabled': 'true' } },
      },
    },
  })
  const w = byKind(objs, 'MutatingWebhookConfiguration')[0].webhooks[0]
  t.equal(w.failurePolicy, 'Fail')
  t.equal(w.timeoutSeconds, 3)
  t.same(excludedNamespaces(w), ['kube-postrender', 'kube-system', 'kube-node-lease', 'argocd'])
  t.same(w.namespaceSelector.matchLabels, { 'postrender.io/enabled': 'true' })
  const none = renderObjects(chart, { values: { webhook: { mutating: { enabled: false }, validating: { enabled: false } } } })
  t.equal(byKind(none, 'MutatingWebhookConfiguration').length + byKind(none, 'ValidatingWebhookConfiguration').length, 0)
})

t.test('certificates: generated, reused, or from cert-manager', async (t) => {
  const reused = renderObjects(chart, {
    lookup: (_v, kind, ns, name) => (kind === 'Secret' && ns === 'kube-postrender' && name === 'kube-postrender-tls'
      ? { data: { 'ca.crt': 'T0xEQ0E=', 'tls.crt': 'T0xE', 'tls.key': 'S0VZ' } }
      : {}),
  })
  t.equal(byKind(reused, 'Secret')[0].data['ca.crt'], 'T0xEQ0E=', 'an existing CA survives an upgrade')
  t.equal(byKind(reused, 'MutatingWebhookConfiguration')[0].webhooks[0].clientConfig.caBundle, 'T0xEQ0E=')

  const cm = renderObjects(chart, { values: { certificates: { mode: 'cert-manager' } } })
  t.equal(byKind(cm, 'Secret').length, 0, 'no generated Secret')
  const certs = byKind(cm, 'Certificate')
  const serving = certs.find((c) => c.metadata.name === 'kube-postrender')
  t.equal(serving?.spec.secretName, 'kube-postrender-tls')
  t.ok(serving?.spec.dnsNames.includes('kube-postrender.kube-postrender.svc'))
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const cfg = byKind(cm, kind)[0]
    t.equal(cfg.metadata.annotations['cert-manager.io/inject-ca-from'], 'kube-postrender/kube-postrender')
    t.notOk(cfg.webhooks[0].clientConfig.caBundle, 'cainjector fills caBundle')
  }
  const own = renderObjects(chart, { values: { certificates: { mode: 'cert-manager', certManager: { issuerRef: { name: 'corp', kind: 'ClusterIssuer' } } } } })
  t.equal(byKind(own, 'Issuer').length, 0, 'no chart Issuer with an issuerRef')
  t.same(byKind(own, 'Certificate')[0].spec.issuerRef, { name: 'corp', kind: 'ClusterIssuer' })
})

t.test('RBAC: read the two CRDs, Gatekeeper\'s mutators and Namespaces, patch their status, its own webhook configurations and Lease, nothing else', async (t) => {
  const grantsOf = (objs: Dict[], kind: string, name?: string): string[] => {
    const grants = new Set<string>()
    for (const role of byKind(objs, kind).filter((r) => name === undefined || r.metadata.name === name)) {
      for (const r of role.rules) {
        t.notOk(JSON.stringify(r).includes('*'), 'no wildcard')
        t.notOk(r.nonResourceURLs, 'plain resource rules')
        for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) grants.add(`${g}/${res}:${v}${r.resourceNames ? `[${r.resourceNames.join()}]` : ''}`)
      }
    }
    return [...grants].sort()
  }
  const objs = renderObjects(chart)
  const want = new Set<string>()
  const mutators = ['assign', 'assignmetadata', 'modifyset', 'assignimage'].map((r) => `mutations.gatekeeper.sh/${r}`)
  for (const res of ['postrender.io/clusterpostrenderpolicies', 'postrender.io/postrenderpolicies', '/namespaces', ...mutators]) {
    for (const v of ['get', 'list', 'watch']) want.add(`${res}:${v}`)
  }
  for (const res of ['postrender.io/clusterpostrenderpolicies/status', 'postrender.io/postrenderpolicies/status']) want.add(`${res}:patch`)
  const managed = ['admissionregistration.k8s.io/mutatingwebhookconfigurations', 'admissionregistration.k8s.io/validatingwebhookconfigurations']
    .flatMap((res) => ['get', 'patch'].map((v) => `${res}:${v}[kube-postrender]`))
  t.same(grantsOf(objs, 'ClusterRole', 'kube-postrender'), [...want, ...managed].sort(), 'ClusterRole: status only patched; its own webhook configurations by name')
  // One Role: the Leases of the single-writer tasks (reports, webhook rules), by name.
  t.same(byKind(objs, 'Role').map((r) => r.metadata.name), ['kube-postrender-leader'])
  t.same(grantsOf(objs, 'Role'), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get[kube-postrender-reports,kube-postrender-webhooks]', 'coordination.k8s.io/leases:update[kube-postrender-reports,kube-postrender-webhooks]'], 'Role: its Leases')
  const unmanaged = renderObjects(chart, { values: { webhook: { manageRules: false }, reports: { enabled: false } } })
  t.same(grantsOf(unmanaged, 'ClusterRole', 'kube-postrender'), [...want].sort(), 'manageRules off: no webhook configuration access')
  t.equal(byKind(unmanaged, 'Role').length + byKind(unmanaged, 'RoleBinding').length, 0, 'manageRules and reports off: no Lease')
  const [role] = byKind(objs, 'ClusterRole').filter((r) => r.metadata.name === 'kube-postrender')
  const [binding] = byKind(objs, 'ClusterRoleBinding').filter((b) => b.metadata.name === 'kube-postrender')
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: 'kube-postrender', namespace: 'kube-postrender' }])
  t.equal(binding.roleRef.name, role.metadata.name)
})

t.test('Deployment: replicas, spread, probes, hardened security context', async (t) => {
  const [dep] = byKind(renderObjects(chart), 'Deployment')
  const pod = dep.spec.template.spec
  const [c] = pod.containers
  t.equal(dep.spec.replicas, 2)
  t.ok(pod.affinity.podAntiAffinity, 'anti-affinity')
  t.equal(pod.topologySpreadConstraints[0].topologyKey, 'topology.kubernetes.io/zone')
  t.same(c.args, ['serve', '--port=8443', '--tls-cert=/etc/kube-postrender/tls/tls.crt', '--tls-key=/etc/kube-postrender/tls/tls.key', '-c', '/etc/kube-postrender/policies', '--cluster', '--reports', '--report-interval=2', '--events',
    '--manage-webhooks=kube-postrender', '--metrics-port=9090', '--max-in-flight=32', '--max-in-flight-bytes=24', '--max-evaluation-ms=50', '--evaluation-worker=on'])
  t.same(c.ports.map((p: Dict) => [p.name, p.containerPort]), [['https', 8443], ['metrics', 9090]], 'metrics on its own port')
  t.equal(c.readinessProbe.httpGet.path, '/readyz')
  t.equal(c.livenessProbe.httpGet.path, '/healthz')
  t.equal(c.readinessProbe.httpGet.scheme, 'HTTPS')
  t.equal(c.securityContext.readOnlyRootFilesystem, true)
  t.equal(c.securityContext.allowPrivilegeEscalation, false)
  t.same(c.securityContext.capabilities.drop, ['ALL'])
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.ok(c.resources.requests.cpu, 'resources')
  const mounts = Object.fromEntries(c.volumeMounts.map((m: Dict) => [m.name, m.mountPath]))
  t.equal(mounts.policies, '/etc/kube-postrender/policies')
  t.equal(pod.volumes.find((v: Dict) => v.name === 'tls').secret.secretName, 'kube-postrender-tls')
  const [noCluster] = byKind(renderObjects(chart, { values: { clusterPolicies: { enabled: false }, webhook: { manageRules: false }, autoscaling: { enabled: true } } }), 'Deployment')
  t.notOk(noCluster.spec.template.spec.containers[0].args.includes('--cluster'))
  const [noWorker] = byKind(renderObjects(chart, { values: { evaluationWorker: false } }), 'Deployment')
  t.ok(noWorker.spec.template.spec.containers[0].args.includes('--evaluation-worker=off'), 'evaluationWorker: false')
  t.equal(noCluster.spec.replicas, undefined, 'the HPA owns replicas')
  t.equal(noCluster.spec.template.spec.automountServiceAccountToken, false)
})

t.test('NetworkPolicy: on by default, ingress to the webhook and metrics ports only, sources configurable', async (t) => {
  const [np] = byKind(renderObjects(chart), 'NetworkPolicy')
  t.ok(np, 'rendered by default')
  t.same(np.spec.policyTypes, ['Ingress'])
  t.same(np.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'kube-postrender', 'app.kubernetes.io/instance': 'kube-postrender' })
  t.same(np.spec.ingress.map((r: Dict) => r.ports.map((p: Dict) => p.port)), [[8443], [9090]], 'only the two ports')
  t.notOk(np.spec.ingress[0].from, 'webhook port: any source by default (the API server)')
  t.same(np.spec.ingress[1].from, [{ namespaceSelector: {} }], 'metrics: Pods of the cluster')
  const [custom] = byKind(renderObjects(chart, { values: { networkPolicy: { webhookFrom: [{ ipBlock: { cidr: '10.0.0.0/24' } }] } } }), 'NetworkPolicy')
  t.same(custom.spec.ingress[0].from, [{ ipBlock: { cidr: '10.0.0.0/24' } }], 'configurable source')
  t.equal(byKind(renderObjects(chart, { values: { networkPolicy: { enabled: false } } }), 'NetworkPolicy').length, 0)
  const [svc] = byKind(renderObjects(chart), 'Service')
  t.same(svc.spec.ports.map((p: Dict) => p.name), ['https', 'metrics'])
})

t.test('manageRules: an upgrade keeps the live rules', async (t) => {
  const live = [{ apiGroups: ['apps'], apiVersions: ['*'], resources: ['deployments'], operations: ['CREATE'], scope: '*' }]
  const objs = renderObjects(chart, { lookup: (_v, kind) => (/WebhookConfiguration$/.test(kind) ? { webhooks: [{ rules: live }] } : {}) })
  t.same(byKind(objs, 'MutatingWebhookConfiguration')[0].webhooks[0].rules, live)
  t.same(byKind(objs, 'ValidatingWebhookConfiguration')[0].webhooks[1].rules, live)
  const off = renderObjects(chart, { values: { webhook: { manageRules: false } }, lookup: (_v, kind) => (/WebhookConfiguration$/.test(kind) ? { webhooks: [{ rules: live }] } : {}) })
  t.same(byKind(off, 'MutatingWebhookConfiguration')[0].webhooks[0].rules, values.webhook.rules, 'unmanaged: the values')
})

t.test('clientAuth: --client-ca from a Secret, only when enabled', async (t) => {
  const [off] = byKind(renderObjects(chart), 'Deployment')
  t.notOk(off.spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--client-ca')), 'off by default')
  t.notOk(off.spec.template.spec.volumes.some((v: Dict) => v.name === 'client-ca'))
  const [dep] = byKind(renderObjects(chart, { values: { clientAuth: { enabled: true, caSecretName: 'apiserver-client-ca', caKey: 'bundle.pem' } } }), 'Deployment')
  const pod = dep.spec.template.spec
  t.ok(pod.containers[0].args.includes('--client-ca=/etc/kube-postrender/client-ca/bundle.pem'), 'flag')
  t.same(pod.volumes.find((v: Dict) => v.name === 'client-ca').secret, { secretName: 'apiserver-client-ca' }, 'volume')
  t.same(pod.containers[0].volumeMounts.find((m: Dict) => m.name === 'client-ca'), { name: 'client-ca', mountPath: '/etc/kube-postrender/client-ca', readOnly: true }, 'mount')
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(read('values.schema.json')))
  t.notOk(validate({ ...values, clientAuth: { enabled: true } }), 'enabled without a Secret is rejected')
  t.ok(validate({ ...values, clientAuth: { enabled: true, caSecretName: 'x' } }), 'enabled with a Secret')
})

t.test('policies ConfigMap, PDB, HPA and the helm test hook', async (t) => {
  const objs = renderObjects(chart, { values: { autoscaling: { enabled: true }, policies: { 'platform.yaml': 'kind: ClusterPostRenderPolicy\n' } } })
  t.same(byKind(objs, 'ConfigMap')[0].data, { 'platform.yaml': 'kind: ClusterPostRenderPolicy\n' })
  t.equal(byKind(objs, 'PodDisruptionBudget')[0].spec.minAvailable, 1)
  const [hpa] = byKind(objs, 'HorizontalPodAutoscaler')
  t.equal(hpa.spec.metrics[0].resource.name, 'cpu')
  const [testPod] = byKind(objs, 'Pod')
  t.equal(testPod.metadata.annotations['helm.sh/hook'], 'test')
  const script = testPod.spec.containers[0].args[0]
  t.match(script, /path: '\/mutate'/)
  t.match(script, /host: 'kube-postrender\.kube-postrender\.svc'/)
  t.notOk(renderChart(chart, { values: { tests: { enabled: false } } }).get('templates/tests/test-review.yaml')?.trim())
})

t.test('helm template agrees (only where helm is installed)', async (t) => {
  const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' })
  if (helm.status !== 0) { t.pass('helm not on PATH: skipped'); return }
  const out = spawnSync('helm', ['template', 'kube-postrender', chart, '--namespace', 'kube-postrender', '--set', 'certificates.mode=cert-manager'], { encoding: 'utf8' })
  t.equal(out.status, 0, out.stderr)
  const real = YAML.parseAllDocuments(out.stdout).map((d) => d.toJS()).filter(Boolean) as Dict[]
  const ours = renderObjects(chart, { values: { certificates: { mode: 'cert-manager' } } })
  const key = (o: Dict): string => `${o.kind}/${o.metadata.name}`
  const kinds = (objs: Dict[]): string[] => objs.filter((o) => o.kind !== 'CustomResourceDefinition').map(key).sort()
  t.same(kinds(ours), kinds(real))
  for (const o of ours) t.same(o, real.find((r) => key(r) === key(o)), key(o))
})
