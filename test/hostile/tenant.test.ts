/**
 * Tenant-authored patterns are bounded (issue 8): catastrophic regexes in
 * patch targets, globs in match clauses and CEL `matches` run on a linear-time
 * engine, and CEL bombs (nested comprehensions, exponential string building,
 * huge joins) end in a bounded-cost error. Proven by outcome: each case
 * completes with the expected result or error (a backtracking engine or an
 * unbounded evaluation would not complete within the test's timeout).
 */
import t from 'tap';
import { compileExpression, ExprError } from '../../src/expr/cel.js';
import { anchoredRegex, compileTarget } from '../../src/kube/selector.js';
import { compileClause } from '../../src/policy/match.js';
import { review } from '../../src/admission/review.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, policySetFromYaml } from '../fuzz/helpers.js';

/** Known catastrophic patterns for backtracking engines, with an input that makes them explode. */
const CATASTROPHIC: [string, string][] = [
  ['(a+)+$', 'a'.repeat(40_000) + '!'],
  ['(a|aa)+$', 'a'.repeat(40_000) + '!'],
  ['(a|a?)+$', 'a'.repeat(40_000) + '!'],
  ['(.*a){20}', 'a'.repeat(40_000)],
  ['([a-zA-Z]+)*$', 'a'.repeat(40_000) + '1'],
  ['(x+x+)+y', 'x'.repeat(40_000)],
  ['^(([a-z])+.)+[A-Z]([a-z])+$', 'a'.repeat(40_000)],
];

t.test('catastrophic regexes in target names complete', async (t) => {
  for (const [pattern, input] of CATASTROPHIC) {
    const re = anchoredRegex(pattern, 'name');
    t.type(re(input), 'boolean', `${pattern}: completes`);
    const target = compileTarget({ kind: 'ConfigMap', name: pattern, namespace: pattern });
    t.type(target({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: input } }, input), 'boolean', `${pattern}: as a target`);
  }
  t.throws(() => anchoredRegex('(a)\\1', 'name'), { name: 'SelectorError' }, 'backreferences are refused (RE2)');
  t.throws(() => anchoredRegex('(?=a)', 'name'), { name: 'SelectorError' }, 'lookahead is refused (RE2)');
  t.comment(`catastrophic patterns: ${CATASTROPHIC.length}, inputs ~40,000 characters`);
});

t.test('a namespaced policy with a catastrophic target, end to end through review', async (t) => {
  const set = policySetFromYaml(`apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: evil, namespace: team-a}
spec:
  transformers:
  - patch:
      target: {kind: "(C+)+onfigMap", name: "(a+)+$"}
      patch: |
        - {op: add, path: /metadata/labels, value: {hit: "yes"}}
`);
  const object: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a'.repeat(40_000) + '!' } };
  const res = review(admissionReview('u-evil', object), set, { route: 'mutate' });
  t.equal(res.statusCode, 200, 'answered');
  t.notOk((res.body as unknown as { response: JsonObject }).response.patch, 'no match, no patch');
});

