/**
 * Gatekeeper mutators (Assign, AssignMetadata, ModifySet, AssignImage) as
 * policies: Gatekeeper's documented examples through `run` and `/mutate`
 * with identical results, mutation rows (from Gatekeeper's mutator tests)
 * with the transformer laws on every row, order and convergence, and one
 * refusal per invalid mutator (Gatekeeper's reasons).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { explainManifests } from '../../src/cli/explain.js';
import { PolicyError } from '../../src/policy/compile.js';
import { mutatorsOf } from '../../src/policy/gatekeeper.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { admit, createReview } from '../helpers/admission.js';
import { checkLaws, gatekeeperPolicy, runTransformers, type Row } from './gatekeeper-helpers.js';

const DATA = join(REPO_ROOT, 'test/data/gatekeeper');
const docs = (text: string): KubeObject[] => YAML.parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(isObject);

t.test('Gatekeeper\'s documented examples: run and /mutate agree', async (t) => {
  const { set, policies } = loadPolicies([join(DATA, 'docs-examples.yaml')]);
  t.equal(policies.length, 1, 'one policy for the whole mutator set');
  t.same(mutatorsOf(policies[0]!)?.map((m) => m.id), [
    'Assign/default-security-context', 'Assign/demo-image-pull-policy', 'AssignImage/assign-container-image',
    'AssignMetadata/demo-label-owner', 'ModifySet/remove-err-logging',
  ], 'Gatekeeper\'s order: kind, then name');
  const input = readFileSync(join(DATA, 'pods.yaml'), 'utf8');
  const rendered = docs(renderManifests(input, set).output);
  t.same(rendered, docs(readFileSync(join(DATA, 'pods.expected.yaml'), 'utf8')), 'run output');
  docs(input).forEach((obj, i) => {
    const ns = String((obj.metadata as JsonObject).namespace);
    const r = review(createReview(obj, `u${i}`, { namespace: ns }), set, { route: 'mutate' });
    const { response, admitted } = admit(obj, r.body);
    t.equal(response.allowed, true);
    t.same(admitted, rendered[i], `${String(obj.kind)} ${ns}: /mutate == run`);
    const again = review(createReview(admitted, `again${i}`, { namespace: ns }), set, { route: 'mutate' });
    t.notOk(admit(admitted, again.body).response.patch, 'a second admission changes nothing');
  });
  // explain numbers the iterations of the set: the second one changes nothing
  const [first] = explainManifests(input, { set, policies } as Parameters<typeof explainManifests>[1]);
  const steps = first?.policies.find((p) => p.policy === 'gatekeeper-mutators')?.transformers ?? [];
  t.same([...new Set(steps.map((s) => s.iteration))], [1, 2], 'explain: two iterations');
  t.ok(steps.filter((s) => s.iteration === 2).every((s) => s.result === 'unchanged'), 'explain: iteration 2 changes nothing');
});

/** An Assign (or other kind) document for the rows below. */
function mutator(kind: string, name: string, spec: JsonObject, version = kind === 'AssignImage' ? 'v1alpha1' : 'v1'): string {
  return YAML.stringify({ apiVersion: `mutations.gatekeeper.sh/${version}`, kind, metadata: { name }, spec });
}

