/**
 * cel-go's optional library as Kubernetes enables it (`cel.OptionalTypes()`,
 * environment/base.go, since 1.28) where the engine lacked it: optional entries
 * in map, list and struct literals (`{?k: v}`, `[?e]`, `Object{?f: v}`),
 * `optional.ofNonZeroValue`, the `optMap`/`optFlatMap` macros, and the
 * estimated cost of `or`/`orValue`. The rows are cel-go's
 * semantics as its checker (`checkCreateList`, `checkCreateMap`,
 * `checkCreateStruct`) and interpreter (`evalList`, `evalMap`) define them, and
 * cel-spec's optionals tests (tests/simple/testdata/optionals.textproto) that
 * Kubernetes' homogeneous-literal rule allows.
 */
import t from 'tap';
import { compileExpression, costSpent } from '../../src/expr/cel.js';
import { ExprError } from '../../src/expr/engine.js';
import { thrown } from '../helpers/capture.js';
import { rewriteLiterals, OPTIONAL_ENTRY, OPTIONAL_FIELD } from '../../src/expr/structs.js';

const pod = Object.freeze({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' }, annotations: {} },
  spec: { priorityClassName: 'high', containers: [{ name: 'app', image: 'nginx' }] },
});
const vars = { object: pod, oldObject: null };

/** [expression, MutatingAdmissionPolicy expression (structs), expected JSON result] */
const values: [string, boolean, unknown][] = [
  // maps: the entry is there when the optional has a value
  ["{?'a': optional.of(1), 'b': 2}", false, { a: 1, b: 2 }],
  ["{?'a': optional.none()}", false, {}],
  ["{'b': 2, ?'a': [1][?5]}", false, { b: 2 }],
  ["{?'labels': object.metadata.?labels, ?'status': object.?status}", false, { labels: { app: 'web' } }],
  ["{?'app': object.metadata.labels[?'app'], ?'tier': object.metadata.labels[?'tier']}", false, { app: 'web' }],
  ["{?'k' + (true ? 'x' : 'y'): optional.of(1)}", false, { kx: 1 }], // a ternary in a group of the key
  ["{?true ? 'x' : 'y': optional.of(1)}", false, { x: 1 }], // a ternary in the key itself
  ["{?object.?metadata.name.orValue('n'): optional.of(1)}", false, { web: 1 }], // `.?` in the key is no ternary
  ["{?object.?metadata.name.orValue('n'): [1][?5]}", false, {}],
  ["{?'a': true ? optional.of(1) : optional.none()}", false, { a: 1 }], // a ternary in the value
  ["{?'a': false ? optional.of(1) : optional.none()}", false, {}],
  ["{?'m': optional.of({?'n': [1][?5], 'o': 1})}", false, { m: { o: 1 } }],
  ["has({?'foo': optional.none()}.foo)", false, false], // cel-spec map_optional_entry_has
  ["has({?'foo': optional.of(1)}.foo)", false, true],
  ["{?'a': optional.of(1)}.size()", false, 1],
  ["{?'a': optional.none()}.size()", false, 0],
  ["{?'constructor': optional.of(1)}", false, Object.fromEntries([['constructor', 1]])], // a key the engine's map leaves out, kept
  // lists: the element is there when the optional has a value
  ["[?optional.of(1), 2]", false, [1, 2]],
  ["[?optional.of(42), ?optional.of(43)]", false, [42, 43]],
  ["[?object.metadata.?name, ?object.metadata.?namespace]", false, ['web']],
  ["[1, ?[2][?5], 3]", false, [1, 3]],
  ["[?[][?0]]", false, []],
  ["[?optional.none()]", false, []],
  ["[?optional.none()].size()", false, 0],
  ["1 in [?optional.of(1)]", false, true], // after `in`: a list literal
  ["true ? [?optional.of(1)] : [2]", false, [1]],
  ["[[?optional.of(1)], [?optional.none()]]", false, [[1], []]],
  // an optional whose type is still a parameter takes the other entries' type (cel-go's checker joins them)
  ['[1, ?optional.none()]', false, [1]],
  ['[?optional.none(), 1]', false, [1]],
  ['[1, ?[][?0], 2]', false, [1, 2]],
  ["{'b': 2, ?'a': optional.none()}", false, { b: 2 }],
  // indexes are the engine's `[?` (not optional elements)
  ["object.metadata.labels[?'app'].orValue('x')", false, 'web'],
  ["[object.metadata.labels][?0].hasValue()", false, true],
  ["[1, 2][?1].value()", false, 2],
  ["object.spec.containers[0].name", false, 'app'],
  // struct literals of a MutatingAdmissionPolicy: the field set only when present
  ["Object{spec: Object.spec{?priorityClassName: object.spec.?priorityClassName, ?hostname: object.spec.?hostname}}", true, { spec: { priorityClassName: 'high' } }],
  ["Object{metadata: Object.metadata{?labels: optional.of({'a': 'b'}), ?annotations: optional.none()}}", true, { metadata: { labels: { a: 'b' } } }],
  ["Object{spec: Object.spec{?priorityClassName: optional.none()}}", true, { spec: {} }],
  ["Object{spec: Object.spec{replicas: 1, ?priorityClassName: optional.of('x')}}", true, { spec: { replicas: 1, priorityClassName: 'x' } }],
  ["JSONPatch{op: 'add', path: '/spec/x', ?value: optional.of(1)}", true, { op: 'add', path: '/spec/x', value: 1 }],
  ["[JSONPatch{op: 'add', path: '/a', value: 1}, ?(object.metadata.?labels.hasValue() ? optional.of(JSONPatch{op: 'remove', path: '/b'}) : optional.none())]", true, [{ op: 'add', path: '/a', value: 1 }, { op: 'remove', path: '/b' }]],
  ["{?'a': optional.of(1)}", true, { a: 1 }], // maps in a mutation expression too
];

