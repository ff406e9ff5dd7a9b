/**
 * The cel-spec conformance suite (as shipped by @bufbuild/cel-spec) run on
 * the CEL engine with Kubernetes' options (optional types on). Protobuf
 * message tests, and extensions Kubernetes does not enable, cannot pass; the
 * floor guards against regressions of the core language. The pass rate per
 * section is recorded in docs/cel.md.
 */
import t from 'tap';
import { tests } from '@bufbuild/cel-spec/testdata/conformance.js';
import { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';

interface SpecValue {
  [k: string]: unknown;
}
interface SpecTest {
  original: { name?: string; expr: string; value?: SpecValue; evalError?: unknown; typeEnv?: { name: string; ident?: { type?: SpecType } }[]; bindings?: Record<string, { value: SpecValue }>; disableCheck?: boolean; checkOnly?: boolean; container?: string; typedResult?: { result: SpecValue } };
}
interface SpecType {
  primitive?: string;
  listType?: { elemType?: SpecType };
  mapType?: { keyType?: SpecType; valueType?: SpecType };
  messageType?: string;
  wellKnown?: string;
}
interface Suite {
  name: string;
  tests?: SpecTest[];
  suites?: Suite[];
}

const PRIMITIVE: Record<string, string> = { INT64: 'int', UINT64: 'uint', DOUBLE: 'double', STRING: 'string', BOOL: 'bool', BYTES: 'bytes' };

function typeName(ty: SpecType | undefined): string {
  if (!ty) return 'dyn';
  if (ty.primitive) return PRIMITIVE[ty.primitive];
  if (ty.listType) return `list<${typeName(ty.listType.elemType)}>`;
  if (ty.mapType) return `map<${typeName(ty.mapType.keyType)}, ${typeName(ty.mapType.valueType)}>`;
  if (ty.wellKnown === 'DURATION') return 'google.protobuf.Duration';
  if (ty.wellKnown === 'TIMESTAMP') return 'google.protobuf.Timestamp';
  if (ty.messageType) throw new Error('protobuf message');
  return 'dyn';
}

function toJs(v: SpecValue): unknown {
  if ('int64Value' in v) return BigInt(v.int64Value as string);
  if ('uint64Value' in v) return new UnsignedInt(BigInt(v.uint64Value as string));
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('nullValue' in v) return null;
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue as string, 'base64'));
  if ('listValue' in v) return ((v.listValue as { values?: SpecValue[] }).values ?? []).map(toJs);
  if ('mapValue' in v) return new Map(((v.mapValue as { entries?: { key: SpecValue; value: SpecValue }[] }).entries ?? []).map((e) => [toJs(e.key), toJs(e.value)]));
  throw new Error('unsupported value');
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return (Number.isNaN(a) && Number.isNaN(b)) || a === b;
  if (a instanceof UnsignedInt || b instanceof UnsignedInt) return a instanceof UnsignedInt && b instanceof UnsignedInt && (a as unknown as { value: bigint }).value === (b as unknown as { value: bigint }).value;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a instanceof Map || b instanceof Map) {
    const ea = a instanceof Map ? [...a] : Object.entries((a ?? {}) as object);
    const mb = b instanceof Map ? b : new Map(Object.entries((b ?? {}) as object));
    return ea.length === mb.size && ea.every(([k, v]) => [...mb].some(([k2, v2]) => same(k, k2) && same(v, v2)));
  }
  return a === b;
}

function passes(o: SpecTest['original']): boolean {
  try {
    if (o.container) return false;
    const env = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false, unlistedVariablesAreDyn: o.disableCheck === true });
    for (const d of o.typeEnv ?? []) {
      if (!d.ident) return false;
      env.registerVariable(d.name, typeName(d.ident.type));
    }
    const ctx: Record<string, unknown> = {};
    for (const [k, b] of Object.entries(o.bindings ?? {})) ctx[k] = toJs(b.value);
    if (o.checkOnly) return env.check(o.expr).valid;
    let result: unknown;
    try {
      result = env.evaluate(o.expr, ctx);
    } catch {
      return o.evalError !== undefined;
    }
    if (o.evalError !== undefined) return false;
    if (o.value) return same(result, toJs(o.value));
    if (o.typedResult) return same(result, toJs(o.typedResult.result));
    return result === true;
  } catch {
    return false;
  }
}

function count(s: Suite): [number, number] {
  let pass = 0;
  let total = 0;
  for (const x of s.tests ?? []) {
    total++;
    if (passes(x.original)) pass++;
  }
  for (const sub of s.suites ?? []) {
    const [p, n] = count(sub);
    pass += p;
    total += n;
  }
  return [pass, total];
}

t.test('cel-spec conformance: pass rate per section, and a floor on the core language', async (t) => {
  const rows: string[] = [];
  let pass = 0;
  let total = 0;
  const core: Record<string, [number, number]> = {};
  for (const s of (tests as Suite).suites ?? []) {
    const [p, n] = count(s);
    pass += p;
    total += n;
    core[s.name] = [p, n];
    rows.push(`${s.name} ${p}/${n}`);
  }
  t.comment(`cel-spec conformance: ${pass}/${total} (${((100 * pass) / total).toFixed(1)}%)\n${rows.join('\n')}`);
  t.ok(pass / total >= 0.47, 'overall floor');
  for (const name of ['basic', 'fp_math', 'integer_math', 'string', 'logic', 'macros', 'lists', 'comparisons', 'plumbing']) {
    const [p, n] = core[name];
    t.ok(p / n >= 0.75, `${name}: ${p}/${n}`);
  }
});