const POD_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }];
const pod = (containers: JsonObject[], extra: JsonObject = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', ...extra }, spec: { containers } });
const assign = (location: string, value: unknown, params: JsonObject = {}): string =>
  mutator('Assign', 'a', { applyTo: POD_APPLY, location, parameters: { ...params, assign: { value } } } as JsonObject);


const rows: Row[] = [
  { name: 'glob: every container', yaml: assign('spec.containers[name: *].imagePullPolicy', 'Always'), input: pod([{ name: 'a' }, { name: 'b', imagePullPolicy: 'Never' }]), want: pod([{ name: 'a', imagePullPolicy: 'Always' }, { name: 'b', imagePullPolicy: 'Always' }]) },
  { name: 'glob over an empty list changes nothing', yaml: assign('spec.containers[name: *].imagePullPolicy', 'Always'), input: pod([]), want: pod([]) },
  { name: 'keyed: only the named container', yaml: assign('spec.containers[name: b].imagePullPolicy', 'Always'), input: pod([{ name: 'a' }, { name: 'b' }]), want: pod([{ name: 'a' }, { name: 'b', imagePullPolicy: 'Always' }]) },
  { name: 'keyed: a missing element is created', yaml: assign('spec.containers[name: c].image', 'busybox'), input: pod([{ name: 'a' }]), want: pod([{ name: 'a' }, { name: 'c', image: 'busybox' }]) },
  { name: 'missing parents are created', yaml: assign('spec.securityContext.runAsUser', 1000), input: pod([]), want: { ...pod([]), spec: { containers: [], securityContext: { runAsUser: 1000 } } } },
  { name: 'integer key value', yaml: assign('spec.containers[name: a].ports[containerPort: 80].protocol', 'TCP'), input: pod([{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: '80' }] }]), want: pod([{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: '80' }] }]) },
  { name: 'quoted key with a dot', yaml: assign('metadata2."example.com/x"', 'v'), input: pod([]), want: { ...pod([]), metadata2: { 'example.com/x': 'v' } } },
  { name: 'location ending in a keyed list appends the element', yaml: assign('spec.containers[name: sidecar]', { name: 'sidecar', image: 'proxy' }), input: pod([{ name: 'a' }]), want: pod([{ name: 'a' }, { name: 'sidecar', image: 'proxy' }]) },
  { name: 'location ending in a keyed list replaces the element', yaml: assign('spec.containers[name: a]', { name: 'a', image: 'new' }), input: pod([{ name: 'a', image: 'old', args: ['x'] }]), want: pod([{ name: 'a', image: 'new' }]) },
  { name: 'MustNotExist: add only if absent', yaml: assign('spec.containers[name: *].securityContext', { privileged: false }, { pathTests: [{ subPath: 'spec.containers[name: *].securityContext', condition: 'MustNotExist' }] }), input: pod([{ name: 'a' }, { name: 'b', securityContext: { privileged: true } }]), want: pod([{ name: 'a', securityContext: { privileged: false } }, { name: 'b', securityContext: { privileged: true } }]) },
  { name: 'MustExist: never creates the parent', yaml: assign('spec.securityContext.runAsUser', 1, { pathTests: [{ subPath: 'spec.securityContext', condition: 'MustExist' }] }), input: pod([]), want: pod([]) },
  { name: 'MustExist on a keyed element: no element is created', yaml: assign('spec.containers[name: c].image', 'x', { pathTests: [{ subPath: 'spec.containers[name: c]', condition: 'MustExist' }] }), input: pod([{ name: 'a' }]), want: pod([{ name: 'a' }]) },
  { name: 'MustNotExist on a glob never holds', yaml: assign('spec.containers[name: *].image', 'x', { pathTests: [{ subPath: 'spec.containers[name: *]', condition: 'MustNotExist' }] }), input: pod([{ name: 'a' }]), want: pod([{ name: 'a' }]) },
  { name: 'a map where the location says list is an error', yaml: assign('spec.containers[name: *].image', 'x'), input: { ...pod([]), spec: { containers: { a: 1 } } }, error: /mismatch between path entry \(type: List\) and received object \(type: map\[string\]interface \{\}\)/ },
  { name: 'fromMetadata name', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.hostname', parameters: { assign: { fromMetadata: { field: 'name' } } } }), input: pod([]), want: { ...pod([]), spec: { containers: [], hostname: 'p' } } },
  { name: 'fromMetadata namespace', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.subdomain', parameters: { assign: { fromMetadata: { field: 'namespace' } } } }), input: pod([]), want: { ...pod([]), spec: { containers: [], subdomain: 'default' } } },
  { name: 'applyTo: another kind is untouched', yaml: mutator('Assign', 'a', { applyTo: [{ groups: ['apps'], versions: ['v1'], kinds: ['Deployment'] }], location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: pod([]) },
  { name: 'applyTo operations: DELETE only never runs on CREATE', yaml: mutator('Assign', 'a', { applyTo: [{ ...POD_APPLY[0], operations: ['DELETE'] }], location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: pod([]) },
  { name: 'match.namespaces prefix glob', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { namespaces: ['def*'] }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: { ...pod([]), spec: { containers: [], x: 1 } } },
  { name: 'match.excludedNamespaces suffix glob', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { excludedNamespaces: ['*ault'] }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: pod([]) },
  { name: 'match.labelSelector', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { labelSelector: { matchLabels: { app: 'web' } } }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([], { labels: { app: 'db' } }), want: pod([], { labels: { app: 'db' } }) },
  { name: 'match.name glob', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { name: 'p*' }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: { ...pod([]), spec: { containers: [], x: 1 } } },
  { name: 'match.scope Cluster skips a namespaced Pod', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { scope: 'Cluster' }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: pod([]) },
  { name: 'match.kinds', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, match: { kinds: [{ apiGroups: ['apps'], kinds: ['Pod'] }] }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: pod([]), want: pod([]) },
  { name: 'legacy assignIf in', yaml: mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.restartPolicy', parameters: { assignIf: { in: ['Always'] }, assign: { value: 'Never' } } }, 'v1alpha1'), input: { ...pod([]), spec: { containers: [], restartPolicy: 'OnFailure' } }, want: { ...pod([]), spec: { containers: [], restartPolicy: 'OnFailure' } } },
  { name: 'AssignMetadata adds a label', yaml: mutator('AssignMetadata', 'm', { location: 'metadata.labels.team', parameters: { assign: { value: 'a' } } }), input: pod([]), want: pod([], { labels: { team: 'a' } }) },
  { name: 'AssignMetadata never overwrites', yaml: mutator('AssignMetadata', 'm', { location: 'metadata.annotations.team', parameters: { assign: { value: 'a' } } }), input: pod([], { annotations: { team: 'b' } }), want: pod([], { annotations: { team: 'b' } }) },
  { name: 'ModifySet merge keeps order and adds the missing', yaml: mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { values: { fromList: ['--b', '--c'] } } }), input: pod([{ name: 'a', args: ['--a', '--b'] }, { name: 'x' }]), want: pod([{ name: 'a', args: ['--a', '--b', '--c'] }, { name: 'x', args: ['--b', '--c'] }]) },
  { name: 'ModifySet prune', yaml: mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { operation: 'prune', values: { fromList: ['--b', { k: 1 }] } } }), input: pod([{ name: 'a', args: ['--a', '--b', { k: 1 }, '--b'] }, { name: 'x' }]), want: pod([{ name: 'a', args: ['--a'] }, { name: 'x' }]) },
  { name: 'ModifySet on a non-list is an error', yaml: mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { values: { fromList: ['--b'] } } }), input: pod([{ name: 'a', args: 'x' }]), error: /not a list of values/ },
  { name: 'AssignImage tag', yaml: mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo].image', parameters: { assignTag: ':new' } }), input: pod([{ name: 'foo', image: 'library/busybox:v1' }]), want: pod([{ name: 'foo', image: 'library/busybox:new' }]) },
  { name: 'AssignImage path and tag on a missing image', yaml: mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo].image', parameters: { assignPath: 'library/busybox', assignTag: ':new' } }), input: pod([{ name: 'foo' }]), want: pod([{ name: 'foo', image: 'library/busybox:new' }]) },
  { name: 'AssignImage domain on a bad reference still converges', yaml: mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo].image', parameters: { assignDomain: 'myreg.io' } }), input: pod([{ name: 'foo', image: 'a.b.c:5000//not.good:ABC123_//lib.com.repo//localhost@blah101' }]), want: pod([{ name: 'foo', image: 'myreg.io//not.good:ABC123_//lib.com.repo//localhost@blah101' }]) },
  { name: 'AssignImage colon in the domain', yaml: mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo].image', parameters: { assignPath: 'repo/app', assignTag: ':latest' } }), input: pod([{ name: 'foo', image: 'a.b.c:/not.good:ABC123_//lib.com.repo//localhost@blah101' }]), want: pod([{ name: 'foo', image: 'a.b.c:/repo/app:latest' }]) },
  { name: 'AssignImage a domain-like path with a domain', yaml: mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo].image', parameters: { assignDomain: 'myreg.io', assignPath: 'my.special.repo/a.b/c' } }), input: pod([{ name: 'foo', image: 'a.b:latest' }]), want: pod([{ name: 'foo', image: 'myreg.io/my.special.repo/a.b/c:latest' }]) },
];

