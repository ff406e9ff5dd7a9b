// Table test over the strategic-merge conformance cases of test/data/conformance:
// every case whose kustomization only holds strategic merge patches
// (`patches` / `patchesStrategicMerge`) with simple targets is replayed here with
// strategicMerge() alone. Target selection beyond kind/name/group/version and
// k=v label selectors, and stream-level errors (a no-target patch matching
// nothing), belong to the patch transformer and are skipped with a reason.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { normalizeForOutput, parseManifests } from '../../src/kube/yaml-stream.js';
import { deepEqual, isObject, metaMap, metaString } from '../../src/kube/object.js';
import type { JsonObject } from '../../src/kube/object.js';
import { PatchError, strategicMerge } from '../../src/patch/smp.js';

const CASES = new URL('../data/conformance/cases/', import.meta.url).pathname;

interface Target { group?: string; version?: string; kind?: string; name?: string; labelSelector?: string }
interface Step { patch: JsonObject; target?: Target }

const SMP_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'patchesStrategicMerge']);
const TARGET_FIELDS = new Set(['group', 'version', 'kind', 'name', 'labelSelector']);

/** The input as `run` reads it: empty nulls recorded (src/kube/empty-nulls.ts), which kyaml's merge clears (320-322). */
function docs(text: string): JsonObject[] {
  return parseManifests(text, { emptyNulls: true }).map((d) => d.value as unknown).filter(isObject) as JsonObject[];
}

/** The SMP steps of a kustomization, in kustomize order (patchesStrategicMerge, then patches), or a skip reason. */
function stepsOf(dir: string, k: JsonObject): Step[] | string {
  for (const f of Object.keys(k)) if (!SMP_FIELDS.has(f)) return `uses ${f}`;
  const steps: Step[] = [];
  const missing = [...((k.patches ?? []) as JsonObject[]).map((e) => e.path), ...((k.patchesStrategicMerge ?? []) as string[])]
    .filter((p): p is string => typeof p === 'string' && !/\n/.test(p) && !/^\s*\w+:/.test(p) && !existsSync(join(dir, p)));
  if (missing.length > 0) return 'patch file missing';
  const read = (p: string): string => readFileSync(join(dir, p), 'utf8');
  for (const e of (k.patchesStrategicMerge ?? []) as string[]) {
    const text = /\n/.test(e) || /^\s*\w+:/.test(e) ? e : read(e);
    for (const p of docs(text)) steps.push({ patch: p });
  }
  for (const e of (k.patches ?? []) as JsonObject[]) {
    const text = typeof e.patch === 'string' ? e.patch : typeof e.path === 'string' ? read(e.path) : '';
    const all = YAML.parseAllDocuments(text);
    if (all.some((d) => d.errors.length > 0)) return 'invalid YAML';
    const parsed = all.map((d) => d.toJS() as unknown);
    if (parsed.length === 0 || !parsed.every((p) => isObject(p) && p.apiVersion !== undefined && p.kind !== undefined)) {
      return 'not a strategic merge patch (JSON6902, empty, or without apiVersion/kind)';
    }
    let target: Target | undefined;
    if (isObject(e.target)) {
      for (const f of Object.keys(e.target)) if (!TARGET_FIELDS.has(f)) return `target.${f}`;
      target = e.target as Target;
      if (target.labelSelector !== undefined && !/^[\w./-]+=[\w.-]+(,[\w./-]+=[\w.-]+)*$/.test(target.labelSelector)) {
        return 'set-based label selector';
      }
    }
    for (const p of parsed as JsonObject[]) steps.push({ patch: p, target });
  }
  return steps;
}

const anchored = (re: string, v: string): boolean => new RegExp(`^(?:${re})$`).test(v);

