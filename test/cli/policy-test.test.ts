/**
 * `kube-postrender test` from the outside (the built bin): the examples'
 * own test files pass; broken expectations fail with a readable reason and
 * diff; admission context (operation, userInfo, namespace labels) reaches
 * matching; every result value (pass, fail, warn, error, skip) is produced;
 * TAP and JUnit output; malformed test files exit 2 with nothing on stdout.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}

/** Writes `files` (name -> text) into a fresh directory; returns it. */
function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kpr-test-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const POD = (name: string, image: string, ns = 'shop'): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  containers: [{name: app, image: ${image}}]
`;

const POLICY = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: team-label}
spec:
  match:
    resources: [{kinds: [Pod]}]
    operations: [UPDATE]
    namespaceSelector: {matchLabels: {env: prod}}
    userInfo: {groups: [deployers]}
  transformers:
  - name: add-team
    labels: {pairs: {team: platform}}
  - name: no-latest
    validate: {expression: "!object.spec.containers.exists(c, c.image.endsWith(':latest'))", message: "pin the image", action: Deny}
  - name: prefer-registry
    validate: {expression: "object.spec.containers.all(c, c.image.startsWith('registry.corp/'))", message: "use registry.corp", action: Warn}
`;

const testFile = (context: string, results: string): string => `apiVersion: postrender.io/v1alpha1
kind: PolicyTest
metadata: {name: context}
policies: [policy.yaml]
resources: [pods.yaml]
${context}
results:
${results}`;

const PODS = `${POD('good', 'registry.corp/app:1.0')}---\n${POD('latest', 'registry.corp/app:latest')}---\n${POD('hub', 'nginx:1.27')}`;
const PATCHED = `apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: shop
  labels: {team: platform}
spec:
  containers: [{name: app, image: "registry.corp/app:1.0"}]
`;

const PROD = 'context:\n  operation: UPDATE\n  userInfo: {username: alice, groups: [deployers]}\n  namespaceLabels: {shop: {env: prod}}';

t.test('the examples carry passing tests', async (t) => {
  const r = cli(['test', 'examples']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^examples\/policies\/allowed-registries\/postrender-test\.yaml \(allowed-registries\)$/m);
  t.match(r.stdout, /^\d+ passed, 0 failed$/m);
  t.notMatch(r.stdout, /FAIL/);
});

t.test('a broken expectation fails with want/got and the rule message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpr-test-'));
  cpSync(join(root, 'examples/policies/disallow-latest-tag'), dir, { recursive: true });
  const file = join(dir, 'postrender-test.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/rule: image-tag\n  resources:\n  - bad\/latest\.yaml/, 'rule: image-tag\n  resources:\n  - bad/latest.yaml\n  result: pass\n- policy: disallow-latest-tag\n  rule: image-tag\n  resources:\n  - bad/untagged-init.yaml'));
  const r = cli(['test', dir]);
  t.equal(r.code, 1);
  t.match(r.stdout, /FAIL {2}disallow-latest-tag\/image-tag +Deployment\/shop\/web \(bad\/latest\.yaml\) +fail\n {8}want pass, got fail: images without a pinned tag: web=registry\.example\.com\/shop\/web:latest/);
  t.match(r.stdout, /^\d+ passed, 1 failed$/m);
});