t.test('mutation rows, with the laws on the whole set and on each mutator', async (t) => {
  for (const r of rows) {
    const p = gatekeeperPolicy(r.yaml);
    if (r.error) {
      t.throws(() => runTransformers(p.transformers, r.input), r.error, r.name);
      continue;
    }
    const out = checkLaws(t, r.name, p.transformers, r.input);
    t.same(out, r.want, r.name);
    checkLaws(t, `${r.name} (mutator alone)`, p.transformers.slice(0, 1), r.input);
  }
});

t.test('convergence: two interacting mutators, and one set that does not converge', async (t) => {
  // The Assign runs first but matches only once the AssignMetadata (later in Gatekeeper's order) added the label.
  const interacting = mutator('Assign', 'a-team-tolerations', { applyTo: POD_APPLY, match: { labelSelector: { matchLabels: { team: 'x' } } }, location: 'spec.priorityClassName', parameters: { assign: { value: 'team-x' } } })
    + '---\n' + mutator('AssignMetadata', 'z-team', { location: 'metadata.labels.team', parameters: { assign: { value: 'x' } } });
  const p = gatekeeperPolicy(interacting);
  t.same(p.convergence?.maxIterations, 3, 'at most (mutators + 1) iterations (system.go)');
  t.same(runTransformers(p.transformers, pod([])), pod([], { labels: { team: 'x' } }), 'one iteration alone applies only the label');
  const set = loadPoliciesFromText(interacting);
  const e = set.evaluate(pod([]), { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.same(e.object, { ...pod([], { labels: { team: 'x' } }), spec: { containers: [], priorityClassName: 'team-x' } }, 'both applied after a second iteration');
  t.equal(e.trace[0]?.iterations, 3, 'two changing iterations and one that changed nothing');
  const again = set.evaluate(e.object as KubeObject, { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.equal(again.object, e.object, 'the result is a fixed point');

  // 1 -> tmp -> 2 in one iteration, 2 -> 1 in the next: a cycle of two iterations never settles.
  // Gatekeeper calls this "not converging" (its "oscillating" needs an iteration that changes nothing).
  const cycle = (name: string, from: string, to: string): string => mutator('Assign', name, { applyTo: POD_APPLY, location: 'spec.x', parameters: { assignIf: { in: [from] }, assign: { value: to } } }, 'v1alpha1');
  const flip = [cycle('a', '1', 'tmp'), cycle('b', '2', '1'), cycle('c', 'tmp', '2')].join('---\n');
  const input = { ...pod([]), spec: { containers: [], x: '1' } };
  const r = loadPoliciesFromText(flip).evaluate(input, { frontDoor: 'render', operation: 'CREATE', namespace: 'default' });
  t.match(r.denials, [{ policy: 'gatekeeper-mutators', rule: '(convergence)', message: /^mutation not converging for Pod default\/p after 4 iterations of 3 mutator\(s\)$/ }], 'the evaluation denies with the convergence step named');
  t.equal(r.trace[0]?.iterations, 4, 'the iteration limit was reached');
});

function loadPoliciesFromText(yaml: string): ReturnType<typeof loadPolicies>['set'] {
  const dir = t.testdir({ 'm.yaml': yaml });
  return loadPolicies([join(dir, 'm.yaml')]).set;
}

const refusals: [string, string, RegExp, string][] = [
  ['Assign on metadata.labels', assign('metadata.labels.x', 'y'), /assign a can't change metadata/, 'spec.location'],
  ['Assign: bad location', assign('spec.containers[name: ].image', 'y'), /invalid location format `spec.containers\[name: \]\.image` for Assign a: unexpected token: expected key value or glob in listSpec/, 'spec.location'],
  ['Assign: trailing separator', assign('spec.', 'y'), /trailing separators are forbidden/, 'spec.location'],
  ['Assign: empty location', assign('', 'y'), /empty path/, 'spec.location'],
  ['Assign: changing a list key', assign('spec.containers[name: a].name', 'b'), /changing the item key is not allowed/, 'spec.location'],
  ['Assign: object with another key into a keyed list', assign('spec.containers[name: a]', { name: 'b' }), /adding object to list with different key name/, 'spec.parameters.assign.value'],
  ['Assign: a scalar into a keyed list', assign('spec.containers[name: a]', 'x'), /only objects can be added to keyed lists/, 'spec.parameters.assign.value'],
  ['Assign: appending to a glob', assign('spec.containers[name: *]', { name: 'x' }), /can't append to a globbed list/, 'spec.location'],
  ['Assign: fromMetadata into a list', mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.containers[name: a]', parameters: { assign: { fromMetadata: { field: 'name' } } } }), /cannot assign a metadata field to a list/, 'spec.parameters.assign.fromMetadata'],
  ['Assign: no value', mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.x', parameters: { assign: {} } }), /assign must set one of `externalData`, `value` or `fromMetadata`/, 'spec.parameters.assign'],
  ['Assign: two values', mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.x', parameters: { assign: { value: 1, fromMetadata: { field: 'name' } } } }), /assign must only set one of/, 'spec.parameters.assign'],
  ['Assign: unknown fromMetadata field', mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.x', parameters: { assign: { fromMetadata: { field: 'uid' } } } }), /field uid is not recognized: invalid fromMetadata field/, 'spec.parameters.assign.fromMetadata.field'],
  ['Assign: externalData', mutator('Assign', 'a', { applyTo: POD_APPLY, location: 'spec.x', parameters: { assign: { externalData: { provider: 'p', dataSource: 'ValueAtLocation' } } } }), /externalData is not supported/, 'spec.parameters.assign.externalData'],
  ['Assign: no applyTo', mutator('Assign', 'a', { location: 'spec.x', parameters: { assign: { value: 1 } } }), /applyTo required for Assign mutator a/, 'spec.applyTo'],
  ['Assign: applyTo without versions', mutator('Assign', 'a', { applyTo: [{ groups: [''], kinds: ['Pod'] }], location: 'spec.x', parameters: { assign: { value: 1 } } }), /invalid applyTo for Assign mutator a, all of group, version and kind must be specified/, 'spec.applyTo[0]'],
  ['Assign: bad operation', mutator('Assign', 'a', { applyTo: [{ ...POD_APPLY[0], operations: ['PATCH'] }], location: 'spec.x', parameters: { assign: { value: 1 } } }), /unsupported operation "PATCH"/, 'spec.applyTo[0].operations[0]'],
  ['Assign: pathTest not a prefix', assign('spec.a.b', 1, { pathTests: [{ subPath: 'spec.c', condition: 'MustExist' }] }), /all subpaths must be a prefix of the `location` value of the mutation/, 'spec.parameters.pathTests'],
  ['Assign: conflicting pathTests', assign('spec.a.b', 1, { pathTests: [{ subPath: 'spec.a', condition: 'MustNotExist' }, { subPath: 'spec.a.b', condition: 'MustExist' }] }), /conflicting path test conditions/, 'spec.parameters.pathTests'],
  ['Assign: bad pathTest condition', assign('spec.a.b', 1, { pathTests: [{ subPath: 'spec.a', condition: 'Exists' }] }), /Exists is not a valid path test condition/, 'spec.parameters.pathTests[0].condition'],
  ['Assign: bad subPath', assign('spec.a.b', 1, { pathTests: [{ subPath: 'spec..a', condition: 'MustExist' }] }), /problem parsing sub path `spec..a` for Assign a: unexpected token/, 'spec.parameters.pathTests[0].subPath'],
  ['Assign: name over 63 characters', mutator('Assign', 'a'.repeat(64), { applyTo: POD_APPLY, location: 'spec.x', parameters: { assign: { value: 1 } } }), /maximum name length is 63 characters/, 'metadata.name'],
  ['Assign: bad namespace glob', mutator('Assign', 'a', { applyTo: POD_APPLY, match: { namespaces: ['kube*system'] }, location: 'spec.x', parameters: { assign: { value: 1 } } }), /does not match pattern/, 'spec.match.namespaces[0]'],
  ['Assign: bad label selector', mutator('Assign', 'a', { applyTo: POD_APPLY, match: { labelSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, location: 'spec.x', parameters: { assign: { value: 1 } } }), /values set can't be empty/, 'spec.match.labelSelector.matchExpressions[0]'],
  ['Assign: unknown spec field', mutator('Assign', 'a', { applyTo: POD_APPLY, locaton: 'spec.x', parameters: { assign: { value: 1 } } }), /unknown field "locaton"/, 'spec.locaton'],
  ['AssignMetadata outside labels/annotations', mutator('AssignMetadata', 'm', { location: 'metadata.name', parameters: { assign: { value: 'x' } } }), /invalid location for assignmetadata m: metadata.name/, 'spec.location'],
  ['AssignMetadata: too deep', mutator('AssignMetadata', 'm', { location: 'metadata.labels.a.b', parameters: { assign: { value: 'x' } } }), /invalid location for assignmetadata m/, 'spec.location'],
  ['AssignMetadata: a non-string value', mutator('AssignMetadata', 'm', { location: 'metadata.labels.a', parameters: { assign: { value: 1 } } }), /spec.parameters.assign.value field must be a string for AssignMetadata "m"/, 'spec.parameters.assign.value'],
  ['AssignMetadata: applyTo is not a field', mutator('AssignMetadata', 'm', { applyTo: POD_APPLY, location: 'metadata.labels.a', parameters: { assign: { value: 'x' } } }), /unknown field "applyTo"/, 'spec.applyTo'],
  ['ModifySet on metadata', mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'metadata.finalizers', parameters: { values: { fromList: ['x'] } } }), /modifyset s can't change metadata/, 'spec.location'],
  ['ModifySet ending in a keyed list', mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: a]', parameters: { values: { fromList: ['x'] } } }), /final node in a modifyset location cannot be a keyed list/, 'spec.location'],
  ['ModifySet: bad operation', mutator('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.x', parameters: { operation: 'replace', values: { fromList: ['x'] } } }), /unrecognized operation for modifyset: replace/, 'spec.parameters.operation'],
  ['ModifySet: no applyTo', mutator('ModifySet', 's', { location: 'spec.x', parameters: { values: { fromList: ['x'] } } }), /applyTo required for ModifySet mutator s/, 'spec.applyTo'],
  ['AssignImage: a domain with a path', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignDomain: 'not/ok/io' } }), /assignImage i has invalid parameters: assignDomain "not\/ok\/io" does not match pattern/, 'spec.parameters'],
  ['AssignImage: a domain without a dot', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignDomain: 'foobar' } }), /assignDomain "foobar" does not match pattern/, 'spec.parameters'],
  ['AssignImage: a domain-like path without a domain', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignPath: 'a.b.c/repo', assignTag: ':latest' } }), /assignDomain must be set if the first part of assignPath "a.b.c\/repo" can be interpretted as part of a domain/, 'spec.parameters'],
  ['AssignImage: a tag without a colon', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignTag: 'latest' } }), /assignTag "latest" does not match pattern/, 'spec.parameters'],
  ['AssignImage: a path ending in /', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignPath: 'lib/stuff/app/' } }), /assignPath "lib\/stuff\/app\/" does not match pattern/, 'spec.parameters'],
  ['AssignImage: nothing to assign', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: {} }), /at least one of \[assignDomain, assignPath, assignTag\] must be set/, 'spec.parameters'],
  ['AssignImage on a list', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:foo]', parameters: { assignTag: ':x' } }), /assignImage i cannot mutate list-type fields/, 'spec.location'],
  ['AssignImage on metadata', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'metadata.labels.image', parameters: { assignTag: ':x' } }), /assignImage i can't change metadata/, 'spec.location'],
  ['AssignImage in v1', mutator('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { assignTag: ':x' } }, 'v1'), /AssignImage is not served as mutations.gatekeeper.sh\/v1 \(served: v1alpha1\)/, 'apiVersion'],
  ['an unknown mutator kind', mutator('AssignFoo', 'x', {}), /unsupported kind "AssignFoo"/, 'kind'],
];

t.test('refusals: every invalid mutator with Gatekeeper\'s reason, file, document and path', async (t) => {
  for (const [name, yaml, reason, path] of refusals) {
    let err: unknown;
    try {
      gatekeeperPolicy(yaml);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof PolicyError, `${name}: refused`);
    if (!(err instanceof PolicyError)) continue;
    t.match(err.reason, reason, `${name}: reason`);
    t.equal(err.path, path, `${name}: path`);
    t.match(err.message, /^mutators\.yaml: document 1: /, `${name}: file and document`);
  }
  t.throws(() => loadPoliciesFromText(assign('spec.x', 1) + '---\n' + assign('spec.y', 2)), /duplicate Assign "a"/, 'two mutators of one kind and name');
});

t.test('a kubectl export (`kubectl get assign,modifyset -o yaml`: a v1 List with status and server metadata) loads as its items', async (t) => {
  /** An item as the API server returns it: server-set metadata and Gatekeeper's status. */
  const exported = (doc: string, uid: string): JsonObject => {
    const o = YAML.parse(doc) as JsonObject;
    return { ...o, metadata: { ...(o.metadata as JsonObject), uid, resourceVersion: '42', generation: 1, creationTimestamp: '2024-01-01T00:00:00Z' }, status: { byPod: [{ id: 'gatekeeper-controller-manager-0', enforced: true, observedGeneration: 1, operations: ['mutation-webhook'] }] } };
  };
  const items = [
    exported(assign('spec.containers[name: *].imagePullPolicy', 'Always'), 'u1'),
    exported(mutator('ModifySet', 'args', { applyTo: POD_APPLY, location: 'spec.containers[name: *].args', parameters: { values: { fromList: ['--v=2'] } } } as JsonObject), 'u2'),
  ];
  const list = YAML.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });
  const input = YAML.stringify(pod([{ name: 'c', image: 'nginx' }]));
  const fromList = renderManifests(input, loadPoliciesFromText(list)).output;
  const fromDocs = renderManifests(input, loadPoliciesFromText(items.map((i) => YAML.stringify(i)).join('---\n'))).output;
  t.same(docs(fromList), docs(fromDocs), 'the List gives what its items give as documents');
  t.same((docs(fromList)[0]!.spec as JsonObject).containers, [{ name: 'c', image: 'nginx', imagePullPolicy: 'Always', args: ['--v=2'] }], 'both mutators applied');
  const rows: [string, JsonObject[], RegExp][] = [
    ['one bad item', [items[0]!, { ...items[1]!, spec: { ...(items[1]!.spec as JsonObject), location: 'metadata.labels' } }], /m\.yaml: document 1: items\[1\]\.spec\.location: modifyset args can't change metadata$/],
    ['two bad items, both named', [{ ...items[0]!, spec: { ...(items[0]!.spec as JsonObject), location: 'spec.x.' } }, { ...items[1]!, spec: { ...(items[1]!.spec as JsonObject), location: 'metadata.labels' } }], /document 1: items\[0\]\.spec\.location: .*trailing separators are forbidden \(and 1 more\)$/],
    ['a duplicate within the List', [items[0]!, items[0]!], /duplicate Assign "a"/],
  ];
  for (const [name, bad, re] of rows) {
    t.throws(() => loadPoliciesFromText(YAML.stringify({ apiVersion: 'v1', kind: 'List', items: bad })), { message: re }, name);
  }
  t.throws(() => loadPoliciesFromText(YAML.stringify({ apiVersion: 'v1', kind: 'List', items: [items[0], { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }] })), /not a policy \(v1 List\)/, 'a List of other objects is still not a policy');
});
