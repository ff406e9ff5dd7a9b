/**
 * Evaluation errors name the function or overload, the types and the position
 * in the expression, never a runtime value (issue 13, src/expr/eval-errors.ts).
 * Each row's object carries MARKER; the message must equal the value-free text
 * exactly, so a row fails if the engine's quoting comes back. Compile (load)
 * errors keep quoting the policy's own literals: that is the author's text.
 */
import t from 'tap';
import { compileExpression, ExprError } from '../../src/expr/cel.js';
import { evaluationReason } from '../../src/expr/eval-errors.js';

const MARKER = 'S3cr3T-Marker-91b4e2';
const object = { kind: 'Secret', metadata: { name: 's' }, stringData: { password: MARKER, list: [MARKER] }, data: { token: Buffer.from(MARKER).toString('base64') } };

/** [expression, exact message of the evaluation error] */
const runtime: [string, string][] = [
  ['int(object.stringData.password.lowerAscii()) > 0', 'int() type error: cannot convert to int at 1:1'],
  ['double(object.stringData.password.substring(1)) > 0.0', 'double() type error: cannot convert to double at 1:1'],
  ["bool('x' + object.stringData.password) == true", 'bool() conversion error: invalid string value at 1:1'],
  ["duration(object.stringData.password.upperAscii()) > duration('1s')", 'duration() conversion error: invalid duration string at 1:1'],
  ["timestamp(object.stringData.password) > timestamp('2020-01-01T00:00:00Z')", 'timestamp() requires a string in ISO 8601 format at 1:1'],
  // a computed key is not quoted; a key the source spells is
  ['object.stringData[object.stringData.password.lowerAscii()] == "x"', 'no such key at 1:1'],
  ["object.stringData['nope'] == 'x'", 'no such key: nope at 1:1'],
  ['object.stringData.nope == "x"', 'no such key: nope at 1:19'],
  // indexes and sizes are values too
  ['object.stringData.list[size(object.stringData.password)] == "x"', 'index out of bounds at 1:1'],
  ['object.stringData.password.charAt(size(object.stringData.password) + 7) == ""', 'index out of range at 1:28'],
  ["object.stringData.password.substring(99) == ''", 'index out of range at 1:28'], // cel-go's words, without the index
  ["(object.stringData.password + '%z').format([1]) == ''", 'error during formatting: unrecognized formatting clause at 1:37'],
  ["'%s %s'.format([object.stringData.password]) == ''", 'error during formatting: argument index out of range at 1:9'],
  ['object.stringData.password / 2 == 1', 'no such overload: dyn<string> / int at 1:1'],
  ['9223372036854775807 + size(object.stringData.password) > 0', 'integer overflow at 1:1'],
  ['ip(object.stringData.password.lowerAscii()).family() == 4', 'IP Address parse error during conversion from string at 1:1'],
  ['quantity(object.stringData.password) == quantity("1")', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' at 1:1"],
];

t.test('evaluation errors: function, types and position, never the value', async (t) => {
  for (const [src, want] of runtime) {
    let err: unknown;
    try {
      compileExpression(src, { path: 'spec.rule' }).evaluate({ object });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ExprError, `${src}: ExprError`);
    t.equal((err as Error)?.message, want, src);
    t.notOk(/s3cr3t|marker|91b4e2|UzNj/i.test((err as Error)?.message ?? ''), `${src}: no value`);
    t.equal((err as ExprError)?.path, 'spec.rule', `${src}: path`);
  }
});

t.test('non-engine errors keep only their class (V8 limits keep their fixed text)', async (t) => {
  const rows: [unknown, string][] = [
    [new TypeError(`Cannot read properties of undefined (reading '${MARKER}')`), 'evaluation failed (TypeError)'],
    [new RangeError('Maximum call stack size exceeded'), 'Maximum call stack size exceeded'],
    [new RangeError(`bad ${MARKER}`), 'evaluation failed (RangeError)'],
    [MARKER, 'evaluation failed'],
  ];
  for (const [e, want] of rows) t.equal(evaluationReason(e).message, want, want);
});

t.test('load errors still quote the policy author\'s literals', async (t) => {
  const rows: [string, RegExp][] = [
    ["object.metadata.name.matches('(')", /^invalid regular expression in matches\(\): .*`\(` at 1:1$/],
    ["object.metadata.name.startswith('w')", /^found no matching overload for 'dyn\.startswith\(string\)' at 1:22$/],
    ['object.nope(1)', /nope/],
  ];
  for (const [src, re] of rows) t.throws(() => compileExpression(src, { expectedType: 'bool' }), re, src);
});
