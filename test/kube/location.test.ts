/**
 * The location parser and path tests, as tables taken from Gatekeeper's own
 * tests (pkg/mutation/path/parser/parser_test.go, path/tester/tester_test.go):
 * valid paths give these nodes and print back to text that parses to the
 * same nodes; invalid ones fail with Gatekeeper's error kind.
 */
import t from 'tap';
import { createPathTester, formatLocation, LocationError, parseLocation, type LocationNode, type PathTest } from '../../src/kube/location.js';

const o = (key: string): LocationNode => ({ type: 'object', key });
const l = (keyField: string, keyValue?: string | number | bigint): LocationNode =>
  keyValue === undefined ? { type: 'list', keyField, glob: true } : { type: 'list', keyField, keyValue, glob: false };

const valid: [string, LocationNode[]][] = [
  ['', []],
  ['"sp\\"ec"', [o('sp"ec')]],
  ['single_field', [o('single_field')]],
  ['spec.containers[name: *].securityContext', [o('spec'), o('containers'), l('name'), o('securityContext')]],
  ['spec.containers[name: "*"].securityContext', [o('spec'), o('containers'), l('name', '*'), o('securityContext')]],
  ['spec.containers[name: foo].securityContext', [o('spec'), o('containers'), l('name', 'foo'), o('securityContext')]],
  ['spec.containers["my key": "foo bar"]', [o('spec'), o('containers'), l('my key', 'foo bar')]],
  ['spec.containers[name: ""].securityContext', [o('spec'), o('containers'), l('name', ''), o('securityContext')]],
  ['spec.containers["": "someValue"].securityContext', [o('spec'), o('containers'), l('', 'someValue'), o('securityContext')]],
  ['foo."".bar', [o('foo'), o(''), o('bar')]],
  ['    spec   .    containers    ', [o('spec'), o('containers')]],
  ['    spec   .    "containers"    ', [o('spec'), o('containers')]],
  ['spec.containers[name: opa].ports[containerPort: 8888].name', [o('spec'), o('containers'), l('name', 'opa'), o('ports'), l('containerPort', 8888), o('name')]],
  ['spec[bignum: 9223372036854775807]', [o('spec'), l('bignum', 9223372036854775807n)]],
  ['spec[quoted: "123"]', [o('spec'), l('quoted', '123')]],
  ['-123-_456_', [o('-123-_456_')]],
  ['area51', [o('area51')]],
  ['"012345"', [o('012345')]],
  ['spec."123"', [o('spec'), o('123')]],
  ['spec.studio54.bar', [o('spec'), o('studio54'), o('bar')]],
  ['spec[not_octal: 0123]', [o('spec'), l('not_octal', 123)]],
  ['spec."foo bar"', [o('spec'), o('foo bar')]],
  ['spec."foo\nbar"', [o('spec'), o('foo\nbar')]],
  [`spec."this object"."is very"["much full": 'of everyone\\'s'].'favorite thing'`, [o('spec'), o('this object'), o('is very'), l('much full', "of everyone's"), o('favorite thing')]],
  ['"token-with-trailing-backslash\\\\"', [o('token-with-trailing-backslash\\')]],
  ['"token-with-\\\\embedded-backslash"', [o('token-with-\\embedded-backslash')]],
  ["'foo[bar: baz]'", [o('foo[bar: baz]')]],
  ["'foo[bar:*]'", [o('foo[bar:*]')]],
  ["'foo[bar:baz]'", [o('foo[bar:baz]')]],
  ["'dot..dot'", [o('dot..dot')]],
  ['spec.containers[name:*].image', [o('spec'), o('containers'), l('name'), o('image')]],
];

const invalid: [string, LocationError['reason']][] = [
  ['.spec', 'unexpected token'],
  ['spec.', 'trailing separator'],
  ['spec.containers[my key: "foo bar"]', 'unexpected token'],
  ['spec.containers[key: foo bar]', 'unexpected token'],
  ['spec.containers[name: ].securityContext', 'unexpected token'],
  ['spec.containers[].securityContext', 'unexpected token'],
  ['spec.containers[:].securityContext', 'unexpected token'],
  ['spec.containers[:foo].securityContext', 'unexpected token'],
  ['spec.containers[foo].securityContext', 'unexpected token'],
  ['spec.containers[*].securityContext', 'unexpected token'],
  ['foo..bar', 'unexpected token'],
  ['[foo: bar]', 'unexpected token'],
  ['[foo: bar][bar: *]', 'unexpected token'],
  ['spec.containers[foo: bar][bar: *]', 'unexpected token'],
  ['spec.[foo: bar]', 'unexpected token'],
  ['spec.containers[123: opa]', 'unexpected token'],
  ['spec[bignum: 9223372036854775808]', 'invalid integer'],
  ['012345', 'unexpected token'],
  ['spec.123.bar', 'unexpected token'],
  ['spec[foo: 0x123]', 'unexpected token'],
  ['spec.foo bar', 'unexpected token'],
  ['*', 'unexpected token'],
  ['][', 'unexpected token'],
  ['foo[', 'unexpected token'],
  ['[', 'unexpected token'],
  [':', 'unexpected token'],
  ['spec."unterminated', 'unexpected token'],
  ['spec.a$b', 'unexpected token'],
  ['/x/y/zx[)', 'unexpected token'],
];

