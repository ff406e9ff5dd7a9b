/**
 * `{{ <CEL> }}` string templates (src/expr/template.ts): compile errors carry
 * the config path, a whole-string expression keeps its JSON type, mixed text
 * splices values, keys stay literal, and rendered values are listed in
 * template order; a template kept compiled renders in two steps (its
 * expressions' values, then the filled template) to the same result. (The sidecar transformer's own rows: test/transform/sidecar.test.ts.)
 */
import t from 'tap';
import type { JsonValue } from '../../src/kube/object.js';
import { compileTemplate, evaluateTemplateExpressions, fillTemplate, renderTemplate, templateExpressions, TemplateError } from '../../src/expr/template.js';

const VARS = ['object', 'name'];

t.test('render table', async (t) => {
  const object = { metadata: { name: 'web' }, spec: { replicas: 3 } };
  const rows: [string, JsonValue, JsonValue, JsonValue[]][] = [
    ['no expression: the same value', { a: ['x', 1, null] }, { a: ['x', 1, null] }, []],
    ['whole string keeps the type', { n: '{{ object.spec.replicas }}' }, { n: 3 }, [3]],
    ['mixed text splices', { s: 'pre-{{ name }}-{{ object.spec.replicas }}' }, { s: 'pre-side-3' }, ['side', 3]],
    ['lists and nested maps', [{ k: '{{ object.metadata.name }}' }], [{ k: 'web' }], ['web']],
    ['keys stay literal', { '{{ name }}': 'v' }, { '{{ name }}': 'v' }, []],
    ['a map result', { m: '{{ {"a": 1} }}' }, { m: { a: 1 } }, [{ a: 1 }]],
  ];
  for (const [name, template, want, wantValues] of rows) {
    const values: JsonValue[] = [];
    t.same(renderTemplate(compileTemplate(template, '', VARS), { object, name: 'side' }, values), want, name);
    t.same(values, wantValues, `${name}: values`);
    const compiled = compileTemplate(template, '', VARS);
    const exprs = templateExpressions(compiled);
    t.equal(exprs.length, wantValues.length, `${name}: one expression per value`);
    const own = evaluateTemplateExpressions(exprs, { object, name: 'side' });
    t.same(own, wantValues, `${name}: values in two steps`);
    t.same(fillTemplate(compiled, own), want, `${name}: filled in two steps`);
  }
});

t.test('values fill their expressions in render order; the first failing expression stops the render', async (t) => {
  const tpl = compileTemplate({ b: ['{{ name }}', { c: 'x{{ 1 }}y{{ name }}z' }], a: '{{ 2 }}' }, 'spec', VARS);
  t.same(templateExpressions(tpl).map((e) => [e.expression.source, e.path]), [['name', 'spec.b[0]'], ['1', 'spec.b[1].c'], ['name', 'spec.b[1].c'], ['2', 'spec.a']]);
  t.same(fillTemplate(tpl, ['p', 7, 'q', [true]]), { b: ['p', { c: 'x7yqz' }], a: [true] });
  const failing = compileTemplate({ a: '{{ object.missing }}', b: '{{ object.other }}' }, '', VARS);
  const e = t.throws(() => evaluateTemplateExpressions(templateExpressions(failing), { object: {}, name: 'x' })) as unknown;
  t.ok(e instanceof TemplateError);
  t.equal((e as TemplateError).path, 'a', 'the first expression in render order');
});

t.test('compile errors name the config path', async (t) => {
  const rows: [string, JsonValue, string, RegExp][] = [
    ['unclosed', { c: [{ image: '{{ name' }] }, 'c[0].image', /unclosed "\{\{"/],
    ['syntax', { c: [{ image: '{{ name + }}' }] }, 'c[0].image', /template value "\{\{ name \+ \}\}"/],
    ['undeclared variable', { x: '{{ nope }}' }, 'x', /undeclared|nope/],
  ];
  for (const [name, template, path, message] of rows) {
    const e = t.throws(() => compileTemplate(template, '', VARS), name) as unknown;
    t.ok(e instanceof TemplateError, `${name}: TemplateError`);
    t.equal((e as TemplateError).path, path, `${name}: path`);
    t.match((e as Error).message, message, `${name}: message`);
  }
});

t.test('a failing expression is a TemplateError naming the expression and path', async (t) => {
  const tpl = compileTemplate({ a: { b: '{{ object.missing.field }}' } }, '', VARS);
  const e = t.throws(() => renderTemplate(tpl, { object: {}, name: 'x' }, [])) as unknown;
  t.ok(e instanceof TemplateError);
  t.match((e as Error).message, /template value \{\{ object\.missing\.field \}\} at a\.b/);
  t.equal((e as TemplateError).path, 'a.b');
});
