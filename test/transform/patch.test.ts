/**
 * The patch transformers against every conformance case whose kustomization
 * uses only `patchesStrategicMerge`, `patches` and `patchesJson6902` (run in
 * kustomize's order, finding 32), plus unit rows for config errors and the
 * admission-side behaviour. Laws per row: frozen input is not mutated; JSON6902
 * results equal fast-json-patch's wherever no evanphx leniency is involved.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import fjp from 'fast-json-patch';
import { deepClone, deepEqual, isObject, resIdOf, formatResId, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { compileTarget } from '../../src/kube/selector.js';
import { parseManifests, normalizeForOutput } from '../../src/kube/yaml-stream.js';
import { applyJson6902, type Json6902Op } from '../../src/patch/json6902.js';
import { parsePatchText } from '../../src/patch/patch-text.js';
import { patchesJson6902Transformer, patchesStrategicMergeTransformer, patchTransformer } from '../../src/transform/patch.js';
import { ConfigError, makeContext, TransformError, type Transformer, type TransformerFactory } from '../../src/transform/types.js';
import { deepFreeze } from '../helpers/laws.js';

const CASES_DIR = new URL('../data/conformance/cases/', import.meta.url).pathname;
const FIELDS: [string, TransformerFactory][] = [
  ['patchesStrategicMerge', patchesStrategicMergeTransformer],
  ['patches', patchTransformer],
  ['patchesJson6902', patchesJson6902Transformer],
];
const IGNORED = ['apiVersion', 'kind', 'resources'];

/** Cases where evanphx v4 is deliberately more lenient than RFC 6902 / fast-json-patch (findings 9-12). */
const LENIENT = new Set([
  '065-json6902-replace-missing-key-adds', '066-json6902-copy-from-missing-yields-null', '067-json6902-invalid-escape-kept-literally',
  '180-json6902-path-without-leading-slash', '181-json6902-add-without-value-yields-null',
]);


const key = (o: KubeObject): string => formatResId(resIdOf(o));

interface Row {
  id: string;
  dir: string;
  k: Record<string, unknown>;
}

function rows(): Row[] {
  if (!existsSync(CASES_DIR)) return [];
  const out: Row[] = [];
  for (const id of readdirSync(CASES_DIR).sort()) {
    const dir = join(CASES_DIR, id);
    if (!existsSync(join(dir, 'kustomization.yaml'))) continue;
    const k = YAML.parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
    const keys = Object.keys(k);
    if (!keys.some((f) => FIELDS.some(([n]) => n === f))) continue;
    if (!keys.every((f) => IGNORED.includes(f) || FIELDS.some(([n]) => n === f))) continue;
    out.push({ id, dir, k });
  }
  return out;
}

/** One built transformer, with its JSON6902 ops and target when it has them (for the fast-json-patch law). */
interface Built {
  tr: Transformer;
  ops?: Json6902Op[];
  target?: Record<string, string>;
}

/** Builds the transformers of a kustomization, in kustomize's order. Throws ConfigError. */
function build(r: Row): Built[] {
  const out: Built[] = [];
  for (const [field, factory] of FIELDS) {
    const entries = r.k[field];
    if (!Array.isArray(entries)) continue;
    entries.forEach((e: Record<string, unknown>, i) => {
      const tr = factory(e, { name: `${field}[${i}]`, baseDir: r.dir, readFile: (p) => readFileSync(join(r.dir, p), 'utf8') });
      const b: Built = { tr };
      if (field !== 'patchesStrategicMerge' && typeof e.patch === 'string' && isObject(e.target)) {
        const p = parsePatchText(e.patch.trim());
        if (p.type === 'json6902') Object.assign(b, { ops: p.ops, target: e.target });
      }
      out.push(b);
    });
  }
  return out;
}

/**
 * Runs the transformers over the stream as `run` would; throws on a transform
 * error or an unmet requirement. `law` sees every object a JSON6902 entry matches,
 * before it is patched.
 */
function runStream(bs: Built[], input: KubeObject[], law: (b: Built, o: KubeObject) => void): KubeObject[] {
  let objs = input;
  for (const b of bs) {
    const sat = new Set<string>();
    const next: KubeObject[] = [];
    const match = b.target ? compileTarget(b.target) : undefined;
    for (const o of objs) {
      if (match?.(o)) law(b, o);
      const ctx = makeContext({ namespace: resIdOf(o).namespace, satisfied: (k) => sat.add(k) });
      const r = b.tr.apply(o, ctx);
      if (r !== null) next.push(r);
    }
    for (const req of b.tr.requirements ?? []) if (!sat.has(req.key)) throw new Error(req.message);
    objs = next;
  }
  return objs;
}

