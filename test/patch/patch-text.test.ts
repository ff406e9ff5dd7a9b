/**
 * Patch text classification and parsing (kustomize PatchTransformer.Config,
 * `jsonPatchFromBytes`): table rows, and a differential test of the go-yaml v3
 * fast path against the YAML 1.1 reference reader.
 */
import t from 'tap';
import type { JsonValue } from '../../src/kube/object.js';
import { fastOpList, parseJson6902, parsePatchText, PatchTextError, yaml11Docs } from '../../src/patch/patch-text.js';

t.test('parsePatchText classification', async (t) => {
  const cases: [string, string, 'json6902' | 'strategicMerge' | RegExp][] = [
    ['YAML op list', '- op: add\n  path: /a\n  value: 1', 'json6902'],
    ['JSON op list (059)', '[{"op": "replace", "path": "/spec/replicas", "value": 9}]', 'json6902'],
    ['SMP', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a', 'strategicMerge'],
    ['multi-doc SMP (026)', 'kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n---\n', 'strategicMerge'],
    ['single op map (222)', 'op: replace\npath: /spec/replicas\nvalue: 1', /unable to parse SM or JSON patch/],
    ['invalid YAML (212)', 'kind: A\nmetadata:\n  name: web\n spec: [unclosed', /unable to parse/],
    ['SMP without kind', 'metadata: {name: c}\ndata: {x: "1"}', /unable to parse/],
    ['SMP without name', 'kind: ConfigMap\ndata: {x: "1"}', /unable to parse/],
    ['flow YAML list is not JSON', '[{op: add, path: /a}]', /unable to parse/],
    ['list of scalars', '- a\n- b', /unable to parse/],
    ['only separators', '---\n---', /illegally qualifies as both/],
  ];
  for (const [name, text, want] of cases) {
    if (want instanceof RegExp) {
      const e = t.throws(() => parsePatchText(text), name) as unknown;
      t.ok(e instanceof PatchTextError, `${name}: PatchTextError`);
      t.match((e as Error).message, want, name);
    } else {
      t.equal(parsePatchText(text).type, want, name);
    }
  }
});

t.test('JSON6902 YAML reads like go-yaml v2 (sigs.k8s.io/yaml YAMLToJSON)', async (t) => {
  // Measured with kubectl kustomize v5.5: `value: yes` -> true, `0755` -> 493.
  const ops = parseJson6902('- {op: add, path: /a, value: yes}\n- {op: add, path: /b, value: 0755}\n- {op: add, path: /c, value: "on"}\n- {op: add, path: /d, value: 2024-01-01}\n- {op: add, path: /e, value: 1:20}');
  t.same(ops.map((o) => o.value), [true, 493, 'on', '2024-01-01', '1:20']);
  t.same(parseJson6902(''), []);
  t.throws(() => parseJson6902('{"op": "add"}'), PatchTextError);
  t.throws(() => parseJson6902('[1]'), PatchTextError);
  t.throws(() => parseJson6902('[{"op": '), PatchTextError);
});

/** The YAML 1.1 reference for a JSON6902 text (what parseJson6902 did before its fast path), or the error. */
function reference(text: string): { value?: JsonValue; error?: string } {
  try {
    return { value: yaml11Docs(text)[0] ?? null };
  } catch (e) {
    return { error: (e as Error).name };
  }
}

t.test('JSON6902 YAML fast path: the go-yaml v3 reader is used only where YAML 1.1 reads the same (differential)', async (t) => {
  // Plain scalars 1.1 and v3 type differently, quoted ones, keys, numbers, odd streams.
  const scalars = [
    'yes', 'No', 'on', 'OFF', 'y', 'n', '~', 'null', 'Null', 'true', 'False', '0755', '0o17', '0x1F', '0b11', '1_000', 'e5', 'E10', '1e3',
    '.5', '1.', '.inf', '-.inf', '.nan', '2024-01-01', '1:20', '=', '<<', '9007199254740993', '-0', '+1', 'plain', 'two words', '/a/b',
    '"yes"', "'0755'", '"plain"', '""', '[a, yes]', '{k: on}', '!!str 5', '!!int "7"', '|\n  text', 'registry.example.com/app:1.2',
  ];
  const texts: string[] = [];
  for (const sc of scalars) {
    const v = sc.replace(/\\n/g, '\n');
    texts.push(`- op: add\n  path: /a\n  value: ${v}\n`);
    texts.push(`- {op: replace, path: /b, value: ${v.includes('\n') ? '"x"' : v}}\n`);
    texts.push(`- op: add\n  path: /m\n  value:\n    ${v.includes('\n') ? 'k' : v}: x\n`);
  }
  texts.push('', '---\n', 'null\n---\n- op: add\n  path: /a\n  value: b\n', '---\n- op: add\n  path: /a\n', 'kind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 5\n',
    'yes', '- 1\n- on', '- op: add\n  path: /a\n  value: b\n---\n- op: remove\n  path: /c\n', '- op: add\n  path: /a\n  value: b\n  value: c\n',
    '- op: add\n  path: /__proto__\n  value: {__proto__: x}\n');
  let fast = 0;
  for (const text of texts) {
    const want = reference(text);
    if (fastOpList(text) !== undefined) fast++;
    let got: { value?: JsonValue; error?: string };
    try {
      got = { value: parseJson6902(text) };
    } catch (e) {
      got = { error: (e as Error).name };
    }
    let expected: { value?: JsonValue; error?: string };
    try {
      // The reference outcome through the same list checks.
      if (want.error) throw Object.assign(new Error(), { name: want.error });
      const v = want.value;
      if (v === undefined || v === null) expected = { value: [] };
      else if (!Array.isArray(v) || v.some((op) => typeof op !== 'object' || op === null || Array.isArray(op))) throw new PatchTextError('shape');
      else expected = { value: v };
    } catch (e) {
      expected = { error: (e as Error).name };
    }
    t.same(got, expected, JSON.stringify(text));
  }
  t.ok(fast > 20, `${fast} of ${texts.length} texts took the fast path`);
  t.ok(fastOpList('- op: add\n  path: /spec/template/spec/enableServiceLinks\n  value: false\n'), 'a typical op list is read without the yaml package');
});