t.test('optional entries: values', async (t) => {
  for (const [expr, mutation, want] of values) {
    const got = compileExpression(expr, { mutation }).evaluate(vars);
    t.same(got, want, expr);
    if (typeof want === 'object' && want !== null && !Array.isArray(want)) t.same(Object.keys(got as object), Object.keys(want), `${expr}: keys in order`);
  }
});

/** [expression, message part]: refused at load as cel-go's checker refuses it (or our rewrite, for an internal name). */
const refused: [string, string][] = [
  ["{?'a': 1}", "expected type 'optional_type(int)' but found 'int'"],
  ["[?'x']", "expected type 'optional_type(string)' but found 'string'"],
  ["{?'a': optional.of(1), 'b': 'x'}", 'Map value uses wrong type'], // homogeneous: int and string
  ["[?optional.of(1), 'x']", 'List elements must have the same type'],
  [`${OPTIONAL_ENTRY}(optional.of(1))`, `undeclared reference to '${OPTIONAL_ENTRY}'`],
  [`[${OPTIONAL_FIELD}(optional.of(1))]`, `undeclared reference to '${OPTIONAL_FIELD}'`],
  ['__other(1)', "undeclared reference to '__other'"],
  // The optional's parameter joins the other entries' type, as with cel-go's checker, and then refuses another.
  ["[1, ?optional.none(), 'x']", "List elements must have the same type, expected type 'int' but found 'string'"],
];

t.test('optional entries: load-time errors', async (t) => {
  for (const [expr, part] of refused) {
    const e = thrown(() => compileExpression(expr));
    t.ok(e instanceof ExprError && e.message.includes(part), `${expr}: ${String(e)}`);
  }
  t.throws(() => compileExpression("Object{spec: Object.spec{?priorityClassName: 'x'}}", { mutation: true }), /expected type 'optional_type\(string\)' but found 'string'/);
});

t.test('a dyn value at an optional entry is an evaluation error (cel-go invalidOptionalEntryInit), without the value', async (t) => {
  for (const [expr, part] of [
    ["{?'a': dyn(object.metadata.name)}", 'cannot initialize optional entry from non-optional value'],
    ['[?dyn(object.metadata.name)]', 'cannot initialize optional list element from non-optional value'],
  ] as const) {
    const c = compileExpression(expr);
    const e = thrown(() => c.evaluate(vars));
    t.ok(e instanceof ExprError && e.message.includes(part) && !e.message.includes('web'), `${expr}: ${String(e)}`);
  }
  // a dyn that is an optional at run time is read as one
  t.same(compileExpression("{?'a': dyn(object.metadata.?name)}").evaluate(vars), { a: 'web' });
});

t.test('the wrapper costs nothing: the same charges and estimate as the optional alone plus its literal', async (t) => {
  const pairs: [string, string][] = [
    ["{?'a': object.metadata.?labels}", "{'a': object.metadata.?labels}"],
    ['[?object.metadata.?name, ?object.metadata.?namespace]', '[object.metadata.?name, object.metadata.?namespace]'],
  ];
  for (const [opt, plain] of pairs) {
    const a = compileExpression(opt);
    const b = compileExpression(plain);
    a.evaluate(vars);
    const spentA = costSpent();
    b.evaluate(vars);
    t.equal(spentA, costSpent(), `${opt}: runtime cost`);
    t.equal(a.estimate?.cost, b.estimate?.cost, `${opt}: estimated cost`);
  }
});