/** Outcome of a patch function: the result or the fact that it threw. */
function attempt(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

const all = rows();

t.test('conformance cases (patches only)', async (t) => {
  t.ok(all.length >= 60, `found ${all.length} cases`);
  for (const r of all) {
    t.test(r.id, async (t) => {
      const expectError = existsSync(join(r.dir, 'expected-error.txt'));
      // As `run` reads it: empty nulls recorded (kyaml's merge clears them, 320-322).
      const input = parseManifests(readFileSync(join(r.dir, 'input.yaml'), 'utf8'), { emptyNulls: true }).map((d) => d.value as KubeObject);
      const snapshot = deepClone(input);
      deepFreeze(input);
      let got: KubeObject[] | undefined;
      let err: unknown;
      let lawChecks = 0;
      // Law: applyJson6902 equals fast-json-patch (both succeed with the same
      // result, or both fail) except in the cases pinning evanphx leniencies.
      const law = (b: Built, o: KubeObject): void => {
        if (LENIENT.has(r.id)) return;
        const ours = attempt(() => applyJson6902(o, b.ops!));
        const theirs = attempt(() => fjp.applyPatch(deepClone(o), deepClone(b.ops!) as never, true, false).newDocument);
        lawChecks++;
        t.equal(ours.ok, theirs.ok, `fast-json-patch agrees on success for ${key(o)}`);
        if (ours.ok && theirs.ok) t.ok(deepEqual(ours.value as JsonObject, theirs.value as JsonObject), `fast-json-patch agrees on ${key(o)}`);
      };
      try {
        got = runStream(build(r), input, law);
      } catch (e) {
        err = e;
      }
      t.comment(`${lawChecks} fast-json-patch comparisons`);
      t.ok(deepEqual(input, snapshot), 'frozen input untouched');
      if (expectError) {
        t.ok(err instanceof Error, `refused: ${err instanceof Error ? err.message : 'no error'}`);
        return;
      }
      if (err) throw err;
      const expected = YAML.parseAllDocuments(readFileSync(join(r.dir, 'expected.yaml'), 'utf8'), { version: '1.1' })
        .map((d) => d.toJS() as unknown)
        .filter((v): v is KubeObject => isObject(v));
      const mine = new Map(got!.map((o) => [key(o), JSON.parse(JSON.stringify(normalizeForOutput(o))) as unknown]));
      t.same([...mine.keys()].sort(), expected.map(key).sort(), 'same objects');
      for (const e of expected) t.strictSame(mine.get(key(e)), e, key(e));
    });
  }
});

const dep = (): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
});

