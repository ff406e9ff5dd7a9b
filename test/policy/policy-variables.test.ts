/**
 * `spec.variables` and params (`paramKind`/`paramRef`) in postrender.io
 * policies (policy-variables.ts): conditions, validate rules and sidecar
 * templates read `variables.<name>` and `params`; run and the webhook agree;
 * not-found params follow parameterNotFoundAction; tenants are confined.
 */
import t from 'tap';
import { join } from 'node:path';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests, RenderError } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { parseManifests, printManifests } from '../../src/kube/yaml-stream.js';
import type { JsonObject } from '../../src/kube/object.js';
import { policiesFromText } from '../../src/index.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { admit, createReview } from '../helpers/admission.js';

const DIR = join(REPO_ROOT, 'test/fixtures/policy-variables');

function deployment(replicas: number, labels: Record<string, string> = {}): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
  };
}

function both(set: ReturnType<typeof loadPolicies>['set'], obj: JsonObject): { run: JsonObject | string; hook: JsonObject | string } {
  let run: JsonObject | string;
  try {
    run = parseManifests(renderManifests(printManifests([obj]), set).output)[0]?.value as JsonObject;
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    run = e.message;
  }
  const res = review(createReview(obj, 'u'), set, { route: 'mutate' });
  const { response, admitted } = admit(obj, res.body);
  const hook = response.allowed ? admitted : String((response.status as JsonObject).message);
  return { run, hook };
}

t.test('variables and params from the policy directory', async (t) => {
  const set = loadPolicies([DIR], { compileCondition: conditionCompiler }).set;
  const ok = both(set, deployment(3));
  t.type(ok.run, 'object');
  t.same(ok.hook, ok.run, 'parity');
  const containers = (((ok.run as JsonObject).spec as JsonObject).template as { spec: { containers: { name: string; image: string }[] } }).spec.containers;
  t.same(containers.map((c) => c.image), ['nginx:1.27', 'registry.example.com/log-shipper:1.0'], 'sidecar template reads params');
  const denied = both(set, deployment(7));
  t.match(denied.run, /replicas 7 over the limit of 5/, 'run denies with the variables in the message');
  t.match(denied.hook, /replicas 7 over the limit of 5/, 'webhook denies');
  const exempt = both(set, deployment(7, { exempt: 'yes' }));
  t.same(exempt.run, deployment(7, { exempt: 'yes' }), 'the condition excludes it: unchanged');
});

const base = (extra: string): string => `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
${extra}
  transformers:
  - validate: {expression: "params.data.allowed == 'yes'"}
`;

t.test('parameterNotFoundAction', async (t) => {
  const deny = policiesFromText(base('  paramKind: {apiVersion: v1, kind: ConfigMap}\n  paramRef: {name: missing, namespace: x, parameterNotFoundAction: Deny}'));
  const r = deny.evaluate(deployment(1), { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.match(r.denials[0]?.message ?? '', /no params found for policy binding with `Deny` parameterNotFoundAction/);
  const allow = policiesFromText(base('  paramKind: {apiVersion: v1, kind: ConfigMap}\n  paramRef: {name: missing, namespace: x, parameterNotFoundAction: Allow}'));
  const r2 = allow.evaluate(deployment(1), { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.same(r2.denials, [], 'Allow: the policy is skipped');
  t.same(r2.matchedPolicies, [], 'not matched');
});

t.test('variables are lazy: an unused failing variable is never evaluated', async (t) => {
  const set = policiesFromText(`
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: lazy}
spec:
  variables:
  - {name: broken, expression: "object.no.such.field"}
  - {name: fine, expression: "object.kind"}
  transformers:
  - validate: {expression: "variables.fine == 'Deployment'"}
`);
  const r = set.evaluate(deployment(1), { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.same(r.denials, []);
  t.same(r.errors, []);
});

t.test('load errors', async (t) => {
  t.throws(() => policiesFromText(base('  variables: [{name: x, expression: "params.a"}]')), /undeclared reference to 'params'|spec\.variables\[0\]/, 'params without paramKind... compiles only with paramKind');
  t.throws(() => policiesFromText(base('  paramRef: {name: a, parameterNotFoundAction: Deny}')), /spec\.paramRef: paramRef needs spec\.paramKind/);
  t.throws(() => policiesFromText(base('  variables: [{name: "1x", expression: "1"}]')), /spec\.variables\[0\]\.name/);
  t.throws(
    () => policiesFromText(`
apiVersion: postrender.io/v1alpha1
kind: PostRenderPolicy
metadata: {name: p, namespace: team-a}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  paramRef: {name: secrets, namespace: kube-system, parameterNotFoundAction: Deny}
  transformers: [{validate: {expression: "true"}}]
`),
    /spec\.paramRef\.namespace: a PostRenderPolicy reads params only in its own namespace/,
  );
  t.throws(() => policiesFromText(base('').replace('transformers:\n  - validate: {expression: "params.data.allowed == \'yes\'"}', 'transformers:\n  - validate: {expression: "variables.x"}')), /undeclared reference to 'variables'/, 'variables without spec.variables');
});

/** A ClusterPostRenderPolicy with one variable `replicas` (int) and the given match/transformers lines. */
const typed = (rest: string): string => `
apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  variables: [{name: replicas, expression: "1"}, {name: name, expression: "object.metadata.name"}]
${rest}`;

// `variables` are typed at load (src/expr/cel.ts compileVariables), as the API
// server type-checks a ValidatingAdmissionPolicy's expressions against its
// variables: a misspelt name or a wrong type is refused wherever it is read.
const TYPED: { name: string; text: string; error?: RegExp }[] = [
  { name: 'validate rule reads a declared variable', text: typed('  transformers: [{validate: {expression: "variables.replicas < 5"}}]') },
  { name: 'validate rule: misspelt variable', text: typed('  transformers: [{validate: {expression: "variables.replica < 5"}}]'), error: /spec\.transformers\[0\]\.validate\.expression: .*replica/ },
  { name: 'validate rule: int compared with a string', text: typed('  transformers: [{validate: {expression: "variables.replicas == \'1\'"}}]'), error: /spec\.transformers\[0\]\.validate\.expression/ },
  { name: 'messageExpression: a variable of type int is not a string', text: typed('  transformers: [{validate: {expression: "true", messageExpression: "variables.replicas"}}]'), error: /messageExpression: expression must return string, but returns int/ },
  { name: 'match condition: misspelt variable', text: typed('  match: {conditions: [{name: c, expression: "variables.nam == \'x\'"}]}\n  transformers: [{validate: {expression: "true"}}]'), error: /spec\.match\.conditions\[0\]\.expression: .*nam/ },
  { name: 'match condition reads a declared variable', text: typed('  match: {conditions: [{name: c, expression: "variables.name != \'\'"}]}\n  transformers: [{validate: {expression: "true"}}]') },
  { name: 'a variable reads a later one', text: typed('  transformers: [{validate: {expression: "true"}}]').replace('expression: "1"}', 'expression: "variables.name.size()"}'), error: /spec\.variables\[0\]\.expression/ },
];

t.test('variables are type-checked at load wherever they are read', async (t) => {
  for (const row of TYPED) {
    if (row.error) t.throws(() => policiesFromText(row.text), row.error, row.name);
    else t.doesNotThrow(() => policiesFromText(row.text), row.name);
  }
});
