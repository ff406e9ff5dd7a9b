/**
 * Kubernetes' quantity library for CEL (k8s.io/apiserver/pkg/cel/library/quantity.go)
 * over `resource.Quantity` semantics (k8s.io/apimachinery/pkg/api/resource):
 * `quantity(string)`, `isQuantity(string)`, and on a quantity `sign()`,
 * `isInteger()`, `asInteger()`, `asApproximateFloat()`, `add(quantity|int)`,
 * `sub(quantity|int)`, `isLessThan`, `isGreaterThan`, `compareTo`, plus `==`.
 *
 * A quantity is held exactly: numerator / 10^scale (binary suffixes are
 * integers), so `quantity('1Gi') == quantity('1073741824')` and
 * `quantity('200M') == quantity('0.2G')`.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './cel.js';

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** An exact quantity: `num / 10^scale`. */
export class Quantity {
  constructor(
    readonly num: bigint,
    readonly scale: number,
  ) {}

  /** Numerators of this and `o` over a common scale. */
  private align(o: Quantity): [bigint, bigint, number] {
    const s = Math.max(this.scale, o.scale);
    return [this.num * 10n ** BigInt(s - this.scale), o.num * 10n ** BigInt(s - o.scale), s];
  }

  compareTo(o: Quantity): number {
    const [a, b] = this.align(o);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  add(o: Quantity): Quantity {
    const [a, b, s] = this.align(o);
    return new Quantity(a + b, s);
  }

  sign(): number {
    return this.num < 0n ? -1 : this.num > 0n ? 1 : 0;
  }

  isInteger(): boolean {
    return this.num % 10n ** BigInt(this.scale) === 0n;
  }
}

/** Parses a quantity string as resource.ParseQuantity; undefined when invalid. */
// eslint-disable-next-line complexity -- the steps of apimachinery resource.ParseQuantity, in its order
export function parseQuantity(s: string): Quantity | undefined {
  if (s.length > 256) return undefined;
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  const [, sign, number, suffix = ''] = m;
  const [whole, frac = ''] = number.split('.');
  let num = BigInt((whole || '0') + frac);
  let scale = frac.length;
  if (BINARY[suffix] !== undefined) num *= BINARY[suffix];
  else {
    const exp = DECIMAL[suffix] ?? Number(suffix.slice(1));
    if (Math.abs(exp) > 1000) return undefined;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else scale -= exp;
  }
  while (scale > 0 && num % 10n === 0n) {
    num /= 10n;
    scale--;
  }
  if (scale < 0) {
    num *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return new Quantity(sign === '-' ? -num : num, scale);
}

function mustParse(s: string): Quantity {
  const q = parseQuantity(s);
  if (q === undefined) throw celError('quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'');
  return q;
}

function asInteger(q: Quantity): bigint {
  if (!q.isInteger()) throw celError('cannot convert value to integer');
  const v = q.num / 10n ** BigInt(q.scale);
  if (v > INT64_MAX || v < INT64_MIN) throw celError('cannot convert value to integer');
  return v;
}

const fromInt = (n: bigint): Quantity => new Quantity(n, 0);

/** Registers the quantity library on `env`. */
export function registerQuantity(env: Environment): void {
  env.registerType('kubernetes.Quantity', Quantity as never);
  env.registerFunction('quantity(string): kubernetes.Quantity', (s: string) => mustParse(s));
  env.registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s) !== undefined);
  env.registerFunction('kubernetes.Quantity.sign(): int', (q: Quantity) => BigInt(q.sign()));
  env.registerFunction('kubernetes.Quantity.isInteger(): bool', (q: Quantity) => q.isInteger() && asIntegerOk(q));
  env.registerFunction('kubernetes.Quantity.asInteger(): int', (q: Quantity) => asInteger(q));
  env.registerFunction('kubernetes.Quantity.asApproximateFloat(): double', (q: Quantity) => Number(q.num) / 10 ** q.scale);
  env.registerFunction('kubernetes.Quantity.add(kubernetes.Quantity): kubernetes.Quantity', (a: Quantity, b: Quantity) => a.add(b));
  env.registerFunction('kubernetes.Quantity.add(int): kubernetes.Quantity', (a: Quantity, b: bigint) => a.add(fromInt(b)));
  env.registerFunction('kubernetes.Quantity.sub(kubernetes.Quantity): kubernetes.Quantity', (a: Quantity, b: Quantity) => a.add(new Quantity(-b.num, b.scale)));
  env.registerFunction('kubernetes.Quantity.sub(int): kubernetes.Quantity', (a: Quantity, b: bigint) => a.add(fromInt(-b)));
  env.registerFunction('kubernetes.Quantity.isLessThan(kubernetes.Quantity): bool', (a: Quantity, b: Quantity) => a.compareTo(b) < 0);
  env.registerFunction('kubernetes.Quantity.isGreaterThan(kubernetes.Quantity): bool', (a: Quantity, b: Quantity) => a.compareTo(b) > 0);
  env.registerFunction('kubernetes.Quantity.compareTo(kubernetes.Quantity): int', (a: Quantity, b: Quantity) => BigInt(a.compareTo(b)));
  env.registerOperator('kubernetes.Quantity == kubernetes.Quantity', (a: Quantity, b: Quantity) => a.compareTo(b) === 0);
}

/** isInteger as Kubernetes: an integer that fits int64. */
function asIntegerOk(q: Quantity): boolean {
  const v = q.num / 10n ** BigInt(q.scale);
  return v <= INT64_MAX && v >= INT64_MIN;
}
