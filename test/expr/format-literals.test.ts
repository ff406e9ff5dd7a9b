/**
 * The list literal of a string `format` call may mix types (`'%s has %d'.format([name, 3])`):
 * cel-go's homogeneous-literal validator, which Kubernetes enables (base.go
 * `cel.ValidateHomogeneousAggregateLiterals()`), skips literals in format calls,
 * the engine's check does not (structs.ts FORMAT_ARG). And error positions of
 * rewritten expressions point into the source as written.
 */
import t from 'tap';
import { compileExpression, costSpent } from '../../src/expr/cel.js';
import { ExprError } from '../../src/expr/engine.js';
import { thrown } from '../helpers/capture.js';
import { FORMAT_ARG, rewriteLiterals } from '../../src/expr/structs.js';

const vars = { object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { replicas: 3, containers: [{ name: 'a' }, { name: 'b' }] } } };

t.test('format: a mixed argument list loads and formats', async (t) => {
  /** [expression, result] */
  const rows: [string, unknown][] = [
    ["'%s-%d'.format(['a', 1])", 'a-1'],
    ["'%s has %d containers'.format([object.metadata.name, size(object.spec.containers)])", 'web has 2 containers'],
    ["'%s: %d replicas, ratio %.1f'.format([object.metadata.name, object.spec.replicas, 0.5])", 'web: 3 replicas, ratio 0.5'],
    ["'%s'.format([object.metadata.name])", 'web'],
    ["'%d %s'.format([1, ?object.metadata.?name])", '1 web'], // an optional element in a format list
    ["'%s' .format ( ['a'] )", 'a'], // spaces
    ["'%s %s'.format(['x', '%d'.format([2])])", 'x 2'], // nested format calls
    ["['%s', '%d'][0].format(['x'])", 'x'], // the receiver's list is an ordinary one
  ];
  for (const [expr, want] of rows) t.equal(compileExpression(expr).evaluate(vars), want, expr);
});

t.test('format: what stays refused', async (t) => {
  /** [expression, message part] */
  const rows: [string, string][] = [
    ["[1, 'a']", 'List elements must have the same type'], // not a format argument
    ["'%s'.format([[1, 'a']])", 'List elements must have the same type'], // a literal nested in the argument: the engine's check (cel-go skips it too)
    ['x.format([1])', "undeclared reference to 'x'"],
    [`${FORMAT_ARG}(1)`, `undeclared reference to '${FORMAT_ARG}'`],
  ];
  for (const [expr, part] of rows) {
    const e = thrown(() => compileExpression(expr));
    t.ok(e instanceof ExprError && e.message.includes(part), `${expr}: ${String(e)}`);
  }
});

t.test('format: the wrapper costs nothing', async (t) => {
  // a parenthesized argument is no list literal right after `format(`: not rewritten, the same list
  for (const list of ['[object.metadata.name, object.metadata.name]', '[size(object.spec.containers), int(object.spec.replicas)]']) {
    const a = compileExpression(`'%s %s'.format(${list})`);
    const b = compileExpression(`'%s %s'.format((${list}))`);
    t.equal(a.evaluate(vars), b.evaluate(vars), `${list}: value`);
    a.evaluate(vars);
    const spentA = costSpent();
    b.evaluate(vars);
    t.equal(spentA, costSpent(), `${list}: runtime cost`);
    t.equal(a.estimate?.cost, b.estimate?.cost, `${list}: estimate`);
  }
});

t.test('the rewrite of format arguments: text in, text out', async (t) => {
  const fail = (m: string): Error => new Error(m);
  const rows: [string, string][] = [
    ["'%s-%d'.format(['a', 1])", `'%s-%d'.format([${FORMAT_ARG}('a'), ${FORMAT_ARG}(1)])`],
    ["'%s'.format([f(a, b), [1]])", `'%s'.format([${FORMAT_ARG}(f(a, b)), ${FORMAT_ARG}([1])])`],
    ["'%s'.format([])", "'%s'.format([])"],
    ["'%s'.format(l)", "'%s'.format(l)"],
  ];
  for (const [src, want] of rows) t.equal(rewriteLiterals(src, { structs: false }, fail).text, want, src);
});

t.test('error positions point into the expression as written, after rewritten literals', async (t) => {
  /** [expression, mutation, line:column] of the error */
  const rows: [string, boolean, string][] = [
    ["'%s and %s'.format(['a', f(x)])", false, '1:28'], // x
    ["{?'a': optional.of(1), 'b': y}", false, '1:29'], // y
    ['[?optional.of(1), z]', false, '1:19'], // z
    ['Object{spec: Object.spec{?a: optional.of(1), b: q}}', true, '1:49'], // q
    ["'%s'.format([1]) + w", false, '1:20'], // w
    ["{?'a': 1}", false, '1:8'], // the value that is not optional
    ["'%s'.format(['a'])\n  + object.spec.replicas.foo()", false, '2:26'], // foo, on the second line
  ];
  for (const [expr, mutation, pos] of rows) {
    const e = thrown(() => compileExpression(expr, { mutation }));
    t.ok(e instanceof ExprError && e.message.endsWith(`at ${pos}`), `${JSON.stringify(expr)}: ${String(e)}`);
  }
  // at evaluation too
  for (const [expr, pos] of [
    ["'%s'.format([1 / object.spec.zero])", '1:14'],
    ['[?optional.of(1), 1 / object.spec.zero]', '1:19'],
  ] as const) {
    const e = thrown(() => compileExpression(expr).evaluate({ object: { spec: { zero: 0 } } }));
    t.ok(e instanceof ExprError && e.message.endsWith(`at ${pos}`), `${expr}: ${String(e)}`);
  }
});