t.test('the rewrite: text in, text out', async (t) => {
  const fail = (m: string): Error => new Error(m);
  /** [source, structs, rewritten] */
  const rows: [string, boolean, string][] = [
    ["{?'a': x}", false, `{'a': ${OPTIONAL_ENTRY}(x)}`],
    ["{'b': 1, ?'a': x, 'c': 2}", false, `{'b': 1, 'a': ${OPTIONAL_ENTRY}(x), 'c': 2}`],
    ['[?x, y, ?z]', false, `[${OPTIONAL_ENTRY}(x), y, ${OPTIONAL_ENTRY}(z)]`],
    ['a[?0]', false, 'a[?0]'],
    ['a.?b', false, 'a.?b'],
    ['c ? [1] : [2]', false, 'c ? [1] : [2]'],
    ['f(x)[?1]', false, 'f(x)[?1]'],
    ["{'a': 1}['a']", false, "{'a': 1}['a']"],
    ["'s'[?0]", false, "'s'[?0]"],
    ['x in [?y]', false, `x in [${OPTIONAL_ENTRY}(y)]`],
    ['Object{?a: x, b: y}', true, `{'a': ${OPTIONAL_FIELD}( x), 'b': dyn( y)}`], // struct fields keep their spacing, as before
    ['Object{?a: x}', false, `Object{a: ${OPTIONAL_ENTRY}(x)}`], // no structs outside mutations: the engine refuses `Object{`
    ['no literal at all', false, 'no literal at all'],
  ];
  for (const [src, structs, want] of rows) t.equal(rewriteLiterals(src, { structs }, fail).text, want, src);
  t.throws(() => rewriteLiterals(`${OPTIONAL_ENTRY}(x)`, { structs: false }, fail), /undeclared reference/);
});

t.test('a MutatingAdmissionPolicy with optional fields: loaded, and applied only where the value exists', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const { mutatingPolicyYaml } = await import('../helpers/evaluation.js');
  const { createReview } = await import('../helpers/admission.js');
  const yaml = mutatingPolicyYaml("  - {patchType: ApplyConfiguration, applyConfiguration: {expression: \"Object{metadata: Object.metadata{labels: {?'team': object.metadata.?annotations[?'team']}}}\"}}");
  const set = policiesFromText(yaml);
  /** [Pod metadata, labels after] */
  const rows: [Record<string, unknown>, unknown][] = [
    [{ name: 'a', annotations: { team: 'payments' } }, { team: 'payments' }],
    // the empty map the expression then yields is applied as an empty map, as any `labels: {}` is
    [{ name: 'b', annotations: { other: 'x' } }, {}],
    [{ name: 'c' }, {}],
    [{ name: 'd', labels: { app: 'd' }, annotations: { team: 'x' } }, { app: 'd', team: 'x' }],
  ];
  for (const [metadata, labels] of rows) {
    const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', ...metadata }, spec: { containers: [{ name: 'app', image: 'nginx:1' }] } };
    const r = set.evaluate(structuredClone(obj), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default', request: createReview(obj, 'u1').request as never });
    t.same(r.denials, [], `${String(metadata.name)}: no denial`);
    t.same((r.object?.metadata as { labels?: unknown } | undefined)?.labels, labels, `${String(metadata.name)}: labels`);
  }
});

t.test('optional.ofNonZeroValue: none for cel-go zero values (traits.Zeroer), else of(v)', async (t) => {
  /** [argument, has a value] */
  const rows: [string, boolean][] = [
    ['0', false],
    ['1', true],
    ['0u', false],
    ['-0.0', false],
    ['0.5', true],
    ["''", false],
    ["'a'", true],
    ["b''", false],
    ['false', false],
    ['true', true],
    ['null', false],
    ['[]', false],
    ['[0]', true],
    ['{}', false],
    ["{'a': 0}", true],
    ['object.spec', false], // an empty map of the input
    ['object.metadata', true],
    ["duration('0s')", false],
    ["duration('1s')", true],
    ["timestamp('0001-01-01T00:00:00Z')", false], // Go's zero time
    ["timestamp('1970-01-01T00:00:00Z')", true],
    ['optional.none()', false],
    ['type(1)', true],
  ];
  const v = { object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: {} } };
  for (const [arg, has] of rows) t.equal(compileExpression(`optional.ofNonZeroValue(${arg}).hasValue()`).evaluate(v), has, arg);
  t.same(compileExpression('optional.ofNonZeroValue(1).value()').evaluate(v), 1);
  // cel-spec optionals: optional_chaining_12, 15, 16
  t.same(compileExpression("{?'nested_map': optional.ofNonZeroValue({?'map': {'c': {'dashed-index': 'goodbye'}}.?c})}").evaluate(v), { nested_map: { map: { 'dashed-index': 'goodbye' } } });
  t.same(compileExpression("[?optional.ofNonZeroValue({'c': []}.?c.orValue(dyn({})))]").evaluate(v), []);
  t.equal(compileExpression("optional.ofNonZeroValue({?'nested_map': optional.ofNonZeroValue({?'map': optional.of({}).?c})}).hasValue()").evaluate(v), false);
});