t.test('valid locations parse to these nodes and print back', async (t) => {
  for (const [input, want] of valid) {
    const got = parseLocation(input);
    t.same(got, want, JSON.stringify(input));
    if (want.length) t.same(parseLocation(formatLocation(got)), want, `${JSON.stringify(input)}: printed and parsed again`);
  }
});

t.test('invalid locations are refused with Gatekeeper\'s reason', async (t) => {
  for (const [input, reason] of invalid) {
    let err: unknown;
    try {
      parseLocation(input);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof LocationError, `${JSON.stringify(input)} refused`);
    t.equal((err as LocationError).reason, reason, `${JSON.stringify(input)}: ${(err as Error).message}`);
  }
  t.throws(() => parseLocation('spec.'), { message: 'trailing separators are forbidden' });
  t.throws(() => parseLocation('spec.foo bar'), { message: `unexpected token: expected '.' or eof, got: IDENT: "bar"` });
});

const test = (subPath: string, condition: PathTest['condition']): PathTest => ({ subPath: parseLocation(subPath), condition });

t.test('path tests: prefixes only, conflicts refused (tester_test.go)', async (t) => {
  const prefix: [string, string, boolean][] = [
    ['a.b.c', 'a.b.c.d', true],
    ['a.b.c', 'a.b.c', true],
    ['a[name:b].c', 'a[name:b].c', true],
    ['a[name:"b"]', 'a[name:b].c', true],
    ['a.b.q', 'a.b.c.d', false],
    ['a[name:b].c', 'a[name:b]', false],
    ['a[name:"r"]', 'a[name:b].c', false],
    ['a[otherthing:"b"]', 'a[name:b].c', false],
  ];
  for (const [short, long, ok] of prefix) {
    const f = (): unknown => createPathTester(parseLocation(long), [test(short, 'MustExist')]);
    if (ok) t.doesNotThrow(f, `${short} is a prefix of ${long}`);
    else t.throws(f, /all subpaths must be a prefix of the `location` value of the mutation/, `${short} is not a prefix of ${long}`);
  }
  const conflicts: [string, string, PathTest[], boolean][] = [
    ['contradicting conditions on the same path', 'spec.some.thing', [test('spec.some.thing', 'MustExist'), test('spec.some.thing', 'MustNotExist')], true],
    ['same path MustExist twice', 'spec.some.thing', [test('spec.some.thing', 'MustExist'), test('spec.some.thing', 'MustExist')], false],
    ['same path MustNotExist twice', 'spec.some.thing', [test('spec.some.thing', 'MustNotExist'), test('spec.some.thing', 'MustNotExist')], false],
    ['parent required but child forbidden', 'spec.some.thing', [test('spec.some', 'MustExist'), test('spec.some.thing', 'MustNotExist')], false],
    ['parent forbidden but child required', 'spec.some.thing', [test('spec.some', 'MustNotExist'), test('spec.some.thing', 'MustExist')], true],
    ['grandparent forbidden but grandchild required', 'spec.some.thing.more', [test('spec.some', 'MustNotExist'), test('spec.some.thing.more', 'MustExist')], true],
  ];
  for (const [name, location, tests, conflict] of conflicts) {
    const f = (): unknown => createPathTester(parseLocation(location), tests);
    if (conflict) t.throws(f, /^conflicting path test conditions/, name);
    else t.doesNotThrow(f, name);
  }
  const tester = createPathTester(parseLocation('spec.location.thing.and.another'), [test('spec.location.thing', 'MustExist'), test('spec.location.thing.and.another', 'MustNotExist')]);
  t.same([0, 1, 2, 3, 4, 5].map((d) => tester.existsOkay(d)), [true, true, true, true, false, true], 'existsOkay by depth');
  t.same([0, 1, 2, 3, 4, 5].map((d) => tester.missingOkay(d)), [true, true, false, true, true, true], 'missingOkay by depth');
});
