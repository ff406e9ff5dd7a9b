/**
 * Fuzzing the engine's parsers and appliers (issue 8): JSON6902 and strategic
 * merge patches on arbitrary documents, multi-document YAML streams, policy
 * documents, and the render chain (`run`). Properties: only typed errors,
 * inputs never mutated, Object.prototype untouched, print/parse round trip,
 * `createPatch` re-applies, render(render(x)) == render(x).
 */
import t from 'tap';
import fc from 'fast-check';
import { applyJson6902, Json6902Error } from '../../src/patch/json6902.js';
import { parsePatchText, PatchTextError } from '../../src/patch/patch-text.js';
import { strategicMerge, PatchError } from '../../src/patch/smp.js';
import { createPatch } from '../../src/patch/create-patch.js';
import { ManifestParseError, parseManifests, printManifests } from '../../src/kube/yaml-stream.js';
import { deepEqual, type JsonObject, type JsonValue } from '../../src/kube/object.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { PolicyError } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { renderManifests, RenderError, sameManifests } from '../../src/policy/render.js';
import { jsonArb, keyArb, kubeObjectArb, viaJson, params, PLATFORM_POLICY, policySetFromYaml, prototypeSnapshot, prototypeUntouched, runs, toObject } from './helpers.js';

const pathArb = fc.oneof(
  fc.array(fc.oneof(keyArb, fc.constantFrom('0', '1', '-1', '-', 'spec', 'metadata', 'labels', 'containers')), { maxLength: 4 }).map((s) => '/' + s.join('/')),
  fc.string({ maxLength: 10 }),
);
const opArb: fc.Arbitrary<JsonObject> = fc.record({
  op: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test') }, { weight: 1, arbitrary: jsonArb }),
  path: fc.oneof({ weight: 9, arbitrary: pathArb }, { weight: 1, arbitrary: jsonArb }),
  from: pathArb,
  value: jsonArb,
}, { requiredKeys: ['op'] }) as fc.Arbitrary<JsonObject>;

t.test('JSON6902: only Json6902Error, no mutation, no pollution', async (t) => {
  const before = prototypeSnapshot();
  const seen = { applied: 0, failed: 0 };
  fc.assert(fc.property(fc.oneof(kubeObjectArb, jsonArb.filter((v): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v))), fc.array(opArb, { maxLength: 5 }), (doc, ops) => {
    const frozen = JSON.stringify([doc, ops]);
    try {
      applyJson6902(doc, ops);
      seen.applied++;
    } catch (e) {
      if (!(e instanceof Json6902Error)) throw e;
      seen.failed++;
    }
    return JSON.stringify([doc, ops]) === frozen && prototypeUntouched(before);
  }), params(runs(1000)));
  t.ok(seen.applied > 0 && seen.failed > 0, 'both outcomes exercised');
  t.comment(`JSON6902: ${seen.applied} applied, ${seen.failed} typed errors`);
});

t.test('createPatch(a, b) applied to a gives b (our applier and no pollution)', async (t) => {
  const before = prototypeSnapshot();
  let n = 0;
  fc.assert(fc.property(kubeObjectArb, kubeObjectArb, (a, b) => {
    n++;
    const ops = createPatch(a, b) as unknown as JsonObject[];
    return deepEqual(applyJson6902(a, ops), b) && prototypeUntouched(before);
  }), params(runs(500)));
  t.comment(`createPatch laws: ${n}`);
});

t.test('createPatch keeps a `__proto__` key inside an added value', async (t) => {
  const before = prototypeSnapshot();
  const a = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
  const b = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"__proto__":"x","k":"v"}}') as JsonObject;
  const ops = createPatch(a, b);
  t.same(Object.keys((ops[0] as { value: JsonObject }).value), ['__proto__', 'k'], 'the added value keeps the key');
  t.ok(deepEqual(applyJson6902(a, ops as unknown as JsonObject[]), b), 'the patch gives b');
  t.ok(prototypeUntouched(before), 'Object.prototype untouched');
});

