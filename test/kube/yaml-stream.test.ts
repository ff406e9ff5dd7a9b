import t from 'tap';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import {
  ManifestParseError, doubleQuote, isAmbiguousInYaml11, normalizeForOutput, parseGoInt, parseManifests, printManifests, printManifestsTo, resolvePlainScalar,
} from '../../src/kube/yaml-stream.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { firstDifference, parsePyYaml, parseYaml11, pyYamlAvailable, type Yaml11Value } from '../helpers/yaml11.js';
import { loadCases } from '../helpers/cases.js';

const values = (text: string): JsonValue[] => parseManifests(text).map((d) => d.value);

t.test('plain scalars resolve as go-yaml v3 decodes them into interface{} (case 169)', async (t) => {
  const table: [string, JsonValue][] = [
    ['42', 42], ['-7', -7], ['+7', 7], ['1.50', 1.5], ['1e3', 1000], ['1E3', 1000], ['0x1F', 31], ['0755', 493], ['0o17', 15],
    ['0b101', 5], ['-0b101', -5], ['1_000', 1000], ['08', 8], ['.5', 0.5], ['1.', 1], ['-0', 0],
    ['12345678901234567890', 12345678901234567890n], ['9007199254740993', 9007199254740993n], ['-9223372036854775808', -9223372036854775808n],
    ['9007199254740991', 9007199254740991], ['123456789012345678901234567890', 1.2345678901234568e29], ['1e400', '1e400'],
    ['true', true], ['True', true], ['TRUE', true], ['false', false], ['yes', 'yes'], ['on', 'on'], ['y', 'y'], ['No', 'No'],
    ['~', null], ['null', null], ['Null', null], ['', null], ['.inf', Infinity], ['-.Inf', -Infinity],
    ['2024-01-01', '2024-01-01'], ['1:20', '1:20'], ['0x', '0x'], ['-', '-'], ['.', '.'], ['1.10', 1.1], ['v1', 'v1'], ['100Mi', '100Mi'],
    ['<<', '<<'], ['=', '='], ['nginx:1.25', 'nginx:1.25'],
  ];
  for (const [s, want] of table) t.same(resolvePlainScalar(s), want, JSON.stringify(s));
  t.ok(Number.isNaN(resolvePlainScalar('.nan')), '.nan');
  t.equal(parseGoInt('0x'), undefined);
  t.equal(parseGoInt('18446744073709551615'), 18446744073709551615n, 'ParseUint range');
  t.equal(parseGoInt('18446744073709551616'), undefined, 'beyond uint64');
  t.equal(parseGoInt('+18446744073709551615'), undefined, 'ParseUint takes no sign');
});

t.test('case 169 input reads as kustomize reads it', async (t) => {
  const [cfg] = values(loadCases().find((c) => c.name.startsWith('169'))?.read('input.yaml') ?? 'skip: true');
  if ((cfg as JsonObject).skip) return void t.skip('conformance cases not present', () => undefined);
  t.same((cfg as JsonObject).spec, {
    int: 42, quotedInt: '42', float: 1.5, exp: 1000, neg: -7, octal: 493, hex: 31, boolTrue: true, boolCaps: true,
    yes: 'yes', on: 'on', nullTilde: null, nullWord: null, bigint: 12345678901234567890n,
  });
});

t.test('tags, quoting and block scalars', async (t) => {
  const table: [string, JsonValue][] = [
    ['a: "42"', { a: '42' }], ["a: 'yes'", { a: 'yes' }], ['a: !!str 42', { a: '42' }], ['a: !!int "42"', { a: 42 }],
    ['a: !!float 1', { a: 1 }], ['a: !custom 42', { a: '42' }], ['a: |\n  x\n  y\n', { a: 'x\ny\n' }], ['a: >\n  x\n  y\n', { a: 'x y\n' }],
    ['a: |-\n  x\n', { a: 'x' }], ['0x10: a\n1: b\ntrue: c\n~: d', { '0x10': 'a', 1: 'b', true: 'c', '~': 'd' }],
    ['__proto__: x', JSON.parse('{"__proto__": "x"}') as JsonValue], ['{a: [1, {b: c}]}', { a: [1, { b: 'c' }] }],
  ];
  for (const [src, want] of table) t.same(values(src), [want], src);
  t.equal(Object.getPrototypeOf(values('__proto__: x')[0]), Object.prototype, '__proto__ is an own key, not a prototype');
});

