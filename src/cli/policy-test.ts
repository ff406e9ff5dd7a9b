/**
 * `kube-postrender test [DIR...]`: declarative policy tests, the counterpart of
 * `kyverno test` (kyverno cmd/cli/kubectl-kyverno/commands/test: a
 * `kyverno-test.yaml` naming policies, resources and the expected result per
 * policy, rule and resource). Ours is a `PolicyTest` document in a file named
 * `postrender-test.yaml` (docs/testing.md):
 *
 * ```yaml
 * apiVersion: postrender.io/v1alpha1
 * kind: PolicyTest
 * metadata: {name: disallow-latest-tag}
 * policies: [policy.yaml]                 # files or directories, relative to this file
 * resources: [good/pinned.yaml, bad/latest.yaml]
 * context:                                # optional admission context
 *   operation: CREATE
 *   userInfo: {username: alice, groups: [dev]}
 *   namespaceLabels: {shop: {team: shop}}
 * results:
 * - policy: disallow-latest-tag
 *   rule: image-tag                       # optional: absent = the policy as a whole
 *   resources: [Deployment/shop/web]      # [Kind/][namespace/]name, or a resources file (all its objects)
 *   result: fail                          # pass | fail | warn | error | skip
 *   patchedResource: expected/web.yaml    # optional: the object after every policy
 * ```
 *
 * Each resource is evaluated once by the engine (`PolicySet.evaluate`, the one
 * evaluation every front door reads); `ruleResults` maps that outcome to a
 * result per policy and rule. Nothing here re-implements evaluation.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { CLUSTER_SCOPED_KINDS, deepEqual, gvkOf, isListObject, isObject, metaMap, metaString, type JsonObject, type KubeObject } from '../kube/object.js';
import { parseManifests, printManifests } from '../kube/yaml-stream.js';
import { isNamespace } from '../policy/compile.js';
import { loadPolicies, type LoadedPolicies } from '../policy/load.js';
import type { Evaluation, PolicyStep, TransformerStep } from '../policy/evaluate.js';
import type { EvaluationInput } from '../policy/types.js';
import type { Finding, Operation } from '../transform/types.js';
import { defaultLoadOptions } from './policies.js';

/** The default name of a test file, as `kyverno test` looks for `kyverno-test.yaml`. */
export const TEST_FILE_NAME = 'postrender-test.yaml';

/** A rule's result on one resource (the PolicyReport result values). */
export type RuleResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

