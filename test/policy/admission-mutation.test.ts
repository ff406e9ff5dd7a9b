/**
 * One MutatingAdmissionPolicy mutation applied (src/policy/admission-mutation.ts),
 * table over (patchType, expression, object): the result is what
 * applyJson6902 / applyConfiguration give, and the object itself exactly
 * when nothing changed (the shortcuts that skip comparing: a JSONPatch of
 * new scalars on map keys, the merge's own change tracking), constant
 * (folded) or not. Laws: frozen input untouched, the result re-applied is
 * unchanged for idempotent rows.
 */
import t from 'tap';
import { compileExpression, evaluationMemoReplays, setConstantFolding, setEvaluationMemo } from '../../src/expr/cel.js';
import { applyMutation, compiledMutation, mutationResult, type Mutation } from '../../src/policy/admission-mutation.js';
import { applyConfiguration } from '../../src/patch/apply-configuration.js';
import { applyJson6902 } from '../../src/patch/json6902.js';
import { schemaForGVK } from '../../src/patch/patch-meta.js';
import { deepEqual, gvkOf, type JsonObject } from '../../src/kube/object.js';
import { deepFreeze } from '../helpers/laws.js';
import { OwnedList, type Owned } from '../../src/patch/owned.js';

const POD: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'x', 'a/b': 'y' }, annotations: { n: null } },
  spec: { containers: [{ name: 'app', image: 'nginx:1' }], enableServiceLinks: false },
};

