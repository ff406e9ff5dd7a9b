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
import { join, resolve } from 'node:path';
import fjp from 'fast-json-patch';
import YAML from 'yaml';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { isListObject, isObject, type JsonObject, type JsonValue } from '../../src/kube/object.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { renderManifests, RenderError, sameManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { sidecarTransformer } from '../../src/transform/sidecar.js';
import { compileExpression } from '../../src/expr/cel.js';
import type { PolicySet } from '../../src/policy/types.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/sidecar');
const refresh = process.env.REFRESH_GOLDEN === 'true';

/** True once the project's CEL evaluator is in (until then, template-value cases are `todo`). */
export function celAvailable(): boolean {
  try {
    compileExpression('1 + 1');
    return true;
  } catch {
    return false;
  }
}

/** Compiles a policy file's text with the sidecar transformer registered. */
export function sidecarPolicies(text: string, file = '<policy>'): PolicySet {
  const registry = builtinRegistry();
  return createPolicySet(compilePolicyText(text, file, { registry, baseDir: fixtures }));
}

/** The objects of a stream, List items flattened, as JSON (what the API server decodes). */
export function streamObjects(text: string): JsonObject[] {
  return parseManifests(text)
    .map((d) => d.value)
    .flatMap((v) => (isObject(v) && isListObject(v) ? (v.items as JsonValue[]) : [v]))
    .filter(isObject)
    .map((o) => JSON.parse(JSON.stringify(o)) as JsonObject);
}

/** An AdmissionReview v1 CREATE of `obj` in `namespace`. */
export function createReview(obj: JsonObject, namespace: string, uid: string): JsonObject {
  const apiVersion = String(obj.apiVersion);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const md = isObject(obj.metadata) ? obj.metadata : {};
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version, kind: String(obj.kind) },
      resource: { group, version, resource: `${String(obj.kind).toLowerCase()}s` },
      name: typeof md.name === 'string' ? md.name : '',
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: obj,
      dryRun: false,
    },
  };
}

/** The response of a review body, and the object after applying its patch (as the API server does). */
export function admit(obj: JsonObject, body: unknown): { response: JsonObject; admitted: JsonObject } {
  const response = (body as JsonObject).response as JsonObject;
  if (!response.patch) return { response, admitted: obj };
  if (response.patchType !== 'JSONPatch') throw new Error(`patchType ${String(response.patchType)}`);
  const ops = JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8'));
  return { response, admitted: fjp.applyPatch(structuredClone(obj), ops, true, false).newDocument as JsonObject };
}

/** `run` drops an empty `metadata.annotations` (kustomize's output rule): compare modulo that. */
function normalize(o: JsonObject): JsonObject {
  const c = structuredClone(o);
  const m = c.metadata;
  if (isObject(m) && (m.annotations === null || (isObject(m.annotations) && Object.keys(m.annotations).length === 0))) delete m.annotations;
  return c;
}

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
    const r = review(createReview(obj, ns, `uid-${i}`), set, opts);
    t.equal(r.statusCode, 200);
    const { response, admitted } = admit(obj, r.body);
    t.equal(response.allowed, true, `${dir}#${i} allowed`);
    t.same(normalize(admitted), normalize(wants[i]), `${dir}#${i} ${String(obj.kind)}: webhook patch applied == expected`);
    const again = review(createReview(admitted, ns, `again-${i}`), set, opts);
    t.notOk(((again.body as JsonObject).response as JsonObject).patch, `${dir}#${i}: re-invocation returns no patch`);
  });
}

function webhookDenies(t: Test, dir: string, input: string, errorText: string, set: PolicySet, meta: CaseMeta): void {
  const messages: string[] = [];
  streamObjects(input).forEach((obj, i) => {
    const md = isObject(obj.metadata) ? obj.metadata : {};
    const ns = typeof md.namespace === 'string' ? md.namespace : meta.namespace ?? 'default';
    const { response } = admit(obj, review(createReview(obj, ns, `uid-${i}`), set, { route: 'mutate' }).body);
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

const cel = celAvailable();
/** The helpers above are shared with sidecar-corpus.test.ts; the cases run only when this file is the entry point. */
const isEntry = process.argv[1]?.endsWith('sidecar-golden.test.ts') ?? false;

t.test('golden cases run through both front doors', { skip: !isEntry && 'imported for its helpers' }, async (t) => {
  const dirs = caseDirs();
  t.ok(dirs.length >= 25, `at least 25 cases (found ${dirs.length})`);
  for (const dir of dirs) {
    const base = join(fixtures, dir);
    const meta = (existsSync(join(base, 'case.yaml')) ? YAML.parse(readFileSync(join(base, 'case.yaml'), 'utf8')) ?? {} : {}) as CaseMeta;
    const todo = meta.needsCel && !cel ? 'CEL evaluator not available yet (src/expr/cel.ts)' : false;
    await t.test(dir, { todo }, async (t) => {
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
