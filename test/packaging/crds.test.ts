import t from 'tap'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
// @ts-expect-error: a plain .mjs script without types
import { generate, toStructural } from '../../scripts/gen-crds.mjs'

type Dict = Record<string, any>
const repo = fileURLToPath(new URL('../../', import.meta.url))
const gen = generate as (root?: string) => Record<string, string>

t.test('committed CRDs equal a fresh generation (node scripts/gen-crds.mjs)', async (t) => {
  const files = gen(repo)
  t.same(Object.keys(files).sort(), [
    'charts/kube-postrender/crds/postrender.io_clusterpostrenderpolicies.yaml',
    'charts/kube-postrender/crds/postrender.io_postrenderpolicies.yaml',
    'deploy/base/crds.yaml',
  ])
  for (const [rel, text] of Object.entries(files)) t.equal(readFileSync(join(repo, rel), 'utf8'), text, `${rel} is up to date`)
})

t.test('the CRDs hold no YAML anchors or aliases (kubectl explain, diff tools and reviewers read them plainly)', async (t) => {
  for (const [rel, text] of Object.entries(gen(repo))) {
    for (const doc of YAML.parseAllDocuments(text)) {
      let nodes = 0
      YAML.visit(doc, { Node: (_, n) => { if (YAML.isAlias(n) || (n as { anchor?: string }).anchor) nodes++ } })
      t.equal(nodes, 0, `${rel}: no anchors or aliases`)
    }
  }
})

// structuralProblems lists violations of the structural-schema rules the API server enforces.
function structuralProblems(s: Dict, path = ''): string[] {
  const p: string[] = []
  if (!s.type && !s['x-kubernetes-preserve-unknown-fields']) p.push(`${path}: no type`)
  for (const k of ['$ref', '$schema', 'definitions', 'const', 'oneOf', 'anyOf']) if (k in s) p.push(`${path}: ${k}`)
  if (s.additionalProperties === false) p.push(`${path}: additionalProperties false`)
  if (s.additionalProperties && s.properties) p.push(`${path}: properties and additionalProperties`)
  for (const [k, v] of Object.entries(s.properties ?? {})) p.push(...structuralProblems(v as Dict, `${path}.${k}`))
  if (s.items) p.push(...structuralProblems(s.items, `${path}[]`))
  if (typeof s.additionalProperties === 'object') p.push(...structuralProblems(s.additionalProperties, `${path}{}`))
  return p
}

t.test('the CRDs are structural, with status subresource and printer columns', async (t) => {
  const docs = YAML.parseAllDocuments(readFileSync(join(repo, 'deploy/base/crds.yaml'), 'utf8')).map((d) => d.toJS() as Dict)
  t.same(docs.map((d) => [d.spec.names.kind, d.spec.scope]), [['ClusterPostRenderPolicy', 'Cluster'], ['PostRenderPolicy', 'Namespaced']])
  for (const d of docs) {
    t.equal(d.spec.group, 'postrender.io')
    const [v] = d.spec.versions
    t.equal(v.name, 'v1alpha1')
    t.same(v.subresources, { status: {} })
    t.same(v.additionalPrinterColumns.map((c: Dict) => c.name), ['Ready', 'Order', 'Mode', 'Age'])
    t.same(structuralProblems(v.schema.openAPIV3Schema), [], `${d.metadata.name} structural`)
  }
})

t.test('spec comes from the policy schema, or is free-form without it', async (t) => {
  const schema = JSON.parse(readFileSync(join(repo, 'src/policy/policy.schema.json'), 'utf8'))
  const [doc] = YAML.parseAllDocuments(readFileSync(join(repo, 'deploy/base/crds.yaml'), 'utf8')).map((d) => d.toJS() as Dict)
  const spec = doc.spec.versions[0].schema.openAPIV3Schema.properties.spec
  t.same(Object.keys(spec.properties ?? {}).sort(), Object.keys(schema.definitions.spec.properties).sort())
  t.same(toStructural({ const: 'x' }), { enum: ['x'], type: 'string' })
  t.same(toStructural({ type: 'object', additionalProperties: false, properties: { a: { $ref: '#/definitions/b' } } }, { b: { type: 'integer' } }),
    { type: 'object', properties: { a: { type: 'integer' } } })
  t.throws(() => toStructural({ $ref: '#/definitions/a' }, { a: { type: 'object', properties: { x: { $ref: '#/definitions/a' } } } }), /recursive/)
  const empty = mkdtempSync(join(tmpdir(), 'kp-crds-'))
  try {
    const text = gen(empty)['deploy/base/crds.yaml']
    const free = (YAML.parseAllDocuments(text)[0].toJS() as Dict).spec.versions[0].schema.openAPIV3Schema.properties.spec
    t.same(free, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true })
  } finally {
    rmSync(empty, { recursive: true, force: true })
  }
})
