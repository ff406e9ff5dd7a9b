/**
 * Webhook configuration follows the policies (issue 16): a table of policy
 * sets and the rules, selectors and matchConditions they need. Rules are
 * never narrower than what the policies match: every row also sends sample
 * requests through the policies and checks that each one a policy matches is
 * admitted by the derived rules (`admits`, the API server's rule matching).
 */
import t from 'tap';
import { createPolicySet, type CompiledPolicy } from '../../src/policy/compile.js';
import { compilePolicyText } from '../../src/policy/load.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import { deriveWebhook, serverFeatures, type WebhookRule } from '../../src/policy/webhook-rules.js';
import { webhookConfigurations } from '../../src/policy/webhook-config.js';
import { lookupKind } from '../../src/kube/resources.js';
import type { JsonObject } from '../../src/kube/object.js';

function policies(text: string): CompiledPolicy[] {
  return compilePolicyText(text, 'p.yaml', { registry: builtinRegistry(), compileCondition: conditionCompiler });
}
const doc = (name: string, spec: string, kind = 'ClusterPostRenderPolicy', ns = ''): string =>
  `apiVersion: postrender.io/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\nspec:\n${spec}`;
const LABEL = '  transformers:\n  - labels: {pairs: {a: b}}\n';
const VALIDATE = '  transformers:\n  - validate: {expression: "true", message: m}\n';

/** A ValidatingAdmissionPolicy with `rules` (YAML flow) and its Deny binding, each document followed by `---`. */
const vap = (name: string, rules: string): string =>
  `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: ${name}}\nspec:\n  matchConstraints: {resourceRules: ${rules}}\n  validations: [{expression: "false"}]\n---\n`
  + `apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: ${name}}\nspec: {policyName: ${name}, validationActions: [Deny]}\n---\n`;

type Rules = [string, string[], string[]][]; // [group, resources, operations]
const short = (rules: WebhookRule[]): Rules => rules.map((r) => [r.apiGroups[0], r.resources, r.operations]);

