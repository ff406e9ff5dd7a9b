#!/usr/bin/env node
// Generates src/patch/k8s-patch-meta.generated.ts: the strategic-merge metadata
// of the built-in Kubernetes types, read from the Kubernetes OpenAPI v2 document
// (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key,
// x-kubernetes-list-type, x-kubernetes-list-map-keys, and
// x-kubernetes-group-version-kind for the roots). See docs/patch-metadata.md.
//
// Usage: node scripts/gen-k8s-patch-meta.mjs [swaggerPath] [--stdout]
//   swaggerPath defaults to test/data/k8s/swagger.json (relative to the repo root).
//
// Only definitions reachable from a GVK root are kept, and only the fields that
// matter to a strategic merge: fields carrying list/patch metadata, and object,
// array-item or map-value references leading (transitively) to such fields.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = resolve(root, 'src/patch/k8s-patch-meta.generated.ts');

/** Reads a ref from a property: `$ref`, or a single `allOf` entry. */
function refOf(p) {
  if (!p) return undefined;
  if (typeof p.$ref === 'string') return p.$ref.replace('#/definitions/', '');
  if (Array.isArray(p.allOf) && p.allOf.length === 1) return refOf(p.allOf[0]);
  return undefined;
}

/** Builds the table object from a parsed swagger document. Deterministic (sorted keys). */
export function buildTable(swagger) {
  const defs = swagger.definitions ?? {};
  // Raw field metadata per definition.
  const raw = new Map();
  for (const [name, def] of Object.entries(defs)) {
    const fields = {};
    for (const [f, p] of Object.entries(def.properties ?? {})) {
      const e = {};
      if (p.type === 'array') {
        e.list = true;
        const r = refOf(p.items);
        if (r) e.ref = r;
      } else if (p.type === 'object' && p.additionalProperties) {
        const r = refOf(p.additionalProperties);
        if (r) { e.values = true; e.ref = r; }
      } else {
        const r = refOf(p);
        if (r) e.ref = r;
      }
      if (p['x-kubernetes-patch-strategy']) e.strategy = p['x-kubernetes-patch-strategy'];
      if (p['x-kubernetes-patch-merge-key']) e.mergeKey = p['x-kubernetes-patch-merge-key'];
      const lt = p['x-kubernetes-list-type'];
      if (lt && lt !== 'atomic') e.listType = lt;
      const mk = p['x-kubernetes-list-map-keys'];
      if (Array.isArray(mk) && mk.length) e.mapKeys = mk;
      // Server-side apply (structured-merge-diff): a list without a map/set
      // list-type is atomic, and so is a map or struct with
      // x-kubernetes-map-type: atomic (on the field or on the referenced
      // definition). MutatingAdmissionPolicy ApplyConfiguration refuses them.
      const atomicDef = (r) => Boolean(r && defs[r]?.['x-kubernetes-map-type'] === 'atomic');
      if (p.type === 'array') {
        if (!e.listType) e.atomic = true;
        if (atomicDef(refOf(p.items))) e.itemAtomic = true;
      } else if (p['x-kubernetes-map-type'] === 'atomic' || atomicDef(e.ref)) {
        e.atomic = true;
      }
      fields[f] = e;
    }
    raw.set(name, fields);
  }
  const hasMeta = (e) => Boolean(e.strategy || e.mergeKey || e.listType || e.mapKeys || e.atomic || e.itemAtomic);
  // Fixed point: a definition is interesting when a field has metadata or refers to an interesting definition.
  const interesting = new Set();
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, fields] of raw) {
      if (interesting.has(name)) continue;
      if (Object.values(fields).some((e) => hasMeta(e) || (e.ref && interesting.has(e.ref)))) {
        interesting.add(name);
        changed = true;
      }
    }
  }
  // GVK roots (definitions with exactly one GVK: multi-GVK ones are DeleteOptions, WatchEvent, ...).
  const gvks = {};
  for (const [name, def] of Object.entries(defs)) {
    const list = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(list) || list.length !== 1) continue;
    const { group, version, kind } = list[0];
    if (kind.endsWith('List') && def.properties?.items) continue; // *List kinds are read as their items
    gvks[`${group}/${version}/${kind}`] = name;
  }
  // Reachable interesting definitions from the roots.
  const keep = new Set();
  const stack = Object.values(gvks).filter((n) => interesting.has(n));
  while (stack.length) {
    const n = stack.pop();
    if (keep.has(n)) continue;
    keep.add(n);
    for (const e of Object.values(raw.get(n) ?? {})) if (e.ref && interesting.has(e.ref)) stack.push(e.ref);
  }
  // Short, unique names: drop the `io.k8s.` prefix and the `api.` of core API groups.
  const short = new Map();
  const used = new Set();
  for (const n of [...keep].sort()) {
    let s = n.replace(/^io\.k8s\.api\./, '').replace(/^io\.k8s\.apimachinery\.pkg\.apis\./, '').replace(/^io\.k8s\./, '');
    if (used.has(s)) s = n;
    used.add(s);
    short.set(n, s);
  }
  const outDefs = {};
  for (const n of [...keep].sort()) {
    const fields = {};
    for (const f of Object.keys(raw.get(n)).sort()) {
      const e = raw.get(n)[f];
      const refKept = e.ref && keep.has(e.ref);
      if (!hasMeta(e) && !refKept) continue;
      const o = {};
      if (refKept) o.ref = short.get(e.ref);
      if (e.list) o.list = true;
      if (e.values && refKept) o.values = true;
      for (const k of ['strategy', 'mergeKey', 'listType', 'mapKeys', 'atomic', 'itemAtomic']) if (e[k]) o[k] = e[k];
      fields[f] = o;
    }
    outDefs[short.get(n)] = fields;
  }
  const outGvks = {};
  for (const k of Object.keys(gvks).sort()) outGvks[k] = keep.has(gvks[k]) ? short.get(gvks[k]) : '';
  return { gvks: outGvks, defs: outDefs };
}

/** Renders the generated TypeScript module for a table. */
export function render(table, source) {
  return `// GENERATED by scripts/gen-k8s-patch-meta.mjs from ${source}. DO NOT EDIT.
// Regenerate with \`npm run gen:k8s-patch-meta\` (see docs/patch-metadata.md).
import type { PatchMetaTable } from './patch-meta.js';

/**
 * Strategic-merge metadata of the built-in Kubernetes types, from the Kubernetes
 * OpenAPI v2 document: \`gvks\` maps \`group/version/kind\` to a definition name
 * ('' when the kind has no field that matters to a merge); \`defs\` maps a
 * definition to its fields carrying patch/list metadata or leading to some.
 * JSON text, parsed once at load: V8 reads ~80 KB of JSON several times faster,
 * and with less memory, than the same object literal compiled as code (every
 * CLI start loads this module).
 */
export const K8S_PATCH_META = JSON.parse(${JSON.stringify(JSON.stringify(table))}) as PatchMetaTable;
`;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const toStdout = args.includes('--stdout');
  const swaggerPath = resolve(root, args.find((a) => !a.startsWith('--')) ?? 'test/data/k8s/swagger.json');
  const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8'));
  const text = render(buildTable(swagger), relative(root, swaggerPath));
  if (toStdout) process.stdout.write(text);
  else {
    writeFileSync(OUT, text);
    process.stderr.write(`wrote ${OUT} (${text.length} bytes)\n`);
  }
}