t.test('optMap and optFlatMap: values, errors, and the charges of their cel-go expansion', async (t) => {
  const v = { object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', labels: { app: 'x' } }, spec: { replicas: 3 } } };
  /** [expression, result] */
  const rows: [string, unknown][] = [
    ['optional.of(1).optMap(v, v + 1).value()', 2],
    ['optional.none().optMap(v, v + 1).hasValue()', false],
    ['object.?spec.?replicas.optMap(r, r * 2).orValue(0)', 6],
    ['object.?spec.?missing.optMap(r, r * 2).orValue(0)', 0],
    ['optional.of(1).optFlatMap(v, optional.of(v + 1)).value()', 2],
    ['optional.of([]).optFlatMap(l, l[?0]).hasValue()', false], // cel-go's documented example
    ["object.metadata.?labels.optFlatMap(l, l[?'app']).orValue('none')", 'x'],
    ["object.metadata.?labels.optFlatMap(l, l[?'tier']).orValue('none')", 'none'],
    ['dyn(object.?spec).optMap(s, s.replicas).value()', 3],
    ["{?'r': object.?spec.?replicas.optMap(r, r + 1)}", { r: 4 }],
    ['optional.of(2).optMap(v, [v, v]).value()', [2, 2]],
    ['optional.of(1).optMap(object, object + 1).value()', 2], // the bound name shadows a variable
  ];
  for (const [expr, want] of rows) t.same(compileExpression(expr).evaluate(v), want, expr);
  const refusedRows: [string, string][] = [
    ['1.optMap(v, v)', "optMap() receiver must be optional, got 'int'"],
    ['optional.of(1).optFlatMap(v, v + 1)', "optFlatMap() expression must return an optional, got 'int'"],
    ['optional.of(1).optMap(v.x, 1)', 'optMap() variable names must be simple identifiers'],
  ];
  for (const [expr, part] of refusedRows) {
    const e = thrown(() => compileExpression(expr));
    t.ok(e instanceof ExprError && e.message.includes(part), `${expr}: ${String(e)}`);
  }
  const e = thrown(() => compileExpression('dyn(1).optMap(s, s)').evaluate(v));
  t.ok(e instanceof ExprError && e.message.includes('optMap() receiver must be optional'), String(e));
  // charged as r.hasValue() ? optional.of(e[v := r.value()]) : optional.none(), the receiver evaluated twice when present
  /** [macro, its expansion by hand] */
  const expansions: [string, string][] = [
    ["object.metadata.?labels.optMap(l, l.size() + 'abc'.size())", "object.metadata.?labels.hasValue() ? optional.of(object.metadata.?labels.value().size() + 'abc'.size()) : optional.none()"],
    ["object.metadata.?missing.optMap(l, l.size() + 'abc'.size())", "object.metadata.?missing.hasValue() ? optional.of(object.metadata.?missing.value().size() + 'abc'.size()) : optional.none()"],
    ["object.metadata.?labels.optFlatMap(l, l[?'app'])", "object.metadata.?labels.hasValue() ? object.metadata.?labels.value()[?'app'] : optional.none()"],
  ];
  for (const [macro, expansion] of expansions) {
    const a = compileExpression(macro);
    const b = compileExpression(expansion);
    t.same(a.evaluate(v), b.evaluate(v), `${macro}: same value`);
    a.evaluate(v);
    const spent = costSpent();
    b.evaluate(v);
    t.equal(spent, costSpent(), `${macro}: charged as its expansion`);
  }
});

t.test('or / orValue are estimated as cel-go estimates the functions: receiver, argument and one unit (a costly operand is no longer estimated free)', async (t) => {
  const costly = "object.spec.containers.all(c, c.name.matches('a+'))";
  const alone = compileExpression(costly).estimate?.cost ?? 0;
  t.ok(alone > 10_000, `the operand alone: ${alone}`);
  t.equal(compileExpression(`[${costly}][?0].orValue(true)`).estimate?.cost, alone + 1);
  t.equal(compileExpression(`object.?spec.?x.orValue(${costly})`).estimate?.cost, alone + 1);
  t.equal(compileExpression(`[${costly}][?0].or(optional.of(true)).value()`).estimate?.cost, alone + 1 + 1 + 1);
  t.equal(compileExpression('object.?spec.?replicas.orValue(0)').estimate?.cost, 1);
  // over the limit: refused at load, as the API server refuses it
  const bomb = "object.spec.containers.all(c, object.spec.containers.all(d, object.spec.containers.all(e, c.name + d.name + e.name == 'x')))";
  t.throws(() => compileExpression(bomb));
  t.throws(() => compileExpression(`[${bomb}][?0].orValue(true)`));
});
