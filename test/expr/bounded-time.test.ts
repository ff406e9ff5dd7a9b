/**
 * Bounded time inside one library call (src/expr/meter.ts beforeLargeCall,
 * docs/cel.md and docs/operations.md "Bounded time"): a regex or any other
 * library call over an input larger than 64 KiB is not started when the
 * admission deadline cannot cover its worst case, and stops with the meter's
 * own `admission deadline exceeded`. The clock is injected (setMeterClock):
 * no test measures time. Also the library functions made linear for large
 * inputs keep Go's results (replace, charAt, strings.quote, semver).
 */
import t from 'tap';
import { compileExpression } from '../../src/expr/cel.js';
import { closeBudget, LARGE_INPUT_CHARS, LIBRARY_NS_PER_CHAR, openBudget, REGEX_FIND_NS_PER_CHAR, REGEX_TEST_NS_PER_CHAR, setMeterClock } from '../../src/expr/meter.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet, type CompiledPolicy } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import type { KubeObject } from '../../src/kube/object.js';

const MIB = 1 << 20;
const big = 'x'.repeat(MIB);

/** Evaluates `src` over object.data.s = `s` with the clock standing at 0 and the admission deadline at `deadlineMs` (undefined: none). */
function run(src: string, s: string, deadlineMs: number | undefined): unknown {
  const p = compileExpression(src, { estimatedCostLimit: Infinity, maxEvalMs: 600_000 });
  const restore = setMeterClock(() => 0);
  const outer = deadlineMs === undefined ? undefined : openBudget(Infinity, deadlineMs);
  try {
    return p.evaluate({ object: { data: { s } }, oldObject: null, request: {}, namespaceObject: null });
  } catch (e) {
    return e;
  } finally {
    if (deadlineMs !== undefined) closeBudget(outer);
    setMeterClock(restore);
  }
}

const deadlineError = (v: unknown): boolean => v instanceof Error && v.message === 'admission deadline exceeded';

t.test('a regex over a large input starts only when the deadline covers its worst case', async (t) => {
  // worst cases over 1 MiB: matches ~524 ms (500 ns per character), find/findAll ~2,097 ms (2,000 ns)
  t.equal(REGEX_TEST_NS_PER_CHAR, 500);
  t.equal(REGEX_FIND_NS_PER_CHAR, 2000);
  const rows: [string, number | undefined, boolean][] = [
    // [expression, deadline (ms after now), stopped before running]
    ["object.data.s.matches('^x*$')", undefined, false],
    ["object.data.s.matches('^x*$')", 1000, false],
    ["object.data.s.matches('^x*$')", 500, true],
    ["object.data.s.find('x+y') == ''", 3000, false],
    ["object.data.s.find('x+y') == ''", 2000, true],
    ["object.data.s.findAll('y').size() == 0", 2000, true],
    ["object.data.s.findAll('y').size() == 0", undefined, false],
  ];
  for (const [src, deadline, stopped] of rows) {
    const r = run(src, big, deadline);
    if (stopped) t.ok(deadlineError(r), `${src}, deadline ${deadline} ms: admission deadline exceeded`);
    else t.equal(r, true, `${src}, deadline ${deadline ?? 'none'}: runs`);
  }
});

t.test('only inputs over 64 KiB are checked before the call', async (t) => {
  const small = 'x'.repeat(LARGE_INPUT_CHARS);
  // 64 Ki characters at 2,000 ns: 131 ms of worst case, not checked against a deadline 1 ms away
  t.equal(run("object.data.s.find('x+y') == ''", small, 1), true);
  t.ok(deadlineError(run("object.data.s.find('x+y') == ''", `${small}x`, 1)), 'one character more');
});

t.test('other library calls over a large string: the same check at the library constant', async (t) => {
  t.equal(LIBRARY_NS_PER_CHAR, 500);
  // 1 MiB at 500 ns: ~524 ms
  for (const src of ['object.data.s.lowerAscii().size() > 0', "object.data.s.split('x').size() > 0", 'size(object.data.s) > 0', "object.data.s.replace('x', 'y').size() > 0", 'strings.quote(object.data.s).size() > 0', 'isURL(object.data.s) || true']) {
    t.equal(run(src, big, 700), true, `${src}: runs with 700 ms left`);
    t.ok(deadlineError(run(src, big, 300)), `${src}: stops with 300 ms left`);
  }
});

t.test('through a policy: the deadline error follows failurePolicy', async (t) => {
  const policy = (fp: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: scan}
spec:
  failurePolicy: ${fp}
  transformers:
  - name: find
    validate: {expression: "object.data.s.find('x+y') == ''", message: m}
`;
  const object: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'a' }, data: { s: big } };
  const input: EvaluationInput = { frontDoor: 'admission', operation: 'CREATE', namespace: 'a' };
  for (const fp of ['Fail', 'Ignore']) {
    const set = createPolicySet(compilePolicyText(policy(fp), 'p.yaml', { registry: builtinRegistry() }) as CompiledPolicy[]);
    // 1,000 ms left on the evaluation's clock; the find's worst case over 1 MiB is ~2,097 ms
    const e = set.evaluate(object, { ...input, deadline: 1000, now: () => 0 });
    t.same(e.errors.map((x) => x.message), ['expression failed: admission deadline exceeded'], `${fp}: the transformer failed on the deadline`);
    t.equal(e.denials.length, fp === 'Fail' ? 1 : 0, `${fp}: failurePolicy decides`);
    t.equal(e.deadlineHit, true, `${fp}: a call not started for the deadline is a deadline hit`);
    t.equal(set.evaluate(object, { ...input, deadline: 3000, now: () => 0 }).deadlineHit, false, `${fp}: with time for the worst case, not hit`);
  }
});

t.test('the functions made linear keep Go semantics', async (t) => {
  const rows: [string, unknown][] = [
    ["'abc'.replace('', '-')", '-a-b-c-'],
    ["'abc'.replace('', '-', 2)", '-a-bc'],
    ["'abc'.replace('', '-', 4)", '-a-b-c-'],
    ["'a😀b'.replace('', '.')", '.a.😀.b.'],
    ["'aaa'.replace('a', 'b', 5)", 'bbb'],
    ["'a.b.c'.replace('.', '', 1)", 'ab.c'],
    ["'a.b.c'.replace('.', '::', -1)", 'a::b::c'],
    ["'abc'.replace('z', 'y')", 'abc'],
    ["'a😀b'.charAt(1)", '😀'],
    ["'a😀b'.charAt(3)", ''],
    ["'abc'.charAt(2) + 'abc'.charAt(0)", 'ca'],
    ["strings.quote('a\\tb\\nc\\\\d\"e')", '"a\\tb\\nc\\\\d\\"e"'],
    ["isSemver('18446744073709551615.0.0')", true],
    ["isSemver('18446744073709551616.0.0')", false],
    ["isSemver('1.0.0-18446744073709551616')", false],
  ];
  for (const [src, want] of rows) t.same(compileExpression(src).evaluate({ object: null, oldObject: null, request: {}, namespaceObject: null }), want, src);
  t.throws(() => compileExpression("'a😀b'.charAt(4)").evaluate({}), /index out of range/);
  // a 100,000-digit patch version: out of uint64 range, refused without a quadratic BigInt parse
  t.equal(compileExpression('isSemver(object.s)').evaluate({ object: { s: `1.2.${'3'.repeat(100_000)}` } }), false);
});