t.test('config errors', async (t) => {
  const rowsE: [string, TransformerFactory, unknown, string, ((p: string) => string)?][] = [
    ['unknown entry field', patchTransformer, { patch: '[]', bogus: 1 }, 'bogus'],
    ['unknown target field (228)', patchTransformer, { target: { kindd: 'X' }, patch: '[]' }, 'target.kindd'],
    ['target field not a string', patchTransformer, { target: { kind: 3 }, patch: '[]' }, 'target.kind'],
    ['unknown option', patchTransformer, { target: { kind: 'X' }, patch: '[]', options: { allowEverything: true } }, 'options.allowEverything'],
    ['option not a boolean', patchTransformer, { target: { kind: 'X' }, patch: '[]', options: { allowNameChange: 'yes' } }, 'options.allowNameChange'],
    ['empty patch (220)', patchTransformer, { target: { kind: 'X' }, patch: '  ' }, ''],
    ['patch and path', patchTransformer, { patch: '[]', path: 'p.yaml' }, ''],
    ['missing file (210)', patchTransformer, { path: 'nope.yaml' }, 'path', () => { throw new Error('ENOENT'); }],
    ['no reader', patchTransformer, { path: 'nope.yaml' }, 'path'],
    ['JSON6902 without target (206)', patchTransformer, { patch: '- {op: add, path: /a, value: 1}' }, 'target'],
    ['single op as a map (222)', patchTransformer, { target: { kind: 'X' }, patch: 'op: add\npath: /a\nvalue: 1' }, 'patch'],
    ['invalid YAML (212)', patchTransformer, { patch: 'kind: A\nmetadata:\n  name: a\n spec: [x' }, 'patch'],
    ['SMP without name', patchTransformer, { target: { kind: 'X' }, patch: 'kind: A\nspec: {}' }, 'patch'],
    ['two SMP docs with a target', patchTransformer, { target: { kind: 'X' }, patch: 'kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}' }, 'patch'],
    ['only separators: both kinds', patchTransformer, { target: { kind: 'X' }, patch: '---\n---' }, 'patch'],
    ['invalid regex (214)', patchTransformer, { target: { name: 'web[' }, patch: '[]' }, 'target.name'],
    ['invalid selector (224)', patchTransformer, { target: { annotationSelector: 'team in payments' }, patch: '[]' }, 'target.annotationSelector'],
    ['psm not a string', patchesStrategicMergeTransformer, { a: 1 }, ''],
    ['psm missing file', patchesStrategicMergeTransformer, 'nope.yaml', '', () => { throw new Error('ENOENT'); }],
    ['pj no target (211)', patchesJson6902Transformer, { patch: '- {op: add, path: /a, value: 1}' }, 'target'],
    ['pj target without name', patchesJson6902Transformer, { target: { kind: 'Deployment' }, patch: '- {op: add, path: /a}' }, 'target.name'],
    ['pj empty ops', patchesJson6902Transformer, { target: { name: 'web' }, patch: '[]' }, 'patch'],
    ['pj SMP text', patchesJson6902Transformer, { target: { name: 'web' }, patch: 'kind: A\nmetadata: {name: a}' }, 'patch'],
  ];
  for (const [name, factory, config, path, readFile] of rowsE) {
    t.test(name, async (t) => {
      const e = t.throws(() => factory(config, { name: 'p', readFile })) as unknown;
      t.ok(e instanceof ConfigError, 'a ConfigError');
      t.equal((e as ConfigError).path, path, 'path');
    });
  }
});

t.test('a JSON6902 list no document can take is refused at load (kustomize fails when it applies it)', async (t) => {
  // [factory, config, field, message]: evanphx's message for the op, prefixed with its index.
  const rows: [TransformerFactory, unknown, string, string][] = [
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: frob, path: /a, value: 1}' }, 'patch', 'operation 0: Unexpected kind: frob'],
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: add, path: /a, value: 1}\n- {path: /b}' }, 'patch', 'operation 1: Unexpected kind: unknown'],
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: move, path: /a}' }, 'patch', 'operation 0: move operation failed to decode from: operation, missing from field: missing value'],
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: copy, from: /a}' }, 'patch', 'operation 0: copy operation failed to decode path: missing value'],
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: remove}' }, 'patch', 'operation 0: remove operation failed to decode path: missing value'],
    [patchTransformer, { target: { kind: 'X' }, patch: '- {op: replace, path: [a], value: 1}' }, 'patch', 'operation 0: replace operation failed to decode path: operation missing path field: json: cannot unmarshal array into Go value of type string'],
    [patchesJson6902Transformer, { target: { name: 'web' }, patch: '- {op: test, value: 1}' }, 'patch', 'operation 0: test operation failed to decode path: operation missing path field: missing value'],
  ];
  for (const [factory, config, field, message] of rows) {
    const e = t.throws(() => factory(config, { name: 'p' }), message) as unknown;
    t.ok(e instanceof ConfigError, `${message}: a ConfigError`);
    t.equal((e as ConfigError).path, field, `${message}: at ${field}`);
    t.equal((e as ConfigError).message.endsWith(message), true, `${message}: the message`);
  }
  // What only a document decides stays an apply-time error: add without value (null), test on a missing path.
  t.doesNotThrow(() => patchTransformer({ target: { kind: 'X' }, patch: '- {op: add, path: /a}\n- {op: test, path: /missing, value: 1}' }, { name: 'p' }));
});