const ROWS: { name: string; text: string; mutate: Rules; validate: Rules; notes?: RegExp }[] = [
  { name: 'no policies', text: '', mutate: [], validate: [] },
  {
    name: 'Deployments and StatefulSets, CREATE/UPDATE, no validate rules',
    text: doc('p', `  match:\n    resources: [{group: apps, kinds: [Deployment, StatefulSet]}]\n    operations: [CREATE, UPDATE]\n${LABEL}`),
    mutate: [['apps', ['deployments', 'statefulsets'], ['CREATE', 'UPDATE']]],
    validate: [],
  },
  {
    name: 'kinds without a group resolve to their built-in groups; validate rules',
    text: doc('p', `  match:\n    resources: [{kinds: [Pod, Deployment, Ingress]}]\n${VALIDATE}`),
    mutate: [['', ['pods'], ['CREATE', 'UPDATE']], ['apps', ['deployments'], ['CREATE', 'UPDATE']], ['networking.k8s.io', ['ingresses'], ['CREATE', 'UPDATE']]],
    validate: [['', ['pods'], ['CREATE', 'UPDATE']], ['apps', ['deployments'], ['CREATE', 'UPDATE']], ['networking.k8s.io', ['ingresses'], ['CREATE', 'UPDATE']]],
  },
  {
    name: 'subresources and operations merged per group',
    text: doc('a', `  match:\n    resources: [{group: apps, kinds: [Deployment/scale, Deployment]}]\n    operations: [UPDATE]\n${LABEL}`) + '---\n' + doc('b', `  match:\n    resources: [{group: apps, kinds: [Deployment]}]\n    operations: [CREATE, DELETE]\n${LABEL}`),
    mutate: [['apps', ['deployments'], ['CREATE']], ['apps', ['deployments', 'deployments/scale'], ['UPDATE']]],
    validate: [],
  },
  {
    name: 'DELETE and CONNECT only, our own dialect: never evaluated (only VAPs are), no rules',
    text: doc('p', `  match:\n    resources: [{kinds: [Pod]}]\n    operations: [DELETE, CONNECT]\n${LABEL}`),
    mutate: [],
    validate: [],
  },
  {
    name: 'a custom resource kind: every resource of its group, with a note',
    text: doc('p', `  match:\n    resources: [{group: example.com, kinds: [Widget]}, {kinds: [Gadget]}]\n${LABEL}`),
    mutate: [['*', ['*'], ['CREATE', 'UPDATE']]],
    validate: [],
    notes: /kind Gadget is not a built-in kind: the rules name every resource of every group/,
  },
  {
    name: 'a custom resource kind in a group only',
    text: doc('p', `  match:\n    resources: [{group: example.com, kinds: [Widget]}, {group: apps, kinds: [DaemonSet]}]\n${LABEL}`),
    mutate: [['apps', ['daemonsets'], ['CREATE', 'UPDATE']], ['example.com', ['*'], ['CREATE', 'UPDATE']]],
    validate: [],
    notes: /kind Widget \(group example\.com\) is not a built-in kind/,
  },
  { name: 'no match.resources: everything', text: doc('p', LABEL), mutate: [['*', ['*'], ['CREATE', 'UPDATE']]], validate: [] },
  { name: 'a Kustomization (no MatchInfo): everything, subresources too', text: 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels: {a: b}\n', mutate: [['*', ['*', '*/*'], ['CREATE', 'UPDATE']]], validate: [] },
  {
    name: 'Gatekeeper mutators: the groups and kinds of applyTo',
    text: 'apiVersion: mutations.gatekeeper.sh/v1\nkind: Assign\nmetadata: {name: a}\nspec:\n  applyTo: [{groups: [""], kinds: [Pod], versions: [v1]}, {groups: [apps], kinds: [Deployment], versions: [v1]}]\n  location: "spec.priorityClassName"\n  parameters: {assign: {value: x}}\n',
    mutate: [['', ['pods'], ['CREATE', 'UPDATE']], ['apps', ['deployments'], ['CREATE', 'UPDATE']]],
    validate: [],
  },
  {
    name: 'AssignMetadata (no applyTo): everything',
    text: 'apiVersion: mutations.gatekeeper.sh/v1\nkind: AssignMetadata\nmetadata: {name: m}\nspec:\n  location: "metadata.labels.team"\n  parameters: {assign: {value: x}}\n',
    mutate: [['*', ['*', '*/*'], ['CREATE', 'UPDATE']]],
    validate: [],
  },
  {
    name: 'a MutatingAdmissionPolicy and a ValidatingAdmissionPolicy: their resourceRules, as written',
    text: 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicy\nmetadata: {name: m}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [apps], apiVersions: [v1], resources: [deployments], operations: [CREATE]}]\n  reinvocationPolicy: Never\n  mutations:\n  - patchType: JSONPatch\n    jsonPatch: {expression: "[JSONPatch{op: \'test\', path: \'/kind\', value: \'Deployment\'}]"}\n'
      + '---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicyBinding\nmetadata: {name: mb}\nspec: {policyName: m}\n'
      + '---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: v}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [""], apiVersions: [v1], resources: [pods, pods/ephemeralcontainers], operations: ["*"]}]\n  validations:\n  - expression: "true"\n'
      + '---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: vb}\nspec: {policyName: v, validationActions: [Deny]}\n',
    mutate: [['', ['pods', 'pods/ephemeralcontainers'], ['CREATE', 'UPDATE']], ['apps', ['deployments'], ['CREATE']]],
    // operations '*' of a VAP: DELETE and CONNECT too, on the validating webhook only (the API server evaluates it on them).
    validate: [['', ['pods', 'pods/ephemeralcontainers'], ['CREATE', 'UPDATE', 'DELETE', 'CONNECT']]],
  },
  {
    name: 'VAPs on DELETE of namespaces and CONNECT of pods/exec: those on the validating webhook only; other policies keep CREATE/UPDATE',
    text: vap('protect', '[{apiGroups: [""], apiVersions: [v1], resources: [namespaces], operations: [DELETE]}]')
      + vap('no-exec', '[{apiGroups: [""], apiVersions: [v1], resources: [pods/exec], operations: [CONNECT]}]')
      + doc('p', `  match:\n    resources: [{kinds: [Pod, Namespace]}]\n${VALIDATE}`)
      + '---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicy\nmetadata: {name: m}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [""], apiVersions: [v1], resources: [configmaps], operations: ["*"]}]\n  reinvocationPolicy: Never\n  mutations:\n  - patchType: JSONPatch\n    jsonPatch: {expression: "[JSONPatch{op: \'test\', path: \'/kind\', value: \'ConfigMap\'}]"}\n'
      + '---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingAdmissionPolicyBinding\nmetadata: {name: mb}\nspec: {policyName: m}\n',
    mutate: [['', ['configmaps', 'namespaces', 'pods'], ['CREATE', 'UPDATE']]],
    validate: [['', ['namespaces'], ['DELETE']], ['', ['namespaces', 'pods'], ['CREATE', 'UPDATE']], ['', ['pods/exec'], ['CONNECT']]],
  },
  {
    name: 'wildcard kind in a group covers its kinds',
    text: doc('a', `  match:\n    resources: [{group: batch, kinds: ["*"]}]\n${LABEL}`) + '---\n' + doc('b', `  match:\n    resources: [{group: batch, kinds: [Job, CronJob]}]\n${VALIDATE}`),
    mutate: [['batch', ['*'], ['CREATE', 'UPDATE']]],
    validate: [['batch', ['cronjobs', 'jobs'], ['CREATE', 'UPDATE']]],
  },
];

