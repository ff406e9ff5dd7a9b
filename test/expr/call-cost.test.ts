/**
 * The runtime cost of calls and operators (src/expr/call-cost.ts) against the
 * numbers Kubernetes' own cost tests give for the same expressions
 * (k8s.io/apiserver/pkg/cel/library/cost_test.go: TestStringLibrary,
 * TestIndexOfCost, TestQuantityCost, TestSemverCost, TestIPCost,
 * TestIPIsCanonicalCost, TestCIDRCost, TestURLsCost, TestNameFormatCost,
 * TestSetsCost, TestListsCost). Those tests run cel-go without OptOptimize,
 * which Kubernetes' admission enables (base.go): there a list literal costs
 * 10 (ListCreateBaseCost) and a conversion of a literal (`uint(1)`) 1, where
 * the API server plans both as constants, free (cel-go decorators.go
 * decOptimize), as our meter does: the rows give Kubernetes' number and the
 * literals and folded conversions to subtract. The cost is measured as
 * the smallest cost limit the evaluation passes (never a clock).
 */
import t from 'tap';
import { compileExpression } from '../../src/expr/cel.js';
import { callCost, celSize, operatorCost, traversalCost } from '../../src/expr/call-cost.js';

/** Units one evaluation spends: the smallest runtime cost limit it passes. */
function runtimeCost(src: string): number {
  for (let limit = 0; limit <= 500; limit++) {
    const p = compileExpression(src, { estimatedCostLimit: Infinity, mutation: src.includes('jsonpatch'), costLimit: limit, maxEvalMs: 600_000 });
    try {
      p.evaluate({ object: null, oldObject: null, request: {}, namespaceObject: null });
      return limit;
    } catch (e) {
      if (!/cost limit exceeded/.test((e as Error).message)) throw e;
    }
  }
  return Infinity;
}

// [expression, Kubernetes' runtime cost (cost_test.go), list literals in it, conversions of literals in it]
const KUBERNETES: [string, number, number?, number?][] = [
  // TestStringLibrary
  ["'ABCDEFGHIJ abcdefghij'.lowerAscii()", 3],
  ["'ABCDEFGHIJ abcdefghij'.lowerAscii() == 'abcdefghij ABCDEFGHIJ'.lowerAscii()", 9],
  ["'ABCDEFGHIJ abcdefghij'.upperAscii()", 3],
  ["strings.quote('ABCDEFGHIJ abcdefghij')", 3],
  ["strings.quote('ABCDEFGHIJ abcdefghij') == strings.quote('ABCDEFGHIJ abcdefghij')", 9],
  ["'abc 123 def 123'.replace('123', '456')", 3],
  ["'abc 123 def 123'.replace('', 'x')", 3],
  ["'abc 123 def 123'.replace('123', '')", 3],
  ["'abc 123 def 123'.replace('123', '456', 1)", 3],
  ["'abc 123 def 123'.split(' ')", 3],
  ["'abc 123 def 123'.split(' ', 1)", 3],
  ["'abc 123 def 123'.substring(5)", 2],
  ["'abc 123 def 123'.substring(5, 8)", 2],
  ["'  abc 123 def 123  '.trim()", 2],
  ["['aa', 'bb', 'cc', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join(' ')", 15, 1],
  ["['aa', 'bb', 'cc', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join()", 13, 1],
  ["'abc 123 def 123'.find('123')", 2],
  ["'abc 123 def 123'.findAll('123')", 2],
  ["'abc 123 def 123'.findAll('123', 1)", 2],
  ["jsonpatch.escapeKey('abc/def~ abc/def~')", 2],
  // TestIndexOfCost (strings) and TestListsCost
  ["'01234567890123456789012345678901234567890123456789'.indexOf('123')", 5],
  ["'01234567890123456789012345678901234567890123456789'.lastIndexOf('123')", 5],
  ['[1, 2, 3, 4, 5].sum()', 15, 1],
  ['[1.0, 2.0, 3.0, 4.0, 5.0].max()', 15, 1],
  ["['012345678901', '012345678901', '012345678901', '012345678901', '012345678901'].isSorted()", 15, 1],
  ['[uint(1), uint(2), uint(3), uint(4), uint(5)].min()', 20, 1, 5],
  ['[1, 2, 3, 4, 5].indexOf(3)', 15, 1],
  // TestQuantityCost
  ['quantity("12Mi")', 1],
  ['isQuantity("20M")', 1],
  ['quantity("200M") == quantity("200M")', 3],
  ['quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")', 6],
  ['quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") && quantity("0.002G") == quantity("2000k")', 9],
  ['quantity("50M").isLessThan(quantity("50Mi"))', 3],
  ['quantity("200M").compareTo(quantity("0.2G")) > 0', 4],
  ['quantity("50k").add(quantity("20")) == quantity("50.02k")', 5],
  ['quantity("50k").sub(20) == quantity("49980")', 4],
  ['quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger() > 0', 7],
  ['quantity("50").isInteger()', 2],
  ['quantity("50.703k").asApproximateFloat() > 0.0', 3],
  // TestSemverCost
  ['semver("1.0.0")', 1],
  ['semver("1234.56789012345.67890123456789")', 4],
  ['isSemver("1234.56789012345.67890123456789")', 4],
  ['semver("1.2.3").major()', 2],
  ['semver("1.0.0").isLessThan(semver("1.1.0"))', 3],
  ['semver("1.0.0").compareTo(semver("1.2.3"))', 3],
  // TestIPCost, TestIPIsCanonicalCost
  ["ip('192.168.0.1')", 2],
  ["ip('2001:db8:3333:4444:5555:6666:7777:8888')", 4],
  ["ip('192.168.0.1').family()", 3],
  ["ip('2001:db8:3333:4444:5555:6666:7777:8888').isGlobalUnicast()", 5],
  ["ip('192.168.0.1') == ip('192.168.0.1')", 5],
  ["ip.isCanonical('192.168.0.1')", 3],
  ["ip.isCanonical('2001:db8:3333:4444:5555:6666:7777:8888')", 8],
  ["ip.isCanonical('2001:db8::abcd')", 3],
  // TestCIDRCost
  ["cidr('192.168.0.0/16')", 2],
  ["cidr('192.168.0.0/16').prefixLength()", 3],
  ["cidr('192.168.0.0/16').ip()", 3],
  ["cidr('2001:db8::/32') == cidr('2001:db8::/32')", 5],
  ["cidr('192.168.0.0/16').containsCIDR(cidr('192.0.0.0/30'))", 7],
  ["cidr('192.168.0.0/16').containsCIDR('192.168.0.0/16')", 7],
  ["cidr('192.168.0.0/16').containsIP(ip('192.0.0.1'))", 4],
  ["cidr('192.168.0.0/16').containsIP('192.169.0.1')", 5],
  ["cidr('2001:db8::/32').containsIP('2001:db8:3333:4444:5555:6666:7777:8888')", 7],
  // TestURLsCost
  ["url('https:://kubernetes.io/').getScheme()", 4],
  ["url('https:://kubernetes.io/').getEscapedPath()", 4],
  // TestNameFormatCost
  ['format.named("dns1123subdomain")', 1],
  ['format.named("dns1123Subdomain").value().validate("my-name")', 17],
  ['format.named("dns1123Label").value().validate("my-name")', 10],
  // TestSetsCost (mixed numeric literals made homogeneous: base.go enables homogeneous aggregate
  // literals, the test environment of cost_test.go does not; the cost depends on the sizes only)
  ['sets.contains([], [])', 21, 2],
  ['sets.contains([1, 2, 3, 4], [2, 3])', 29, 2],
  ['!sets.contains([1], [1, 2])', 24, 2],
  ['sets.contains([[1], [2, 3]], [[2, 3]])', 53, 5],
  ['sets.equivalent([1, 2, 3], [3, 2, 1])', 39, 2],
  ['!sets.equivalent([1, 2], [2, 2, 2])', 34, 2],
  ['sets.intersects([1, 2], [1, 2, 3])', 27, 2],
  ['sets.intersects([[1], [2, 3]], [[1, 2], [2, 3]])', 65, 6],
];