t.test('apply behaviour', async (t) => {
  const ctxProd = (sat?: Set<string>) => makeContext({ namespace: 'prod', satisfied: (k) => sat?.add(k) });
  t.test('unmatched object returned as is (same reference)', async (t) => {
    const o = deepFreeze(dep());
    const tr = patchTransformer({ target: { kind: 'Service' }, patch: '- {op: add, path: /x, value: 1}' }, { name: 'p' });
    t.equal(tr.apply(o, ctxProd()), o);
    t.equal(tr.name, 'p');
    t.equal(tr.type, 'patch');
  });
  t.test('admission namespace comes from ctx.namespace', async (t) => {
    const o = deepFreeze({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' } });
    const tr = patchTransformer({ target: { namespace: 'team-a' }, patch: '- {op: add, path: /metadata/labels, value: {a: b}}' }, { name: 'p' });
    t.same(tr.apply(o, makeContext({ namespace: 'team-a' }))?.metadata, { generateName: 'web-', labels: { a: 'b' } });
    t.equal(tr.apply(o, makeContext({ namespace: 'other' })), o);
  });
  t.test('no-target SMP: namespace match and requirement (finding 8)', async (t) => {
    const tr = patchTransformer({ patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}' }, { name: 'p' });
    t.equal(tr.requirements?.length, 1);
    t.match(tr.requirements?.[0].message, /no resource matches strategic merge patch "Deployment\.v1\.apps\/web\.\[noNs\]"/);
    const sat = new Set<string>();
    const o = deepFreeze(dep());
    t.equal(tr.apply(o, ctxProd(sat)), o, 'prod object not matched by a patch without namespace');
    t.equal(sat.size, 0);
    const inDefault = deepFreeze({ ...dep(), metadata: { name: 'web', namespace: 'default' } });
    t.equal(tr.apply(inDefault, makeContext({ namespace: 'default', satisfied: (k) => sat.add(k) }))?.spec && sat.size, 1, "'' equals default (kustomize IsNsEquals)");
  });
  t.test('JSON6902 error becomes a TransformError with the path', async (t) => {
    const tr = patchTransformer({ target: { kind: 'Deployment' }, patch: '- {op: test, path: /spec/replicas, value: 9}' }, { name: 'p' });
    const e = t.throws(() => tr.apply(deepFreeze(dep()), ctxProd())) as unknown;
    t.ok(e instanceof TransformError);
    t.equal((e as TransformError).path, '/spec/replicas');
  });
  t.test('targeted SMP keeps kind, name and namespace unless allowed', async (t) => {
    const patch = 'kind: StatefulSet\nmetadata: {name: renamed, namespace: other, labels: {x: y}}';
    const keep = patchTransformer({ target: { kind: 'Deployment' }, patch }, { name: 'p' }).apply(deepFreeze(dep()), ctxProd());
    t.same(keep?.kind, 'Deployment');
    t.same(keep?.metadata, { name: 'web', namespace: 'prod', labels: { app: 'web', x: 'y' } });
    const allow = patchTransformer({ target: { kind: 'Deployment' }, patch, options: { allowNameChange: true, allowKindChange: true } }, { name: 'p' })
      .apply(deepFreeze(dep()), ctxProd());
    t.same(allow?.kind, 'StatefulSet');
    t.same(allow?.metadata, { name: 'renamed', namespace: 'prod', labels: { app: 'web', x: 'y' } });
  });
  t.test('patch file read through opts.readFile; psm inline vs path', async (t) => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec: {replicas: 4}';
    const read: string[] = [];
    const readFile = (p: string): string => { read.push(p); return text; };
    const a = patchTransformer({ path: 'p.yaml' }, { name: 'p', readFile }).apply(deepFreeze(dep()), ctxProd());
    const b = patchesStrategicMergeTransformer('p.yaml', { name: 'p', readFile }).apply(deepFreeze(dep()), ctxProd());
    const c = patchesStrategicMergeTransformer(text, { name: 'p', readFile }).apply(deepFreeze(dep()), ctxProd());
    t.same(read, ['p.yaml', 'p.yaml'], 'inline psm text is not read as a file');
    for (const r of [a, b, c]) t.equal((r?.spec as JsonObject).replicas, 4);
  });
  t.test('prototype keys are data', async (t) => {
    const tr = patchTransformer({ target: { kind: 'Deployment' }, patch: '[{"op":"add","path":"/metadata/labels/__proto__","value":{"polluted":true}}]' }, { name: 'p' });
    const r = tr.apply(deepFreeze(dep()), ctxProd());
    const labels = (r?.metadata as JsonObject).labels as JsonObject;
    t.ok(Object.prototype.hasOwnProperty.call(labels, '__proto__'));
    t.equal(({} as Record<string, unknown>).polluted, undefined);
    t.equal(Object.getPrototypeOf(labels), Object.prototype);
  });
});
