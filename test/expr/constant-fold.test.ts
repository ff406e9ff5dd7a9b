/**
 * Constant expressions (src/expr/cel.ts `foldConstant`): an expression that
 * reads no variable is evaluated once at compile time and each evaluation
 * replays its recorded charges. Table over expressions: which are folded,
 * and, folded or not, the same value, the same error, the same cost (the
 * per-expression limit at the expression's cost and one unit below it, the
 * policy's runtime budget, a composition variable charged to the expression
 * that reads it). No timing.
 */
import t from 'tap';
import { compileExpression, compileVariables, setConstantFolding, type CompileExpressionOptions, type CompiledExpression } from '../../src/expr/cel.js';
import { closeBudget, openBudget } from '../../src/expr/meter.js';

const ROOTS = ['object', 'oldObject', 'request', 'namespaceObject', 'params'];
const VARS = { object: { spec: { replicas: 2 } }, oldObject: null, request: {}, namespaceObject: null, params: null };

/** Compiles `src` with folding on or off. */
function compile(src: string, fold: boolean, options: CompileExpressionOptions = {}): CompiledExpression {
  const previous = setConstantFolding(fold);
  try {
    return compileExpression(src, { variables: ROOTS, mutation: true, estimatedCostLimit: Infinity, maxEvalMs: 600_000, ...options });
  } finally {
    setConstantFolding(previous);
  }
}

/** The value, or the error's message, of one evaluation. */
function outcome(f: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** The expression's cost in units: the smallest per-expression limit it evaluates under (unfolded program). */
function costOf(src: string): number {
  let lo = 0;
  let hi = 1_000_000;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (outcome(() => compile(src, false, { costLimit: mid }).evaluate(VARS)).error === undefined) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const many = `[${Array.from({ length: 1100 }, () => '0').join(', ')}].all(x, x == 0)`;

const ROWS: { src: string; folded: boolean; why: string }[] = [
  { src: 'Object{metadata: Object.metadata{labels: {"platform.example.com/team": "payments"}}}', folded: true, why: 'an ApplyConfiguration of literals' },
  { src: '[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: 45}]', folded: true, why: 'a JSONPatch list of literals' },
  { src: '[JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("a/b~c"), value: "x"}]', folded: true, why: 'library calls on literals' },
  { src: "'abc'.startsWith('a') && 'x' + 'y' == 'xy'", folded: true, why: 'operators and methods on literals' },
  { src: 'size([1, 2, 3].map(x, x * 2).filter(y, y > 2))', folded: true, why: 'comprehensions over a literal list (iterations charged)' },
  { src: "int('12') + 3 < 20 && uint(3) == uint('3') ? 'small' : 'large'", folded: true, why: 'conversions of literals' },
  { src: `'${'a'.repeat(400)}'.contains('${'b'.repeat(400)}')`, folded: true, why: 'a costly constant (1,600 units in one charge)' },
  { src: 'object.spec.replicas + 1', folded: false, why: 'reads object' },
  { src: '[1].map(object, object + 1)', folded: false, why: 'an iteration variable named like a variable counts as a read' },
  { src: 'params == null', folded: false, why: 'reads params' },
  { src: '1 / 0', folded: false, why: 'an error: evaluated (and failing) each time' },
  { src: '[1, 2][5]', folded: false, why: 'an index error' },
  { src: "{'a': 1}['b']", folded: false, why: 'a missing key' },
  { src: "duration('1s')", folded: false, why: 'not plain JSON once converted' },
  { src: "b'abc'", folded: false, why: 'bytes' },
  { src: many, folded: false, why: 'more charges than a folded constant replays' },
];

for (const row of ROWS) {
  t.test(`${row.why}: ${row.src.slice(0, 60)}`, async (t) => {
    const folded = compile(row.src, true);
    const plain = compile(row.src, false);
    t.equal(folded.constant, row.folded, 'folded as expected');
    t.equal(plain.constant, false, 'folding off: never constant');
    const want = outcome(() => plain.evaluate(VARS));
    t.same(outcome(() => folded.evaluate(VARS)), want, 'same value or error');
    t.same(outcome(() => folded.evaluate(VARS)), want, 'and again');
    if (want.error !== undefined) return;
    const cost = costOf(row.src);
    for (const limit of [cost, cost - 1].filter((l) => l >= 0)) {
      const a = outcome(() => compile(row.src, true, { costLimit: limit }).evaluate(VARS));
      const b = outcome(() => compile(row.src, false, { costLimit: limit }).evaluate(VARS));
      t.same(a, b, `per-expression limit ${limit} (cost ${cost})`);
    }
    for (const budget of [cost, cost - 1, 2 * cost].filter((u) => u >= 0)) {
      const underBudget = (p: CompiledExpression): unknown[] => {
        const outer = openBudget(budget, Infinity);
        try {
          return [outcome(() => p.evaluate(VARS)), outcome(() => p.evaluate(VARS)), outcome(() => p.evaluate(VARS))];
        } finally {
          closeBudget(outer);
        }
      };
      t.same(underBudget(folded), underBudget(plain), `policy budget ${budget} over three evaluations`);
    }
  });
}

t.test('a folded result: a fresh copy per evaluate; evaluateShared is the kept value, frozen', async (t) => {
  const p = compile('Object{metadata: Object.metadata{labels: {"a": "b"}}}', true);
  t.ok(p.constant);
  const first = p.evaluate(VARS) as { metadata: { labels: Record<string, string> } };
  first.metadata.labels.a = 'changed';
  t.same(p.evaluate(VARS), { metadata: { labels: { a: 'b' } } }, 'a caller changing its copy changes nothing');
  const shared = p.evaluateShared(VARS);
  t.equal(p.evaluateShared(VARS), shared, 'the same value each time');
  t.ok(Object.isFrozen(shared) && Object.isFrozen((shared as { metadata: object }).metadata), 'deep-frozen');
  const q = compile('object.spec', true);
  t.not(q.evaluateShared(VARS), undefined);
  t.same(q.evaluateShared(VARS), { replicas: 2 }, 'not constant: evaluateShared evaluates');
});

t.test('a constant composition variable is charged to the expression that reads it, folded or not', async (t) => {
  const long = 'x'.repeat(300);
  const outcomes = (fold: boolean, limit: number): unknown => {
    const previous = setConstantFolding(fold);
    try {
      const vars = compileVariables([{ name: 'v', expression: `'${long}' + '${long}'` }], { variables: ROOTS });
      const p = compileExpression('size(variables.v) > 100', { variables: ROOTS, compositionVariables: vars.declarations, costLimit: limit, maxEvalMs: 600_000 });
      return outcome(() => p.evaluate({ ...VARS, variables: vars.bind(VARS) }));
    } finally {
      setConstantFolding(previous);
    }
  };
  // '+' of two 300-character strings: ceil(600 * 0.1) = 60 units, then size() 1 and '>' 1
  t.same(outcomes(true, 62), { value: true });
  t.same(outcomes(false, 62), { value: true });
  t.same(outcomes(true, 61), outcomes(false, 61));
  t.match(outcomes(true, 61), { error: /evaluation cost limit exceeded/ });
});
