/**
 * MutatingAdmissionPolicy / ValidatingAdmissionPolicy through both front
 * doors: the examples of the Kubernetes documentation pages (fixtures in
 * test/fixtures/admission-policies, see its README) run with `run`'s
 * renderManifests and the webhook's review(), with the documented results;
 * the webhook's patch applied equals what `run` printed (parity).
 */
import t from 'tap';
import { join } from 'node:path';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests, RenderError } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { printManifests } from '../../src/kube/yaml-stream.js';
import type { JsonObject } from '../../src/kube/object.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { admit, createReview } from '../helpers/admission.js';
import { deepFreeze } from '../helpers/laws.js';
import { mutatingPolicyYaml } from '../helpers/evaluation.js';

const FIX = join(REPO_ROOT, 'test/fixtures/admission-policies');

function deployment(name: string, namespace: string, replicas: number): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
  };
}

function pod(name: string, initContainers?: JsonObject[]): JsonObject {
  const spec: JsonObject = { containers: [{ name: 'app', image: 'nginx:1.27' }] };
  if (initContainers) spec.initContainers = initContainers;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec };
}

const NS_LABELS: Record<string, Record<string, string>> = { default: { environment: 'test' }, prod: { environment: 'prod' } };

interface Row {
  name: string;
  dir: string;
  object: JsonObject;
  /** Denial message (substring) expected from both front doors; absent: allowed. */
  denied?: string;
  /** Expected object after mutation (absent: unchanged). */
  expect?: JsonObject;
  /** A warning (substring) expected. */
  warning?: string;
}

const withProxy = (o: JsonObject, proxy: JsonObject): JsonObject => {
  const c = structuredClone(o);
  const spec = c.spec as JsonObject;
  spec.initContainers = [...((spec.initContainers as JsonObject[]) ?? []), proxy];
  return c;
};

const initDb = { name: 'init-db', image: 'busybox:1.36' };

const ROWS: Row[] = [
  {
    name: 'VAP basic: 7 replicas in a test namespace are denied',
    dir: 'vap-basic',
    object: deployment('web', 'default', 7),
    denied: "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5",
  },
  { name: 'VAP basic: 5 replicas pass', dir: 'vap-basic', object: deployment('web', 'default', 5) },
  { name: 'VAP basic: the binding matches only test namespaces', dir: 'vap-basic', object: deployment('web', 'prod', 7) },
  {
    name: 'VAP params: test namespace limit 3',
    dir: 'vap-params',
    object: deployment('web', 'default', 4),
    denied: "ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding-test.example.com' denied request: failed expression: object.spec.replicas <= params.maxReplicas",
  },
  { name: 'VAP params: prod limit 100 (nontest binding)', dir: 'vap-params', object: deployment('web', 'prod', 50) },
  {
    name: 'VAP params: prod over 100',
    dir: 'vap-params',
    object: deployment('web', 'prod', 101),
    denied: "with binding 'replicalimit-binding-nontest' denied request",
  },
  {
    name: 'VAP messageExpression, params in the object namespace, Deny + Audit',
    dir: 'vap-message',
    object: deployment('web', 'default', 4),
    denied: "ValidatingAdmissionPolicy 'deploy-replica-policy.example.com' with binding 'deploy-replica-binding.example.com' denied request: object.spec.replicas must be no greater than 3",
  },
  { name: 'VAP params not found, Allow: the binding is skipped', dir: 'vap-message', object: deployment('web', 'prod', 40) },
  {
    name: 'MAP JSONPatch: mesh-proxy appended to initContainers',
    dir: 'map-jsonpatch',
    object: pod('p1', [initDb]),
    expect: withProxy(pod('p1', [initDb]), { name: 'mesh-proxy', image: 'mesh-proxy/v1.0.0', restartPolicy: 'Always' }),
  },
  {
    name: 'MAP JSONPatch: matchCondition false when the sidecar is there',
    dir: 'map-jsonpatch',
    object: pod('p2', [{ name: 'mesh-proxy', image: 'other' }]),
  },
  {
    name: 'MAP JSONPatch: a Pod without initContainers fails the matchCondition (no such key) and failurePolicy Fail denies',
    dir: 'map-jsonpatch',
    object: pod('p3'),
    denied: "policy 'sidecar-policy.example.com' with binding 'sidecar-binding-test.example.com' denied request: expression '!object.spec.initContainers.exists(ic, ic.name == \"mesh-proxy\")' resulted in error: no such key: initContainers",
  },
  {
    name: 'MAP ApplyConfiguration: the page example sets args, atomic: refused as v1.36 does',
    dir: 'map-applyconfig',
    object: pod('p4', [initDb]),
    denied: 'may not mutate atomic arrays, maps or structs: .spec.initContainers[0].args',
  },
];

function nsOf(o: JsonObject): string {
  return String((o.metadata as JsonObject).namespace ?? '');
}

