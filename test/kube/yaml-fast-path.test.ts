/**
 * The fast paths of the manifest stream against the reference (`yaml` package)
 * paths they must reproduce exactly: `parseManifestsFast` (js-yaml) against
 * `parseManifestsSlow`, and the emitter behind `printManifests` against
 * `printManifestsSlow`, byte for byte.
 */
import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  ManifestParseError, parseManifests, parseManifestsFast, parseManifestsSlow, printManifests, printManifestsSlow, type ManifestDoc,
} from '../../src/kube/yaml-stream.js';
import type { JsonObject, JsonValue } from '../../src/kube/object.js';
import { corpusFiles } from '../helpers/corpus.js';
import { loadCases, REPO_ROOT } from '../helpers/cases.js';
import { firstDifference, parsePyYaml, parseYaml11, pyYamlAvailable, type Yaml11Value } from '../helpers/yaml11.js';

/** A value for a test name: JSON, with bigint and non-finite numbers, and line separators escaped (TAP is line-based). */
const show = (v: unknown): string =>
  (JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) ?? String(v))
    .replace(/[\u0080-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Docs compared strictly: values (Object.is for numbers, prototypes, bigint vs number), docNumber and source. */
function docsDifference(got: ManifestDoc[], want: ManifestDoc[]): string | null {
  if (got.length !== want.length) return `${got.length} documents, want ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i].docNumber !== want[i].docNumber) return `document ${i}: docNumber ${got[i].docNumber}, want ${want[i].docNumber}`;
    if (!isDeepStrictEqual(got[i].value, want[i].value)) return `document ${want[i].docNumber}: ${show(got[i].value)}, want ${show(want[i].value)}`;
    if (!isDeepStrictEqual(got[i].source, want[i].source)) return `document ${want[i].docNumber}: source ${show(got[i].source)}, want ${show(want[i].source)}`;
  }
  return null;
}

type Outcome = { fast: boolean; error?: string };

/**
 * Checks that the fast path gives the reference's documents, or gives up; that
 * `parseManifests` gives the reference's documents or error message. Returns
 * whether the fast path read the text.
 */
function checkParse(t: Test, text: string, label = show(text).slice(0, 70)): Outcome {
  let want: ManifestDoc[] | undefined;
  let error: Error | undefined;
  try {
    want = parseManifestsSlow(text);
  } catch (e) {
    error = e as Error;
  }
  const fast = parseManifestsFast(text);
  if (error) {
    t.type(error, ManifestParseError, `${label}: the reference error is a ManifestParseError`);
    t.equal(fast, undefined, `${label}: the fast path gives up where the reference fails (${error.message})`);
    t.throws(() => parseManifests(text), { message: error.message }, `${label}: same error`);
    return { fast: false, error: error.message };
  }
  if (fast) t.equal(docsDifference(fast, want as ManifestDoc[]), null, `${label}: fast path`);
  t.equal(docsDifference(parseManifests(text), want as ManifestDoc[]), null, `${label}: parseManifests`);
  return { fast: fast !== undefined };
}

t.test('differential: every corpus file and conformance input reads the same on both paths', async (t) => {
  const files = corpusFiles();
  for (const f of files) {
    const { fast, error } = checkParse(t, readFileSync(f, 'utf8'), f.slice(REPO_ROOT.length - 4));
    t.notOk(error, `${f}: reads`);
    t.ok(fast, `${f}: read by the fast path`);
  }
  const cases = loadCases();
  let fastCases = 0;
  for (const c of cases) if (checkParse(t, c.read('input.yaml'), `${c.name}/input.yaml`).fast) fastCases++;
  if (files.length + cases.length === 0) return void t.skip('no corpus and no conformance cases', () => undefined);
  // Only the anchors case (168) and the invalid-YAML case (225) need the reference reader.
  if (cases.length > 0) t.ok(fastCases >= cases.length - 5, `${fastCases} of ${cases.length} conformance inputs read by the fast path`);
});

/** Scalars whose reading differs between YAML readers or resolvers. */
const TRICKY = [
  'on', 'On', 'yes', 'no', 'y', 'off', 'true', 'True', 'TRUE', 'false', 'FALSE', '0755', '08', '0x1F', '0X1f', '0o17', '0O17', '0b11', '-0b101', '1_000', '1__0',
  '_1', '.5', '1.', '1.50', '1.0', '-0.0', '1e3', '1E3', '1e+3', '1e400', '1_0e400', '.inf', '-.inf', '+.INF', '.nan', '.NaN', '~', 'null', 'Null', 'NULL',
  '2024-01-01', '2024-01-01T10:00:00Z', '1:20', '+1', '-1', '-0', '+0', '0', '00', '9007199254740991', '9007199254740993', '-9223372036854775808',
  '-9223372036854775809', '9223372036854775808', '18446744073709551615', '18446744073709551616', '+18446744073709551615', '123456789012345678901234567890',
  '0x', '0b', '0o', '0x_1', '1e', '12e', '.', '..', '-', '+', '<<x', '=', 'v1', '100Mi', 'nginx:1.25', 'http://x.y/z?a=b&c=d', 'a b', 'é', '😀',
  '"42"', "'42'", '"0x1F"', "'~'", '"null"', '""', "''", '"\\x41\\u00e9\\t"', "'it''s'", '"<<"',
  '!!str 1', '!!str 0x10', '!!str ~', '!!int "7"', '!!int 0x10', '!!int "0755"', '!!float 1', '!!float "1e3"', '!!bool true', '!!bool "False"', '!!null ~',
  '!!null ""', '!!str "on"', '!!int 7.0', '!!float .nan',
];

t.test('tricky scalars read the same on both paths, as values, keys, list items, flow items and documents', async (t) => {
  const slow: string[] = [];
  for (const s of TRICKY) {
    const texts = [`a: ${s}\n`, `${s}: v\n`, `- ${s}\n`, `${s}\n`, `k: [${s}, x]\n`, `k: {${s}: ${s}}\n`, `m:\n  ${s}: 1\n  n: ${s}\n`];
    for (const text of texts) if (!checkParse(t, text).fast) slow.push(text);
    // Content on a `---` line goes to the reference reader (it refuses some that js-yaml takes).
    t.notOk(checkParse(t, `--- ${s}\n`).fast, `--- ${s}: reference reader`);
  }
  // Only the bare `-` (an empty list entry, or an error) needs the reference reader.
  t.strictSame(slow, ['a: -\n', 'k: [-, x]\n', 'k: {-: -}\n', 'm:\n  -: 1\n  n: -\n'], 'read by the fast path: all but these');
  // And the readings are kustomize's.
  const [v] = parseManifests('a: 0x1F\nb: 0755\nc: yes\nd: ~\ne: 18446744073709551615\nf: 18446744073709551616\ng: !!int "7"\nh: !!str 1\n0x10: k\n~: n\n');
  t.strictSame(v.value, { a: 31, b: 493, c: 'yes', d: null, e: 18446744073709551615n, f: 18446744073709552000, g: 7, h: '1', '0x10': 'k', '~': 'n' });
  t.ok(parseManifestsFast('a: 0x1F\n~: n\n'), 'that stream takes the fast path');
});

t.test('keys: text as written, __proto__ and constructor as own data properties, duplicates refused', async (t) => {
  for (const text of ['__proto__: x\n', '__proto__: {polluted: 1}\n', 'constructor: x\ntoString: y\n', 'a:\n  __proto__:\n    b: 1\n', '"__proto__": [1]\n',
    '0x10: a\n16: b\n', '1: a\n01: b\n"1.0": c\n1.0e0: d\n', 'True: a\ntrue: b\n', '~: a\nnull: b\n"": c\n', '.inf: a\n.Inf: b\n']) {
    t.ok(checkParse(t, text).fast, `${show(text)}: fast path`);
  }
  const [d] = parseManifests('__proto__: {polluted: 1}\n');
  t.equal(Object.getPrototypeOf(d.value), Object.prototype, 'the prototype is untouched');
  t.ok(Object.prototype.hasOwnProperty.call(d.value, '__proto__'), 'own key');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  for (const text of ['a: 1\na: 2\n', '0x10: a\n"0x10": b\n', '~: a\n"~": b\n', '__proto__: 1\n__proto__: 2\n', 'k: {a: 1, a: 2}\n']) {
    const o = checkParse(t, text);
    t.match(o.error, /already defined$/, `${show(text)}: duplicate refused with the reference message`);
  }
});

t.test('streams: tabs, CRLF, BOM, markers, comment-only and empty documents', async (t) => {
  const table: [string, boolean][] = [
    ['a: 1\r\nb:\r\n  - x\r\n  - "y"\r\n', true],
    ['a: "multi\r\n  line"\r\nb: |\r\n  l1\r\n\r\n  l2\r\n', true],
    ['\ufeffa: 1\n', false],
    ['\ufeff- a\n', false],
    ['a: x\tb\nc: "\t"\n', true],
    ['a:\tb\n', true],
    ['\ta: 1\n', false],
    ['a:\n\t- b\n', false],
    ['a: 1\n...\n---\nb: 2\n...\n', true],
    ['a: 1\n...\nb: 2\n', true],
    ['a: 1\n...\n# c\n---\nb: 2\n', true],
    ['---\n# only a comment\n---\na: 1\n', true],
    ['# c\n---\n---\n\n---\n~\n---\nnull\n---\na: 1\n---\n', true],
    ['', true],
    ['\n\n', true],
    ['# nothing\n', true],
    ['---\n', true],
    ['---\n---\n', true],
    ['a: 1', true],
    ['a: |\n  x', true],
    ['a: |+\n  x\n\n', true],
    ['a: |+\n  x\n  ', false],
    ['a: 1\n--- ', false],
    ['- a\n-\n- b\n', false],
    ['- - a\n  -\n- b\n', false],
    ['|1\n  x\n', false],
    ['a: |2\n   x\n', false],
    ['!!str\n---\n', false],
    ['a: !!str\n  1\n', false],
    ['a: "x\\\n\n  y"\n', false],
    ['a: "x\\\n  y"\n', true],
    ['a: 1\rb: 2\r', false],
    ['--- a: b\n', false],
    ['[a]#c\n', false],
    ['[a,#c\n b]\n', false],
    ['a: "x"#c\n', false],
    ['a: "x" #c\n', true],
    ['a: !!int 0x10: b\n', false],
    ['---\n\ta\n', false],
    ['b:\n- \t!!float 1\n', false],
    ['Null\n:---\n0o8\n', false],
  ];
  for (const [text, fast] of table) {
    const o = checkParse(t, text);
    t.equal(o.fast, fast, `${show(text)}: ${fast ? 'fast path' : 'reference reader'}`);
  }
});

t.test('what js-yaml reads differently goes to the reference reader', async (t) => {
  const table = [
    'a: &x {b: 1}\nc: *x\n', // aliases: copies, not shared objects
    'a: &x 1\n', 'x: &a [*a]\n', 'b: *nope\n',
    'base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n', 'd:\n  <<: {x: 1}\n', // merge keys
    '%YAML 1.2\n---\na: 1\n', '%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n',
    'a: !<tag:yaml.org,2002:str> 1\n', 'a: !custom 42\n', 'a: !!binary aGk=\n', 'a: !!timestamp 2024-01-01\n', 'a: !!map {b: 1}\n', 'a: !!seq [1]\n',
    'a: ! 42\n', 'a: !\nb: 1\n', 'a: !!str [1]\n',
    '? a\n: b\n', '? [a]\n: b\n', '? {a: 1}\n', '?\n: x\n', '[a]: b\n', '{a: 1}: b\n', 'k: {[a]: b}\n', 'k: {[a]}\n', 'k: {: x}\n', 'k: [a: b, [c]: d]\n',
    'a: !!int abc\n', 'a: !!bool yes\n', 'a: !!null 0\n', 'a: !!float x\n',
    'a: b: c\n', 'a:\n  - b\n c: d\n', 'a: [1\n', 'a: "x\n', "a: 'x\n", 'a: {b: 1\n', 'a: @x\n', 'a: `x\n', '\0', 'a: \u0001\n',
    'k' + 'x'.repeat(1100) + ': v\n',
    `a: ${'['.repeat(120)}${']'.repeat(120)}\n`,
  ];
  for (const text of table) {
    const o = checkParse(t, text);
    t.notOk(o.fast, `${show(text).slice(0, 60)}: reference reader`);
  }
});