t.test('documents: empty ones dropped, markers, non-objects passed through, source ranges', async (t) => {
  const src = '---\n# only a comment\n---\na: 1\n...\n---\n---\n- x\n- y\n--- hello\n---\n~\n--- 3\n';
  const docs = parseManifests(src);
  t.same(docs.map((d) => d.value), [{ a: 1 }, ['x', 'y'], 'hello', 3]);
  t.same(docs.map((d) => d.docNumber), [2, 4, 5, 7]);
  t.same(docs.map((d) => d.source && src.slice(d.source.start, d.source.end).trim()), ['a: 1', '- x\n- y', 'hello', '3']);
  t.same(parseManifests(''), []);
  t.same(parseManifests('# nothing\n'), []);
  t.same(values('\ufeffa: 1\r\nb: 2\r\n'), [{ a: 1, b: 2 }], 'BOM and CRLF');
});

t.test('anchors, aliases and merge keys are expanded into independent copies (case 168)', async (t) => {
  const [v] = values('x: &m {a: 1, b: 2}\ny:\n  <<: [*m, {a: 9, c: 3}]\n  b: 5\nz: *m\n"<<": q\nw:\n  <<: *m\n');
  t.same(v, { x: { a: 1, b: 2 }, y: { b: 5, a: 1, c: 3 }, z: { a: 1, b: 2 }, '<<': 'q', w: { a: 1, b: 2 } });
  const o = v as Record<string, JsonObject>;
  t.not(o.x, o.z, 'alias is a copy');
  o.z.a = 7;
  t.equal(o.x.a, 1, 'mutating the copy leaves the anchor alone');
  const c168 = loadCases().find((c) => c.name.startsWith('168'));
  if (c168) t.same((values(c168.read('input.yaml'))[1] as Record<string, JsonObject>).metadata.labels, { base: '1', app: 'pod', extra: '2' });
});

t.test('errors are one line with document, line and column', async (t) => {
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const [name, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
    laughs.push(`${name}: &${name} [${Array(9).fill('*' + prev).join(',')}]`);
  }
  const table: [string, RegExp][] = [
    ['a: 1\n---\nb: [1\nc: d\n', /^document 2, line 4, column 1: .*\]/],
    ['a: 1\nb: 2\na: 3\n', /^document 1, line 3, column 1: mapping key "a" already defined$/],
    ['a: 1\n"a": 3\n', /^document 1, line 2, column 1: mapping key "a" already defined$/],
    ['a: &x [*x]\n', /^document 1, line 1, column 8: anchor "x" is used inside itself$/],
    ['a: *nope\n', /^document 1, line 1, column 4: unknown anchor "nope"/],
    ['---\n---\nx: !!int abc\n', /^document 2, line 3, column 10: cannot decode "abc" as !!int$/],
    ['a:\n  <<: 3\n', /^document 1, line 2, column 7: map merge/],
    ['? [a]\n: 1\n', /^document 1, line 1, column 3: a mapping key must be a scalar$/],
    ['a: b: c\n', /^document 1, line 1, column \d+: /],
    ['\ta: 1\n', /^document 1, line 1, column \d+: /],
    [laughs.join('\n'), /^document 1, line 6, column \d+: excessive aliasing/],
  ];
  for (const [src, want] of table) {
    try {
      parseManifests(src);
      t.fail(`no error for ${JSON.stringify(src.slice(0, 40))}`);
    } catch (e) {
      t.type(e, ManifestParseError);
      t.notMatch((e as Error).message, /\n/, 'one line');
      t.match((e as Error).message, want, JSON.stringify(src.slice(0, 40)));
    }
  }
});

