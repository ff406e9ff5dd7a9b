/**
 * Golden injection cases, in the style of istio pkg/kube/inject `TestInjection`
 * (one set of input and expected files shared by the webhook and kube-inject):
 * every directory under test/fixtures/sidecar is a case with
 * - `input.yaml`: the manifests (as Helm renders them, or as the API server admits them);
 * - `policy.yaml`: the policies (a sidecar transformer, usually);
 * - `expected.yaml` (or `expected-error.txt` when the case must fail): GOLDEN,
 *   written only with REFRESH_GOLDEN=true, never by hand; a stale file fails;
 * - `case.yaml` (optional): `namespace` (default `default`), `unchanged: true`
 *   (the expected output must equal the input), `needsCel: true`.
 *
 * Each case runs through BOTH front doors: `renderManifests` (the `run`
 * command) must print exactly the golden file; `review()` on a CREATE of each
 * input object must answer a JSON patch that, applied with fast-json-patch as
 * the API server applies it, gives the same object. Then the laws: running
 * the output again changes nothing, and a re-invoked webhook returns no patch.
 */
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { isObject, type JsonObject } from '../../src/kube/object.js';
import { renderManifests, RenderError, sameManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import type { PolicySet } from '../../src/policy/types.js';
import { admit, createReview, withoutEmptyAnnotations } from '../helpers/admission.js';
import { streamObjects } from '../helpers/corpus.js';
import { sidecarPolicies, SIDECAR_FIXTURES as fixtures } from '../helpers/sidecar.js';

const refresh = process.env.REFRESH_GOLDEN === 'true';







interface CaseMeta {
  namespace?: string;
  unchanged?: boolean;
  needsCel?: boolean;
}

function caseDirs(): string[] {
  return readdirSync(fixtures)
    .filter((d) => !d.startsWith('.') && statSync(join(fixtures, d)).isDirectory())
    .sort();
}

function namespaceLabelsOf(objs: JsonObject[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const o of objs) {
    if (o.kind !== 'Namespace' || !isObject(o.metadata)) continue;
    out.set(String(o.metadata.name), (isObject(o.metadata.labels) ? o.metadata.labels : {}) as Record<string, string>);
  }
  return out;
}

function renderOrError(input: string, set: PolicySet, namespace: string): { output?: string; error?: string } {
  try {
    return { output: renderManifests(input, set, { namespace }).output };
  } catch (e) {
    if (e instanceof RenderError) return { error: `${e.kind}\n${e.message}\n` };
    throw e;
  }
}

/** Compares `actual` with a golden file, or (REFRESH_GOLDEN=true) rewrites it. */
function golden(t: Test, file: string, actual: string, other: string): void {
  if (refresh) {
    writeFileSync(file, actual);
    if (existsSync(other)) unlinkSync(other);
    t.pass(`refreshed ${file}`);
    return;
  }
  t.ok(existsSync(file), `golden ${file} exists (run with REFRESH_GOLDEN=true to create it)`);
  t.notOk(existsSync(other), `no stale ${other}`);
  if (existsSync(file)) t.equal(actual, readFileSync(file, 'utf8'), `golden ${file} is current`);
}

function webhookSide(t: Test, dir: string, input: string, expected: string, set: PolicySet, meta: CaseMeta): void {
  const inputs = streamObjects(input);
  const wants = streamObjects(expected);
  t.equal(wants.length, inputs.length, 'one output object per input object');
  const nsLabels = namespaceLabelsOf(inputs);
  const opts = { route: 'mutate' as const, namespaceLabels: (ns: string) => nsLabels.get(ns) };
  inputs.forEach((obj, i) => {
    const md = isObject(obj.metadata) ? obj.metadata : {};
    const ns = typeof md.namespace === 'string' ? md.namespace : obj.kind === 'Namespace' ? '' : meta.namespace ?? 'default';
    const r = review(createReview(obj, `uid-${i}`, { namespace: ns, userInfo: RS_CONTROLLER }), set, opts);
    t.equal(r.statusCode, 200);
    const { response, admitted } = admit(obj, r.body);
    t.equal(response.allowed, true, `${dir}#${i} allowed`);
    t.same(withoutEmptyAnnotations(admitted), withoutEmptyAnnotations(wants[i]), `${dir}#${i} ${String(obj.kind)}: webhook patch applied == expected`);
    const again = review(createReview(admitted, `again-${i}`, { namespace: ns, userInfo: RS_CONTROLLER }), set, opts);
    t.notOk(((again.body as unknown as JsonObject).response as JsonObject).patch, `${dir}#${i}: re-invocation returns no patch`);
  });
}

function webhookDenies(t: Test, dir: string, input: string, errorText: string, set: PolicySet, meta: CaseMeta): void {
  const messages: string[] = [];
  streamObjects(input).forEach((obj, i) => {
    const md = isObject(obj.metadata) ? obj.metadata : {};
    const ns = typeof md.namespace === 'string' ? md.namespace : meta.namespace ?? 'default';
    const { response } = admit(obj, review(createReview(obj, `uid-${i}`, { namespace: ns, userInfo: RS_CONTROLLER }), set, { route: 'mutate' }).body);
    if (response.allowed === false) {
      t.notOk(response.patch, 'a denial carries no patch');
      messages.push(String((response.status as JsonObject).message));
    }
  });
  const lines = errorText.trim().split('\n').slice(1);
  t.equal(messages.length, lines.length, `${dir}: the webhook denies exactly the objects run rejects`);
  lines.forEach((line, i) => {
    const m = /denied by ([^/]+)\/(\S+): (.*)$/.exec(line);
    t.ok(m, `error line names policy and rule: ${line}`);
    if (m) t.equal(messages[i], `policy ${m[1]} rule ${m[2]}: ${m[3]}`, `${dir}: same denial at both front doors`);
  });
}

/** Pods are created by the replicaset-controller in a cluster. */
const RS_CONTROLLER = { username: 'system:serviceaccount:kube-system:replicaset-controller' };

t.test('golden cases run through both front doors', async (t) => {
  const dirs = caseDirs();
  t.ok(dirs.length >= 25, `at least 25 cases (found ${dirs.length})`);
  for (const dir of dirs) {
    const base = join(fixtures, dir);
    const meta = (existsSync(join(base, 'case.yaml')) ? YAML.parse(readFileSync(join(base, 'case.yaml'), 'utf8')) ?? {} : {}) as CaseMeta;
    await t.test(dir, async (t) => {
      const input = readFileSync(join(base, 'input.yaml'), 'utf8');
      const set = sidecarPolicies(readFileSync(join(base, 'policy.yaml'), 'utf8'), join(base, 'policy.yaml'));
      const namespace = meta.namespace ?? 'default';
      const r = renderOrError(input, set, namespace);
      const expectedFile = join(base, 'expected.yaml');
      const errorFile = join(base, 'expected-error.txt');
      if (r.error !== undefined) {
        golden(t, errorFile, r.error, expectedFile);
        webhookDenies(t, dir, input, r.error, set, meta);
        return;
      }
      const output = r.output as string;
      golden(t, expectedFile, output, errorFile);
      if (meta.unchanged) t.ok(sameManifests(output, input), `${dir}: output equals input (no change expected)`);
      else t.notOk(sameManifests(output, input), `${dir}: the policy changes something`);
      t.ok(sameManifests(renderManifests(output, set, { namespace }).output, output), `${dir}: run(run(x)) == run(x)`);
      webhookSide(t, dir, input, output, set, meta);
    });
  }
});