// ---------------------------------------------------------------------------
// Printing

const TRICKY_STRINGS = [
  ...TRICKY, 'e5', 'E10', '.e5', '-e5', '---', '---x', '...', '...x', '%x', '- a', '-', '?', '? x', ':', 'a:', 'a: b', '# c', 'a #b', '[x]', '{x}', 'a, b', '|', '>',
  '!x', '&x', '*x', '@x', '`x', ' lead', 'trail ', 'x\n', 'a\nb', 'a\n ', 'a\n  \n', '\n', '\n\n', 'x\n\n', '\nlead', ' x\ny', 'a\n---\nb', 'a\n...\n',
  'a"b', "a'b", 'a"b\'c', '"', "'", 'tab\tx', 'cr\r\nlf', 'nel\u0085', 'ls\u2028', 'bom\ufeff', 'nul\u0000', 'del\u007f', '\ud800', 'x'.repeat(45) + '\n ',
  '2001-12-14t21:59:43.10-05:00', '190:20:30.15', 'C:\\path', 'k8s.io/name', '', 'a  b', 'y'.repeat(300),
];

t.test('printing: the emitter prints what the yaml package prints, byte for byte', async (t) => {
  const shared = { a: [1, 2] };
  const values: JsonValue[] = [
    { values: TRICKY_STRINGS, map: Object.fromEntries(TRICKY_STRINGS.map((s, i) => [s, i])) },
    { nested: { list: [[1, [2, []]], { a: {} }, [], {}, null, true, false], deep: { a: { b: { c: ['x\ny\n', 'z'] } } } } },
    { numbers: [0, -0, 1.5, 1e21, -1e21, 5e-7, 1.5e-7, 123456789.125, 2 ** 53, Infinity, -Infinity, NaN, 12345678901234567890n, -9223372036854775808n] },
    Object.fromEntries(TRICKY_STRINGS.map((s, i) => [s, i])), // top-level keys
    'top-level string', 'multi\nline\n', ' x\ny', '  lead\n\n', '---x', '...', '%x', 'on', '', 42, null, true, [], {}, ['a', ['b']], [{ a: 1, b: [{ c: 2 }] }],
    { x: shared, y: shared }, // an alias: the yaml package's own printer
    { [`k${'x'.repeat(1100)}`]: 'long key' }, // an explicit key: the yaml package's own printer
  ];
  for (const v of values) t.equal(printManifests([v]), printManifestsSlow([v]), show(v).slice(0, 60));
  t.equal(printManifests(values), printManifestsSlow(values), 'the whole stream');
  t.match(printManifests([{ x: shared, y: shared }]), /&a1/, 'shared objects still print as an anchor');
  t.equal(printManifests([{ a: 'on', b: 'e5', c: 'x: y', d: "x: 'q'", e: 'x: "q"', f: 'l1\nl2\n', g: "it's" }]),
    'a: "on"\nb: "e5"\nc: "x: y"\nd: "x: \'q\'"\ne: \'x: "q"\'\nf: |\n  l1\n  l2\ng: it\'s\n');
});

