/**
 * The line reader (src/kube/yaml-line-reader.ts) against the js-yaml path of
 * the fast reader (`readWithJsYaml`), which it must reproduce exactly where it
 * reads a text at all: documents (empty ones counted in `docNumber`), values
 * (Object.is for numbers, bigint, key order, prototypes) and the empty-null
 * markers, with empty nulls recorded and without. Where it gives up, the
 * fast reader's js-yaml path reads the text as before (yaml-fast-path.test.ts
 * checks that path, and `parseManifestsFast` as a whole, against the
 * reference reader).
 */
import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { readLineStream } from '../../src/kube/yaml-line-reader.js';
import { needsReferenceReader, parseManifestsFast, readWithJsYaml } from '../../src/kube/yaml-fast-reader.js';
import type { JsonValue } from '../../src/kube/object.js';
import { corpusFiles } from '../helpers/corpus.js';
import { loadCases } from '../helpers/cases.js';
import { dataPath } from '../helpers/testdata.js';

/** A value for a message: JSON with bigint shown. */
const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);

/**
 * Why the line reader's documents of `text` are not js-yaml's, or null when
 * they are (or when it gives up). Checked with empty nulls recorded and not.
 */
function lineReaderDifference(text: string): string | null {
  const docs = readLineStream(text);
  if (docs === undefined) return null;
  for (const emptyNulls of [true, false]) {
    const js = readWithJsYaml(text, { emptyNulls });
    if (js === undefined) return `js-yaml gives up (emptyNulls ${emptyNulls}), the line reader read ${show(docs)}`;
    const mine = docs.flatMap((value, i) => (value === null ? [] : [{ value, docNumber: i + 1 }]));
    if (mine.length !== js.length) return `${mine.length} documents, js-yaml ${js.length}`;
    for (let i = 0; i < js.length; i++) {
      if (mine[i].docNumber !== js[i].docNumber) return `document ${i}: docNumber ${mine[i].docNumber}, js-yaml ${js[i].docNumber}`;
      if (!isDeepStrictEqual(mine[i].value, js[i].value)) return `document ${js[i].docNumber} (emptyNulls ${emptyNulls}): ${show(mine[i].value)}, js-yaml ${show(js[i].value)}`;
    }
  }
  return null;
}

/** Checks `text` against js-yaml; returns whether the line reader read it. */
function check(t: Test, text: string, label: string): boolean {
  t.equal(lineReaderDifference(text), null, `${label}: as js-yaml reads it`);
  return readLineStream(text) !== undefined;
}

t.test('corpus and conformance inputs: what the line reader reads, it reads as js-yaml', async (t) => {
  let read = 0;
  const files = corpusFiles();
  for (const f of files) if (check(t, readFileSync(f, 'utf8'), f)) read++;
  const cases = loadCases();
  for (const c of cases) if (check(t, c.read('input.yaml'), `${c.name}/input.yaml`)) read++;
  t.ok(files.length + cases.length > 100, `${files.length} corpus files and ${cases.length} conformance inputs`);
  t.ok(read > (files.length + cases.length) / 3, `${read} of ${files.length + cases.length} read by the line reader`);
});

t.test("argo-cd's install.yaml (the bench's stream) is read by the line reader, and parseManifestsFast gives its documents", async (t) => {
  const text = readFileSync(dataPath('corpus', 'argo-cd-install.yaml'), 'utf8');
  const docs = readLineStream(text);
  t.ok(docs !== undefined, 'read');
  t.equal(docs?.filter((d) => d !== null).length, 59, '59 documents');
  t.equal(lineReaderDifference(text), null, 'as js-yaml reads it');
  t.same(parseManifestsFast(text, { emptyNulls: true })?.map((d) => d.value), docs?.filter((d) => d !== null), 'parseManifestsFast: the line reader\'s documents');
});