t.test('rules per policy set', async (t) => {
  for (const row of ROWS) {
    const ps = policies(row.text);
    const m = deriveWebhook('mutate', ps);
    const v = deriveWebhook('validate', ps);
    t.same(short(m.rules), row.mutate, `${row.name}: mutating rules`);
    t.same(short(v.rules), row.validate, `${row.name}: validating rules`);
    if (row.notes) t.match(m.notes.join('\n'), row.notes, `${row.name}: note`);
    else t.same(m.notes, [], `${row.name}: no notes`);
  }
});

/** The API server's rule matching (admission/plugin/webhook/predicates/rules), enough for these rows. */
function admits(rules: WebhookRule[], group: string, resource: string, op: string): boolean {
  return rules.some((r) => (r.apiGroups.includes('*') || r.apiGroups.includes(group)) && r.operations.includes(op)
    && r.resources.some((x) => x === resource || (x === '*' && !resource.includes('/')) || (x === '*/*' && resource.includes('/')) || (x.startsWith('*/') && resource.endsWith(x.slice(1)))));
}

t.test('never narrower: every request a policy matches is admitted by the rules', async (t) => {
  const kinds: [string, string, string][] = [['v1', 'Pod', ''], ['v1', 'Pod', 'exec'], ['v1', 'Namespace', ''], ['apps/v1', 'Deployment', ''], ['apps/v1', 'Deployment', 'scale'], ['apps/v1', 'DaemonSet', ''], ['batch/v1', 'Job', ''], ['batch/v1', 'CronJob', ''], ['networking.k8s.io/v1', 'Ingress', ''], ['example.com/v1', 'Widget', ''], ['other.io/v1', 'Gadget', ''], ['v1', 'ConfigMap', '']];
  let checked = 0;
  for (const row of ROWS) {
    const ps = policies(row.text);
    for (const path of ['mutate', 'validate'] as const) {
      const rules = deriveWebhook(path, ps).rules;
      const set = createPolicySet(path === 'mutate' ? ps : ps.filter((p) => p.transformers.some((x) => x.type === 'validate')));
      for (const [apiVersion, kind, sub] of kinds) {
        // DELETE and CONNECT reach only the validating webhook (no mutating webhook rule names them).
        for (const op of path === 'validate' ? (['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const) : (['CREATE', 'UPDATE'] as const)) {
          const object: JsonObject = { apiVersion, kind, metadata: { name: 'x', namespace: 'team-a', labels: { a: 'c' } } };
          const r = set.evaluate(object, { frontDoor: 'admission', operation: op, namespace: 'team-a', subResource: sub, validateOnly: path === 'validate', oldObject: op === 'DELETE' ? object : undefined });
          if (r.matchedPolicies.length === 0) continue;
          const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
          const resource = (lookupKind(group, kind)[0]?.resource ?? `${kind.toLowerCase()}s`) + (sub ? `/${sub}` : '');
          t.ok(admits(rules, group, resource, op), `${row.name}: ${path} admits ${op} ${group}/${resource}`);
          checked++;
        }
      }
    }
  }
  t.ok(checked > 20, `${checked} matched requests checked`);
});

t.test('selectors and matchConditions only where every policy allows', async (t) => {
  const tenantA = doc('t', `  match:\n    resources: [{kinds: [ConfigMap]}]\n${LABEL}`, 'PostRenderPolicy', 'team-a');
  const tenantB = doc('t', `  match:\n    resources: [{kinds: [ConfigMap]}]\n${LABEL}`, 'PostRenderPolicy', 'team-b');
  const cluster = doc('c', `  match:\n    resources: [{kinds: [ConfigMap]}]\n${LABEL}`);
  const sel = (name: string, extra: string): string => doc(name, `  match:\n    resources: [{kinds: [Pod]}]\n    objectSelector: {matchLabels: {inject: "yes"}}\n${extra}${LABEL}`);
  const cond = (name: string, e: string): string => doc(name, `  match:\n    resources: [{kinds: [Pod]}]\n    conditions: [{name: c, expression: ${JSON.stringify(e)}}]\n${LABEL}`);
  const rows: [string, string, JsonObject][] = [
    ['tenants only: their namespaces', `${tenantA}---\n${tenantB}`, { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] }] } }],
    ['a tenant and a cluster policy: no namespace constraint', `${tenantA}---\n${cluster}`, {}],
    ['a common objectSelector', `${sel('a', '')}---\n${sel('b', '')}`, { objectSelector: { matchLabels: { inject: 'yes' } } }],
    ['objectSelector on one policy only', `${sel('a', '')}---\n${cluster}`, {}],
    ['conditions on every policy: OR of them', `${cond('a', "object.metadata.name.startsWith('x')")}---\n${cond('b', 'has(object.spec)')}`, { matchConditions: [{ name: 'postrender-policies', expression: "((object.metadata.name.startsWith('x'))) || ((has(object.spec)))" }] }],
    ['conditions with namespaceObject: not carried over', `${cond('a', "namespaceObject.metadata.name == 'x'")}`, {}],
  ];
  for (const [name, text, want] of rows) {
    const { rules: _r, notes: _n, ...got } = deriveWebhook('mutate', policies(text));
    t.same(got, want, name);
  }
  const old = deriveWebhook('mutate', policies(`${cond('a', 'true')}---\n${tenantA}`), { server: serverFeatures('1', '20') });
  t.notOk(old.matchConditions, 'v1.20: no matchConditions');
  t.notOk(old.namespaceSelector, 'v1.20: no kubernetes.io/metadata.name selector (the label is 1.21+)');
  t.same(serverFeatures('1', '36'), { matchConditions: true, namespaceNameLabel: true });
});