t.test('printing: tricky strings read back with YAML 1.1 (and PyYAML) and with both of our readers', async (t) => {
  const obj: JsonObject = { values: TRICKY_STRINGS, map: Object.fromEntries(TRICKY_STRINGS.map((s, i) => [s, i])) };
  const text = printManifests([obj]);
  t.equal(firstDifference(parseYaml11(text)[0], obj as Yaml11Value), null, 'YAML 1.1 (yaml package)');
  t.equal(firstDifference(parseManifestsSlow(text)[0].value as Yaml11Value, obj as Yaml11Value), null, 'reference reader');
  const fast = parseManifestsFast(text);
  if (fast) t.equal(firstDifference(fast[0].value as Yaml11Value, obj as Yaml11Value), null, 'fast reader');
  if (pyYamlAvailable()) {
    const [r] = parsePyYaml([text]);
    t.equal('error' in r ? r.error : firstDifference(r.docs[0], obj as Yaml11Value), null, 'PyYAML');
  }
  for (const s of TRICKY_STRINGS) {
    const one = printManifests([{ [s]: s }]);
    t.equal(firstDifference(parseYaml11(one)[0], { [s]: s }), null, `${show(s)}: YAML 1.1`);
  }
});

// ---------------------------------------------------------------------------
// Property: random JSON values print and read back on both paths

