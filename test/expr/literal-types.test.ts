/**
 * Kubernetes' homogeneous aggregate literals (cel-go `HomogeneousAggregateLiterals`,
 * enabled by k8s.io/apiserver/pkg/cel/environment/base.go) as cel-go's checker
 * joins entry types (checker/checker.go `joinTypes`, checker/types.go
 * `internalIsAssignable` and `isEqualOrLessSpecific`): `dyn` joins any type,
 * a type parameter takes the type it meets, lists and maps join by their
 * parameters, other types only with themselves (src/expr/literal-types.ts).
 * The rows are what cel-go accepts and refuses; until session 20 the engine's
 * own stricter check refused every row of `accepted` that mixes `dyn` or a
 * parameter with a concrete type, among them a map literal with a string and
 * a field of `object`, common in MutatingAdmissionPolicy patches.
 */
import t from 'tap';
import { compileExpression } from '../../src/expr/cel.js';
import { ExprError } from '../../src/expr/engine.js';
import { thrown } from '../helpers/capture.js';

const pod = Object.freeze({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 3, containers: [{ name: 'app', image: 'nginx' }] },
});
const vars = { object: pod, oldObject: null };

/** [expression, MutatingAdmissionPolicy expression (structs), its value] */
const accepted: [string, boolean, unknown][] = [
  // a `dyn` entry joins any type, before or after it
  ['[1, dyn(2)]', false, [1, 2]],
  ['[dyn(2), 1]', false, [2, 1]],
  ["[1, dyn('a')]", false, [1, 'a']],
  ["[object.metadata.name, 'x']", false, ['web', 'x']],
  ["['x', object.metadata.name]", false, ['x', 'web']],
  ['[object.spec.replicas, 1]', false, [3, 1]],
  ["{'team': 'a', 'name': object.metadata.name}", false, { team: 'a', name: 'web' }],
  ["{'name': object.metadata.name, 'team': 'a'}", false, { name: 'web', team: 'a' }],
  ["{object.metadata.name: 1, 'x': 2}", false, { web: 1, x: 2 }],
  ["{'a': 1, 'b': dyn('x')}", false, { a: 1, b: 'x' }],
  // after `dyn`, the most general type so far, anything joins
  ["[1, dyn(2), 'a']", false, [1, 2, 'a']],
  // containers join by their parameters
  ['[[1], [dyn(2)]]', false, [[1], [2]]],
  ["[{'a': 1}, {'b': dyn('x')}]", false, [{ a: 1 }, { b: 'x' }]],
  ['[[], [1]]', false, [[], [1]]],
  ['[[1], []]', false, [[1], []]],
  ["[{}, {'a': 1}]", false, [{}, { a: 1 }]],
  ['[optional.none(), optional.of(1)]', false, null], // optionals are not JSON: only checked to type
  // a parameter takes the type it meets (an optional entry's, an empty list's element)
  ['[1, ?optional.none()]', false, [1]],
  ['[?optional.none(), 1]', false, [1]],
  ["[?optional.none(), 'a', 'b']", false, ['a', 'b']],
  ['[[[]], [[1]]]', false, [[[]], [[1]]]],
  // null joins what cel-go lets it join (internalIsAssignableNull): messages and opaque types
  ['[null, null]', false, [null, null]],
  ["[null, duration('1s')]", false, null],
  ["[timestamp('2020-01-01T00:00:00Z'), null]", false, null],
  ['[null, optional.of(1)]', false, null],
  // the same types, as before
  ['[1, 2, 3]', false, [1, 2, 3]],
  ["{'a': 'b', 'c': 'd'}", false, { a: 'b', c: 'd' }],
  // a MutatingAdmissionPolicy's patch value: a string and a field of the object
  ["JSONPatch{op: 'add', path: '/metadata/labels', value: {'team': 'payments', 'app': object.metadata.labels.app}}", true, { op: 'add', path: '/metadata/labels', value: { team: 'payments', app: 'web' } }],
  ["Object{metadata: Object.metadata{labels: {'team': 'payments', 'ns': object.metadata.namespace}}}", true, { metadata: { labels: { team: 'payments', ns: 'shop' } } }],
];

t.test('accepted as cel-go joins the entry types, with their values', async (t) => {
  for (const [expr, mutation, want] of accepted) {
    t.equal(thrown(() => compileExpression(expr, { mutation })), undefined, `${expr}: accepted`);
    if (want !== null) t.same(compileExpression(expr, { mutation }).evaluate(vars), want, `${expr}: value`);
  }
});

/** [expression, the message: the engine's words, the entry that does not join the ones before it] */
const refused: [string, string][] = [
  ["[1, 'a']", "List elements must have the same type, expected type 'int' but found 'string' at 1:5"],
  ['[1, 2.0]', "List elements must have the same type, expected type 'int' but found 'double' at 1:5"],
  ['[1, 1u]', "List elements must have the same type, expected type 'int' but found 'uint' at 1:5"],
  ['[1, null]', "List elements must have the same type, expected type 'int' but found 'null' at 1:5"],
  ["[null, 'a']", "List elements must have the same type, expected type 'null' but found 'string' at 1:8"],
  ['[null, [1]]', "List elements must have the same type, expected type 'null' but found 'list<int>' at 1:8"],
  ["[1, 2, 'a']", "List elements must have the same type, expected type 'int' but found 'string' at 1:8"],
  ["{'a': 1, 'b': 'x'}", "Map value uses wrong type, expected type 'int' but found 'string' at 1:15"],
  ["{'a': 1, 2: 1}", "Map key uses wrong type, expected type 'string' but found 'int' at 1:10"],
  ["[[1], ['a']]", "List elements must have the same type, expected type 'list<int>' but found 'list<string>' at 1:7"],
  ["[{'a': 1}, {'b': 'x'}]", "List elements must have the same type, expected type 'map<string, int>' but found 'map<string, string>' at 1:12"],
  ['[[], {}]', "List elements must have the same type, expected type 'list<dyn>' but found 'map<dyn, dyn>' at 1:6"],
  // a parameter bound by an entry stays bound for the entries after it
  ["[1, ?optional.none(), 'x']", "List elements must have the same type, expected type 'int' but found 'string' at 1:23"],
  ["[[], [1], ['a']]", "List elements must have the same type, expected type 'list<int>' but found 'list<string>' at 1:11"],
  // nested literals are checked too
  ["[1].map(x, [x, 'a'])", "List elements must have the same type, expected type 'int' but found 'string' at 1:16"],
  ["{'k': [1, 'a']}", "List elements must have the same type, expected type 'int' but found 'string' at 1:11"],
];

t.test('refused at load as cel-go refuses them, pointing at the entry', async (t) => {
  for (const [expr, message] of refused) {
    const e = thrown(() => compileExpression(expr));
    t.ok(e instanceof ExprError, `${expr}: an ExprError`);
    t.equal(e instanceof Error ? e.message : undefined, message, expr);
  }
});

t.test('the format exemption stays: a string format call takes a mixed list', async (t) => {
  t.equal(compileExpression("'%s has %d'.format(['web', 3])").evaluate(vars), 'web has 3');
});