t.test('admission context reaches matching; every result value', async (t) => {
  const rows: { name: string; context: string; results: string; code: number; stdout: RegExp[] }[] = [
    {
      name: 'matching context: pass, fail, warn and the patched object',
      context: PROD,
      results: [
        '- {policy: team-label, rule: add-team, resources: [good], result: pass, patchedResource: patched.yaml}',
        '- {policy: team-label, rule: no-latest, resources: [Pod/shop/latest], result: fail}',
        '- {policy: team-label, rule: prefer-registry, resources: [shop/hub], result: warn}',
        '- {policy: team-label, resources: [latest], result: fail}',
      ].join('\n'),
      code: 0,
      stdout: [/^4 passed, 0 failed$/m],
    },
    {
      name: 'CREATE does not match operations [UPDATE]: skip',
      context: 'context: {operation: CREATE, userInfo: {groups: [deployers]}, namespaceLabels: {shop: {env: prod}}}',
      results: '- {policy: team-label, rule: no-latest, resources: [latest], result: skip}',
      code: 0,
      stdout: [/ok +team-label\/no-latest +Pod\/shop\/latest \(pods\.yaml\) +skip/],
    },
    {
      name: 'another group does not match userInfo: skip',
      context: 'context: {operation: UPDATE, userInfo: {groups: [dev]}, namespaceLabels: {shop: {env: prod}}}',
      results: '- {policy: team-label, resources: [good, latest, hub], result: skip}',
      code: 0,
      stdout: [/^3 passed, 0 failed$/m],
    },
    {
      name: 'namespace labels that do not match: skip',
      context: 'context: {operation: UPDATE, userInfo: {groups: [deployers]}, namespaceLabels: {shop: {env: dev}}}',
      results: '- {policy: team-label, rule: add-team, resources: [good], result: skip}',
      code: 0,
      stdout: [/^1 passed, 0 failed$/m],
    },
    {
      name: 'a wrong patched resource fails with a unified diff',
      context: PROD,
      results: '- {policy: team-label, rule: add-team, resources: [hub], result: pass, patchedResource: patched.yaml}',
      code: 1,
      stdout: [/^ {8}patched resource differs from patched\.yaml$/m, /^ {8}--- expected$/m, /^ {8}\+\+\+ actual$/m, /^ {8}- {2}name: good$/m, /^ {8}\+ {2}name: hub$/m, /^ {8}- {4}image: registry\.corp\/app:1\.0$/m],
    },
    {
      name: 'unknown policy, rule and resource fail with a reason',
      context: PROD,
      results: ['- {policy: nope, resources: [good], result: pass}', '- {policy: team-label, rule: nope, resources: [good], result: pass}', '- {policy: team-label, resources: [ghost], result: pass}'].join('\n'),
      code: 1,
      stdout: [/no policy named nope/, /policy team-label has no rule nope \(rules: add-team, no-latest, prefer-registry\)/, /no resource ghost in pods\.yaml/, /^0 passed, 3 failed$/m],
    },
  ];
  for (const row of rows) {
    const dir = scratch({ 'policy.yaml': POLICY, 'pods.yaml': PODS, 'patched.yaml': PATCHED, 'postrender-test.yaml': testFile(row.context, row.results) });
    const r = cli(['test', dir]);
    t.equal(r.code, row.code, `${row.name}: exit code\n${r.stdout}${r.stderr}`);
    for (const re of row.stdout) t.match(r.stdout, re, `${row.name}: ${re}`);
  }
});

t.test('a transformer error is an error result; the rules after it are skipped', async (t) => {
  const policy = `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: strict}
spec:
  failurePolicy: Ignore
  transformers:
  - name: must-be-nope
    patch: {target: {kind: Pod}, patch: '[{"op": "test", "path": "/spec/containers/0/image", "value": "nope"}]'}
  - name: after
    labels: {pairs: {a: b}}
`;
  const dir = scratch({
    'policy.yaml': policy,
    'pods.yaml': POD('p', 'x:1'),
    'postrender-test.yaml': testFile('', '- {policy: strict, rule: must-be-nope, resources: [p], result: error}\n- {policy: strict, rule: after, resources: [p], result: skip}\n- {policy: strict, resources: [p], result: error}'),
  });
  const r = cli(['test', dir]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^3 passed, 0 failed$/m);
});

t.test('operation DELETE: the resource is the stored object (oldObject, object null); only ValidatingAdmissionPolicies run, as at the webhook', async (t) => {
  const vap = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep-pods}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [pods]}]
  validations:
  - expression: "object != null || !oldObject.spec.containers.exists(c, c.image.endsWith(':latest'))"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: keep-pods}