/** Strings a YAML 1.1 reader would re-type, and strings with indicator problems. */
const ADVERSARIAL = [
  'on', 'On', 'ON', 'off', 'yes', 'Yes', 'no', 'NO', 'y', 'Y', 'n', 'N', 'true', 'True', 'false', 'null', 'Null', '~', '',
  '0x10', '0x_', '1e3', '1E3', '1e+3', '010', '0755', '0o10', '0b11', '1.10', '1.0', '.5', '.', '-.', '._', '.inf', '-.Inf', '.nan', '+1',
  '-0', '1_000', '2024-01-01', '2024-01-01T10:00:00Z', '2001-12-14 21:59:43.10 -5', '1:20', '-1:20:30.5', '190:20:30', '<<', '=',
  '12345678901234567890', '42', ' leading', 'trailing ', 'a: b', 'a #b', '#c', '*star', '&amp', '!bang', '%pct', '@at', '`tick',
  '- a', '-', '?', '? x', ':', 'a:', '[x]', '{x}', 'a, b', '"dq"', "'sq'", '|', '>', 'a\tb', '\ttab', 'x\n', 'l1\nl2', '\nlead',
  'trail\n\n', ' x\ny', 'a  \nb', 'line \n', 'ünïcödé', '日本語', '😀 emoji', '\u0085nel', 'ls\u2028ps\u2029', '\ufeffbom', 'del\u007f',
  '\u0000nul', 'cr\r\nlf', '---', '...', '--- x', 'a ---', '0 2 * * *', '* * * * */5', 'C:\\path\\to', 'nginx:1.25', 'x'.repeat(200),
  'word '.repeat(40).trim(), 'postrenderer.helm.sh/postrender-filename',
];

t.test('printed strings read back the same with YAML 1.1 and with our reader, as values and as keys', async (t) => {
  const obj: JsonObject = { values: ADVERSARIAL, map: Object.fromEntries(ADVERSARIAL.map((s, i) => [s, i])) };
  const text = printManifests([obj]);
  t.equal(firstDifference(parseYaml11(text)[0], obj as Yaml11Value), null, 'yaml package, version 1.1');
  t.equal(firstDifference(values(text)[0] as Yaml11Value, obj as Yaml11Value), null, 'parseManifests');
  if (pyYamlAvailable()) {
    const [r] = parsePyYaml([text]);
    t.same('error' in r ? r.error : firstDifference(r.docs[0], obj as Yaml11Value), null, 'PyYAML');
  }
});

t.test('strings a 1.1 reader would re-type are double-quoted (finding 37)', async (t) => {
  const quoted = ['on', 'yes', 'no', 'y', 'off', 'true', 'True', 'null', '~', '0x10', '1e3', '010', '0755', '0o10', '1.10', '.inf',
    '2024-01-01', '1_000', '<<', '=', '', '1:20', '42'];
  for (const s of quoted) {
    t.ok(isAmbiguousInYaml11(s), `${JSON.stringify(s)} is ambiguous`);
    t.equal(printManifests([{ [s]: s }]), `${JSON.stringify(s)}: ${JSON.stringify(s)}\n`, `${JSON.stringify(s)} as key and value`);
  }
  for (const s of ['plain', 'nginx:1.25', 'v1', '100Mi', 'C:\\path\\to', '0 2 * * *', 'Yess', 'null0']) {
    t.notOk(isAmbiguousInYaml11(s), `${JSON.stringify(s)} is not`);
    t.equal(printManifests([{ k: s }]), `k: ${s}\n`, `${JSON.stringify(s)} stays plain`);
  }
  t.equal(doubleQuote('a\tb"\\\u0085\u2028'), '"a\\tb\\"\\\\\\x85\\u2028"');
});