t.test('documentation examples through run and review()', async (t) => {
  for (const row of ROWS) {
    t.test(row.name, async (t) => {
      const set = loadPolicies([join(FIX, row.dir)]).set;
      deepFreeze(row.object); // law: the input is never modified
      const text = printManifests([row.object]);
      let runOut: JsonObject | undefined;
      let runDenied = '';
      let runWarnings: string[] = [];
      try {
        const r = renderManifests(text, set, { namespaceLabels: NS_LABELS });
        runOut = parseManifests(r.output)[0]?.value as JsonObject;
        runWarnings = r.warnings;
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        runDenied = e.message;
      }
      const ns = nsOf(row.object);
      const res = review(createReview(row.object, 'u1', { namespace: ns }), set, { route: 'mutate', namespaceLabels: (n) => NS_LABELS[n] });
      const { response, admitted } = admit(row.object, res.body);
      if (row.denied) {
        t.match(runDenied, row.denied, 'run denies');
        t.equal(response.allowed, false, 'review denies');
        t.match(String((response.status as JsonObject).message), row.denied, 'review message');
        return;
      }
      t.equal(runDenied, '', 'run allows');
      t.equal(response.allowed, true, 'review allows');
      t.same(runOut, row.expect ?? row.object, 'run output');
      t.same(admitted, runOut, 'webhook patch applied == run output');
      // law: idempotent (the documentation's MAPs guard their mutation with a matchCondition)
      const again = set.evaluate(deepFreeze(structuredClone(runOut as JsonObject)), { frontDoor: 'admission', operation: 'CREATE', namespace: ns, namespaceLabels: NS_LABELS[ns] });
      t.same(again.object, runOut, 'evaluating the output again changes nothing');
      if (row.warning) t.ok(runWarnings.some((w) => w.includes(row.warning as string)), 'warning');
    });
  }
});