const ROWS: { name: string; type: Mutation['patchType']; expr: string; changed: boolean; idempotent?: boolean }[] = [
  { name: 'replace a label with its own value', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/app", value: "x"}]', changed: false, idempotent: true },
  { name: 'replace a label with another value', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/app", value: "z"}]', changed: true, idempotent: true },
  { name: 'add a new scalar field', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: 45}]', changed: true, idempotent: true },
  { name: 'add the value a field has (false)', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/spec/enableServiceLinks", value: false}]', changed: false, idempotent: true },
  { name: 'add null where null is', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/annotations/n", value: null}]', changed: false, idempotent: true },
  { name: 'add without a value where null is (writes null)', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/annotations/n"}]', changed: false, idempotent: true },
  { name: 'add without a value to a new key', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/annotations/m"}]', changed: true, idempotent: true },
  { name: 'a value set and set back', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/app", value: "z"}, JSONPatch{op: "replace", path: "/metadata/labels/app", value: "x"}]', changed: false, idempotent: true },
  { name: 'a map set, then a key inside it', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/labels", value: {"app": "x", "a/b": "y"}}, JSONPatch{op: "add", path: "/metadata/labels/app", value: "x"}]', changed: false, idempotent: true },
  { name: 'an image in a list item, the same', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/containers/0/image", value: "nginx:1"}]', changed: false, idempotent: true },
  { name: 'an image in a list item, another', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/containers/0/image", value: "nginx:2"}]', changed: true, idempotent: true },
  { name: 'an escaped key, the same value', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/" + jsonpatch.escapeKey("a/b"), value: "y"}]', changed: false, idempotent: true },
  { name: 'a list index written as -0 (not canonical): compared', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/containers/-0/image", value: "nginx:1"}]', changed: false, idempotent: true },
  { name: 'a list append', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/spec/containers/-", value: {"name": "s", "image": "s:1"}}]', changed: true },
  { name: 'a test that holds, then a new value', type: 'JSONPatch', expr: '[JSONPatch{op: "test", path: "/metadata/labels/app", value: "x"}, JSONPatch{op: "replace", path: "/metadata/labels/app", value: "q"}]', changed: true },
  { name: 'transformList over the object: the same images', type: 'JSONPatch', expr: "object.spec.containers.transformList(i, c, JSONPatch{op: 'replace', path: '/spec/containers/' + string(i) + '/image', value: c.image})", changed: false, idempotent: true },
  { name: 'transformList over the object: new images', type: 'JSONPatch', expr: "object.spec.containers.transformList(i, c, JSONPatch{op: 'replace', path: '/spec/containers/' + string(i) + '/image', value: 'mirror/' + c.image})", changed: true },
  // the one-walk JSONPatch of scalars on map keys (src/patch/scalar-sets.ts) and where it hands over to applyJson6902
  { name: 'two new keys in one map, in operation order', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/labels/z", value: "1"}, JSONPatch{op: "add", path: "/metadata/labels/b", value: "2"}]', changed: true, idempotent: true },
  { name: 'a new key and an existing key with another value', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/labels/new", value: 1}, JSONPatch{op: "replace", path: "/metadata/labels/app", value: true}]', changed: true, idempotent: true },
  { name: 'one value the same, one new, in two maps', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/app", value: "x"}, JSONPatch{op: "add", path: "/spec/priority", value: 3}]', changed: true, idempotent: true },
  { name: 'a __proto__ key is data', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/metadata/labels/__proto__", value: "p"}]', changed: true, idempotent: true },
  { name: 'the path "/" (the root key "")', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/", value: 1}]', changed: true, idempotent: true },
  { name: 'a replace of a missing map key adds it (evanphx v4)', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/hostname", value: "h"}]', changed: true, idempotent: true },
  { name: 'a negative list index (applyJson6902)', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/containers/-1/image", value: "nginx:3"}]', changed: true, idempotent: true },
  { name: 'a list index with a leading zero (applyJson6902)', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/spec/containers/00/image", value: "nginx:3"}]', changed: true, idempotent: true },
  { name: 'the same path twice (applyJson6902)', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/spec/priority", value: 1}, JSONPatch{op: "add", path: "/spec/priority", value: 2}]', changed: true, idempotent: true },
  { name: 'a scalar into a list (applyJson6902)', type: 'JSONPatch', expr: '[JSONPatch{op: "add", path: "/spec/containers/0/args", value: ["a"]}, JSONPatch{op: "add", path: "/spec/containers/0/args/0", value: "b"}]', changed: true },
  { name: 'an escaped key, a new value (applyJson6902)', type: 'JSONPatch', expr: '[JSONPatch{op: "replace", path: "/metadata/labels/a~1b", value: "w"}]', changed: true, idempotent: true },
  { name: 'ApplyConfiguration: labels already set', type: 'ApplyConfiguration', expr: 'Object{metadata: Object.metadata{labels: {"app": "x"}}}', changed: false, idempotent: true },
  { name: 'ApplyConfiguration: a new label', type: 'ApplyConfiguration', expr: 'Object{metadata: Object.metadata{labels: {"team": "t"}}}', changed: true, idempotent: true },
  { name: 'ApplyConfiguration: a container as it is', type: 'ApplyConfiguration', expr: 'Object{spec: Object.spec{containers: [Object.spec.containers{name: "app", image: "nginx:1"}]}}', changed: false, idempotent: true },
];

/** What applying `result` must give: the appliers' result, or the object itself when it is equal. */
function reference(type: Mutation['patchType'], object: JsonObject, result: unknown): JsonObject {
  const out = type === 'JSONPatch' ? applyJson6902(object, result as JsonObject[]) : applyConfiguration(object, result as JsonObject, schemaForGVK(gvkOf(object)).schema);
  return deepEqual(out, object) ? object : out;
}

for (const row of ROWS) {
  for (const fold of [true, false]) {
    t.test(`${row.name}${fold ? '' : ' (not folded)'}`, async (t) => {
      const previous = setConstantFolding(fold);
      let m: Mutation;
      try {
        m = compiledMutation(row.type, compileExpression(row.expr, { variables: ['object', 'oldObject', 'request', 'namespaceObject', 'params'], mutation: true, estimatedCostLimit: Infinity }));
      } finally {
        setConstantFolding(previous);
      }
      const object = deepFreeze(structuredClone(POD));
      const result = mutationResult(m, () => ({ object }));
      const out = applyMutation(m, object, result);
      const want = reference(row.type, object, mutationResult(m, () => ({ object })));
      t.same(out, want, 'the appliers’ result');
      t.equal(JSON.stringify(out), JSON.stringify(want), 'the same JSON, key order included');
      t.equal(out === object, !row.changed, row.changed ? 'a new object' : 'the object itself');
      t.equal(out === object, want === object, 'the object itself exactly when equal');
      t.same(object, POD, 'input untouched');
      if (row.idempotent) t.equal(applyMutation(m, deepFreeze(out), mutationResult(m, () => ({ object: out }))) === out, true, 'applied again: unchanged');
    });
  }
}

/** JSONPatch results that fail: the same error as applyJson6902's (json_patch.go's words, `JSONPath: ` first), folded or not. */
const FAILING: { name: string; expr: string }[] = [
  { name: 'add under a missing map', expr: '[JSONPatch{op: "add", path: "/spec/missing/x", value: 1}]' },
  { name: 'add under a scalar', expr: '[JSONPatch{op: "add", path: "/spec/enableServiceLinks/x", value: 1}]' },
  { name: 'replace at a list index out of range', expr: '[JSONPatch{op: "replace", path: "/spec/containers/1/image", value: "i"}]' },
  { name: 'a good operation, then one under a missing map', expr: '[JSONPatch{op: "add", path: "/spec/priority", value: 1}, JSONPatch{op: "add", path: "/status/x/y", value: 1}]' },
  { name: 'replace of a list item by a scalar at an index out of range', expr: '[JSONPatch{op: "replace", path: "/spec/containers/5", value: 1}]' },
];

for (const row of FAILING) {
  for (const fold of [true, false]) {
    t.test(`fails: ${row.name}${fold ? '' : ' (not folded)'}`, async (t) => {
      const previous = setConstantFolding(fold);
      let m: Mutation;
      try {
        m = compiledMutation('JSONPatch', compileExpression(row.expr, { variables: ['object'], mutation: true, estimatedCostLimit: Infinity }));
      } finally {
        setConstantFolding(previous);
      }
      const object = deepFreeze(structuredClone(POD));
      const result = mutationResult(m, () => ({ object }));
      let want = '';
      try {
        applyJson6902(object, result as JsonObject[]);
      } catch (e) {
        want = `JSONPath: ${(e as Error).message}`;
      }
      t.not(want, '', 'applyJson6902 fails');
      t.throws(() => applyMutation(m, object, result), { message: want }, 'the same error');
      t.same(object, POD, 'input untouched');
    });
  }
}

/**
 * One pass of mutations with `owned` (src/policy/admission-policy.ts: the
 * containers the pass made are changed in place by the next mutations),
 * against the same pass without it: the same object after every mutation
 * (content and key order), the same errors, the input untouched; each row's
 * order and its reverse, folded or not (every applier: the compiled merge,
 * ScalarSets, and the general ones, which empty the set).
 */
for (const fold of [true, false]) {
  for (const order of ['in order', 'reversed']) {
    t.test(`a pass with owned containers: ${order}${fold ? '' : ' (not folded)'}`, async (t) => {
      const previous = setConstantFolding(fold);
      let ms: Mutation[];
      try {
        ms = ROWS.map((row) => compiledMutation(row.type, compileExpression(row.expr, { variables: ['object', 'oldObject', 'request', 'namespaceObject', 'params'], mutation: true, estimatedCostLimit: Infinity })));
      } finally {
        setConstantFolding(previous);
      }
      if (order === 'reversed') ms.reverse();
      const input = deepFreeze(structuredClone(POD));
      const pass = (owned?: Owned): string[] => {
        let cur: JsonObject = input;
        return ms.map((m) => {
          try {
            cur = applyMutation(m, cur, mutationResult(m, () => ({ object: cur })), owned);
            return JSON.stringify(cur);
          } catch (e) {
            return `error: ${(e as Error).message} on ${JSON.stringify(cur)}`;
          }
        });
      };
      const plain = pass();
      for (const owned of [new Set<object>(), new OwnedList()]) {
        const inPlace = pass(owned);
        t.same(inPlace, plain, `${owned.constructor.name}: the same object after every mutation, the same errors`);
        t.same(input, POD, 'input untouched');
        t.notOk(owned.has(input), 'the input is never owned');
      }
    });
  }
}

t.test('owned: an owned object changed in place; an unowned one copied; the general appliers empty the set', async (t) => {
  const m = (type: Mutation['patchType'], expr: string): Mutation => compiledMutation(type, compileExpression(expr, { variables: ['object'], mutation: true, estimatedCostLimit: Infinity }));
  const label = m('ApplyConfiguration', 'Object{metadata: Object.metadata{labels: {"team": "t"}}}');
  const grace = m('JSONPatch', '[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: 45}, JSONPatch{op: "add", path: "/spec/priority", value: 1}]');
  const owned = new Set<object>();
  const input = deepFreeze(structuredClone(POD));
  const first = applyMutation(label, input, mutationResult(label, () => ({})), owned);
  t.not(first, input, 'the input is copied');
  t.ok(owned.has(first) && owned.has(first.metadata as object) && owned.has((first.metadata as JsonObject).labels as object), 'the copies are owned');
  t.notOk(owned.has(first.spec as object), 'a subtree shared with the input is not');
  const second = applyMutation(grace, first, mutationResult(grace, () => ({})), owned);
  t.equal(second, first, 'an owned object: changed in place');
  t.equal((second.spec as JsonObject).terminationGracePeriodSeconds, 45);
  t.equal((input.spec as JsonObject).terminationGracePeriodSeconds, undefined, 'the input untouched');
  const append = m('JSONPatch', '[JSONPatch{op: "add", path: "/spec/containers/-", value: {"name": "s", "image": "s:1"}}]');
  const third = applyMutation(append, second, mutationResult(append, () => ({})), owned);
  t.not(third, second, 'the general applier copies');
  t.equal(owned.size, 0, 'and empties the set');
  t.same(second.spec, { ...(POD.spec as JsonObject), terminationGracePeriodSeconds: 45, priority: 1 }, 'the object before it untouched');
});

t.test('OwnedList: has what was added since the last clear, by identity', async (t) => {
  const list = new OwnedList();
  const a = {};
  const b: unknown[] = [];
  t.notOk(list.has(a));
  list.add(a).add(b);
  t.ok(list.has(a) && list.has(b), 'added');
  t.notOk(list.has({}), 'an equal map is not the same container');
  list.clear();
  t.notOk(list.has(a) || list.has(b), 'cleared');
});

/**
 * A mutation whose evaluation is replayed (src/expr/memo.ts: the same values
 * read): its result is the kept frozen JSON, whose JSONPatch operations are
 * decoded once; against the same mutation without the memo, over Pods that
 * repeat or differ in what it reads: the same object (content, key order,
 * the object itself exactly when unchanged), the input untouched.
 */
t.test('a replayed JSONPatch result: the same objects as without the memo', async (t) => {
  const expr = "object.spec.containers.transformList(i, c, c.image.startsWith('nginx'), JSONPatch{op: 'replace', path: '/spec/containers/' + string(i) + '/image', value: 'mirror/' + c.image})";
  const compile = (memo: boolean): Mutation => {
    const previous = setEvaluationMemo(memo);
    try {
      return compiledMutation('JSONPatch', compileExpression(expr, { variables: ['object'], mutation: true, estimatedCostLimit: Infinity }));
    } finally {
      setEvaluationMemo(previous);
    }
  };
  const withMemo = compile(true);
  const without = compile(false);
  const pods = ['nginx:1', 'nginx:1', 'redis:7', 'nginx:1', 'nginx:2', 'redis:7', 'nginx:1'].map((image) => {
    const pod = structuredClone(POD);
    (pod.spec as { containers: JsonObject[] }).containers[0].image = image;
    return deepFreeze(pod);
  });
  const before = evaluationMemoReplays();
  for (const [i, object] of pods.entries()) {
    const got = applyMutation(withMemo, object, mutationResult(withMemo, () => ({ object })));
    const want = applyMutation(without, object, mutationResult(without, () => ({ object })));
    t.equal(JSON.stringify(got), JSON.stringify(want), `pod ${i}: the same object`);
    t.equal(got === object, want === object, `pod ${i}: the object itself exactly when unchanged`);
  }
  t.ok(evaluationMemoReplays() - before >= 3, 'replayed');
  t.ok(Object.isFrozen(mutationResult(withMemo, () => ({ object: pods[0] }))), 'a replayed result is the kept frozen JSON');
});

/**
 * Keys the CEL engine's plain-object maps would leave out (`__proto__`,
 * `constructor`, `prototype`: valid ConfigMap data and annotation keys) reach
 * the object, as the API server's cel-go keeps them, folded or not, through
 * either patchType; a `__proto__` key is data, never a prototype.
 */
for (const fold of [true, false]) {
  t.test(`map keys __proto__, constructor and prototype reach the object${fold ? '' : ' (not folded)'}`, async (t) => {
    const configMap = deepFreeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }) as JsonObject;
    const rows: [Mutation['patchType'], string][] = [
      ['ApplyConfiguration', 'Object{data: {"__proto__": "x", "constructor": "c", "prototype": "p"}}'],
      ['JSONPatch', '[JSONPatch{op: "add", path: "/data", value: {"a": "b", "__proto__": "x", "constructor": "c", "prototype": "p"}}]'],
      ['ApplyConfiguration', 'Object{data: {"c" + "onstructor": "c", object.metadata.name + "a": "y"}}'],
    ];
    for (const [type, expr] of rows) {
      const previous = setConstantFolding(fold);
      let m: Mutation;
      try {
        m = compiledMutation(type, compileExpression(expr, { variables: ['object'], mutation: true, estimatedCostLimit: Infinity }));
      } finally {
        setConstantFolding(previous);
      }
      const out = applyMutation(m, configMap, mutationResult(m, () => ({ object: configMap })));
      const data = out.data as JsonObject;
      t.equal(Object.getPrototypeOf(data), Object.prototype, `${expr}: data is a plain map`);
      const want = expr.includes('"c" +') ? ['a', 'constructor', 'ca'] : ['a', '__proto__', 'constructor', 'prototype'];
      t.same(Object.keys(data), want, `${expr}: every key, in order`);
      t.equal(JSON.stringify(out).includes('"constructor":"c"'), true, `${expr}: in the JSON`);
    }
  });
}
