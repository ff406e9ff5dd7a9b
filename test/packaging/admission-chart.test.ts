/**
 * The chart's switch for `serve --admission-policies`: off by default (no
 * flag, no RBAC); on: the flag, list/watch of the four
 * admissionregistration.k8s.io kinds and of the params resources granted,
 * nothing else; Secrets cannot be granted as params.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import YAML from 'yaml'
import { renderObjects } from './helm-template.js'

const chart = fileURLToPath(new URL('../../charts/kube-postrender', import.meta.url))
type Dict = Record<string, any>
const args = (objs: Dict[]): string[] => objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args
const role = (objs: Dict[]): Dict | undefined => objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-admission-policies'))
const grants = (rules: Dict[]): string[] => rules.flatMap((r) => r.apiGroups.flatMap((g: string) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${g}/${res}:${v}`)))).sort()

const ROWS: { name: string; values: Dict; flag: boolean; grants?: string[] }[] = [
  { name: 'default: off', values: {}, flag: false },
  { name: 'on, no params', values: { admissionPolicies: { enabled: true } }, flag: true, grants: [] },
  { name: 'on, ConfigMaps as params', values: { admissionPolicies: { enabled: true, params: { apiGroups: [''], resources: ['configmaps'] } } }, flag: true, grants: ['/configmaps:list', '/configmaps:watch'] },
  { name: 'on but clusterPolicies off: nothing (it needs --cluster)', values: { admissionPolicies: { enabled: true }, clusterPolicies: { enabled: false } }, flag: false },
]
const FOUR = ['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings']
  .flatMap((r) => [`admissionregistration.k8s.io/${r}:list`, `admissionregistration.k8s.io/${r}:watch`])

for (const row of ROWS) {
  t.test(row.name, async (t) => {
    const objs = renderObjects(chart, { values: row.values })
    t.equal(args(objs).includes('--admission-policies'), row.flag, 'serve flag')
    const r = role(objs)
    if (!row.grants) return t.notOk(r, 'no ClusterRole')
    t.same(grants(r!.rules), [...FOUR, ...row.grants].sort(), 'exactly list/watch of what it reads')
    t.ok(objs.some((o) => o.kind === 'ClusterRoleBinding' && (o.roleRef as Dict).name === r!.metadata.name), 'bound')
  })
}

t.test('values schema: the defaults validate; Secrets cannot be granted as params', async (t) => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(`${chart}/values.schema.json`, 'utf8')))
  const defaults = YAML.parse(readFileSync(`${chart}/values.yaml`, 'utf8')) as Dict
  t.ok(validate(defaults), 'defaults')
  t.ok(validate({ ...defaults, admissionPolicies: { enabled: true, params: { apiGroups: [''], resources: ['configmaps'] } } }), 'configmaps')
  t.notOk(validate({ ...defaults, admissionPolicies: { enabled: true, params: { apiGroups: [''], resources: ['secrets'] } } }), 'secrets refused')
})