function matchesTarget(obj: JsonObject, tg: Target): boolean {
  const [g, v] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)];
  if (tg.group !== undefined && !anchored(tg.group, g as string)) return false;
  if (tg.version !== undefined && !anchored(tg.version, v as string)) return false;
  if (tg.kind !== undefined && !anchored(tg.kind, String(obj.kind))) return false;
  if (tg.name !== undefined && !anchored(tg.name, metaString(obj, 'name'))) return false;
  if (tg.labelSelector !== undefined) {
    const labels = metaMap(obj, 'labels');
    for (const kv of tg.labelSelector.split(',')) {
      const [lk, lv] = kv.split('=');
      if (labels[lk as string] !== lv) return false;
    }
  }
  return true;
}

const idOf = (o: JsonObject): string => `${String(o.apiVersion)}|${String(o.kind)}|${metaString(o, 'namespace')}|${metaString(o, 'name')}`;

/** Applies the steps as kustomize's patch transformer would; throws 'NO_MATCH' for a stream-level error. */
function run(objects: (JsonObject | null)[], steps: Step[]): JsonObject[] {
  let objs = objects;
  for (const { patch, target } of steps) {
    let matched = 0;
    objs = objs.map((o) => {
      if (o === null) return o;
      if (target) {
        if (!matchesTarget(o, target)) return o;
        matched++;
        const md = isObject(patch.metadata) ? patch.metadata : {};
        const ns = metaString(o, 'namespace');
        const metadata: JsonObject = { ...md, name: metaString(o, 'name'), ...(ns ? { namespace: ns } : {}) };
        if (!ns) delete metadata.namespace;
        return strategicMerge(o, { ...patch, apiVersion: o.apiVersion ?? null, kind: o.kind ?? null, metadata });
      }
      if (idOf(o) !== idOf(patch)) return o;
      matched++;
      return strategicMerge(o, patch);
    });
    if (!target && matched === 0) throw new Error('NO_MATCH');
  }
  return objs.filter((o): o is JsonObject => o !== null);
}

const names = existsSync(CASES) ? readdirSync(CASES).sort() : [];
if (names.length === 0) t.comment('conformance cases not found at ' + CASES);

const covered: string[] = [];
for (const name of names) {
  const dir = join(CASES, name);
  const kPath = join(dir, 'kustomization.yaml');
  if (!existsSync(kPath)) continue;
  const k = YAML.parse(readFileSync(kPath, 'utf8')) as JsonObject;
  if (!k.patches && !k.patchesStrategicMerge) continue;
  const steps = stepsOf(dir, k);
  if (typeof steps === 'string') continue; // transformer-level (see file header)
  const input = docs(readFileSync(join(dir, 'input.yaml'), 'utf8'));
  const errPath = join(dir, 'expected-error.txt');
  if (existsSync(errPath)) {
    let err: unknown;
    try { run(input, steps); } catch (e) { err = e; }
    if (err instanceof Error && err.message === 'NO_MATCH') continue; // stream-level: the patch transformer's
    covered.push(name);
    t.test(name, async (tt) => {
      tt.ok(err instanceof PatchError, `throws PatchError (${String(err)})`);
    });
    continue;
  }
  covered.push(name);
  t.test(name, async (tt) => {
    const expected = docs(readFileSync(join(dir, 'expected.yaml'), 'utf8'));
    // As `run` prints them (an empty or null metadata.annotations is dropped, finding 39).
    const got = run(input, steps).map((o) => normalizeForOutput(o));
    const byId = new Map(got.map((o) => [idOf(o), o]));
    tt.same([...byId.keys()].sort(), expected.map(idOf).sort(), 'same objects');
    for (const e of expected) {
      const g = byId.get(idOf(e));
      tt.ok(g !== undefined && deepEqual(g, e), `${idOf(e)} equals expected.yaml`);
      if (g !== undefined && !deepEqual(g, e)) tt.same(g, e);
    }
  });
}
t.test('covers the SMP conformance cases', async (tt) => {
  if (names.length === 0) return tt.pass('no cases');
  for (const must of ['001', '006', '008', '034', '035', '036', '040', '043', '044', '046', '048', '203', '204', '215']) {
    tt.ok(covered.some((c) => c.startsWith(must)), `case ${must} covered`);
  }
});