t.test('IfNeeded reinvocation appends twice; Never once', async (t) => {
  const policy = (reinvocationPolicy: string): string => `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: add-toleration}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}]
  reinvocationPolicy: ${reinvocationPolicy}
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: '[JSONPatch{op: "add", path: "/spec/tolerations/-", value: {"key": "k", "operator": "Exists"}}]'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: add-toleration}
spec: {policyName: add-toleration}
`;
  const { policiesFromText } = await import('../../src/index.js');
  for (const [rp, n] of [['IfNeeded', 2], ['Never', 1]] as const) {
    const set = policiesFromText(policy(rp));
    const p = { ...pod('x'), spec: { containers: [{ name: 'app', image: 'a' }], tolerations: [] } };
    const r = set.evaluate(p, { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
    t.equal(((r.object as JsonObject).spec as JsonObject & { tolerations: unknown[] }).tolerations.length, n, rp);
  }
});

t.test('load errors name file, document and path', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const cases: [string, RegExp][] = [
    ['apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: missing, validationActions: [Deny]}\n', /document 1: spec\.policyName: no ValidatingAdmissionPolicy named "missing"/],
    ['apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Deny, Warn]}\n', /spec\.validationActions: Invalid value: must not contain both Deny and Warn/],
    ['apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"]}]}\n  mutations: [{patchType: JSONPatch, jsonPatch: {expression: "[]"}}]\n', /spec\.reinvocationPolicy: Required value/],
    ['apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"]}]}\n  validations: [{expression: "object.spec.("}]\n', /spec\.validations\[0\]\.expression: syntax error/],
    ['apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Deny], paramRef: {name: x}}\n', /spec\.paramRef\.parameterNotFoundAction: Required value/],
    ['apiVersion: rules.example.com/v1\nkind: ReplicaLimit\nmetadata: {name: x}\nmaxReplicas: 3\n', /document 1: apiVersion: not a policy \(rules\.example\.com\/v1 ReplicaLimit\)/],
  ];
  for (const [text, re] of cases) t.throws(() => policiesFromText(text, { file: 'p.yaml' }), re, String(re));
});

const RULE = '{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}';

/** A MAP and its binding, as YAML text. */
const map = mutatingPolicyYaml;

t.test('mutations: Ignore skips a failing mutation, later ones apply; escapeKey; ApplyConfiguration merge', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const failing = `  - patchType: JSONPatch
    jsonPatch: {expression: '[JSONPatch{op: "remove", path: "/spec/nope"}]'}
  - patchType: JSONPatch
    jsonPatch: {expression: '[JSONPatch{op: "add", path: "/metadata/annotations", value: {}}, JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("example.com/team~a"), value: "yes"}]'}
  - patchType: ApplyConfiguration
    applyConfiguration: {expression: 'Object{metadata: Object.metadata{labels: {"mutated": "true"}}, spec: Object.spec{containers: [Object.spec.containers{name: "proxy", image: "proxy:1"}, Object.spec.containers{name: "app"}]}}'}
`;
  const obj = { ...pod('x'), metadata: { name: 'x', namespace: 'default', labels: { app: 'x' } } };
  const ignore = policiesFromText(map(failing, 'Ignore'));
  const r = ignore.evaluate(obj, { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
  t.same(r.denials, []);
  t.same((r.object as JsonObject).metadata, { name: 'x', namespace: 'default', labels: { app: 'x', mutated: 'true' }, annotations: { 'example.com/team~a': 'yes' } });
  t.same(((r.object as JsonObject).spec as JsonObject).containers, [{ name: 'proxy', image: 'proxy:1' }, { name: 'app', image: 'nginx:1.27' }], 'patch order wins');
  const fail = policiesFromText(map(failing, 'Fail'));
  const r2 = fail.evaluate(obj, { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
  t.match(r2.denials[0]?.message ?? '', /^policy 'm' with binding 'm' denied request: JSONPath: /);
});

// Rows: matchconditions/matcher.go `Match` (and its matcher_test.go cases):
// a false condition skips the policy even when another failed to evaluate
// (before or after it); errors alone follow failurePolicy, aggregated; a
// non-bool result (dyn) is neither false nor an error.
const CONDITION_ROWS: { name: string; conditions: string[]; failurePolicy: 'Fail' | 'Ignore'; expect: 'applied' | 'skipped' | RegExp }[] = [
  { name: 'all true', conditions: ['true', "object.metadata.name == 'x'"], failurePolicy: 'Fail', expect: 'applied' },
  { name: 'one false', conditions: ['true', 'false'], failurePolicy: 'Fail', expect: 'skipped' },
  { name: 'an error, then false: false wins', conditions: ['object.spec.nope == 1', 'false'], failurePolicy: 'Fail', expect: 'skipped' },
  { name: 'false, then an error: false wins', conditions: ['false', 'object.spec.nope == 1'], failurePolicy: 'Fail', expect: 'skipped' },
  { name: 'an error and true, Fail: denied with the expression', conditions: ['object.spec.nope == 1', 'true'], failurePolicy: 'Fail', expect: /denied request: expression 'object\.spec\.nope == 1' resulted in error: no such key: nope/ },
  { name: 'two errors, Fail: both, aggregated', conditions: ['object.spec.nope == 1', 'object.spec.nada == 1'], failurePolicy: 'Fail', expect: /denied request: \[expression 'object\.spec\.nope == 1' resulted in error: .*, expression 'object\.spec\.nada == 1' resulted in error: .*\]$/ },
  { name: 'an error and true, Ignore: skipped', conditions: ['object.spec.nope == 1', 'true'], failurePolicy: 'Ignore', expect: 'skipped' },
  // The API server refuses a dyn condition at creation (compile.go); one reading `variables` loads here (checkExactType).
  { name: 'a dyn condition that is not a bool: not false, applied', conditions: ['variables.name', 'true'], failurePolicy: 'Fail', expect: 'applied' },
];

t.test('matchConditions: false wins over evaluation errors; errors follow failurePolicy', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const mutation = `  - {patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{metadata: Object.metadata{labels: {"mutated": "true"}}}'}}`;
  for (const row of CONDITION_ROWS) {
    const conditions = row.conditions.map((c, i) => `  - {name: c${i}, expression: ${JSON.stringify(c)}}`).join('\n');
    const text = map(mutation, row.failurePolicy).replace('  mutations:\n', `  variables: [{name: name, expression: object.metadata.name}]\n  matchConditions:\n${conditions}\n  mutations:\n`);
    const r = policiesFromText(text).evaluate(deepFreeze(pod('x')), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
    const labels = ((r.object as JsonObject).metadata as JsonObject).labels;
    if (row.expect instanceof RegExp) {
      t.match(r.denials.map((d) => d.message), [row.expect], `${row.name}: denied`);
      continue;
    }
    t.same(r.denials, [], `${row.name}: not denied`);
    t.same(labels, row.expect === 'applied' ? { mutated: 'true' } : undefined, `${row.name}: ${row.expect}`);
  }
});

t.test('validations: the first failure denies; Warn warns for each', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const vap = (actions: string): string => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: v}
spec:
  matchConstraints: {resourceRules: [${RULE}]}
  variables: [{name: n, expression: "object.metadata.name"}]
  validations:
  - {expression: "variables.n != 'x'", message: "first"}
  - {expression: "false", message: "second"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: v, validationActions: [${actions}]}
`;
  const deny = policiesFromText(vap('Deny')).evaluate(pod('x'), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
  t.same(deny.denials.map((d) => d.message), ["ValidatingAdmissionPolicy 'v' with binding 'b' denied request: first"]);
  const warn = policiesFromText(vap('Warn')).evaluate(pod('x'), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
  t.same(warn.denials, []);
  t.same(warn.warnings.map((w) => w.replace(/^.*?: Validation/, 'Validation')), [
    "Validation failed for ValidatingAdmissionPolicy 'v' with binding 'b': first",
    "Validation failed for ValidatingAdmissionPolicy 'v' with binding 'b': second",
  ]);
  const audit = policiesFromText(vap('Audit')).evaluate(pod('x'), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
  t.same(audit.denials, []);
  t.ok(audit.warnings.every((w) => w.includes('[audit]')), 'Audit: [audit] warnings only');
});

// Rows: validating/validator.go `Validate` and dispatcher.go `Dispatch`: a
// validation fails when its result is not `true`, whatever the type
// (a `dyn` value too, with its message, under Ignore as well); an audit
// annotation that fails to evaluate denies under Fail only, one of another
// type than string or null denies under both, and neither goes through the
// binding's validationActions (a Warn-only binding is denied by them).
const VAP_RESULT_ROWS: { name: string; spec: string; failurePolicy: 'Fail' | 'Ignore'; actions: string; denials: RegExp[]; warnings?: RegExp[] }[] = [
  { name: 'a dyn validation giving a string, Ignore: fails with its message', spec: '  variables: [{name: n, expression: "object.metadata.name"}]\n  validations: [{expression: "variables.n", message: "not a bool"}]\n', failurePolicy: 'Ignore', actions: 'Deny', denials: [/denied request: not a bool$/] },
  { name: 'a dyn validation giving a string, Fail: fails with its message', spec: '  variables: [{name: n, expression: "object.metadata.name"}]\n  validations: [{expression: "variables.n"}]\n', failurePolicy: 'Fail', actions: 'Deny', denials: [/denied request: failed expression: variables\.n$/] },
  { name: 'audit annotation of type int, Ignore: denied', spec: '  variables: [{name: n, expression: "object.spec.priority"}]\n  auditAnnotations: [{key: k, valueExpression: "variables.n"}]\n', failurePolicy: 'Ignore', actions: 'Deny', denials: [/ValidatingAdmissionPolicy 'p' with binding 'b' denied request: valueExpression 'variables\.n' resulted in unsupported return type: number\. Return type must be either string or null\.$/] },
  { name: 'audit annotation of type int, Warn-only binding: still denied', spec: '  variables: [{name: n, expression: "object.spec.priority"}]\n  auditAnnotations: [{key: k, valueExpression: "variables.n"}]\n', failurePolicy: 'Fail', actions: 'Warn', denials: [/resulted in unsupported return type/] },
  { name: 'audit annotation that errors, Fail: denied with the expression', spec: '  auditAnnotations: [{key: k, valueExpression: "string(object.spec.nope)"}]\n', failurePolicy: 'Fail', actions: 'Audit', denials: [/denied request: expression 'string\(object\.spec\.nope\)' resulted in error: no such key: nope/] },
  { name: 'audit annotation that errors, Ignore: nothing', spec: '  auditAnnotations: [{key: k, valueExpression: "string(object.spec.nope)"}]\n', failurePolicy: 'Ignore', actions: 'Deny', denials: [] },
  { name: 'a failed validation and a failing annotation: the first denial only', spec: '  validations: [{expression: "false", message: "first"}]\n  auditAnnotations: [{key: k, valueExpression: "string(object.spec.nope)"}]\n', failurePolicy: 'Fail', actions: 'Deny', denials: [/denied request: first$/] },
  { name: 'a string annotation: reported, not denied', spec: '  auditAnnotations: [{key: k, valueExpression: "\'v-\' + object.metadata.name"}]\n', failurePolicy: 'Fail', actions: 'Deny', denials: [], warnings: [/\[audit\] annotation p\/k: v-x$/] },
];

t.test('validations and auditAnnotations: results that are not true, not a string, or errors', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  for (const row of VAP_RESULT_ROWS) {
    const text = `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  failurePolicy: ${row.failurePolicy}\n  matchConstraints: {resourceRules: [${RULE}]}\n${row.spec}---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [${row.actions}]}\n`;
    const r = policiesFromText(text).evaluate(deepFreeze({ ...pod('x'), spec: { priority: 3, containers: [] } }), { frontDoor: 'admission', operation: 'CREATE', namespace: 'default' });
    t.match(r.denials.map((d) => d.message), row.denials, `${row.name}: denials`);
    t.equal(r.denials.length, row.denials.length, `${row.name}: as many denials`);
    if (row.warnings) t.match(r.warnings, row.warnings, `${row.name}: warnings`);
  }
});

t.test('namespaceObject is null for a Namespace, whose own request names it as its namespace (dispatcher.go)', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const text = `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: ["", "apps"], apiVersions: ["v1"], operations: ["*"], resources: ["namespaces", "deployments"]}]}\n  validations: [{expression: "namespaceObject == null", message: "has a namespace object"}]\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Deny]}\n`;
  const set = policiesFromText(text);
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } } };
  const rows: [string, JsonObject, JsonObject, string[]][] = [
    ['a Namespace UPDATE: null', ns, { group: '', version: 'v1', resource: 'namespaces' }, []],
    ['a Deployment in team-a: the namespace', deployment('web', 'team-a', 1), { group: 'apps', version: 'v1', resource: 'deployments' }, ["ValidatingAdmissionPolicy 'p' with binding 'b' denied request: has a namespace object"]],
  ];
  for (const [name, object, resource, denials] of rows) {
    const request = { uid: 'u', operation: 'UPDATE', namespace: 'team-a', name: String((object.metadata as JsonObject).name), resource };
    const r = set.evaluate(deepFreeze(object), { frontDoor: 'admission', operation: 'UPDATE', namespace: 'team-a', oldObject: object, namespaceLabels: { team: 'a' }, request });
    t.same(r.denials.map((d) => d.message), denials, name);
  }
});

// Rows: validating/dispatcher.go `Dispatch` answers with the first denied
// decision's reason and reasonToCode's status (Invalid, 422, when the
// validation names none, and for evaluation errors); the webhook's refusal
// carries them, which the API server passes on to the client.
const STATUS_ROWS: { name: string; validations: string; code: number; reason: string }[] = [
  { name: 'no reason: 422 Invalid', validations: '[{expression: "false"}]', code: 422, reason: 'Invalid' },
  { name: 'Forbidden: 403', validations: '[{expression: "false", reason: Forbidden}]', code: 403, reason: 'Forbidden' },
  { name: 'RequestEntityTooLarge: 413', validations: '[{expression: "false", reason: RequestEntityTooLarge}]', code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'the first failed validation gives it', validations: '[{expression: "true", reason: Forbidden}, {expression: "false", reason: RequestEntityTooLarge}, {expression: "false", reason: Forbidden}]', code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'an evaluation error: 422 Invalid', validations: '[{expression: "object.spec.nope == 1", reason: Forbidden}]', code: 422, reason: 'Invalid' },
];

t.test('VAP denials at the webhook: status code and reason of the validation', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  for (const row of STATUS_ROWS) {
    const text = `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [${RULE}]}\n  validations: ${row.validations}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Deny]}\n`;
    const res = review(createReview(pod('x'), 'u1', { namespace: 'default' }), policiesFromText(text), { route: 'validate' });
    const status = ((res.body as unknown as JsonObject).response as JsonObject).status as JsonObject;
    t.match(status, { code: row.code, reason: row.reason, message: /ValidatingAdmissionPolicy 'p' with binding 'b' denied request/ }, row.name);
  }
});

t.test('a cluster-scoped object whose manifest carries a namespace is cluster-scoped in run, as at admission', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const text = `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [rbac.authorization.k8s.io], apiVersions: [v1], operations: [CREATE], resources: [clusterroles], scope: Cluster}]}\n  validations: [{expression: "has(object.metadata.labels) && 'team' in object.metadata.labels", message: "a team label is required"}]\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n  policyName: p\n  validationActions: [Deny]\n  matchResources: {namespaceSelector: {matchLabels: {env: prod}}}\n`;
  const set = policiesFromText(text);
  // Charts often template a namespace into a ClusterRole; the API server clears it (its request has none).
  const role: JsonObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'dev' }, rules: [] };
  let runDenied = '';
  try {
    renderManifests(printManifests([role]), set, { namespaceLabels: { dev: { env: 'dev' } } });
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    runDenied = e.message;
  }
  t.match(runDenied, /a team label is required/, 'run: scope Cluster matches and the namespaceSelector passes a cluster-scoped object');
  const res = review(createReview(role, 'u1', { namespace: '' }), set, { route: 'validate', namespaceLabels: () => ({ env: 'dev' }) });
  t.equal(((res.body as unknown as JsonObject).response as JsonObject).allowed, false, 'review denies too');
});

/** A VAP (or MAP with `mutating`) around the given spec lines (YAML flow maps, 2-space indent). */
function admissionPolicy(spec: string, mutating = false): string {
  const kind = mutating ? 'MutatingAdmissionPolicy' : 'ValidatingAdmissionPolicy';
  const rules = '  matchConstraints: {resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE"]}]}\n';
  return `apiVersion: admissionregistration.k8s.io/v1\nkind: ${kind}\nmetadata: {name: p}\nspec:\n${rules}${spec}`;
}

/** A VAP whose matchConstraints has the one resource rule `rule` (YAML flow map). */
const RULE_DOC = (rule: string): string => `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [${rule}]}\n  validations: [{expression: "true"}]\n`;

// Rows: the API server refuses these when the policy is created
// (pkg/apis/admissionregistration/validation/validation_test.go
// TestValidateValidatingAdmissionPolicy / TestValidateMutatingAdmissionPolicy,
// and the CEL type checks of plugin/policy/validating/typechecking.go):
// `check` must refuse them at load with the path and a stable code.
const REFUSED: { name: string; text: string; path: RegExp; code: string }[] = [
  { name: 'variables: a misspelt variables.<name> (typed at load)', text: admissionPolicy('  variables: [{name: replicas, expression: "object.spec.replicas"}]\n  validations: [{expression: "variables.replica < 5"}]\n'), path: /spec\.validations\[0\]\.expression: .*replica/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'variables: a later variable read before it is declared', text: admissionPolicy('  variables: [{name: a, expression: "variables.b"}, {name: b, expression: "1"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.variables\[0\]\.expression/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'variables: duplicate name', text: admissionPolicy('  variables: [{name: a, expression: "1"}, {name: a, expression: "2"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.variables\[1\]\.name: Duplicate value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'variables: a CEL reserved word (validation.go isCELIdentifier)', text: admissionPolicy('  variables: [{name: namespace, expression: "1"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.variables\[0\]\.name: must be a valid CEL identifier/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'variables: not a CEL identifier', text: admissionPolicy('  variables: [{name: "a-b", expression: "1"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.variables\[0\]\.name: must be a valid CEL identifier/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'validation: result is not bool', text: admissionPolicy('  validations: [{expression: "object.metadata.name.size()"}]\n'), path: /spec\.validations\[0\]\.expression: expression must return bool, but returns int/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'messageExpression: result is not string', text: admissionPolicy('  validations: [{expression: "true", messageExpression: "1 + 1"}]\n'), path: /spec\.validations\[0\]\.messageExpression: expression must return string, but returns int/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'matchCondition: result is not bool', text: admissionPolicy('  matchConditions: [{name: c, expression: "\'x\'"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.matchConditions\[0\]\.expression: expression must return bool/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: a dyn result (compile.go IsExactType)', text: admissionPolicy('  validations: [{expression: "object.spec.paused"}]\n'), path: /spec\.validations\[0\]\.expression: expression must return bool, but returns dyn/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: a dyn ternary', text: admissionPolicy('  validations: [{expression: "has(object.spec.x) ? object.spec.x.enabled : true"}]\n'), path: /spec\.validations\[0\]\.expression: expression must return bool, but returns dyn/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'messageExpression: a dyn result', text: admissionPolicy('  validations: [{expression: "true", messageExpression: "object.metadata.name"}]\n'), path: /spec\.validations\[0\]\.messageExpression: expression must return string, but returns dyn/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'matchCondition: a dyn result', text: admissionPolicy('  matchConditions: [{name: c, expression: "object.spec.enabled"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.matchConditions\[0\]\.expression: expression must return bool, but returns dyn/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'auditAnnotation: an int', text: admissionPolicy('  auditAnnotations: [{key: k, valueExpression: "size(object.spec.containers)"}]\n'), path: /spec\.auditAnnotations\[0\]\.valueExpression: expression must return string or null, but returns int/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'auditAnnotation: a dyn result', text: admissionPolicy('  auditAnnotations: [{key: k, valueExpression: "object.metadata.name"}]\n'), path: /spec\.auditAnnotations\[0\]\.valueExpression: expression must return string or null, but returns dyn/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: reason Unauthorized (validation.go supportedValidationPolicyReason)', text: admissionPolicy('  validations: [{expression: "true", reason: Unauthorized}]\n'), path: /spec\.validations\[0\]\.reason: Unsupported value: "Unauthorized"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'auditAnnotations: duplicate key', text: admissionPolicy('  auditAnnotations: [{key: k, valueExpression: "\'a\'"}, {key: k, valueExpression: "\'b\'"}]\n'), path: /spec\.auditAnnotations\[1\]\.key: Duplicate value: "k"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'auditAnnotations: more than 20', text: admissionPolicy(`  auditAnnotations: [${Array.from({ length: 21 }, (_, i) => `{key: k${i}, valueExpression: "'a'"}`).join(', ')}]\n`), path: /spec\.auditAnnotations: Invalid value: must not have more than 20 auditAnnotations/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'matchConditions: more than 64', text: admissionPolicy(`  matchConditions: [${Array.from({ length: 65 }, (_, i) => `{name: c${i}, expression: "true"}`).join(', ')}]\n  validations: [{expression: "true"}]\n`), path: /spec\.matchConditions: Too many: 65: must have at most 64 items/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'resourceRules: operations required', text: RULE_DOC('{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"]}'), path: /spec\.matchConstraints\.resourceRules\[0\]\.operations: Required value/, code: 'ERR_POLICY_ADMISSION' },
  { name: "resourceRules: '*' with other operations", text: RULE_DOC('{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["*", "CREATE"]}'), path: /operations: Invalid value: if '\*' is present, must not specify other operations/, code: 'ERR_POLICY_ADMISSION' },
  { name: "resourceRules: '*' with other API groups", text: RULE_DOC('{apiGroups: ["*", "apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["*"]}'), path: /apiGroups: Invalid value: if '\*' is present, must not specify other API groups/, code: 'ERR_POLICY_ADMISSION' },
  { name: "resourceRules: '*' with a resource without subresource", text: RULE_DOC('{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["*", "deployments"], operations: ["*"]}'), path: /resources: Invalid value: if '\*' is present, must not specify other resources without subresources/, code: 'ERR_POLICY_ADMISSION' },
  { name: "resourceRules: '*/*' with others", text: RULE_DOC('{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["*/*", "deployments/status"], operations: ["*"]}'), path: /resources: Invalid value: if '\*\/\*' is present, must not specify other resources/, code: 'ERR_POLICY_ADMISSION' },
  { name: "resourceRules: 'x/*' and 'x/y'", text: RULE_DOC('{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments/*", "deployments/status"], operations: ["*"]}'), path: /resources\[1\]: Invalid value: if 'deployments\/\*' is present, must not specify deployments\/status/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'params without paramKind in a validation (validation.go HasParams: paramKind != nil)', text: admissionPolicy('  validations: [{expression: "object.spec.replicas <= params.max"}]\n'), path: /spec\.validations\[0\]\.expression: .*params/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'params without paramKind in a variable', text: admissionPolicy('  variables: [{name: m, expression: "params.max"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.variables\[0\]\.expression: .*params/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'params without paramKind in a matchCondition', text: admissionPolicy('  matchConditions: [{name: c, expression: "params != null"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.matchConditions\[0\]\.expression: .*params/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'matchConditions: duplicate name', text: admissionPolicy('  matchConditions: [{name: c, expression: "true"}, {name: c, expression: "true"}]\n  validations: [{expression: "true"}]\n'), path: /spec\.matchConditions\[1\]\.name: Duplicate value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'validation: Object{} outside a mutation', text: admissionPolicy('  validations: [{expression: "Object{} == Object{}"}]\n'), path: /spec\.validations\[0\]\.expression/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: an unknown function', text: admissionPolicy('  validations: [{expression: "object.metadata.name.startswith(\'w\')"}]\n'), path: /spec\.validations\[0\]\.expression: .*startswith/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: authorizer is not available', text: admissionPolicy('  validations: [{expression: "authorizer.group(\'\').resource(\'pods\').check(\'get\').allowed()"}]\n'), path: /spec\.validations\[0\]\.expression: .*authorizer/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'validation: message with a line break', text: admissionPolicy('  validations: [{expression: "true", message: "a\\nb"}]\n'), path: /spec\.validations\[0\]\.message: message must not contain line breaks/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'validation: unsupported reason', text: admissionPolicy('  validations: [{expression: "true", reason: Teapot}]\n'), path: /spec\.validations\[0\]\.reason: Unsupported value: "Teapot"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'VAP: neither validations nor auditAnnotations', text: admissionPolicy(''), path: /spec\.validations: Required value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'VAP: failurePolicy not Fail or Ignore', text: admissionPolicy('  failurePolicy: Maybe\n  validations: [{expression: "true"}]\n'), path: /spec\.failurePolicy: Unsupported value: "Maybe"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'matchConstraints: an unknown operation', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["PATCH"]}]}\n  validations: [{expression: "true"}]\n', path: /spec\.matchConstraints\.resourceRules\[0\]\.operations\[0\]: Unsupported value: "PATCH"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'matchConstraints: resourceRules required', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  matchConstraints: {}\n  validations: [{expression: "true"}]\n', path: /spec\.matchConstraints\.resourceRules: Required value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'MAP: patchType unsupported', text: admissionPolicy('  reinvocationPolicy: Never\n  mutations: [{patchType: StrategicMerge}]\n', true), path: /spec\.mutations\[0\]\.patchType: Unsupported value: "StrategicMerge"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'MAP: applyConfiguration set with patchType JSONPatch', text: admissionPolicy('  reinvocationPolicy: Never\n  mutations: [{patchType: JSONPatch, jsonPatch: {expression: "[]"}, applyConfiguration: {expression: "Object{}"}}]\n', true), path: /spec\.mutations\[0\]\.applyConfiguration: Forbidden/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'MAP: reinvocationPolicy unsupported', text: admissionPolicy('  reinvocationPolicy: Always\n  mutations: [{patchType: JSONPatch, jsonPatch: {expression: "[]"}}]\n', true), path: /spec\.reinvocationPolicy: Unsupported value: "Always"/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'MAP: an unknown struct type in a mutation', text: admissionPolicy('  reinvocationPolicy: Never\n  mutations: [{patchType: ApplyConfiguration, applyConfiguration: {expression: "Thing{}"}}]\n', true), path: /spec\.mutations\[0\]\.applyConfiguration\.expression/, code: 'ERR_POLICY_EXPRESSION' },
  { name: 'binding: name and selector together', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Deny], paramRef: {name: x, selector: {}, parameterNotFoundAction: Deny}}\n', path: /spec\.paramRef\.selector: Forbidden: name and selector are mutually exclusive/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'binding: duplicate validationActions', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p, validationActions: [Audit, Audit]}\n', path: /spec\.validationActions: Duplicate value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'binding: validationActions required', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: p}\n', path: /spec\.validationActions: Required value/, code: 'ERR_POLICY_ADMISSION' },
  { name: 'binding: its policy was not loaded', text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: missing}\n', path: /spec\.policyName: no MutatingAdmissionPolicy named "missing" was loaded/, code: 'ERR_POLICY_BINDING' },
];

t.test('load refusals: what the API server refuses at creation is refused at load, with path and code', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const { PolicyError } = await import('../../src/policy/compile.js');
  for (const row of REFUSED) {
    let err: unknown;
    try {
      policiesFromText(row.text, { file: 'p.yaml' });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof PolicyError, `${row.name}: refused`);
    if (!(err instanceof PolicyError)) continue;
    t.match((err as Error).message, row.path, `${row.name}: path and reason`);
    t.equal((err as InstanceType<typeof PolicyError>).code, row.code, `${row.name}: code`);
  }
});

// Rows: result types the API server accepts (compile.go), and dyn results
// that read a variable it types (request, namespaceObject) or may
// (variables): these load.
const LOADS: { name: string; spec: string }[] = [
  { name: 'a bool validation', spec: '  validations: [{expression: "object.spec.replicas <= 5 && !object.spec.paused"}]\n' },
  { name: 'a string messageExpression from dyn parts', spec: '  validations: [{expression: "false", messageExpression: "\'name: \' + object.metadata.name"}]\n' },
  { name: 'request.dryRun (bool there)', spec: '  validations: [{expression: "request.dryRun"}]\n' },
  { name: 'namespaceObject.metadata.name (string there)', spec: '  validations: [{expression: "true", messageExpression: "namespaceObject.metadata.name"}]\n' },
  { name: 'a variable read as bool', spec: '  variables: [{name: prod, expression: "object.metadata.name.startsWith(\'prod-\')"}]\n  validations: [{expression: "variables.prod"}]\n' },
  { name: 'an audit annotation string', spec: '  auditAnnotations: [{key: k, valueExpression: "\'replicas: \' + string(object.spec.replicas)"}]\n' },
  { name: 'an audit annotation null', spec: '  auditAnnotations: [{key: k, valueExpression: "null"}]\n' },
  { name: 'params with a paramKind', spec: '  paramKind: {apiVersion: v1, kind: ConfigMap}\n  validations: [{expression: "params == null || object.spec.replicas <= int(params.data.max)"}]\n' },
];

t.test('load: result types the API server accepts', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  for (const row of LOADS) t.doesNotThrow(() => policiesFromText(admissionPolicy(row.spec), { file: 'p.yaml' }), row.name);
});

/**
 * Constant mutations (expressions that read no variable) are evaluated once
 * at load (src/expr/cel.ts foldConstant): with folding on and off, every row
 * gives the same object, denials and warnings, under Fail and Ignore, with
 * the errors of a constant that fails to apply, a constant of the wrong type,
 * an atomic field, a runtime error, and the policy's runtime cost budget
 * running out in the middle of the mutations.
 */
const CONSTANT_ROWS: { name: string; mutations: string[] }[] = [
  {
    name: 'a mix of constant and object-reading mutations (the bench chain)',
    mutations: [
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{metadata: Object.metadata{labels: {"platform.example.com/team": "payments"}}}'}}`,
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{metadata: Object.metadata{annotations: {"platform.example.com/owner": "platform-team"}}}'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: "object.spec.containers.transformList(i, c, c.image.startsWith('nginx:'), JSONPatch{op: 'replace', path: '/spec/containers/' + string(i) + '/image', value: 'mirror.example.com/' + c.image})"}}`,
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{spec: Object.spec{priorityClassName: "standard"}}'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: '[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: 45}]'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: '[JSONPatch{op: "add", path: "/spec/containers/-", value: {"name": "sidecar", "image": "envoy:1"}}]'}}`,
    ],
  },
  {
    name: 'constants that fail: a patch that does not apply, the wrong type, an atomic field, a runtime error',
    mutations: [
      `{patchType: JSONPatch, jsonPatch: {expression: '[JSONPatch{op: "remove", path: "/spec/nope"}]'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: 'Object{metadata: Object.metadata{labels: {"a": "b"}}}'}}`,
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{spec: Object.spec{nodeSelector: {"disk": "ssd"}}}'}}`,
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: '[1, 2]'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: '[JSONPatch{op: "add", path: "/spec/x", value: 1 / 0}]'}}`,
      `{patchType: JSONPatch, jsonPatch: {expression: '[JSONPatch{op: "test", path: "/spec/containers/0/name", value: "other"}, JSONPatch{op: "add", path: "/spec/hostname", value: "h"}]'}}`,
      `{patchType: ApplyConfiguration, applyConfiguration: {expression: 'Object{metadata: Object.metadata{labels: {"after": "errors"}}}'}}`,
    ],
  },
  {
    // 45 x (contains on two 4,900-character strings: 490 x 490 = 240,100 units) is over the 10,000,000-unit budget
    name: "the policy's runtime cost budget runs out in the middle of constant mutations",
    mutations: Array.from(
      { length: 45 },
      (_, i) => `{patchType: ApplyConfiguration, applyConfiguration: {expression: "Object{metadata: Object.metadata{labels: {'c${i}': string('${'a'.repeat(4900)}'.contains('${'b'.repeat(4900)}'))}}}"}}`,
    ),
  },
];

t.test('constant mutations: the same result, errors and cost as evaluated each time', async (t) => {
  const { policiesFromText } = await import('../../src/index.js');
  const { setConstantFolding } = await import('../../src/expr/cel.js');
  const obj = { ...pod('x'), metadata: { name: 'x', namespace: 'default', labels: { app: 'x' } } };
  const input = { frontDoor: 'admission' as const, operation: 'CREATE' as const, namespace: 'default', request: createReview(pod('x'), 'u1').request as JsonObject };
  for (const row of CONSTANT_ROWS) {
    for (const failurePolicy of ['Fail', 'Ignore']) {
      const text = map(row.mutations.map((m) => `  - ${m}`).join('\n'), failurePolicy);
      const results = [true, false].map((fold) => {
        const previous = setConstantFolding(fold);
        try {
          const r = policiesFromText(text).evaluate(deepFreeze(structuredClone(obj)), input);
          return { object: r.object, denials: r.denials.map((d) => d.message), warnings: r.warnings };
        } finally {
          setConstantFolding(previous);
        }
      });
      t.same(results[0], results[1], `${row.name} (${failurePolicy})`);
      if (row.name.includes('budget')) t.match(results[0], failurePolicy === 'Fail' ? { denials: [/running out of cost budget/] } : { denials: [] }, `${row.name} (${failurePolicy}): the budget ran out`);
      if (row.name.includes('budget') && failurePolicy === 'Ignore') t.equal(Object.keys(((results[0].object as JsonObject).metadata as JsonObject).labels as JsonObject).length, 1 + 41, 'the 41 mutations within the budget applied');
    }
  }
});
