/**
 * The chart's reporting parts: the PolicyReport CRDs (installed unless
 * another release owns them), least-privilege RBAC, the serve flags, the
 * ServiceMonitor, the Grafana dashboard (every metric it queries is one the
 * server exports) and the generated chart README.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import YAML from 'yaml'
import { renderObjects } from './helm-template.js'
import { WebhookMetrics } from '../../src/server/metrics.js'
import { ReportMetrics } from '../../src/reports/report-metrics.js'

const chart = fileURLToPath(new URL('../../charts/kube-postrender', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))
type Dict = Record<string, any>
const byKind = (objs: Dict[], kind: string): Dict[] => objs.filter((o) => o.kind === kind)
const reportCrds = (objs: Dict[]): Dict[] => byKind(objs, 'CustomResourceDefinition').filter((c) => c.spec.group === 'wgpolicyk8s.io')
const grants = (rules: Dict[]): string[] => rules.flatMap((r) => r.apiGroups.flatMap((g: string) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${g}/${res}:${v}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`)))).sort()

t.test('PolicyReport CRDs: v1alpha2, both scopes, kept on uninstall', async (t) => {
  const crds = reportCrds(renderObjects(chart))
  t.same(crds.map((c) => [c.metadata.name, c.spec.scope, c.spec.names.shortNames[0]]), [
    ['policyreports.wgpolicyk8s.io', 'Namespaced', 'polr'],
    ['clusterpolicyreports.wgpolicyk8s.io', 'Cluster', 'cpolr'],
  ])
  for (const c of crds) {
    t.equal(c.apiVersion, 'apiextensions.k8s.io/v1')
    t.equal(c.metadata.annotations['helm.sh/resource-policy'], 'keep')
    const v = c.spec.versions[0]
    t.match(v, { name: 'v1alpha2', served: true, storage: true })
    const result = v.schema.openAPIV3Schema.properties.results.items.properties
    t.same(result.result.enum, ['pass', 'fail', 'warn', 'error', 'skip'])
    t.same(Object.keys(v.schema.openAPIV3Schema.properties.summary.properties).sort(), ['error', 'fail', 'pass', 'skip', 'warn'])
  }
})

t.test('PolicyReport CRDs: left alone when another release owns them', async (t) => {
  const owned = (release: string) => (_a: string, kind: string, _ns: string, name: string): Dict =>
    kind === 'CustomResourceDefinition' ? { metadata: { name, annotations: { 'meta.helm.sh/release-name': release } } } : {}
  t.equal(reportCrds(renderObjects(chart, { lookup: owned('kyverno') })).length, 0, 'Kyverno installed them')
  t.equal(reportCrds(renderObjects(chart, { lookup: (_a, kind) => (kind === 'CustomResourceDefinition' ? { metadata: { name: 'x' } } : {}) })).length, 0, 'installed without Helm')
  t.equal(reportCrds(renderObjects(chart, { lookup: owned('kube-postrender') })).length, 2, 'ours: kept in the release on upgrade')
  t.equal(reportCrds(renderObjects(chart, { values: { reports: { installCRDs: false } } })).length, 0, 'installCRDs false')
})

t.test('RBAC of reporting: exactly the verbs it uses', async (t) => {
  const objs = renderObjects(chart, { values: { reports: { scan: { apiGroups: ['apps'], resources: ['deployments'] } } } })
  const [role] = byKind(objs, 'ClusterRole').filter((r) => r.metadata.name === 'kube-postrender-reports')
  t.same(grants(role.rules), [
    '/events:create',
    'apps/deployments:list',
    'apps/deployments:watch',
    ...['create', 'delete', 'get', 'list', 'update'].flatMap((v) => [`wgpolicyk8s.io/clusterpolicyreports:${v}`, `wgpolicyk8s.io/policyreports:${v}`]),
  ].sort())
  for (const r of role.rules) t.notOk(JSON.stringify(r).includes('*'), 'no wildcard')
  const [leader] = byKind(objs, 'Role')
  t.equal(leader.metadata.namespace, 'kube-postrender')
  // One Lease Role (lease-rbac.yaml): the reports Lease beside the webhook rules' (webhook.manageRules, on by default).
  t.same(grants(leader.rules), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get[kube-postrender-reports,kube-postrender-webhooks]', 'coordination.k8s.io/leases:update[kube-postrender-reports,kube-postrender-webhooks]'])
  const reportsOnly = byKind(renderObjects(chart, { values: { webhook: { manageRules: false } } }), 'Role')
  t.same(grants(reportsOnly[0].rules), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get[kube-postrender-reports]', 'coordination.k8s.io/leases:update[kube-postrender-reports]'], 'without manageRules: the reports Lease only')
  const bindings = [...byKind(objs, 'ClusterRoleBinding'), ...byKind(objs, 'RoleBinding')].filter((b) => /-(reports|leader)$/.test(b.metadata.name))
  t.equal(bindings.length, 2)
  for (const b of bindings) t.same(b.subjects, [{ kind: 'ServiceAccount', name: 'kube-postrender', namespace: 'kube-postrender' }])
  const off = renderObjects(chart, { values: { reports: { enabled: false }, events: { enabled: false }, webhook: { manageRules: false } } })
  t.equal(byKind(off, 'Role').length + byKind(off, 'ClusterRole').filter((r) => r.metadata.name.endsWith('-reports')).length, 0, 'nothing when both are off')
  const eventsOnly = renderObjects(chart, { values: { reports: { enabled: false }, webhook: { manageRules: false } } })
  t.same(grants(byKind(eventsOnly, 'ClusterRole').find((r) => r.metadata.name.endsWith('-reports'))!.rules), ['/events:create'])
  t.equal(byKind(eventsOnly, 'Role').length, 0, 'no Lease without reports')
})

t.test('Deployment: --reports, --events and the pod name', async (t) => {
  const args = (v: Dict): string[] => byKind(renderObjects(chart, { values: v }), 'Deployment')[0].spec.template.spec.containers[0].args
  t.ok(args({}).includes('--reports') && args({}).includes('--events') && args({}).includes('--report-interval=2'))
  t.notOk(args({ reports: { enabled: false }, events: { enabled: false } }).some((a) => /--reports|--events/.test(a)))
  t.notOk(args({ clusterPolicies: { enabled: false } }).some((a) => /--reports|--events/.test(a)), 'both need --cluster')
  const env = byKind(renderObjects(chart), 'Deployment')[0].spec.template.spec.containers[0].env
  t.same(env.find((e: Dict) => e.name === 'POD_NAME').valueFrom, { fieldRef: { fieldPath: 'metadata.name' } })
})

t.test('values schema: the scan never reads Secrets', async (t) => {
  const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(`${chart}/values.schema.json`, 'utf8')))
  const values = YAML.parse(readFileSync(`${chart}/values.yaml`, 'utf8')) as Dict
  t.ok(validate(values))
  t.notOk(validate({ ...values, reports: { ...values.reports, scan: { ...values.reports.scan, resources: ['secrets'] } } }))
  t.notOk(validate({ ...values, serviceMonitor: { ...values.serviceMonitor, scheme: 'ftp' } }))
})

t.test('ServiceMonitor: off by default; the plain-HTTP metrics port, or https verified against the webhook CA', async (t) => {
  t.equal(byKind(renderObjects(chart), 'ServiceMonitor').length, 0)
  const [sm] = byKind(renderObjects(chart, { values: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } }), 'ServiceMonitor')
  t.equal(sm.metadata.labels.release, 'prom')
  t.same(sm.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'kube-postrender', 'app.kubernetes.io/instance': 'kube-postrender' })
  t.match(sm.spec.endpoints[0], { port: 'metrics', path: '/metrics', scheme: 'http' })
  t.notOk(sm.spec.endpoints[0].tlsConfig, 'plain HTTP: no tlsConfig')
  const [tls] = byKind(renderObjects(chart, { values: { serviceMonitor: { enabled: true, port: 'https', scheme: 'https' } } }), 'ServiceMonitor')
  t.match(tls.spec.endpoints[0], { port: 'https', path: '/metrics', scheme: 'https', tlsConfig: { serverName: 'kube-postrender.kube-postrender.svc', ca: { secret: { name: 'kube-postrender-tls', key: 'ca.crt' } } } })
  const svc = byKind(renderObjects(chart), 'Service')[0]
  t.ok(svc.spec.ports.some((p: Dict) => p.name === sm.spec.endpoints[0].port), 'the port exists on the Service')
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) t.equal(svc.metadata.labels[k], v, `Service carries ${k}`)
})

/** Metric names a PromQL expression reads (histogram series map to their histogram). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bkube_postrender_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))
}

t.test('dashboard: valid JSON, every panel queries metrics the server exports', async (t) => {
  const dash = JSON.parse(readFileSync(`${chart}/dashboards/kube-postrender.json`, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] }
  const metrics = new WebhookMetrics()
  new ReportMetrics(metrics.registry, { summary: () => undefined, evicted: () => 0 })
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name))
  const used = new Set<string>()
  for (const p of dash.panels) {
    t.ok(p.targets.length > 0, `${p.title}: has a query`)
    for (const target of p.targets) for (const name of metricNames(target.expr)) {
      used.add(name)
      t.ok(exported.has(name), `${p.title}: ${name} is exported`)
    }
  }
  // The issue's list: requests by result, latency, matches, changes, denials, errors, reloads, report counts, build_info.
  for (const m of ['admission_requests_total', 'admission_duration_seconds', 'policy_matches_total', 'transformer_changes_total', 'denials_total', 'transformer_errors_total', 'policy_reloads_total', 'report_results', 'build_info']) {
    t.ok(used.has(`kube_postrender_${m}`), `the dashboard shows ${m}`)
  }
  t.ok(metricNames('rate(kube_postrender_nope_total[5m])').every((n) => !exported.has(n)), 'the check can fail')
  const [cm] = byKind(renderObjects(chart, { values: { dashboard: { enabled: true } } }), 'ConfigMap').filter((c) => c.metadata.name.endsWith('-dashboard'))
  t.equal(cm.metadata.labels.grafana_dashboard, '1')
  t.same(JSON.parse(cm.data['kube-postrender.json']), dash, 'the ConfigMap carries the file')
})

t.test('chart README is generated from values.yaml comments and up to date', async (t) => {
  const r = spawnSync(process.execPath, ['scripts/gen-chart-readme.mjs', '--check'], { cwd: root, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const readme = readFileSync(`${chart}/README.md`, 'utf8')
  t.match(readme, /\| `reports.enabled` \| bool \| `true` \| PolicyReports/)
  t.match(readme, /\| `webhook.timeoutSeconds` \| int \| `5` \| Seconds the API server waits/)
})

t.test('Chart.yaml: icon (a file of the repo) and sources', async (t) => {
  const meta = YAML.parse(readFileSync(`${chart}/Chart.yaml`, 'utf8')) as Dict
  t.match(meta.icon, /^https:\/\/.+\/main\/docs\/images\/icon\.svg$/)
  t.match(readFileSync(`${root}/docs/images/icon.svg`, 'utf8'), /^<svg /)
  t.ok(Array.isArray(meta.sources) && meta.sources.length > 0 && meta.sources.every((s: string) => s.startsWith('https://')))
})