t.test('strategic merge: only PatchError, no mutation, no pollution, idempotent without directives', async (t) => {
  const before = prototypeSnapshot();
  const seen = { merged: 0, failed: 0, idempotent: 0 };
  const patchArb = fc.oneof(kubeObjectArb, fc.tuple(kubeObjectArb, fc.array(fc.tuple(keyArb, jsonArb), { maxLength: 3 })).map(([o, extra]) => {
    const spec = (o.spec ?? {}) as JsonObject;
    return viaJson({ ...o, spec: toObject([...Object.entries(spec), ...extra]) });
  }));
  fc.assert(fc.property(kubeObjectArb, patchArb, (base, body) => {
    // Same apiVersion/kind as the base: a patch that changes the kind switches schemas between passes.
    const patch = { ...body, apiVersion: base.apiVersion, kind: base.kind };
    const frozen = JSON.stringify([base, patch]);
    let once: JsonObject | null;
    try {
      once = strategicMerge(base, patch);
      seen.merged++;
    } catch (e) {
      if (!(e instanceof PatchError)) throw e;
      seen.failed++;
      return JSON.stringify([base, patch]) === frozen && prototypeUntouched(before);
    }
    if (JSON.stringify([base, patch]) !== frozen || !prototypeUntouched(before)) return false;
    if (once === null || JSON.stringify(patch).includes('"$')) return true;
    seen.idempotent++;
    return deepEqual(strategicMerge(once, patch), once);
  }), params(runs(800)));
  t.ok(seen.merged > 0, 'merges exercised');
  t.comment(`SMP: ${seen.merged} merged (${seen.idempotent} checked for idempotence), ${seen.failed} typed errors`);
});

t.test('patch text: parsePatchText throws only PatchTextError', async (t) => {
  let n = 0;
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), jsonArb.map((v) => JSON.stringify(v)), jsonArb.map((v) => printManifests([v]))), (text) => {
    n++;
    try {
      parsePatchText(text);
    } catch (e) {
      if (!(e instanceof PatchTextError) && !(e instanceof ManifestParseError)) throw e;
    }
    return true;
  }), params(runs(800)));
  t.comment(`patch texts: ${n}`);
});