const SEED = 20261122;
const atoms = ['a', ' ', '\n', '\t', ':', '#', '-', '0', '.', 'e', '_', '"', "'", '\\', 'y', 'é', '?', '!', '&', '*', '[', '{', ',', '|', '>', '%', '---', 'on', '~'];
const strArb = fc.oneof(
  fc.constantFrom(...TRICKY_STRINGS),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.array(fc.constantFrom(...atoms), { maxLength: 8 }).map((a) => a.join('')),
  fc.integer().map(String),
  fc.double().map(String),
  // The printer's plain fast path (SAFE_PLAIN in yaml-print.ts) and its exceptions.
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.\/ :#-]{0,8}$/),
  fc.stringMatching(/^[eEyYnNoO][0-9eEnNsS]{0,3}$/),
);
const keyArb = strArb.filter((k) => k !== '__proto__');
const { value: valueArb } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    strArb, strArb, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true }),
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 5, noNullPrototype: true }) as fc.Arbitrary<JsonValue>,
  ),
}));

t.test('property: print is the yaml package\'s text, and both readers read it back', async (t) => {
  let fastReads = 0;
  const numRuns = Number(process.env.YAML_PROPERTY_RUNS ?? 400);
  fc.assert(fc.property(fc.array(valueArb, { minLength: 1, maxLength: 3 }), (docs) => {
    const text = printManifests(docs);
    if (text !== printManifestsSlow(docs)) throw new Error(`text differs from the yaml package's:\n${text}`);
    const want = docs.filter((d) => d !== null);
    const slow = parseManifestsSlow(text).map((d) => d.value);
    const dSlow = firstDifference(slow as Yaml11Value, want as Yaml11Value);
    if (dSlow) throw new Error(`reference reader: ${dSlow}\n${text}`);
    const fast = parseManifestsFast(text);
    if (fast) {
      fastReads++;
      const dFast = docsDifference(fast, parseManifestsSlow(text));
      if (dFast) throw new Error(`fast reader: ${dFast}\n${text}`);
    }
  }), { seed: SEED, numRuns });
  t.ok(fastReads > numRuns * 0.5, `${fastReads} of ${numRuns} read by the fast path`);
});