/** Streams the line reader reads (each also checked against js-yaml), and the documents it gives (null: an empty document). */
const READS: { name: string; text: string; docs: (JsonValue | null)[] }[] = [
  { name: 'a mapping', text: 'a: 1\nb: x\n', docs: [{ a: 1, b: 'x' }] },
  { name: 'scalars typed as go-yaml v3 types them', text: 'a: 0755\nb: "0755"\nc: yes\nd: true\ne: ~\nf: 1.50\ng: 18446744073709551615\nh: .inf\n', docs: [{ a: 493, b: '0755', c: 'yes', d: true, e: null, f: 1.5, g: 18446744073709551615n, h: Infinity }] },
  { name: 'keys are their text, integer-like keys first (as a JS object orders them)', text: 'z: 1\n10: a\n0x1F: b\ntrue: c\nnull: d\n1e3: e\n', docs: [{ 10: 'a', z: 1, '0x1F': 'b', true: 'c', null: 'd', '1e3': 'e' }] },
  { name: 'a sequence at its key\'s column and below it', text: 'a:\n- 1\n- x\nb:\n  - y\n', docs: [{ a: [1, 'x'], b: ['y'] }] },
  { name: 'compact mappings in a sequence', text: 'items:\n- name: a\n  value: "1"\n- name: b\n  env:\n  - name: X\n    value: y\n', docs: [{ items: [{ name: 'a', value: '1' }, { name: 'b', env: [{ name: 'X', value: 'y' }] }] }] },
  { name: 'a root sequence, more spaces after the dash', text: '-   a: 1\n    b: 2\n- c\n', docs: [[{ a: 1, b: 2 }, 'c']] },
  { name: 'multi-line plain scalars: a break is a space, blank lines are breaks', text: 'a: one\n  two\n\n  three\n\n\n  four\nb: x\n', docs: [{ a: 'one two\nthree\n\nfour', b: 'x' }] },
  { name: 'a plain scalar in a list item, on two lines', text: '- one\n  two\n- three\n', docs: [['one two', 'three']] },
  { name: 'single-quoted on one and on several lines', text: "a: 'it''s'\nb: 'one\n  two\n\n  three '\nc: ''\n", docs: [{ a: "it's", b: 'one two\nthree ', c: '' }] },
  { name: 'double-quoted without escapes', text: 'a: "x: #y"\nb: ""\n', docs: [{ a: 'x: #y', b: '' }] },
  { name: 'literal blocks: clip and strip, blank lines inside and after', text: 'a: |\n  x\n\n    y\n\n\nb: |-\n  z\n  # not a comment\nc: 1\n', docs: [{ a: 'x\n\n  y\n', b: 'z\n# not a comment', c: 1 }] },
  { name: 'a literal block after blank lines', text: 'a: |\n\n  x\n', docs: [{ a: '\nx\n' }] },
  { name: 'empty flow collections', text: 'a: []\nb: {}\n', docs: [{ a: [], b: {} }] },
  { name: 'written nulls in a mapping', text: 'a: null\nb: ~\n', docs: [{ a: null, b: null }] },
  { name: 'plain text with indicators inside', text: 'a: http://x/#y\nb: a,b[0]{c}\nc: -1\nd: --flag=x\ne: nginx:1.25\n', docs: [{ a: 'http://x/#y', b: 'a,b[0]{c}', c: -1, d: '--flag=x', e: 'nginx:1.25' }] },
  { name: 'comments and blank lines between entries', text: '# head\na: 1\n\n# comment\nb:\n  c: 1\n  # comment\n\n  d: 2\n', docs: [{ a: 1, b: { c: 1, d: 2 } }] },
  { name: 'documents: a leading ---, an empty one counted, a trailing ---', text: '---\na: 1\n---\n---\nb: 2\n---\n', docs: [{ a: 1 }, null, { b: 2 }, null] },
  { name: 'comments before the first ---', text: '# c\n\n---\na: 1\n', docs: [{ a: 1 }] },
  { name: 'trailing spaces', text: 'a: x  \nb:  \n  - y \n', docs: [{ a: 'x', b: ['y'] }] },
  { name: 'keys that are Object.prototype names', text: 'constructor: 1\ntoString: 2\n', docs: [{ constructor: 1, toString: 2 }] },
];