t.test("calls cost what Kubernetes' cost tests give (less their literals' costs)", async (t) => {
  for (const [src, k8s, literals = 0, folded = 0] of KUBERNETES) t.equal(runtimeCost(src), k8s - 10 * literals - folded, `${src}: Kubernetes ${k8s}${literals ? ` - ${10 * literals}` : ''}${folded ? ` - ${folded}` : ''}`);
});

t.test('cel-go defaults: operators and the standard string functions', async (t) => {
  const rows: [string, number][] = [
    ["'abcdefghijklmnopqrstuvwxyz'.matches('^[a-z]+$')", 3 * 2], // ceil((1 + 26) * 0.1) * ceil(8 * 0.25)
    ["'abcdefghijklmnopqrstuvwxyz'.contains('abcdefghijk')", 3 * 2], // ceil(26 * 0.1) * ceil(11 * 0.1)
    ["'abcdefghijklmnopqrstuvwxyz'.startsWith('abc')", 3], // ceil(26 * 0.1)
    ["'abcdefghijklmnopqrstuvwxyz'.endsWith('xyz')", 3],
    ["'abcdefghijklmnopqrstuvwxyz' + 'abcdefghij'", 4], // ceil(36 * 0.1)
    ["'abcdefghijklmnopqrstuvwxyz' < 'abcdefghij'", 1], // ceil(min(26, 10) * 0.1)
    ["'x' in ['a', 'b', 'c'].map(s, s)", 3 + 3], // 3 iterations; `in` a list: its size
    ["'x' in ['a', 'b', 'c']", 0], // a list of literals: a set lookup cel-go plans as a constant (OptOptimize)
    ['uint(1) + uint(2) > uint(0)', 2], // conversions of literals are constants; `+` and `>` 1 each
    ["'x' in {'a': 1}", 1],
    ['1 + 2 * 3 - 4 / 2 % 3 == -1', 6],
    ['!(1 < 2)', 2],
    ["size('abc') + int(string(size('ab'))) == 5", 6], // size, size, string, int, +, ==
    ["'%s-%s'.format(['a', 'b'])", 1], // ceil(5 * 0.1), the format string
    ["'a😀b'.split('') == ['a', '😀', 'b']", 1 + 1], // 3 code points: ceil(6 * 0.1); ceil(min(3, 3) * 0.1)
    ['[1, 2, 3].map(x, x).indexOf(2)', 3 + 3], // 3 iterations, one traversal (cost.go): the receiver evaluated once
    ["['ab'].map(x, x)[0].indexOf('b') + 'a😀b'.indexOf('b')", 1 + 0 + 0 + 1], // an iteration; floor(UTF-8 bytes * 0.1) each; `+`
    // cel-go ext/lists.go version 3 trackers: the call (1) and the list's allocation (ListCreateBaseCost, 10) besides
    ['[1, 2, 3, 4].slice(1, 3)', 2 + 11], // trackListOutputSize: the result's items
    ['[1, 2, 3].reverse()', 3 + 11],
    ['lists.range(5)', 5 + 11],
    ['[[1, 2], [3]].flatten()', 2 + 11], // trackListFlatten: the input's items x the depth (1)
    ['[[1, 2], [3]].flatten(3)', 2 * 3 + 11],
    ['[3, 1, 2].sort()', 3 * 3 * 2 + 11], // trackListSelfCompare: n^2 x 2
    ["['b', 'a', 'c'].sort()", Math.floor(3 * 3 * 2.1) + 11], // x 2.1 for strings (StringTraversalCostFactor)
    ['[1, 1, 2, 2].distinct()', 4 * 4 * 2 + 11],
    ["['b', 'a'].sortBy(x, x + x)", 2 + 2 + Math.floor(2 * 2 * 2.1) + 11], // an iteration and a `+` per key; the keys' sort
  ];
  for (const [src, want] of rows) t.equal(runtimeCost(src), want, src);
});