t.test('configurations: failure modes safe by default; validation Fail only where opted in', async (t) => {
  const ps = policies(doc('p', `  match:\n    resources: [{kinds: [Pod]}]\n${VALIDATE}`));
  const { mutating, validating } = webhookConfigurations(ps, { name: 'kpr', namespace: 'platform' });
  const [mw] = mutating.webhooks as JsonObject[];
  t.equal(mw.failurePolicy, 'Ignore', 'mutation: Ignore');
  t.equal(mw.reinvocationPolicy, 'IfNeeded');
  const vws = validating.webhooks as JsonObject[];
  t.same(vws.map((w) => [w.name, w.failurePolicy]), [['validate.postrender.io', 'Ignore'], ['validate-enforce.postrender.io', 'Fail']]);
  t.same((vws[1].namespaceSelector as JsonObject).matchLabels, { 'postrender.io/enforce': 'true' }, 'Fail only in namespaces labelled postrender.io/enforce=true');
  t.match(JSON.stringify(vws[0].namespaceSelector), /"postrender.io\/enforce","operator":"NotIn","values":\["true"\]/, 'the Ignore webhook skips them (never called twice)');
  for (const w of [mw, ...vws]) t.match(JSON.stringify(w.namespaceSelector), /"NotIn","values":\["platform","kube-system","kube-node-lease"\]/, `${String(w.name)}: own namespace and system namespaces excluded`);
  // A VAP on DELETE: the validating webhooks name it, with their failure modes as they are (Fail only where opted
  // in); the mutating webhook does not.
  const del = webhookConfigurations(policies(vap('protect', '[{apiGroups: [""], apiVersions: [v1], resources: [namespaces], operations: [DELETE]}]')), { name: 'kpr', namespace: 'platform' });
  const delRule = [{ apiGroups: [''], apiVersions: ['*'], resources: ['namespaces'], operations: ['DELETE'], scope: '*' }];
  t.same((del.mutating.webhooks as JsonObject[]).map((w) => w.rules), [[]], 'DELETE VAP: no mutating rule');
  t.same((del.validating.webhooks as JsonObject[]).map((w) => [w.failurePolicy, w.rules]), [['Ignore', delRule], ['Fail', delRule]], 'DELETE VAP: both validating webhooks, failure modes unchanged');
  t.same((del.validating.webhooks as JsonObject[])[1]?.namespaceSelector, vws[1]?.namespaceSelector, 'DELETE VAP: Fail still only in opted-in namespaces');
  const empty = webhookConfigurations([], { name: 'kpr', namespace: 'platform' });
  t.same([...(empty.mutating.webhooks as JsonObject[]), ...(empty.validating.webhooks as JsonObject[])].map((w) => w.rules), [[], [], []], 'no policies, no rules');
});
