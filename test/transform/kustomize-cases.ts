/**
 * Test helper (not a test file): runs the conformance cases of
 * test/data/conformance/cases whose kustomization uses only the field-spec
 * transformers (namespace, labels, commonLabels, commonAnnotations, replicas,
 * images), in kustomize's order (kusttarget.go), and checks the laws.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import YAML from 'yaml';
import { deepEqual, isObject, resIdOf, type KubeObject } from '../../src/kube/object.js';
import { annotationsTransformer } from '../../src/transform/annotations.js';
import { imagesTransformer } from '../../src/transform/images.js';
import { commonLabelsTransformer, labelsTransformer } from '../../src/transform/labels.js';
import { namespaceTransformer } from '../../src/transform/namespace.js';
import { replicasTransformer } from '../../src/transform/replicas.js';
import { ConfigError, makeContext, type Transformer, type TransformContext, type TransformerFactory } from '../../src/transform/types.js';
import { deepFreeze, reapply } from '../helpers/laws.js';
import { createPatch } from '../../src/patch/create-patch.js';

export const CASES_DIR = new URL('../data/conformance/cases/', import.meta.url).pathname;

/** Fields of a kustomization this helper can run; anything else excludes the case. */
const OURS = ['namespace', 'labels', 'commonLabels', 'commonAnnotations', 'replicas', 'images'];
const IGNORED = ['apiVersion', 'kind', 'resources'];

/**
 * Cases that pin something other than these transformers: YAML input/output
 * quirks (160-179: anchors, printing, `kind: List`) and stream-level
 * checks such as duplicate ids (216) and invalid input YAML (225) belong to
 * the stream reader/printer.
 */
function notOurs(id: string): boolean {
  const n = Number(id.slice(0, 3));
  return (n >= 160 && n < 180) || n === 216 || n === 225;
}

export interface Case {
  id: string;
  kustomization: Record<string, unknown>;
  input: KubeObject[];
  expected?: KubeObject[];
  error?: string;
}

function docs(text: string, version: '1.1' | '1.2'): KubeObject[] {
  return YAML.parseAllDocuments(text, { version })
    .map((d) => d.toJS() as unknown)
    .filter((v): v is KubeObject => isObject(v));
}

/** Cases whose kustomization sets one of `fields` and nothing outside our transformers. */
export function loadCases(fields: readonly string[]): Case[] {
  const out: Case[] = [];
  for (const id of readdirSync(CASES_DIR).sort()) {
    const dir = join(CASES_DIR, id);
    if (notOurs(id) || !existsSync(join(dir, 'kustomization.yaml'))) continue;
    const k = YAML.parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
    const keys = Object.keys(k);
    if (!keys.every((f) => OURS.includes(f) || IGNORED.includes(f))) continue;
    if (!keys.some((f) => fields.includes(f))) continue;
    // kustomize reads its input as YAML 1.2 (go-yaml v3); the scorer reads output as 1.1.
    const input = docs(readFileSync(join(dir, 'input.yaml'), 'utf8'), '1.2');
    if (input.some((o) => typeof o.kind === 'string' && o.kind.endsWith('List'))) continue;
    // An input object without kind or name is refused by the stream reader (render.ts), not by a transformer (310-312).
    if (input.some((o) => !o.kind || !isObject(o.metadata) || !o.metadata.name)) continue;
    const c: Case = { id, kustomization: k, input };
    if (existsSync(join(dir, 'expected-error.txt'))) c.error = readFileSync(join(dir, 'expected-error.txt'), 'utf8');
    else c.expected = docs(readFileSync(join(dir, 'expected.yaml'), 'utf8'), '1.1');
    out.push(c);
  }
  return out;
}

/** Builds the transformers in kustomize's order: namespace, labels[], commonLabels, commonAnnotations, replicas, images. */
export function buildChain(k: Record<string, unknown>): Transformer[] {
  const chain: Transformer[] = [];
  if (k.namespace !== undefined) chain.push(namespaceTransformer(k.namespace, { name: 'namespace' }));
  if (Array.isArray(k.labels)) k.labels.forEach((l, i) => chain.push(labelsTransformer(l, { name: `labels[${i}]` })));
  if (k.commonLabels !== undefined) chain.push(commonLabelsTransformer(k.commonLabels, { name: 'commonLabels' }));
  if (k.commonAnnotations !== undefined) chain.push(annotationsTransformer(k.commonAnnotations, { name: 'commonAnnotations' }));
  if (k.replicas !== undefined) chain.push(replicasTransformer(k.replicas, { name: 'replicas' }));
  if (k.images !== undefined) chain.push(imagesTransformer(k.images, { name: 'images' }));
  return chain;
}