t.test('streams the line reader reads, as js-yaml reads them', async (t) => {
  for (const { name, text, docs } of READS) {
    t.same(readLineStream(text), docs, `${name}: documents`);
    t.equal(lineReaderDifference(text), null, `${name}: as js-yaml`);
  }
});

/** Streams the line reader leaves to js-yaml (or the reference reader), each naming why. */
const GIVES_UP: { name: string; text: string }[] = [
  { name: 'no final line break', text: 'a: 1' },
  { name: 'CRLF', text: 'a: 1\r\n' },
  { name: 'a character js-yaml refuses', text: 'a: \u0001\n' },
  { name: 'a NEL, a lone surrogate, U+FFFE (left to js-yaml)', text: 'a: x\u0085y\nb: \ud800\nc: \ufffe\n' },
  { name: 'a line of spaces past a literal block\'s indentation', text: 'a: |\n  x\n     \n  y\n' },
  { name: 'an empty value (an empty null)', text: 'a:\nb: 1\n' },
  { name: 'an empty value at the end', text: 'a:\n' },
  { name: 'a lone dash (an empty item)', text: 'a:\n-\n- x\n' },
  { name: 'a null list item (the map above is marked with empty nulls recorded)', text: 'a:\n- null\n' },
  { name: 'an anchor', text: 'a: &x 1\nb: 2\n' },
  { name: 'an alias', text: 'a: *x\n' },
  { name: 'a tag', text: 'a: !!str 1\n' },
  { name: 'a flow sequence', text: 'a: [1, 2]\n' },
  { name: 'a flow mapping', text: 'a: {b: 1}\n' },
  { name: 'a folded block', text: 'a: >\n  x\n' },
  { name: 'a keep block', text: 'a: |+\n  x\n' },
  { name: 'an indentation indicator', text: 'a: |2\n   x\n' },
  { name: 'an escape in double quotes', text: 'a: "x\\ty"\n' },
  { name: 'a multi-line double-quoted scalar', text: 'a: "x\n  y"\n' },
  { name: 'a quoted key', text: '"a": 1\n' },
  { name: 'a key with a space', text: 'a b: 1\n' },
  { name: 'a merge key', text: '<<: 1\n' },
  { name: '__proto__', text: '__proto__: 1\n' },
  { name: 'a duplicate key', text: 'a: 1\na: 2\n' },
  { name: 'a comment after a value', text: 'a: 1 # c\n' },
  { name: 'a comment line inside a plain scalar', text: 'a: x\n  # c\n  y\n' },
  { name: 'a comment line more indented after a plain scalar', text: 'a: x\n  # c\nb: y\n' },
  { name: 'a nested mapping on a value line', text: 'a: b: c\n' },
  { name: 'a continuation line that is a mapping', text: 'a: x\n  b: c\n' },
  { name: 'a plain scalar ending with a colon', text: '- a:b:\n' },
  { name: 'a plain scalar on the line below its key', text: 'a:\n  x\n' },
  { name: 'more indented after a quoted scalar', text: "a: 'x'\n  y\n" },
  { name: 'text after a closing quote', text: "a: 'x' y\n" },
  { name: 'an unclosed quote', text: "a: 'x\n" },
  { name: 'a tab', text: 'a: x\ty\n' },
  { name: 'an indented root', text: '  a: 1\n' },
  { name: 'a scalar document', text: 'x\n' },
  { name: 'a --- with content', text: '--- a: 1\n' },
  { name: 'a ... marker', text: 'a: 1\n...\n' },
  { name: 'a line more indented than its siblings', text: 'a: 1\n  b: 2\n' },
  { name: 'a nested sequence on one line', text: '- - a\n' },
  { name: 'a dash among mapping entries', text: 'a: 1\n- b\n' },
  { name: 'a mapping after a root sequence', text: '- a\nb: 1\n' },
  { name: 'a question mark', text: 'a: ?x\n' },
  { name: 'a literal block with a blank line of spaces first', text: 'a: |\n   \n  x\n' },
  { name: 'an empty literal block', text: 'a: |\nb: 1\n' },
  { name: 'a literal block less indented below', text: 'a:\n  b: |\n      x\n    y\n' },
  { name: 'deep nesting', text: Array.from({ length: 70 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n') + ` v\n` },
];

t.test('streams the line reader leaves to js-yaml, which reads them as before', async (t) => {
  for (const { name, text } of GIVES_UP) {
    t.equal(readLineStream(text), undefined, `${name}: gives up`);
  }
});

// ---------------------------------------------------------------------------
// Generated streams: small manifests, then edited line by line so that most
// are malformed or outside the subset. What the line reader reads must be
// what js-yaml reads.

const SEED = Number(process.env.YAML_PROPERTY_SEED ?? 20261206);

const SEEDS = [
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: "1"\ndata:\n  k: |\n    line one\n\n    line: two\n  j: v\n',
  'spec:\n  containers:\n  - name: app\n    image: nginx:1.25\n    args:\n    - --a=1\n    - b c\n    env: []\n  description: one two\n    three\n\n    four\n',
  "a: 'one\n  two'\nb:\n  - x\n  - 'y'\n---\nc: 0755\nd: ~\n",
];

const TOKENS = ['#', ' #', ': ', ':', "'", "''", '"', '- ', '-', '|', '|-', '>', '&a ', '*a', '!x ', '[', ']', '{', '}', '{}', '[]', '\\', ' ', '  ', '\t', '?', '---', '...', 'null', '~', '%', '@', ',', '\n', '\n\n', '\n  ', '__proto__'];

/** One edit of a stream's lines. */
const editArb = fc.oneof(
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('insert' as const), line: fc.nat(), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant('delete' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), line: fc.nat(), at: fc.nat() }),
);
type Edit = typeof editArb extends fc.Arbitrary<infer E> ? E : never;

function applyEdit(lines: string[], e: Edit): string[] {
  const out = [...lines];
  const k = e.line % out.length;
  const line = out[k];
  if (e.kind === 'indent') out[k] = e.by >= 0 ? ' '.repeat(e.by) + line : line.replace(new RegExp(`^ {0,${-e.by}}`), '');
  else if (e.kind === 'insert') out[k] = line.slice(0, e.at % (line.length + 1)) + e.token + line.slice(e.at % (line.length + 1));
  else if (e.kind === 'delete') out.splice(k, 1);
  else if (e.kind === 'duplicate') out.splice(k, 0, line);
  else out[k] = line.slice(0, e.at % (line.length + 1));
  return out.length ? out : [''];
}

t.test('property: on edited manifests, what the line reader reads is what js-yaml reads', async (t) => {
  const numRuns = Number(process.env.YAML_PROPERTY_RUNS ?? 3000);
  let read = 0;
  fc.assert(fc.property(fc.constantFrom(...SEEDS), fc.array(editArb, { minLength: 1, maxLength: 4 }), (seed, edits) => {
    const text = edits.reduce((lines, e) => applyEdit(lines, e), seed.split('\n')).join('\n');
    if (needsReferenceReader(text)) return;
    const d = lineReaderDifference(text);
    if (d) throw new Error(`${d}\n${show(text)}`);
    if (readLineStream(text) !== undefined) read++;
  }), { seed: SEED, numRuns });
  t.ok(read > numRuns / 10, `${read} of ${numRuns} edited streams read by the line reader`);
  t.ok(read < numRuns, 'and some left to js-yaml');
});
