/**
 * Shared test helpers: read manifests the way Helm, kubectl and the conformance
 * scorer do (YAML 1.1), and compare streams exactly like
 * the shared `conformance-score` tool (objects matched by apiVersion, kind,
 * namespace and name; `*List` objects count as their items).
 */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** A value read by a YAML 1.1 reader: JSON plus `bigint` (beyond 2^53) and `{$timestamp}` markers for dates. */
export type Yaml11Value = null | boolean | number | bigint | string | Yaml11Value[] | { [k: string]: Yaml11Value };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Safe-range bigints become numbers; Dates become `{$timestamp: iso}` so they never equal a string. */
function normalise(v: unknown): Yaml11Value {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof Date) return { $timestamp: v.toISOString() };
  if (Array.isArray(v)) return v.map(normalise);
  if (isPlainObject(v)) {
    const out: { [k: string]: Yaml11Value } = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: normalise(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v as Yaml11Value;
}

/**
 * Parse a stream with the `yaml` package in YAML 1.1 mode (`yes` -> true,
 * `0755` -> 493, `<<` merges, dates), the way go-yaml v2 and PyYAML read it.
 * Null documents are dropped, as the scorer's `safe_load_all` filter does.
 * Throws the first parse error of any document.
 */
export function parseYaml11(text: string): Yaml11Value[] {
  const docs = parseAllDocuments(text, { version: '1.1', intAsBigInt: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: Yaml11Value[] = [];
  for (const d of list) {
    if (d.errors.length > 0) throw d.errors[0];
    const v = d.toJS({ maxAliasCount: 10_000 }) as unknown;
    if (v !== null && v !== undefined) out.push(normalise(v));
  }
  return out;
}

const PY_LOADER = `
import sys, json, datetime, yaml
def conv(v):
    if isinstance(v, bool) or v is None or isinstance(v, str): return v
    if isinstance(v, int):
        return v if abs(v) <= 9007199254740991 else {"$bigint": str(v)}
    if isinstance(v, float): return v
    if isinstance(v, (datetime.date, datetime.datetime)): return {"$timestamp": v.isoformat()}
    if isinstance(v, list): return [conv(x) for x in v]
    if isinstance(v, dict): return {str(k): conv(x) for k, x in v.items()}
    return {"$other": repr(v)}
out = []
for text in json.load(sys.stdin):
    try:
        out.append({"docs": [conv(d) for d in yaml.safe_load_all(text) if d is not None]})
    except Exception as e:
        out.append({"error": str(e).splitlines()[0] if str(e) else type(e).__name__})
json.dump(out, sys.stdout)
`;

/** True when `python3` with PyYAML can be run here. */
export function pyYamlAvailable(): boolean {
  const r = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Parse each text with PyYAML `safe_load_all` (YAML 1.1) in one python3 process.
 * Returns per text either the documents (null ones dropped; ints beyond 2^53 as
 * `bigint`, dates as `{$timestamp}`) or the first line of PyYAML's error.
 * Throws when python3 itself fails.
 */
export function parsePyYaml(texts: string[]): ({ docs: Yaml11Value[] } | { error: string })[] {
  const r = spawnSync('python3', ['-c', PY_LOADER], { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout, (_k, v: unknown) =>
    isPlainObject(v) && typeof v.$bigint === 'string' && Object.keys(v).length === 1 ? BigInt(v.$bigint) : v) as ({ docs: Yaml11Value[] } | { error: string })[];
}

/** A `*List` object counts as its items, recursively (as the scorer and kubectl read it). */
export function expandLists(docs: Yaml11Value[]): Yaml11Value[] {
  const out: Yaml11Value[] = [];
  for (const d of docs) {
    if (isPlainObject(d) && String(d.kind ?? '').endsWith('List') && Array.isArray(d.items)) out.push(...expandLists(d.items as Yaml11Value[]));
    else out.push(d);
  }
  return out;
}

/** The scorer's matching key: `[apiVersion, kind, namespace or '', name]` as a string; non-objects by their JSON. */
export function objectKey(d: Yaml11Value): string {
  if (!isPlainObject(d)) return `<non-object> ${show(d).slice(0, 40)}`;
  const md = isPlainObject(d.metadata) ? d.metadata : {};
  return `${show(d.apiVersion ?? null)} ${show(d.kind ?? null)} ${String(md.namespace || '')}/${show(md.name ?? null)}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  return s.length <= 80 ? s : s.slice(0, 77) + '...';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int-or-float' : 'float';
  return typeof v;
}

/**
 * The first difference between `got` and `want` as `$.path: reason`, or null
 * when equal (key order ignored, list order significant; `bigint` equals the
 * same integer as a number). Mirrors the scorer's `first_difference`.
 */
export function firstDifference(got: Yaml11Value | undefined, want: Yaml11Value | undefined, path = '$'): string | null {
  if ((typeof got === 'bigint' || typeof got === 'number') && (typeof want === 'bigint' || typeof want === 'number')) {
    // A number beyond 2^53 is itself approximate: compare it as a double.
    const same = typeof got === typeof want ? got === want || (Number.isNaN(got) && Number.isNaN(want)) : Number(got) === Number(want);
    return same ? null : `${path}: expected ${show(want)}, got ${show(got)}`;
  }
  if (typeName(got) !== typeName(want)) return `${path}: expected ${typeName(want)} ${show(want)}, got ${typeName(got)} ${show(got)}`;
  if (Array.isArray(got) && Array.isArray(want)) {
    for (let i = 0; i < Math.min(got.length, want.length); i++) {
      const d = firstDifference(got[i], want[i], `${path}[${i}]`);
      if (d) return d;
    }
    return got.length === want.length ? null : `${path}: expected ${want.length} items, got ${got.length}`;
  }
  if (isPlainObject(got) && isPlainObject(want)) {
    for (const k of [...new Set([...Object.keys(got), ...Object.keys(want)])].sort()) {
      if (!Object.prototype.hasOwnProperty.call(got, k)) return `${path}.${k}: missing (expected ${show(want[k])})`;
      if (!Object.prototype.hasOwnProperty.call(want, k)) return `${path}.${k}: unexpected ${show(got[k])}`;
      const d = firstDifference(got[k] as Yaml11Value, want[k] as Yaml11Value, `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return got === want ? null : `${path}: expected ${show(want)}, got ${show(got)}`;
}

/** Group documents by `objectKey`, lists expanded. */
export function groupByKey(docs: Yaml11Value[]): Map<string, Yaml11Value[]> {
  const out = new Map<string, Yaml11Value[]>();
  for (const d of expandLists(docs)) {
    const k = objectKey(d);
    out.set(k, [...(out.get(k) ?? []), d]);
  }
  return out;
}

/**
 * Compare two manifest streams as conformance-score does: both parsed as YAML
 * 1.1, objects matched by key, every object equal. Returns the first problem
 * (one line) or null. A parse error of `got` is reported, not thrown.
 */
export function compareStreams(gotText: string, wantText: string): string | null {
  let got: Map<string, Yaml11Value[]>;
  try {
    got = groupByKey(parseYaml11(gotText));
  } catch (e) {
    return `output is not valid YAML 1.1: ${String((e as Error).message).split('\n')[0]}`;
  }
  const want = groupByKey(parseYaml11(wantText));
  for (const k of want.keys()) if (!got.has(k)) return `object ${k} missing from output`;
  for (const k of got.keys()) if (!want.has(k)) return `unexpected object ${k} in output`;
  for (const [k, ws] of want) {
    const gs = got.get(k) as Yaml11Value[];
    if (gs.length !== ws.length) return `object ${k}: expected ${ws.length} copies, got ${gs.length}`;
    for (let i = 0; i < ws.length; i++) {
      const d = firstDifference(gs[i], ws[i]);
      if (d) return `object ${k}: ${d}`;
    }
  }
  return null;
}