spec: {policyName: keep-pods, validationActions: [Deny]}
---
`;
  const dir = scratch({
    'policy.yaml': `${vap}apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: own-delete}\nspec:\n  match: {operations: [DELETE]}\n  transformers:\n  - validate: {expression: "false", message: never on DELETE, action: Deny}\n`,
    'pods.yaml': PODS,
    'postrender-test.yaml': testFile(
      'context:\n  operation: DELETE\n  userInfo: {username: alice, groups: [deployers]}\n  namespaceLabels: {shop: {env: prod}}',
      ['- {policy: keep-pods/keep-pods, resources: [latest], result: fail}', '- {policy: keep-pods/keep-pods, resources: [good], result: pass}', '- {policy: own-delete, resources: [latest], result: skip}'].join('\n'),
    ),
  });
  const r = cli(['test', dir]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^3 passed, 0 failed$/m);
});

t.test('TAP and JUnit output', async (t) => {
  const dir = scratch({ 'policy.yaml': POLICY, 'pods.yaml': PODS, 'patched.yaml': PATCHED, 'postrender-test.yaml': testFile(PROD, '- {policy: team-label, rule: no-latest, resources: [good, latest], result: fail}') });
  const tap = cli(['test', dir, '-o', 'tap']);
  t.equal(tap.code, 1);
  t.match(tap.stdout, /^TAP version 14\n1\.\.2\nnot ok 1 - .*postrender-test\.yaml: team-label\/no-latest Pod\/shop\/good \(pods\.yaml\): fail\n {2}---\n {2}want: fail\n {2}got: pass\n/);
  t.match(tap.stdout, /\nok 2 - .*team-label\/no-latest Pod\/shop\/latest \(pods\.yaml\): fail\n$/);
  const junit = cli(['test', dir, '-o', 'junit']);
  t.equal(junit.code, 1);
  t.match(junit.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kube-postrender test" tests="2" failures="1">/);
  t.match(junit.stdout, /<testcase classname="context" name="team-label\/no-latest Pod\/shop\/good \(pods\.yaml\): fail">\n {6}<failure message="want fail, got pass">/);
  t.match(junit.stdout, /<testcase classname="context" name="team-label\/no-latest Pod\/shop\/latest \(pods\.yaml\): fail"\/>/);
});

t.test('invalid input exits 2 with one line on stderr and nothing on stdout', async (t) => {
  const rows: { name: string; files: Record<string, string>; stderr: RegExp }[] = [
    { name: 'unknown field', files: { 'policy.yaml': POLICY, 'pods.yaml': PODS, 'postrender-test.yaml': testFile('', '- {policy: team-label, resources: [good], result: pass, expect: 1}') }, stderr: /postrender-test\.yaml: results\.0\.expect: unknown field/ },
    { name: 'bad result', files: { 'policy.yaml': POLICY, 'pods.yaml': PODS, 'postrender-test.yaml': testFile('', '- {policy: team-label, resources: [good], result: ok}') }, stderr: /results\.0\.result: must be one of pass, fail, warn, error, skip/ },
    { name: 'invalid policy', files: { 'policy.yaml': POLICY.replace('transformers:', 'transformerz:'), 'pods.yaml': PODS, 'postrender-test.yaml': testFile('', '- {policy: team-label, resources: [good], result: pass}') }, stderr: /policy\.yaml: document 1: spec\.transformerz: unknown field "transformerz" \(did you mean "transformers"\?\)/ },
    { name: 'missing resource file', files: { 'policy.yaml': POLICY, 'postrender-test.yaml': testFile('', '- {policy: team-label, resources: [good], result: pass}') }, stderr: /postrender-test\.yaml: resources: pods\.yaml: / },
    { name: 'no test file', files: { 'policy.yaml': POLICY }, stderr: /no postrender-test\.yaml under / },
  ];
  for (const row of rows) {
    const r = cli(['test', scratch(row.files)]);
    t.equal(r.code, 2, row.name);
    t.equal(r.stdout, '', `${row.name}: nothing on stdout`);
    t.match(r.stderr, /^kube-postrender: [^\n]*\n$/, `${row.name}: one line`);
    t.match(r.stderr, row.stderr, row.name);
  }
});
