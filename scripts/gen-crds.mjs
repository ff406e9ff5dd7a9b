#!/usr/bin/env node
// gen-crds.mjs writes the CustomResourceDefinitions of the policy kinds
// (ClusterPostRenderPolicy, PostRenderPolicy; group postrender.io, v1alpha1)
// from the one policy JSON Schema, src/policy/policy.schema.json, so files and
// the cluster accept exactly the same documents.
//
//   node scripts/gen-crds.mjs          write the files
//   node scripts/gen-crds.mjs --check  exit 1 when a committed file is stale
//
// A CRD schema is not JSON Schema: it must be *structural* (every node has a
// `type`, no `$ref`, no `additionalProperties: false`, free-form objects say
// `x-kubernetes-preserve-unknown-fields`). See
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
// toStructural() below does that translation. While the schema file does not
// exist, `spec` is a free-form object and the server validates it on load.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const SCHEMA_PATH = 'src/policy/policy.schema.json'
export const GROUP = 'postrender.io'
export const VERSION = 'v1alpha1'

const KINDS = [
  { kind: 'ClusterPostRenderPolicy', plural: 'clusterpostrenderpolicies', short: ['cprp'], scope: 'Cluster' },
  { kind: 'PostRenderPolicy', plural: 'postrenderpolicies', short: ['prp'], scope: 'Namespaced' },
]

// Keywords a CRD's JSONSchemaProps understands and we carry over (k8s.io/apiextensions-apiserver
// types_jsonschema.go). Everything else ($schema, $id, $comment, examples, ...) is dropped.
const KEPT = new Set([
  'type', 'format', 'title', 'description', 'default', 'enum', 'required', 'properties', 'items',
  'additionalProperties', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength',
  'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
  'multipleOf', 'nullable',
])

function typeOfValue(v) {
  if (Array.isArray(v)) return 'array'
  if (v === null) return undefined
  if (Number.isInteger(v)) return 'integer'
  return typeof v === 'object' ? 'object' : typeof v
}

function deref(schema, defs, seen) {
  if (!schema.$ref) return schema
  const name = schema.$ref.replace(/^#\/(definitions|\$defs)\//, '')
  if (!defs[name]) throw new Error(`${SCHEMA_PATH}: unresolvable $ref ${schema.$ref}`)
  if (seen.includes(name)) throw new Error(`${SCHEMA_PATH}: recursive $ref ${schema.$ref} cannot be a CRD schema`)
  const { $ref, ...siblings } = schema
  return { ...deref(defs[name], defs, [...seen, name]), ...siblings, __seen: [...seen, name] }
}

// toStructural translates one JSON Schema node into a structural OpenAPI v3 node.
export function toStructural(node, defs = {}, seen = []) {
  const s = deref(node, defs, seen)
  const path = s.__seen ?? seen
  const out = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const') out.enum = [v]
    else if (KEPT.has(k)) out[k] = v
  }
  if (!out.type) {
    const types = new Set((out.enum ?? []).map(typeOfValue))
    if (types.size === 1) out.type = [...types][0]
    else if (out.properties) out.type = 'object'
  }
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, toStructural(v, defs, path)]),
    )
  }
  if (out.items) out.items = toStructural(out.items, defs, path)
  // additionalProperties: false is JSON Schema's way to reject unknown fields; the API
  // server prunes them instead and forbids `false` here.
  // additionalProperties: true beside properties (a Container spec: we check `name`, the API
  // server the rest) keeps the other fields instead of pruning them.
  if (out.additionalProperties === true && out.properties) out['x-kubernetes-preserve-unknown-fields'] = true
  if (out.additionalProperties === false || out.additionalProperties === true) delete out.additionalProperties
  else if (out.additionalProperties) out.additionalProperties = toStructural(out.additionalProperties, defs, path)
  if (out.type === 'object' && !out.properties && !out.additionalProperties) {
    out['x-kubernetes-preserve-unknown-fields'] = true
  }
  if (!out.type) out['x-kubernetes-preserve-unknown-fields'] = true
  return out
}

// specSchema is the schema of `spec`: the policy schema's `properties.spec` when the
// file exists, otherwise a free-form object.
export function specSchema(schemaText) {
  if (schemaText === undefined) {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
  }
  const schema = JSON.parse(schemaText)
  const spec = schema.properties?.spec
  if (!spec) throw new Error(`${SCHEMA_PATH}: no properties.spec`)
  return toStructural(spec, schema.definitions ?? schema.$defs ?? {})
}

function crd({ kind, plural, short, scope }, spec) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'kube-postrender', 'app.kubernetes.io/part-of': 'kube-postrender' },
    },
    spec: {
      group: GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: short,
        categories: ['postrender'],
      },
      scope,
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: 'Order', type: 'integer', jsonPath: '.spec.order' },
          { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: `${kind}: a post-render policy (kube-postrender). Generated from ${SCHEMA_PATH}.`,
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec,
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      }],
    },
  }
}

const HEADER = `# Generated by scripts/gen-crds.mjs from ${SCHEMA_PATH}. Do not edit.\n`
const dump = (obj) => YAML.stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false })

// generate returns every generated file, keyed by its path relative to the repository.
export function generate(rootDir = root) {
  const schemaFile = join(rootDir, SCHEMA_PATH)
  const spec = specSchema(existsSync(schemaFile) ? readFileSync(schemaFile, 'utf8') : undefined)
  const crds = KINDS.map((k) => crd(k, spec))
  const files = {}
  for (const c of crds) {
    files[`charts/kube-postrender/crds/${GROUP}_${c.spec.names.plural}.yaml`] = HEADER + dump(c)
  }
  files['deploy/base/crds.yaml'] = HEADER + crds.map(dump).join('---\n')
  return files
}

function main(argv) {
  const files = generate()
  const check = argv.includes('--check')
  let stale = 0
  for (const [rel, text] of Object.entries(files)) {
    const file = join(root, rel)
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined
    if (current === text) continue
    if (check) {
      stale++
      console.error(`${rel}: stale, run node scripts/gen-crds.mjs`)
    } else {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, text)
      console.log(`wrote ${rel}`)
    }
  }
  process.exitCode = stale ? 1 : 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2))