t.test('YAML streams: only ManifestParseError; printManifests/parseManifests round trip', async (t) => {
  const before = prototypeSnapshot();
  const yamlish = fc.array(fc.constantFrom('a', ': ', '- ', '\n', '  ', '&x ', '*x', '<<: ', '---\n', '"', "'", '{', '}', '[', ']', ',', '!!int ', '!!str ', '0x1F', '__proto__', '? ', '|\n', '#', '\t', '%YAML 1.1\n', '\u0000', '\ufeff'), { maxLength: 30 }).map((xs) => xs.join(''));
  let parsed = 0;
  let errors = 0;
  fc.assert(fc.property(fc.oneof(yamlish, fc.string({ maxLength: 40 })), (text) => {
    try {
      parseManifests(text);
      parsed++;
    } catch (e) {
      if (!(e instanceof ManifestParseError)) throw e;
      errors++;
    }
    return prototypeUntouched(before);
  }), params(runs(1500)));
  t.comment(`YAML texts: ${parsed} parsed, ${errors} typed errors`);
  let trips = 0;
  const docArb = fc.oneof(kubeObjectArb, jsonArb.filter((v) => v !== null));
  fc.assert(fc.property(fc.array(docArb, { minLength: 1, maxLength: 3 }), (values) => {
    trips++;
    // Integral numbers beyond 2^53 print as integers and read back as bigint (go-yaml: int64): compare by value.
    const back = JSON.parse(JSON.stringify(parseManifests(printManifests(values)).map((d) => d.value), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as JsonValue[];
    return back.length === values.length && back.every((v, i) => deepEqual(v, values[i] as JsonValue)) && prototypeUntouched(before);
  }), params(runs(500)));
  t.comment(`YAML round trips: ${trips}`);
});

const TRANSFORMER_SNIPPETS: JsonObject[] = [
  { labels: { pairs: { a: 'b' } } }, { annotations: { x: 'y' } }, { images: [{ name: 'nginx', newTag: '1' }] },
  { replicas: [{ name: 'web', count: 2 }] }, { patch: { target: { kind: 'Deployment' }, patch: '- op: add\n  path: /spec/x\n  value: 1\n' } },
  { validate: { expression: 'true', message: 'm', action: 'Warn' } }, { sidecar: { containers: [{ name: 's', image: 'busybox' }] } },
  { namespace: 'x' },
];

t.test('policy documents: compile or a PolicyError, never anything else', async (t) => {
  const before = prototypeSnapshot();
  const opts = { registry: builtinRegistry(), readFile: () => { throw new Error('no files'); }, compileCondition: conditionCompiler };
  const entryArb = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...TRANSFORMER_SNIPPETS) },
    fc.tuple(fc.constantFrom(...TRANSFORMER_SNIPPETS), jsonArb).map(([s, v]) => toObject([[Object.keys(s)[0], v]])),
    jsonArb,
  );
  const docArb = fc.record({
    apiVersion: fc.oneof({ weight: 9, arbitrary: fc.constant('postrender.io/v1alpha1') }, { weight: 1, arbitrary: jsonArb }),
    kind: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('ClusterPostRenderPolicy', 'PostRenderPolicy', 'Kustomization') }, { weight: 1, arbitrary: jsonArb }),
    metadata: fc.oneof({ weight: 5, arbitrary: fc.record({ name: fc.stringMatching(/^[a-z]{1,6}$/), namespace: fc.stringMatching(/^[a-z]{1,6}$/) }, { requiredKeys: ['name'] }) }, { weight: 1, arbitrary: jsonArb }),
    spec: fc.oneof(fc.record({
      transformers: fc.array(entryArb, { maxLength: 2 }),
      match: fc.oneof(fc.record({ namespaces: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }), resources: fc.array(fc.record({ kinds: fc.array(fc.constantFrom('Pod', 'Secret', '*')) }), { maxLength: 2 }) }, { requiredKeys: [] }), jsonArb),
      exclude: fc.oneof({ weight: 3, arbitrary: fc.constant({ namespaces: ['kube-*'] }) }, { weight: 1, arbitrary: jsonArb }),
      order: fc.oneof({ weight: 3, arbitrary: fc.integer() }, { weight: 1, arbitrary: jsonArb }), failurePolicy: fc.constantFrom('Fail', 'Ignore', 'Maybe'), mode: fc.constantFrom('Enforce', 'Audit', 'Off'),
    }, { requiredKeys: ['transformers'] }), jsonArb),
    extra: jsonArb,
  }, { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] }).map(viaJson);
  const seen = { compiled: 0, rejected: 0 };
  fc.assert(fc.property(docArb, (doc) => {
    try {
      compilePolicyText(printManifests([doc as JsonObject]), 'fuzz.yaml', opts);
      seen.compiled++;
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      if (!/^fuzz\.yaml/.test(e.message)) throw new Error(`PolicyError without its file: ${e.message}`);
      seen.rejected++;
    }
    return prototypeUntouched(before);
  }), params(runs(600)));
  t.ok(seen.compiled > 0 && seen.rejected > 0, 'both outcomes exercised');
  t.comment(`policy documents: ${seen.compiled} compiled, ${seen.rejected} PolicyErrors`);
});

t.test('render: twice equals once', async (t) => {
  // The platform policy minus its stream requirement (a replicas entry for `web` must match something in `run`).
  const set = policySetFromYaml(PLATFORM_POLICY.replace(/  - replicas: \[\{name: web, count: 3\}\]\n/, ''));
  const before = prototypeSnapshot();
  const seen = { rendered: 0, failed: 0 };
  fc.assert(fc.property(fc.uniqueArray(kubeObjectArb, { selector: (o) => `${String(o.kind)}/${String((o.metadata as JsonObject).name)}`, minLength: 1, maxLength: 4 }), (objects) => {
    let once: string;
    try {
      once = renderManifests(printManifests(objects), set, { namespace: 'team-a' }).output;
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      seen.failed++;
      return true;
    }
    seen.rendered++;
    const twice = renderManifests(once, set, { namespace: 'team-a' }).output;
    return sameManifests(once, twice) && prototypeUntouched(before);
  }), params(runs(80, 0.2)));
  t.ok(seen.rendered > 0, 'renders exercised');
  t.comment(`render idempotence: ${seen.rendered} streams, ${seen.failed} RenderErrors`);
});
