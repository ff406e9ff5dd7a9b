import t from 'tap'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import YAML from 'yaml'
import { renderObjects } from './helm-template.js'
import { objectProblems, webhookProblems, webhookSettings, excludedNamespaces, SYSTEM_NAMESPACES } from './k8s-shapes.js'

type Dict = Record<string, any>
const repo = fileURLToPath(new URL('../../', import.meta.url))
const base = join(repo, 'deploy/base')
const NS = 'kube-postrender'

// readBase parses the base's resources directly (no kubectl needed) and applies
// the one transform it declares that matters here: `namespace` on namespaced kinds.
function readBase(): Dict[] {
  const k = YAML.parse(readFileSync(join(base, 'kustomization.yaml'), 'utf8')) as Dict
  const objs = (k.resources as string[]).flatMap((f) =>
    YAML.parseAllDocuments(readFileSync(join(base, f), 'utf8')).map((d) => d.toJS() as Dict).filter(Boolean))
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
  for (const o of objs) if (!clusterScoped.has(o.kind)) o.metadata.namespace = k.namespace
  t.equal(k.namespace, NS)
  return objs
}

const key = (o: Dict): string => `${o.kind}/${o.metadata.name}`
const ids = (objs: Dict[]): string[] => objs.map(key).sort()

function kustomize(dir: string): Dict[] | undefined {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })
  if (r.error) return undefined
  t.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.stderr}`)
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as Dict).filter(Boolean)
}

function checkObjects(t: any, objs: Dict[], label: string): void {
  t.ok(objs.length >= 15, `${label}: objects`)
  for (const o of objs) t.same(objectProblems(o), [], `${label}: ${key(o)}`)
  for (const o of objs.filter((x) => /WebhookConfiguration$/.test(x.kind))) {
    for (const w of o.webhooks) {
      t.same(webhookProblems(w, o.kind.startsWith('Mutating')), [], `${label}: ${key(o)} ${w.name}`)
      t.same(excludedNamespaces(w).slice(0, 3), [NS, ...SYSTEM_NAMESPACES], `${label}: ${w.name} exclusions`)
    }
  }
}

t.test('deploy/base files are valid objects with valid webhook configurations', async (t) => {
  checkObjects(t, readBase(), 'base files')
})

t.test('deploy/base and the chart describe the same install', async (t) => {
  const objs = readBase()
  // deploy/base does not install PolicyReports yet (their CRDs, RBAC and Lease Role
  // are chart-only: docs/reports.md), so the chart is compared without them.
  const chart = renderObjects(join(repo, 'charts/kube-postrender'), { values: { certificates: { mode: 'cert-manager' }, reports: { enabled: false }, events: { enabled: false } }, namespace: NS })
  // The chart installs CRDs from crds/ and the Namespace by `--create-namespace`;
  // its helm test Pod only exists under `helm test`.
  const fromChart = chart.filter((o) => o.kind !== 'Pod')
  const fromBase = objs.filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition')
  t.same(ids(fromBase), ids(fromChart), 'same kinds and names')
  for (const o of fromChart) {
    const b = fromBase.find((x) => key(x) === key(o))
    t.equal((b?.metadata as { namespace?: string } | undefined)?.namespace, (o.metadata as { namespace?: string } | undefined)?.namespace, `${key(o)} namespace`)
  }
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const c = fromChart.find((o) => o.kind === kind) as Dict
    const b = fromBase.find((o) => o.kind === kind) as Dict
    t.same(webhookSettings(b), webhookSettings(c), `${kind} settings`)
  }
  for (const kind of ['ClusterRole', 'Certificate', 'Issuer', 'Service', 'PodDisruptionBudget']) {
    for (const c of fromChart.filter((o) => o.kind === kind)) {
      const b = fromBase.find((o) => key(o) === key(c)) as Dict
      t.same(b.rules ?? b.spec, c.rules ?? c.spec, `${key(c)} spec`)
    }
  }
  const spec = (objs: Dict[]): Dict => objs.find((o) => o.kind === 'Deployment')?.spec.template.spec
  t.same(spec(fromBase), spec(fromChart), 'Deployment pod spec')
  const crdNames = objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name).sort()
  t.same(crdNames, ['clusterpostrenderpolicies.postrender.io', 'postrenderpolicies.postrender.io'])
})

t.test('kubectl kustomize builds deploy/, deploy/base and the overlay (where kubectl is installed)', async (t) => {
  const built = kustomize(base)
  if (!built) { t.pass('kubectl not on PATH: parsed the files instead'); return }
  checkObjects(t, built, 'kustomize base')
  t.same(ids(built), ids(readBase()), 'the build yields what the files say')
  for (const o of built.filter((x) => x.kind !== 'Namespace' && !x.kind.startsWith('Cluster') && x.kind !== 'CustomResourceDefinition' && !/WebhookConfiguration$/.test(x.kind))) {
    t.equal(o.metadata.namespace, NS, `${key(o)} namespaced`)
  }
  t.same(ids(kustomize(join(repo, 'deploy')) ?? []), ids(built), 'deploy/ is the base')
  const overlay = kustomize(join(repo, 'deploy/overlays/example')) ?? []
  checkObjects(t, overlay, 'overlay')
  const mwc = overlay.find((o) => o.kind === 'MutatingWebhookConfiguration') as Dict
  t.same(mwc.webhooks[0].namespaceSelector.matchLabels, { 'postrender.io/enabled': 'true' })
  const cm = overlay.find((o) => o.kind === 'ConfigMap') as Dict
  t.equal(cm.metadata.name, 'kube-postrender-policies', 'the mounted name is kept')
  t.match(YAML.parse(cm.data['platform.yaml']), { apiVersion: 'postrender.io/v1alpha1', kind: 'ClusterPostRenderPolicy' })
})