t.test('sizes and traversal as cel-go and cost.go measure them', async (t) => {
  t.equal(celSize('a😀b'), 3, 'code points');
  t.equal(celSize([1, 2]), 2);
  t.equal(celSize(new Map([['a', 1]])), 1);
  t.equal(celSize(5n), 1, 'a scalar');
  t.equal(traversalCost(['0123456789', 'x', 1n]), 1 + 0 + 1, 'floor(len * 0.1) per string, 1 per scalar');
  t.equal(traversalCost('€'.repeat(10)), 3, 'UTF-8 bytes, as Go len');
  t.equal(callCost('sets.equivalent', [[1, 2], [1, 2, 3]]), 1 + 12);
  t.equal(callCost('nope', ['x'.repeat(1000)]), 1, 'any other function: 1');
  t.equal(callCost('flatten', [[[1]], 1_000_000n]), 1_000_011, 'flatten(depth): the input x the depth, however flat the list');
  t.throws(() => compileExpression('[[1]].flatten(1000000)', { estimatedCostLimit: Infinity }).evaluate({}), /cost limit exceeded/, 'over the limit before it runs');
  t.equal(operatorCost('==', 'x'.repeat(95), 'y'.repeat(200)), 10);
});

t.test('short strings cost what counting their code points gives', async (t) => {
  // The costs skip counting code points for strings of at most 10 UTF-16 units: every length 0..24,
  // with and without surrogate pairs, against ceil(code points * 0.1) computed in full.
  const ceil = (n: number): number => Math.ceil(n * 0.1);
  const strings: string[] = [];
  for (let n = 0; n <= 24; n++) {
    strings.push('a'.repeat(n));
    if (n >= 2) strings.push('😀'.repeat(Math.floor(n / 2)) + 'b'.repeat(n % 2));
  }
  let rows = 0;
  for (const a of strings) {
    t.equal(callCost('startsWith', [a, 'x']), ceil(celSize(a)), `startsWith of ${a.length} units`);
    for (const b of strings) {
      const cost = (op: string): number => operatorCost(op, a, b);
      if (cost('==') !== ceil(Math.min(celSize(a), celSize(b)))) t.fail(`== of ${a.length} and ${b.length} units`);
      if (cost('<') !== ceil(Math.min(celSize(a), celSize(b)))) t.fail(`< of ${a.length} and ${b.length} units`);
      if (cost('+') !== ceil(celSize(a) + celSize(b))) t.fail(`+ of ${a.length} and ${b.length} units`);
      if (callCost('contains', [a, b]) !== ceil(celSize(a)) * ceil(celSize(b))) t.fail(`contains of ${a.length} and ${b.length} units`);
      rows++;
    }
  }
  t.equal(rows, strings.length ** 2, 'every pair compared');
  t.equal(operatorCost('==', '', 'x'.repeat(50)), 0, 'an empty string: 0');
  t.equal(operatorCost('+', '', ''), 0, 'two empty strings: 0');
});