t.test('globs in match clauses are linear too', async (t) => {
  const clause = compileClause({ namespaces: ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'], resources: [{ kinds: ['ConfigMap'], names: ['*a*a*a*a*a*a*a*a*a*a*a*a*a*b'] }] }, 'spec.match');
  const name = 'a'.repeat(40_000);
  const r = clause({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }, { frontDoor: 'admission', operation: 'CREATE', namespace: name });
  t.equal(r, 'resources', 'completes, first failing field named');
});

t.test('CEL matches() is linear', async (t) => {
  for (const [pattern, input] of CATASTROPHIC) {
    const e = compileExpression(`object.x.matches('${pattern.replace(/\\/g, '\\\\')}')`);
    t.type(e.evaluate({ object: { x: input } }), 'boolean', `${pattern}: completes`);
  }
});

const TEN = '[1,2,3,4,5,6,7,8,9,10]';
const BOMBS: [string, string, RegExp][] = [
  ['nested comprehensions (10^6)', `${TEN}.all(a, ${TEN}.all(b, ${TEN}.all(c, ${TEN}.all(d, ${TEN}.all(e, ${TEN}.all(f, true))))))`, /cost limit exceeded/],
  ['nested map (10^8 elements)', `size(${'abcdefg'.split('').reduceRight((inner, v) => `${TEN}.map(${v}, ${inner})`, TEN)}) > 0`, /cost limit exceeded/],
  ['comprehension over a large object', 'object.big.all(a, object.big.all(b, a == b || a != b))', /cost limit exceeded/],
  ['exponential replace', `'x'${".replace('x', 'xxxxxxxxxx')".repeat(40)}.size() > 0`, /exceeds the limit|cost limit/],
  ['quadratic replace chain on a large string', `object.s${".replace('a', 'b').replace('b', 'a')".repeat(200)}.size() > 0`, /cost limit exceeded/],
  ['join of a large list', `${TEN}.map(i, object.s).join().size() > 0`, /exceeds the limit|cost limit/],
  ['concatenation bomb', `(${Array(600).fill('object.s').join(' + ')}).size() > 0`, /./],
];

t.test('CEL bombs end in a bounded-cost error', async (t) => {
  const vars = { object: { big: Array.from({ length: 5000 }, (_, i) => i), s: 'a'.repeat(1_000_000) } };
  for (const [name, expr, error] of BOMBS) {
    let e;
    try {
      e = compileExpression(expr);
    } catch (err) {
      // refused at load (e.g. the 600-term concatenation exceeds the parser's nesting depth, as in cel-go)
      t.ok(err instanceof ExprError, `${name}: refused at load`);
      continue;
    }
    t.throws(() => e.evaluate(vars), { name: 'ExprError', message: error }, name);
  }
  t.throws(() => compileExpression('true && '.repeat(2000) + 'true'), ExprError, 'expressions over 10,000 characters are refused');
  t.comment(`CEL bombs: ${BOMBS.length}`);
});

t.test('linear replace keeps cel-go semantics', async (t) => {
  const e = compileExpression("['abcb'.replace('b', 'x'), 'abcb'.replace('b', 'x', 1), 'abcb'.replace('b', 'x', -1), 'abc'.replace('', '-'), 'abc'.replace('', '-', 2), 'aaa'.replace('aa', 'b'), ['a', 'b'].join(), ['a', 'b'].join('-'), [].join(',')]");
  t.same(e.evaluate({}), ['axcx', 'axcb', 'axcx', '-a-b-c-', '-a-bc', 'ba', 'ab', 'a-b', '']);
});

t.test('a CEL bomb in a tenant validate rule is refused at load', async (t) => {
  const policy = `apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: bomb, namespace: team-a}
spec:
  transformers:
  - validate:
      expression: "${TEN}.all(a, ${TEN}.all(b, ${TEN}.all(c, ${TEN}.all(d, ${TEN}.all(e, ${TEN}.all(f, true))))))"
      message: never
`;
  t.throws(() => policySetFromYaml(policy), { code: 'ERR_POLICY_EXPRESSION_COST', message: /spec\.transformers\[0\]\.validate\.expression: estimated rule cost exceeds budget by factor of 1\.111110x \(estimated cost 1,111,110 units/ });
});

t.test('a tenant rule over a large object follows failurePolicy at run time', async (t) => {
  // within the load-time estimate (inputs of 128 KiB), over the runtime limit for a 1.2 MiB value
  const policy = (fp: string): string => `apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: bomb, namespace: team-a}
spec:
  failurePolicy: ${fp}
  transformers:
  - validate:
      expression: "object.data.s.split('').all(c, c != 'y')"
      message: never
`;
  const object: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { s: 'x'.repeat(1_200_000) } };
  const fail = review(admissionReview('u-fail', object), policySetFromYaml(policy('Fail')), { route: 'mutate' });
  const fr = (fail.body as unknown as { response: { allowed: boolean; status?: { message: string } } }).response;
  t.equal(fr.allowed, false, 'Fail: denied');
  t.match(fr.status?.message ?? '', /cost limit/, 'Fail: the message names the cost limit');
  const ignore = review(admissionReview('u-ignore', object), policySetFromYaml(policy('Ignore')), { route: 'mutate' });
  t.equal((ignore.body as unknown as { response: { allowed: boolean } }).response.allowed, true, 'Ignore: allowed');
});

t.test('a PostRenderPolicy never reaches another namespace', async (t) => {
  const set = policySetFromYaml(`apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: tenant, namespace: team-a}
spec:
  match: {namespaces: ["*"]}
  transformers:
  - labels: {pairs: {tenant: "yes"}}
`);
  const object: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
  for (const [ns, patched] of [['team-a', true], ['team-b', false], ['kube-system', false], ['', false]] as const) {
    const res = review(admissionReview(`u-${ns}`, object, 'CREATE', ns), set, { route: 'mutate' });
    t.equal(Boolean((res.body as unknown as { response: JsonObject }).response.patch), patched, `namespace "${ns}": ${patched ? 'patched' : 'untouched'}`);
  }
});