t.test('layout: 2-space indent, dashes at the parent, literal blocks, no folding, bigint digits', async (t) => {
  const table: [JsonValue[], string][] = [
    [[{ spec: { containers: [{ name: 'c', args: ['--a', '--b'] }] } }], 'spec:\n  containers:\n  - name: c\n    args:\n    - --a\n    - --b\n'],
    [[{ data: { 'run.sh': '#!/bin/sh\necho "hi"\n', kept: 'x\n\n' } }], 'data:\n  run.sh: |\n    #!/bin/sh\n    echo "hi"\n  kept: |+\n    x\n\n'],
    [[{ big: 12345678901234567890n, neg: -9223372036854775808n, f: 1.5, e: 1e21, s: 5e-7 }], 'big: 12345678901234567890\nneg: -9223372036854775808\nf: 1.5\ne: 1.0e+21\ns: 5.0e-7\n'],
    [[{ long: 'word '.repeat(30).trim() }], `long: ${'word '.repeat(30).trim()}\n`],
    [[{ a: 1 }, 'text', ['x'], 3, { b: {} }, { c: [] }], 'a: 1\n---\ntext\n---\n- x\n---\n3\n---\nb: {}\n---\nc: []\n'],
    [[{ a: null, b: true }], 'a: null\nb: true\n'],
    [[], ''],
  ];
  for (const [input, want] of table) t.equal(printManifests(input), want, JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)).slice(0, 60));
});

t.test('normalizeForOutput drops only an empty or null top-level metadata.annotations (finding 39, case 173)', async (t) => {
  const table: [JsonValue, JsonValue][] = [
    [{ metadata: { name: 'a', annotations: {} } }, { metadata: { name: 'a' } }],
    [{ metadata: { name: 'a', annotations: null } }, { metadata: { name: 'a' } }],
    [{ metadata: { name: 'a', labels: {}, annotations: { x: '' } } }, { metadata: { name: 'a', labels: {}, annotations: { x: '' } }}],
    [{ metadata: { labels: null } }, { metadata: { labels: null } }],
    [{ spec: { template: { metadata: { annotations: null } } } }, { spec: { template: { metadata: { annotations: null } } } }],
    [{ metadata: { annotations: { 'postrenderer.helm.sh/postrender-filename': 'templates/x.yaml' } } }, { metadata: { annotations: { 'postrenderer.helm.sh/postrender-filename': 'templates/x.yaml' } } }],
    ['scalar', 'scalar'], [['x'], ['x']], [{ data: {} }, { data: {} }],
  ];
  for (const [input, want] of table) {
    const frozen = structuredClone(input);
    t.same(normalizeForOutput(input), want, JSON.stringify(input));
    t.same(input, frozen, 'input not mutated');
  }
  const untouched = { metadata: { name: 'a' } };
  t.equal(normalizeForOutput(untouched), untouched, 'same object when nothing changes');
});

t.test('every conformance input round-trips through printManifests for YAML 1.1 readers', async (t) => {
  const cases = loadCases();
  if (cases.length === 0) return void t.skip('conformance cases not present', () => undefined);
  const texts: string[] = [];
  const expected: JsonValue[][] = [];
  for (const c of cases) {
    let docs: JsonValue[];
    try {
      docs = values(c.read('input.yaml'));
    } catch (e) {
      t.ok(c.expectError, `${c.name}: input refused only in an error case (${(e as Error).message})`);
      continue;
    }
    const text = printManifests(docs);
    t.equal(firstDifference(parseYaml11(text) as Yaml11Value, docs as Yaml11Value), null, c.name);
    texts.push(text);
    expected.push(docs);
  }
  if (pyYamlAvailable()) {
    parsePyYaml(texts).forEach((r, i) => t.same('error' in r ? r.error : firstDifference(r.docs, expected[i] as Yaml11Value), null, `PyYAML ${i}`));
  }
});

// ---------------------------------------------------------------------------
// Properties (seeded, bounded)

