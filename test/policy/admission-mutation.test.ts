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
import { compileExpression, setConstantFolding } from '../../src/expr/cel.js';
import { applyMutation, compiledMutation, mutationResult, type Mutation } from '../../src/policy/admission-mutation.js';
import { applyConfiguration } from '../../src/patch/apply-configuration.js';
import { applyJson6902 } from '../../src/patch/json6902.js';
import { schemaForGVK } from '../../src/patch/patch-meta.js';
import { deepEqual, gvkOf, type JsonObject } from '../../src/kube/object.js';
import { deepFreeze } from '../helpers/laws.js';

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
      t.equal(out === object, !row.changed, row.changed ? 'a new object' : 'the object itself');
      t.equal(out === object, want === object, 'the object itself exactly when equal');
      t.same(object, POD, 'input untouched');
      if (row.idempotent) t.equal(applyMutation(m, deepFreeze(out), mutationResult(m, () => ({ object: out }))) === out, true, 'applied again: unchanged');
    });
  }
}
