/**
 * Kubernetes' semver library for CEL, version 1 as base.go enables it
 * (k8s.io/apiserver/pkg/cel/library/semverlib.go over blang/semver v4):
 * `semver(string[, normalize])`, `isSemver(string[, normalize])`, `major()`,
 * `minor()`, `patch()`, `isLessThan`, `isGreaterThan`, `compareTo`, `==`.
 * Normalization removes a leading `v`, fills a missing minor/patch with 0 and
 * removes leading zeros (semverlib.go normalizeAndParse).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './cel.js';

const NUM = /^(0|[1-9]\d*)$/;
const UINT64_MAX = 18446744073709551615n;

/** A number blang/semver reads with strconv.ParseUint(s, 10, 64): at most 20 digits (BigInt of a long one is quadratic). */
const fitsUint64 = (p: string): boolean => p.length <= 20 && BigInt(p) <= UINT64_MAX;
const IDENT = /^[0-9A-Za-z-]+$/;

/** A semantic version (build metadata kept but not compared, as blang/semver). */
export class Semver {
  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly pre: readonly string[],
  ) {}

  compareTo(o: Semver): number {
    for (const k of ['major', 'minor', 'patch'] as const) if (this[k] !== o[k]) return this[k] < o[k] ? -1 : 1;
    if (this.pre.length === 0 || o.pre.length === 0) return this.pre.length === o.pre.length ? 0 : this.pre.length === 0 ? 1 : -1;
    for (let i = 0; i < Math.min(this.pre.length, o.pre.length); i++) {
      const c = comparePre(this.pre[i], o.pre[i]);
      if (c !== 0) return c;
    }
    return Math.sign(this.pre.length - o.pre.length);
  }
}

function comparePre(a: string, b: string): number {
  const an = NUM.test(a);
  const bn = NUM.test(b);
  if (an && bn) return BigInt(a) === BigInt(b) ? 0 : BigInt(a) < BigInt(b) ? -1 : 1;
  if (an !== bn) return an ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** blang/semver Parse; throws a value-free EvaluationError. */
// eslint-disable-next-line complexity -- the steps of blang/semver Parse, in its order
export function parseSemver(s: string): Semver {
  const plus = s.indexOf('+');
  const main = plus >= 0 ? s.slice(0, plus) : s;
  if (plus >= 0 && !s.slice(plus + 1).split('.').every((x) => IDENT.test(x))) throw celError('invalid semver: invalid build metadata');
  const dash = main.indexOf('-');
  const core = dash >= 0 ? main.slice(0, dash) : main;
  const pre = dash >= 0 ? main.slice(dash + 1).split('.') : [];
  const parts = core.split('.');
  if (parts.length !== 3) throw celError('No Major.Minor.Patch elements found');
  for (const p of parts) if (!NUM.test(p)) throw celError('invalid semver: major, minor and patch must be numbers without leading zeros');
  if (!parts.every(fitsUint64)) throw celError('invalid semver: value out of range');
  for (const p of pre) if (!IDENT.test(p) || (/^\d+$/.test(p) && !(NUM.test(p) && fitsUint64(p)))) throw celError('invalid semver: invalid prerelease');
  return new Semver(BigInt(parts[0]), BigInt(parts[1]), BigInt(parts[2]), pre);
}

/** semverlib.go normalizeAndParse. */
// eslint-disable-next-line complexity -- the normalization steps of Kubernetes' semver library (library/semver.go)
function normalizeAndParse(input: string): Semver {
  const s = input.startsWith('v') ? input.slice(1) : input;
  const first = s.indexOf('.');
  const second = first < 0 ? -1 : s.indexOf('.', first + 1);
  const parts = first < 0 ? [s] : second < 0 ? [s.slice(0, first), s.slice(first + 1)] : [s.slice(0, first), s.slice(first + 1, second), s.slice(second + 1)];
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i];
    if (p.length > 1) {
      p = p.replace(/^0+/, '');
      if (p.length === 0 || !/[0-9]/.test(p[0])) p = '0' + p;
      parts[i] = p;
    }
  }
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1])) throw celError('short version cannot contain PreRelease/Build meta data');
    while (parts.length < 3) parts.push('0');
  }
  return parseSemver(parts.join('.'));
}

const parse = (s: string, normalize: boolean): Semver => (normalize ? normalizeAndParse(s) : parseSemver(s));
const ok = (s: string, normalize: boolean): boolean => {
  try {
    parse(s, normalize);
    return true;
  } catch {
    return false;
  }
};

/** Registers the semver library (version 1). */
export function registerSemver(env: Environment): void {
  env.registerType('kubernetes.Semver', Semver as never);
  env.registerFunction('semver(string): kubernetes.Semver', (s: string) => parse(s, false));
  env.registerFunction('semver(string, bool): kubernetes.Semver', (s: string, n: boolean) => parse(s, n));
  env.registerFunction('isSemver(string): bool', (s: string) => ok(s, false));
  env.registerFunction('isSemver(string, bool): bool', (s: string, n: boolean) => ok(s, n));
  env.registerFunction('kubernetes.Semver.major(): int', (v: Semver) => v.major);
  env.registerFunction('kubernetes.Semver.minor(): int', (v: Semver) => v.minor);
  env.registerFunction('kubernetes.Semver.patch(): int', (v: Semver) => v.patch);
  env.registerFunction('kubernetes.Semver.isLessThan(kubernetes.Semver): bool', (a: Semver, b: Semver) => a.compareTo(b) < 0);
  env.registerFunction('kubernetes.Semver.isGreaterThan(kubernetes.Semver): bool', (a: Semver, b: Semver) => a.compareTo(b) > 0);
  env.registerFunction('kubernetes.Semver.compareTo(kubernetes.Semver): int', (a: Semver, b: Semver) => BigInt(a.compareTo(b)));
  env.registerOperator('kubernetes.Semver == kubernetes.Semver', (a: Semver, b: Semver) => a.compareTo(b) === 0);
}