const SEED = 20261107;
const keyArb = fc.oneof(fc.constantFrom(...ADVERSARIAL), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }))
  .filter((k) => k !== '__proto__');
const strArb = fc.oneof(
  fc.constantFrom(...ADVERSARIAL),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\t', ':', '#', '-', '0', '.', 'e', '_', '"', "'", '\\', 'y', '\u00e9'), maxLength: 12 }),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
const scalarArb: fc.Arbitrary<JsonValue> = fc.oneof(
  strArb, strArb, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
);
const { value: valueArb } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 5, noNullPrototype: true }) as fc.Arbitrary<JsonValue>,
  ),
}));
const objectArb = fc.dictionary(keyArb, valueArb, { maxKeys: 6, noNullPrototype: true }) as fc.Arbitrary<JsonObject>;

t.test('property: YAML 1.1 and our reader both read printManifests([x]) as x', async (t) => {
  fc.assert(fc.property(objectArb, (x) => {
    const text = printManifests([x]);
    const d11 = firstDifference(parseYaml11(text)[0] ?? {}, x as Yaml11Value);
    const dOurs = firstDifference((values(text)[0] ?? {}) as Yaml11Value, x as Yaml11Value);
    if (d11 || dOurs) throw new Error(`${d11 ?? dOurs}\n${text}`);
  }), { seed: SEED, numRuns: 300 });
  t.pass('300 runs');
});

t.test('property: PyYAML reads printManifests([x]) as x', async (t) => {
  if (!pyYamlAvailable()) return void t.skip('python3 with PyYAML not available', () => undefined);
  const samples = fc.sample(objectArb, { seed: SEED + 1, numRuns: 300 });
  const texts = samples.map((x) => printManifests([x]));
  const results = parsePyYaml(texts);
  let failures = 0;
  results.forEach((r, i) => {
    const d = 'error' in r ? `PyYAML error: ${r.error}` : firstDifference(r.docs[0] ?? {}, samples[i] as Yaml11Value);
    if (d && failures++ < 5) t.fail(`${d}\n${texts[i]}`);
  });
  t.equal(failures, 0, `${samples.length} samples`);
});

t.test('helpers: the YAML 1.1 reader really is 1.1 (so the properties can fail)', async (t) => {
  t.same(parseYaml11('a: on\nb: 0755\nc: 1:20\n'), [{ a: true, b: 493, c: 80 }]);
  t.same(parseAllDocuments('a: on').map((d) => d.toJS()), [{ a: 'on' }], 'the 1.2 default differs');
  t.not(firstDifference({ a: 'on' }, { a: true }), null);
});

t.test('printManifestsTo: the pieces concatenate to printManifests; release empties the array', async (t) => {
  const rows: [string, JsonValue[]][] = [
    ['none', []],
    ['one map', [{ a: 1 }]],
    ['maps, a scalar document and a list', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v\nw' } }, 'text', [1, { b: null }], { c: { d: [] } }]],
    ['an object twice (the reference printer)', ((o: JsonValue) => [{ x: o, y: o }])({ shared: true })],
    ['a big document between small ones', [{ a: 1 }, { items: Array.from({ length: 5000 }, (_, i) => ({ name: `n${i}`, v: [i, 'on'] })) }, 'end']],
  ];
  for (const [name, docs] of rows) {
    const pieces: string[] = [];
    const own = [...docs];
    printManifestsTo(own, (c) => pieces.push(c), true);
    t.equal(pieces.join(''), printManifests(docs), `${name}: same text`);
    const big = docs.some((d) => JSON.stringify(d).length > 100_000);
    if (big) t.ok(pieces.length > docs.length && pieces.every((p) => p.length < 200_000), `${name}: a big document in chunks`);
    else t.equal(pieces.length, docs.length, `${name}: one piece per small document`);
    t.ok(own.every((v) => v === null), `${name}: released`);
    const kept = [...docs];
    printManifestsTo(kept, () => undefined);
    t.same(kept, docs, `${name}: kept without release`);
  }
});