/**
 * Runs the chain transformer by transformer over the whole stream, as
 * kustomize does, and fails (throws) on an unsatisfied stream requirement.
 */
export function runChain(chain: readonly Transformer[], objects: readonly KubeObject[], ctxFor?: (stream: TransformContext['stream']) => TransformContext): KubeObject[] {
  const stream = objects.map((o) => resIdOf(o));
  let cur = [...objects];
  for (const t of chain) {
    const seen = new Set<string>();
    const ctx = ctxFor ? ctxFor(stream) : makeContext({ stream, satisfied: (key) => seen.add(key) });
    cur = cur.map((o) => {
      const r = t.apply(o, ctx);
      if (r === null) throw new Error(`${t.name} deleted an object`);
      return r;
    });
    for (const req of t.requirements ?? []) if (!ctxFor && !seen.has(req.key)) throw new Error(req.message);
  }
  return cur;
}

/** Object identity used by the conformance scorer: apiVersion, kind, namespace, name. */
export function idKey(o: KubeObject): string {
  const id = resIdOf(o);
  return `${String(o.apiVersion)}|${id.kind}|${id.namespace}|${id.name}`;
}

/** Recursively freezes a value (the laws: input is never mutated). */
/** One deepFreeze for every test (test/helpers/laws.ts), re-exported for the kustomize-case tests. */
export { deepFreeze };

/** Compares actual to expected objects by id; returns a list of problems (empty when equal). */
export function diffStreams(actual: readonly KubeObject[], expected: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const byId = new Map(actual.map((o) => [idKey(o), o]));
  if (byId.size !== expected.length) problems.push(`object count ${byId.size} != ${expected.length}`);
  for (const e of expected) {
    const a = byId.get(idKey(e));
    if (!a) problems.push(`missing ${idKey(e)}; have ${[...byId.keys()].join(', ')}`);
    else if (!deepEqual(a, e)) problems.push(`${idKey(e)} differs:\n${JSON.stringify(a)}\n!=\n${JSON.stringify(e)}`);
  }
  return problems;
}

/** Registers one tap subtest per case: expected output or error, plus the laws. */
export function runCases(t: Test, fields: readonly string[]): void {
  const cases = loadCases(fields);
  t.ok(cases.length > 0, `found conformance cases for ${fields.join(', ')}`);
  for (const c of cases) {
    t.test(c.id, async (t) => {
      const input = deepFreeze(structuredClone(c.input));
      if (c.error !== undefined) {
        t.throws(() => runChain(buildChain(c.kustomization), input), `kustomize refused: ${c.error.split('\n')[2]}`);
        return;
      }
      const once = runChain(buildChain(c.kustomization), input);
      t.same(diffStreams(once, c.expected!), [], 'matches kustomize');
      t.ok(deepEqual(input, c.input), 'input not mutated');
      const twice = runChain(buildChain(c.kustomization), deepFreeze(once));
      t.ok(deepEqual(twice, once), 'idempotent');
    });
  }
}

/** The ConfigError path `f` throws, or a description of what else happened (for table assertions). */
export function configErrorPath(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof ConfigError ? e.path : `not a ConfigError: ${String(e)}`;
  }
  return 'no error';
}

/** One unit row of a transformer table: a config, an input object and the wanted output. */
export interface UnitRow {
  name: string;
  config: unknown;
  input: KubeObject;
  want: KubeObject;
  /** The factory, when the table mixes transformer types. */
  factory?: TransformerFactory;
}

/**
 * Runs unit rows with the laws every transformer owes: the deep-frozen input
 * is not mutated, the result equals `want`, applying again changes nothing
 * (idempotence), the generated JSON patch (`createPatch`) re-applied to the
 * input gives the result, and an unchanged object comes back as the same reference.
 */
export function checkRows(t: Test, rows: readonly UnitRow[], factory?: TransformerFactory): void {
  for (const r of rows) {
    const make = r.factory ?? factory;
    if (!make) throw new Error(`${r.name}: no factory`);
    const tr = make(r.config, { name: 'x' });
    const input = deepFreeze(structuredClone(r.input));
    const once = tr.apply(input, makeContext()) as KubeObject;
    t.same(once, r.want, r.name);
    t.ok(deepEqual(tr.apply(once, makeContext()), once), `${r.name}: idempotent`);
    t.same(reapply(input, createPatch(input, once)), once, `${r.name}: createPatch re-applied == output`);
    if (deepEqual(r.input, r.want)) t.equal(once, input, `${r.name}: same reference when unchanged`);
  }
}