/** Admission context of a test: what the request would carry. */
export interface TestContext {
  /** Admission operation (default CREATE). */
  operation?: Operation;
  /** `admission` (default: the webhook's view) or `render` (`run`'s view). */
  frontDoor?: 'admission' | 'render';
  /** AdmissionReview `request.userInfo`. */
  userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  /** Labels of namespaces, by name (Namespace objects among the resources count too). */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** One expectation: a policy (and rule) on some resources. */
export interface ExpectedResult {
  policy: string;
  rule?: string;
  /** `[Kind/][namespace/]name` references into the test's resources, or paths of `resources` files (every object in the file). */
  resources: string[];
  result: RuleResult;
  /** File holding the expected object after every policy ran (relative to the test file). */
  patchedResource?: string;
}

/** A parsed test file. */
export interface PolicyTestFile {
  /** Path of the file as given (for messages). */
  path: string;
  name: string;
  policies: string[];
  resources: string[];
  context: TestContext;
  results: ExpectedResult[];
}

/** The outcome of one expectation on one resource. */
export interface Check {
  /** The test file (as found). */
  file: string;
  test: string;
  policy: string;
  rule?: string;
  /** `Kind/namespace/name (file)` (namespace omitted when cluster-scoped); the reference itself when nothing matched. */
  resource: string;
  want: RuleResult;
  /** Absent when the resource or rule could not be found. */
  got?: RuleResult;
  /** The engine's message for `got` (rule message, error, why skipped). */
  reason: string;
  /** Unified diff, expected vs actual patched resource, when they differ. */
  diff?: string;
  ok: boolean;
}

/** A malformed test file: file, JSON path and reason (exit 2). */
export class TestFileError extends Error {
  constructor(readonly file: string, readonly path: string, readonly reason: string) {
    super(`${file}: ${path ? `${path}: ` : ''}${reason}`);
    this.name = 'TestFileError';
  }
}

const RESULTS = ['pass', 'fail', 'warn', 'error', 'skip'];
const TEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'policies', 'resources', 'results'],
  properties: {
    apiVersion: { const: 'postrender.io/v1alpha1' },
    kind: { const: 'PolicyTest' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    policies: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    resources: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: {
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        frontDoor: { enum: ['admission', 'render'] },
        userInfo: {
          type: 'object',
          additionalProperties: false,
          properties: {
            username: { type: 'string' },
            uid: { type: 'string' },
            groups: { type: 'array', items: { type: 'string' } },
            extra: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          },
        },
        namespaceLabels: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } },
      },
    },
    results: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['policy', 'resources', 'result'],
        properties: {
          policy: { type: 'string', minLength: 1 },
          rule: { type: 'string', minLength: 1 },
          resources: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          result: { enum: RESULTS },
          patchedResource: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

let testValidator: ValidateFunction | undefined;

function validateTestDoc(doc: unknown, file: string): void {
  if (testValidator === undefined) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    testValidator = new Ajv({ allErrors: true, strict: false }).compile(TEST_SCHEMA);
  }
  if (testValidator(doc)) return;
  const e = (testValidator.errors ?? [])[0];
  const extra = e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperty: string }).additionalProperty)}` : '';
  const path = (e.instancePath + extra).split('/').slice(1).join('.');
  const reason = e.keyword === 'additionalProperties' ? 'unknown field' : e.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : (e.message ?? 'invalid');
  throw new TestFileError(file, path, reason);
}

/** Reads and validates one test file. Throws TestFileError. */
export function readTestFile(path: string): PolicyTestFile {
  let docs;
  try {
    docs = parseManifests(readFileSync(path, 'utf8')).map((d) => d.value).filter((v) => v !== null && v !== undefined);
  } catch (e) {
    throw new TestFileError(path, '', e instanceof Error ? e.message : String(e));
  }
  if (docs.length !== 1) throw new TestFileError(path, '', `expected one PolicyTest document, found ${docs.length}`);
  validateTestDoc(docs[0], path);
  const doc = docs[0] as unknown as { metadata: { name: string }; policies: string[]; resources: string[]; context?: TestContext; results: ExpectedResult[] };
  return { path, name: doc.metadata.name, policies: doc.policies, resources: doc.resources, context: doc.context ?? {}, results: doc.results };
}

/**
 * The test files under `paths`: a file is taken as is; a directory is searched
 * recursively for `fileName` (hidden entries and node_modules skipped), sorted.
 * Throws TestFileError for a missing path.
 */
export function findTestFiles(paths: string[], fileName = TEST_FILE_NAME): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === fileName) out.push(join(dir, entry.name));
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new TestFileError(p, '', 'no such file or directory');
    }
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

/** `Kind/namespace/name` of an object (namespace omitted when empty). */
export function resourceRef(o: KubeObject): string {
  const kind = gvkOf(o).kind;
  const ns = metaString(o, 'namespace');
  return [kind, ...(ns ? [ns] : []), metaString(o, 'name')].join('/');
}

/**
 * True when the reference `[Kind/][namespace/]name` names `o`. With two parts,
 * the first is a Kind when it starts with an upper-case letter (Kinds are
 * CamelCase, namespaces DNS labels), else a namespace.
 */
export function refMatches(ref: string, o: KubeObject): boolean {
  const parts = ref.split('/');
  const name = parts[parts.length - 1];
  let kind: string | undefined;
  let ns: string | undefined;
  if (parts.length === 3) [kind, ns] = parts;
  else if (parts.length === 2) {
    if (/^[A-Z]/.test(parts[0])) kind = parts[0];
    else ns = parts[0];
  }
  if (name !== metaString(o, 'name')) return false;
  if (kind !== undefined && kind !== gvkOf(o).kind) return false;
  return ns === undefined || ns === metaString(o, 'namespace');
}

function readObjects(file: string): KubeObject[] {
  const values = parseManifests(readFileSync(file, 'utf8')).map((d) => d.value).filter(isObject) as KubeObject[];
  return values.flatMap((v) => (isListObject(v) ? (v.items as KubeObject[]).filter(isObject) : [v]));
}

/** Resource plural for the AdmissionReview `request.resource` (English rules, as kubectl's default RESTMapper guesses). */
function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/**
 * The AdmissionReview `request` a test resource stands for (CEL `request`,
 * userInfo matching): on DELETE the resource is the stored object
 * (`oldObject`, `object` null), as the webhook's DELETE review has it.
 */
function requestFor(o: KubeObject, namespace: string, ctx: TestContext): JsonObject {
  const g = gvkOf(o);
  const deleted = ctx.operation === 'DELETE';
  return {
    uid: 'kube-postrender-test',
    kind: { group: g.group, version: g.version, kind: g.kind },
    resource: { group: g.group, version: g.version, resource: pluralOf(g.kind) },
    operation: ctx.operation ?? 'CREATE',
    namespace,
    name: metaString(o, 'name'),
    userInfo: (ctx.userInfo ?? { username: 'kube-postrender-test', groups: ['system:authenticated'] }) as JsonObject,
    object: deleted ? null : o,
    ...(deleted ? { oldObject: o } : {}),
    dryRun: false,
  };
}

/** The evaluation input for one resource of a test. */
function inputFor(o: KubeObject, all: KubeObject[], ctx: TestContext): EvaluationInput {
  const namespace = CLUSTER_SCOPED_KINDS.has(gvkOf(o).kind) ? '' : metaString(o, 'namespace');
  const fromStream = all.find((n) => isNamespace(n) && metaString(n, 'name') === namespace);
  const namespaceLabels = ctx.namespaceLabels?.[namespace] ?? (fromStream ? metaMap(fromStream, 'labels') : undefined);
  const operation = ctx.operation ?? 'CREATE';
  if (ctx.frontDoor === 'render') {
    return { frontDoor: 'render', operation, namespace, namespaceLabels, stream: all.map((x) => ({ ...gvkOf(x), name: metaString(x, 'name'), namespace: metaString(x, 'namespace') })), satisfied: () => undefined };
  }
  // DELETE: the resource is the stored object, which the webhook evaluates as oldObject (admission/review.ts).
  return { frontDoor: 'admission', operation, namespace, namespaceLabels, request: requestFor(o, namespace, ctx), ...(operation === 'DELETE' ? { oldObject: o } : {}) };
}

/** One rule's result and the engine's message for it. */
export interface RuleOutcome {
  result: RuleResult;
  message: string;
}

/** One transformer step's result: error, skip (not run), fail (a Deny finding), warn (a Warn finding) or pass. */
function stepOutcome(step: TransformerStep, failed: string | undefined): RuleOutcome {
  if (step.status === 'error') return { result: 'error', message: step.error?.message ?? 'error' };
  if (step.status === 'skipped') return { result: 'skip', message: failed ? `not run: rule ${failed} failed` : (step.reason ?? 'not run') };
  return findingsOutcome(step.findings ?? []);
}

/** A step that ran: fail on its first Deny finding, else warn on its first Warn, else pass. */
function findingsOutcome(findings: readonly Finding[]): RuleOutcome {
  const deny = findings.find((f) => f.action === 'Deny');
  if (deny) return { result: 'fail', message: deny.message };
  const warn = findings.find((f) => f.action === 'Warn');
  return warn ? { result: 'warn', message: warn.message } : { result: 'pass', message: '' };
}

/** The outcome of every rule of `p` from its trace step (src/policy/evaluate.ts `PolicyStep`); absent: it did not run. */
function policyOutcomes(p: LoadedPolicies['policies'][number], step: PolicyStep | undefined): Map<string, RuleOutcome> {
  const out = new Map<string, RuleOutcome>();
  const whole = (o: RuleOutcome): Map<string, RuleOutcome> => new Map(p.transformers.map((t) => [t.name, o]));
  if (!step || step.status === 'skipped') return whole({ result: 'skip', message: step ? `the policy does not match this resource (${step.reason})` : 'the policy does not match this resource' });
  if (step.status !== 'matched') return whole({ result: 'error', message: step.reason });
  const failed = step.transformers.find((t) => t.status === 'error')?.transformer.name;
  // A converging policy runs its chain more than once: the first step of each rule speaks for it.
  for (const t of step.transformers) if (!out.has(t.transformer.name)) out.set(t.transformer.name, stepOutcome(t, failed));
  for (const t of p.transformers) if (!out.has(t.name)) out.set(t.name, { result: 'skip', message: 'not run' });
  return out;
}

/**
 * The result of every policy and rule on one object, read from the trace of
 * one `PolicySet.evaluate` (src/policy/evaluate.ts): `skip` when the policy did not match (or an
 * earlier rule of its chain failed), `error` for the failing rule (every rule
 * when a match condition or the deadline failed), `fail` for a Deny finding
 * (Enforce or Audit), `warn` for a Warn finding, `pass` otherwise (a mutation
 * that ran, changed or not). Keyed by policy name, then rule name.
 */
export function ruleResults(loaded: LoadedPolicies, res: Evaluation): Map<string, Map<string, RuleOutcome>> {
  const steps = new Map<string, PolicyStep>();
  // The first step of a policy (a reinvoked policy's second pass is a step of its own).
  for (const step of res.trace) if (!steps.has(step.policy.name)) steps.set(step.policy.name, step);
  return new Map(loaded.policies.map((p) => [p.name, policyOutcomes(p, steps.get(p.name))]));
}

const SEVERITY: Record<RuleResult, number> = { skip: 0, pass: 1, warn: 2, fail: 3, error: 4 };

/** A policy's result as a whole: its worst rule (error > fail > warn > pass > skip). */
export function policyResult(rules: Map<string, RuleOutcome>): RuleOutcome {
  let worst: RuleOutcome | undefined;
  for (const r of rules.values()) if (!worst || SEVERITY[r.result] > SEVERITY[worst.result]) worst = r;
  return worst ?? { result: 'skip', message: 'the policy has no rules' };
}

interface Evaluated {
  object: KubeObject;
  /** The `resources` entry (file) it came from, as written. */
  source: string;
  ref: string;
  results: Map<string, Map<string, RuleOutcome>>;
  /** The object after every policy (null: deleted by a patch, render only). */
  patched: KubeObject | null;
}

function evaluateAll(loaded: LoadedPolicies, sources: { object: KubeObject; source: string }[], ctx: TestContext): Evaluated[] {
  const objects = sources.map((s) => s.object);
  return sources.map(({ object, source }) => {
    const res = loaded.set.evaluate(object, inputFor(object, objects, ctx));
    return { object, source, ref: resourceRef(object), results: ruleResults(loaded, res), patched: res.object };
  });
}

/** True when a result's resource reference names a `resources` file (every object in it). */
function isFileRef(ref: string): boolean {
  return /\.ya?ml$/.test(ref);
}

/** The evaluated objects a reference names: a resource file's objects, or `[Kind/][namespace/]name` matches. */
function resolveRef(ref: string, evaluated: Evaluated[], dir: string): Evaluated[] {
  if (isFileRef(ref)) return evaluated.filter((e) => resolve(dir, e.source) === resolve(dir, ref));
  return evaluated.filter((e) => refMatches(ref, e.object));
}

/** A readable unified diff of two objects' YAML (`--- expected`, `+++ actual`). */
export function objectDiff(expected: KubeObject | null, actual: KubeObject | null): string {
  const { createTwoFilesPatch } = createRequire(import.meta.url)('diff') as typeof import('diff');
  const text = (o: KubeObject | null): string => (o === null ? '(deleted)\n' : printManifests([o]));
  const patch = createTwoFilesPatch('expected', 'actual', text(expected), text(actual), '', '', { context: 3 });
  return patch.split('\n').filter((l) => !/^(Index: |={10,})/.test(l)).map((l) => l.replace(/^(---|\+\+\+) (expected|actual)\t.*$/, '$1 $2')).join('\n').trimEnd();
}

function patchedCheck(base: Check, e: Evaluated, expectedFile: string, shown: string): Check {
  let expected: KubeObject[];
  try {
    expected = readObjects(expectedFile);
  } catch (err) {
    return { ...base, ok: false, reason: `patchedResource: ${err instanceof Error ? err.message : String(err)}` };
  }
  const want = expected.length === 1 ? expected[0] : expected.find((x) => resourceRef(x) === e.ref);
  if (!want) return { ...base, ok: false, reason: `patchedResource: no object ${e.ref} in ${shown}` };
  if (e.patched !== null && deepEqual(want, e.patched)) return base;
  return { ...base, ok: false, reason: `patched resource differs from ${shown}`, diff: objectDiff(want, e.patched) };
}

function checkOne(t: PolicyTestFile, exp: ExpectedResult, e: Evaluated): Check {
  const base = { file: t.path, test: t.name, policy: exp.policy, ...(exp.rule ? { rule: exp.rule } : {}), resource: `${e.ref} (${e.source})`, want: exp.result };
  const rules = e.results.get(exp.policy);
  if (!rules) return { ...base, ok: false, reason: `no policy named ${exp.policy} in ${t.policies.join(', ')}` };
  const outcome = exp.rule === undefined ? policyResult(rules) : rules.get(exp.rule);
  if (!outcome) return { ...base, ok: false, reason: `policy ${exp.policy} has no rule ${exp.rule} (rules: ${[...rules.keys()].join(', ')})` };
  const check: Check = { ...base, got: outcome.result, reason: outcome.message, ok: outcome.result === exp.result };
  if (!check.ok || exp.patchedResource === undefined) return check;
  return patchedCheck(check, e, resolve(dirname(t.path), exp.patchedResource), exp.patchedResource);
}

/**
 * Runs one test file: loads its policies (relative to the file), evaluates
 * every resource once, and checks every expectation on every resource it
 * names. Throws TestFileError for unreadable resources and PolicyError for
 * invalid policies (both exit 2).
 */
export function runTestFile(t: PolicyTestFile): Check[] {
  const dir = dirname(t.path);
  const loaded = loadPolicies(t.policies.map((p) => resolve(dir, p)), defaultLoadOptions());
  const objects: { object: KubeObject; source: string }[] = [];
  for (const r of t.resources) {
    try {
      objects.push(...readObjects(resolve(dir, r)).map((object) => ({ object, source: r })));
    } catch (e) {
      throw new TestFileError(t.path, 'resources', `${r}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  const evaluated = evaluateAll(loaded, objects, t.context);
  const checks: Check[] = [];
  for (const exp of t.results) {
    for (const ref of exp.resources) {
      const hits = resolveRef(ref, evaluated, dir);
      if (hits.length === 0) checks.push({ file: t.path, test: t.name, policy: exp.policy, ...(exp.rule ? { rule: exp.rule } : {}), resource: ref, want: exp.result, ok: false, reason: `no resource ${ref} in ${t.resources.join(', ')}` });
      for (const e of hits) checks.push(checkOne(t, exp, e));
    }
  }
  return checks;
}

/** The path of a test file relative to the working directory, for output. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel.startsWith('..') ? file : rel;
}