// ---------------------------------------------------------------------------

t.test('the yaml package is loaded only when the reference path runs (dist)', async (t) => {
  const dist = join(REPO_ROOT, 'dist/kube/yaml-stream.js');
  if (!existsSync(dist)) return void t.skip('dist not built', () => undefined);
  const script = (text: string): string => `
    import { createRequire } from 'node:module';
    const m = await import(${JSON.stringify(dist)});
    m.printManifests(m.parseManifests(${JSON.stringify(text)}).map((d) => d.value));
    const cache = createRequire(process.cwd() + '/').cache;
    console.log(Object.keys(cache).some((k) => /[\\\\/]node_modules[\\\\/]yaml[\\\\/]/.test(k)));`;
  const run = (text: string): string => spawnSync(process.execPath, ['--input-type=module', '-e', script(text)], { encoding: 'utf8' }).stdout.trim();
  t.equal(run('a: 1\nb: [on, "0755"]\n'), 'false', 'a plain stream never loads it');
  t.equal(run('a: &x 1\nb: *x\n'), 'true', 'anchors do');
});

t.test('printing: strings a literal block cannot carry are double-quoted (found by the property at 20k runs)', async (t) => {
  // A blank-but-spaces line first, and document-level strings (printed `|1`),
  // lost their leading spaces on the way back through both readers.
  const cases: JsonValue[][] = [[{ '': [' \n'] }], [' a\n'], ['\n a'], ['\n\n a\n'], [{ k: 'a\n \nb' }], [['  \n  ']]];
  for (const docs of cases) {
    const text = printManifests(docs);
    t.equal(text, printManifestsSlow(docs), `${JSON.stringify(docs)}: both printers agree`);
    t.same(parseManifestsSlow(text).map((d) => d.value), docs, `${JSON.stringify(docs)} reads back: ${JSON.stringify(text)}`);
  }
  t.equal(printManifests([{ k: 'a\nb\n' }]), 'k: |\n  a\n  b\n', 'ordinary multi-line strings stay literal blocks');
});
