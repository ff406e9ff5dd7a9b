const m = await import('/work/wt-cel18/dist/expr/cel.js');
const obj = { metadata: { name: 'p', labels: { app: 'a' } }, spec: { priorityClassName: 'high' } };
const cases = [
  [`{?'a': optional.of(1), 'b': 2}`, false],
  [`{?'a': optional.none()}`, false],
  [`[?optional.none(), ?optional.of(1), 2]`, false],
  [`[1, ?optional.none()]`, false],
  [`has({?'foo': optional.none()}.foo)`, false],
  [`{?'nested_map': optional.ofNonZeroValue({?'map': {'c': {'dashed-index': 'goodbye'}}.?c})}`, false],
  [`[?{}.?c, ?optional.of(42), ?optional.none()]`, false],
  [`{?'a': object.metadata.?labels, ?'b': object.?status}`, false],
  [`{?'k' + (true ? 'x' : 'y'): optional.of(1)}`, false],
  [`{?true ? 'x' : 'y': optional.of(1)}`, false],
  [`{?'a': 1}`, false],
  [`{?'a': dyn(1)}`, false],
  [`[?dyn(1)]`, false],
  [`__kpr_optional_entry(optional.of(1))`, false],
  [`object.metadata.labels[?'app'].orValue('x')`, false],
  [`[object.metadata.labels][?0].hasValue()`, false],
  [`Object{spec: Object.spec{?priorityClassName: object.spec.?priorityClassName, ?hostname: object.spec.?hostname}}`, true],
  [`Object{metadata: Object.metadata{?labels: optional.of({'a': 'b'})}}`, true],
  [`Object{spec: Object.spec{?priorityClassName: 'x'}}`, true],
  [`true ? [?optional.of(1)] : [2]`, false],
  [`x in [?optional.of(1)]`, false],
];
for (const [t, mut] of cases) {
  try {
    const c = m.compileExpression(t, { mutation: mut, variables: ['object', 'x'] });
    let r; try { r = c.evaluate({ object: obj, x: 1 }); } catch (e) { r = 'EVAL ERROR: ' + e.message; }
    console.log('OK  ', t, '=>', JSON.stringify(r, (k, v) => typeof v === 'bigint' ? Number(v) : v));
  } catch (e) { console.log('FAIL', t, '->', e.message.split('\n')[0]); }
}
