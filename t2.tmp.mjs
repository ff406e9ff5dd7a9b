const m = await import('/work/wt-cel18/dist/expr/cel.js');
for (const t of [`optional.of(1).optMap(v, v + 1).value()`, `optional.of(1).optFlatMap(v, optional.of(v + 1)).value()`, `optional.unwrap([optional.of(1), optional.none()])`, `[optional.of(1)].unwrapOpt()`, `optional.ofNonZeroValue(0).hasValue()`]) {
  try { const c = m.compileExpression(t, { variables: ['object'] }); console.log('OK  ', t, c.evaluate({ object: {} })); } catch (e) { console.log('FAIL', t, '->', e.message.split('\n')[0]); }
}
