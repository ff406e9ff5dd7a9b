/**
 * Gatekeeper conformance (issue 14): table rows derived from the behaviours
 * Gatekeeper's own tests pin (open-policy-agent/gatekeeper, read with the
 * search tools; our fixtures, not their code), each run through both front
 * doors — `run` (renderManifests) and `/mutate` (review + the API server's
 * patch application) — which must agree, plus the transformer laws:
 * - pkg/mutation/mutators/assign/assign_mutator_test.go TestPathTests and
 *   TestAssign (MustExist / MustNotExist, globs, keyed elements created and
 *   replaced, integer keys, fromMetadata);
 * - pkg/mutation/mutators/core/mutation_function_test.go (nested keyed
 *   lists, missing path entries, a path that does not fit the object);
 * - pkg/mutation/mutators/modifyset/modify_set_test.go (merge / prune);
 * - pkg/mutation/mutators/assignmeta/assignmeta_mutator_test.go;
 * - pkg/mutation/mutators/assignimage/imageparser_test.go (domain, path,
 *   tag split) and the mutator's validation;
 * - pkg/mutation/match/match.go and pkg/wildcard (scope, kinds, namespaces,
 *   excludedNamespaces, labelSelector, namespaceSelector, name, source);
 * - pkg/mutation/system.go and ordered_ids.go (order by ID, convergence,
 *   iteration limit).
 */
import t from 'tap';
import YAML from 'yaml';
import { isObject, type JsonObject, type KubeObject } from '../../src/kube/object.js';
import { renderManifests, RenderError } from '../../src/policy/render.js';
import { review } from '../../src/admission/review.js';
import { PolicyError } from '../../src/policy/compile.js';
import { mutatorsOf } from '../../src/policy/gatekeeper.js';
import { parseImage, validateImageParts } from '../../src/policy/gatekeeper-image.js';
import { admit, createReview } from '../helpers/admission.js';
import { checkLaws, gatekeeperPolicy, gatekeeperSet, type Row } from './gatekeeper-helpers.js';

type Obj = JsonObject;

function doc(kind: string, name: string, spec: Obj, version = kind === 'AssignImage' ? 'v1alpha1' : 'v1'): string {
  return YAML.stringify({ apiVersion: `mutations.gatekeeper.sh/${version}`, kind, metadata: { name }, spec });
}

const FOO_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Foo'] }];
const POD_APPLY = [{ groups: [''], versions: ['v1'], kinds: ['Pod'] }];

/** Gatekeeper's test object: `Foo` `my-foo` (cluster-scoped) with `spec`. */
const foo = (spec?: Obj): KubeObject => ({ apiVersion: 'v1', kind: 'Foo', metadata: { name: 'my-foo' }, ...(spec ? { spec } : {}) });
const fooAssign = (location: string, value: unknown, pathTests?: { subPath: string; condition: string }[]): string =>
  doc('Assign', 'foo', { applyTo: FOO_APPLY, location, parameters: { ...(pathTests ? { pathTests } : {}), assign: { value } } } as Obj);
const fooIf = (location: string, value: unknown, assignIf: Obj): string =>
  doc('Assign', 'foo', { applyTo: FOO_APPLY, location, parameters: { assignIf, assign: { value } } } as Obj, 'v1alpha1');
const must = (subPath: string): { subPath: string; condition: string } => ({ subPath, condition: 'MustExist' });
const mustNot = (subPath: string): { subPath: string; condition: string } => ({ subPath, condition: 'MustNotExist' });

const c1c2 = (c1: Obj = {}, c2: Obj = {}): Obj => ({ containers: [{ name: 'c1', securityPolicy: 'so-secure', ...c1 }, { name: 'c2', ...c2 }] });

/** The Pod of assign_mutator_test.go (namespace production). */
const opa = (ports: Obj[] = [{ containerPort: 8080, name: 'out-of-scope' }, { containerPort: 8888, name: 'unchanged' }]): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'opa', namespace: 'production', labels: { owner: 'me.agilebank.demo' } },
  spec: { containers: [{ name: 'opa', image: 'openpolicyagent/opa:0.9.2', args: ['run', '--server', '--addr=localhost:8080'], ports }] },
});
const podAssign = (location: string, value: unknown, extra: Obj = {}): string =>
  doc('Assign', 'a', { applyTo: POD_APPLY, location, parameters: { assign: { value } }, ...extra } as Obj);


const withSpec = (o: KubeObject, spec: Obj): KubeObject => ({ ...o, spec });

/** A cluster-scoped object of `apiVersion`/`kind` named `gk` (Gatekeeper's own kinds and others). */
const gkObject = (apiVersion: string, kind: string): KubeObject => ({ apiVersion, kind, metadata: { name: 'gk' }, spec: { enforcementAction: 'deny' } });

const rows: Row[] = [
  // assign_mutator_test.go TestPathTests
  { name: 'no path test: missing parents created', yaml: fooAssign('spec.please.greet.me', 'hello'), input: foo({}), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'MustExist, value missing: nothing', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet.me')]), input: foo({}), want: foo({}) },
  { name: 'MustExist, parent partly there: nothing', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet.me')]), input: foo({ please: { greet: {} } }), want: foo({ please: { greet: {} } }) },
  { name: 'MustExist, an empty object there: replaced', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet.me')]), input: foo({ please: { greet: { me: {} } } }), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'MustExist, a string there: replaced', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet.me')]), input: foo({ please: { greet: { me: 'never' } } }), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'MustNotExist, value missing: created', yaml: fooAssign('spec.please.greet.me', 'hello', [mustNot('spec.please.greet.me')]), input: foo({}), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'MustNotExist, parent partly there: created', yaml: fooAssign('spec.please.greet.me', 'hello', [mustNot('spec.please.greet.me')]), input: foo({ please: { greet: {} } }), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'MustNotExist, an empty object there: kept', yaml: fooAssign('spec.please.greet.me', 'hello', [mustNot('spec.please.greet.me')]), input: foo({ please: { greet: { me: {} } } }), want: foo({ please: { greet: { me: {} } } }) },
  { name: 'MustNotExist, a string there: kept', yaml: fooAssign('spec.please.greet.me', 'hello', [mustNot('spec.please.greet.me')]), input: foo({ please: { greet: { me: 'never' } } }), want: foo({ please: { greet: { me: 'never' } } }) },
  { name: 'glob + MustNotExist: only where absent', yaml: fooAssign('spec.containers[name:*].securityPolicy', 'made-by-mutation', [mustNot('spec.containers[name:*].securityPolicy')]), input: foo(c1c2()), want: foo(c1c2({}, { securityPolicy: 'made-by-mutation' })) },
  { name: 'glob + MustNotExist: both absent', yaml: fooAssign('spec.containers[name:*].securityPolicy', 'made-by-mutation', [mustNot('spec.containers[name:*].securityPolicy')]), input: foo({ containers: [{ name: 'c1' }, { name: 'c2' }] }), want: foo({ containers: [{ name: 'c1', securityPolicy: 'made-by-mutation' }, { name: 'c2', securityPolicy: 'made-by-mutation' }] }) },
  { name: 'glob + MustExist: only where present', yaml: fooAssign('spec.containers[name:*].securityPolicy', 'made-by-mutation', [must('spec.containers[name:*].securityPolicy')]), input: foo(c1c2()), want: foo(c1c2({ securityPolicy: 'made-by-mutation' })) },
  { name: 'glob + MustExist: both present', yaml: fooAssign('spec.containers[name:*].securityPolicy', 'made-by-mutation', [must('spec.containers[name:*].securityPolicy')]), input: foo(c1c2({}, { securityPolicy: 'so-secure' })), want: foo(c1c2({ securityPolicy: 'made-by-mutation' }, { securityPolicy: 'made-by-mutation' })) },
  { name: 'sidecar + MustNotExist: appended', yaml: fooAssign('spec.containers[name:sidecar]', { name: 'sidecar' }, [mustNot('spec.containers[name:sidecar]')]), input: foo(c1c2()), want: foo({ containers: [...(c1c2().containers as Obj[]), { name: 'sidecar' }] }) },
  { name: 'sidecar + MustNotExist: an existing one is not clobbered', yaml: fooAssign('spec.containers[name:sidecar]', { name: 'sidecar' }, [mustNot('spec.containers[name:sidecar]')]), input: foo({ containers: [...(c1c2().containers as Obj[]), { name: 'sidecar', not: 'clobbered' }] }), want: foo({ containers: [...(c1c2().containers as Obj[]), { name: 'sidecar', not: 'clobbered' }] }) },
  { name: 'override container + MustExist: replaced whole', yaml: fooAssign('spec.containers[name:sidecar]', { name: 'sidecar', clobbered: 'yes' }, [must('spec.containers[name:sidecar]')]), input: foo({ containers: [{ name: 'c1' }, { name: 'sidecar', clobbered: 'no', other: 1 }] }), want: foo({ containers: [{ name: 'c1' }, { name: 'sidecar', clobbered: 'yes' }] }) },
  { name: 'override container (missing) + MustExist: nothing', yaml: fooAssign('spec.containers[name:sidecar]', { name: 'sidecar', clobbered: 'yes' }, [must('spec.containers[name:sidecar]')]), input: foo(c1c2()), want: foo(c1c2()) },
  { name: 'subfield of a keyed element + MustExist on the element', yaml: fooAssign('spec.containers[name:c2].securityPolicy', 'made-by-mutation', [must('spec.containers[name:c2]')]), input: foo(c1c2({}, { securityPolicy: 'so-secure' })), want: foo(c1c2({}, { securityPolicy: 'made-by-mutation' })) },
  { name: 'subfield of a keyed element + MustNotExist on the element: nothing', yaml: fooAssign('spec.containers[name:c2].securityPolicy', 'made-by-mutation', [mustNot('spec.containers[name:c2]')]), input: foo(c1c2({}, { securityPolicy: 'so-secure' })), want: foo(c1c2({}, { securityPolicy: 'so-secure' })) },
  { name: 'subfield of a missing element + MustExist on the leaf: nothing', yaml: fooAssign('spec.containers[name:sidecar].securityPolicy', 'made-by-mutation', [must('spec.containers[name:sidecar].securityPolicy')]), input: foo(c1c2()), want: foo(c1c2()) },
  { name: 'subfield of a missing element + MustExist on the element: nothing', yaml: fooAssign('spec.containers[name:c2].securityPolicy', 'made-by-mutation', [must('spec.containers[name:c2]')]), input: foo({ containers: [{ name: 'c1' }] }), want: foo({ containers: [{ name: 'c1' }] }) },
  { name: 'subfield of a missing element + MustNotExist on the element: element created', yaml: fooAssign('spec.containers[name:c2].securityPolicy', 'made-by-mutation', [mustNot('spec.containers[name:c2]')]), input: foo({ containers: [{ name: 'c1' }] }), want: foo({ containers: [{ name: 'c1' }, { name: 'c2', securityPolicy: 'made-by-mutation' }] }) },
  { name: 'multitest: parent must exist, leaf must not (case 1)', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet'), mustNot('spec.please.greet.me')]), input: foo({ please: { greet: {} } }), want: foo({ please: { greet: { me: 'hello' } } }) },
  { name: 'multitest: parent must exist, leaf must not (case 2)', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet'), mustNot('spec.please.greet.me')]), input: foo({ please: { greet: { me: 'never' } } }), want: foo({ please: { greet: { me: 'never' } } }) },
  { name: 'multitest: parent must exist, leaf must not (case 3)', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet'), mustNot('spec.please.greet.me')]), input: foo({ please: {} }), want: foo({ please: {} }) },
  { name: 'no partial mutation on a failed test', yaml: fooAssign('spec.please.greet.me', 'hello', [must('spec.please.greet')]), input: foo({ please: {} }), want: foo({ please: {} }) },
  // assign_mutator_test.go TestAssign
  { name: 'fromMetadata name into spec', yaml: doc('Assign', 'm', { applyTo: FOO_APPLY, location: 'spec.value', parameters: { assign: { fromMetadata: { field: 'name' } } } }), input: foo({}), want: foo({ value: 'my-foo' }) },
  { name: 'integer key value', yaml: podAssign('spec.containers[name: opa].ports[containerPort: 8888].name', 'modified'), input: opa(), want: opa([{ containerPort: 8080, name: 'out-of-scope' }, { containerPort: 8888, name: 'modified' }]) },
  { name: 'new integer key value: element appended', yaml: podAssign('spec.containers[name: opa].ports[containerPort: 2001].name', 'added'), input: opa(), want: opa([{ containerPort: 8080, name: 'out-of-scope' }, { containerPort: 8888, name: 'unchanged' }, { containerPort: 2001, name: 'added' }]) },
  { name: 'a quoted integer is a string key: no match, element appended', yaml: podAssign('spec.containers[name: opa].ports[containerPort: "8888"].name', 'modified'), input: opa(), want: opa([{ containerPort: 8080, name: 'out-of-scope' }, { containerPort: 8888, name: 'unchanged' }, { containerPort: '8888', name: 'modified' }]) },
  // legacy v1alpha1 assignIf (older assign_mutator.go testValue, core.Mutate valueTest)
  { name: 'assignIf in: a listed value is replaced', yaml: fooIf('spec.a.b', 'new', { in: ['old'] }), input: foo({ a: { b: 'old' } }), want: foo({ a: { b: 'new' } }) },
  { name: 'assignIf in: another value is kept', yaml: fooIf('spec.a.b', 'new', { in: ['old'] }), input: foo({ a: { b: 'other' } }), want: foo({ a: { b: 'other' } }) },
  { name: 'assignIf in: a missing value never passes, and no parent is created', yaml: fooIf('spec.a.b', 'new', { in: ['old'] }), input: foo({}), want: foo({}) },
  { name: 'assignIf notIn: a missing value passes', yaml: fooIf('spec.a.b', 'new', { notIn: ['old'] }), input: foo({}), want: foo({ a: { b: 'new' } }) },
  { name: 'assignIf notIn: a listed value is kept', yaml: fooIf('spec.a.b', 'new', { notIn: ['old'] }), input: foo({ a: { b: 'old' } }), want: foo({ a: { b: 'old' } }) },
  { name: 'assignIf notIn: null is a value, compared deeply', yaml: fooIf('spec.a.b', 'new', { notIn: [null, { k: 1 }] }), input: foo({ a: { b: { k: 1 } } }), want: foo({ a: { b: { k: 1 } } }) },
  { name: 'assignIf in and notIn together', yaml: fooIf('spec.a.b', 'new', { in: ['old', 'older'], notIn: ['older'] }), input: foo({ a: { b: 'older' } }), want: foo({ a: { b: 'older' } }) },
  // core/mutation_function_test.go
  { name: 'nested keyed lists with quoted keys', yaml: podAssign('spec.containers["name": "opa"].ports["name": "unchanged"].hostIP', '10.0.0.1'), input: opa(), want: opa([{ containerPort: 8080, name: 'out-of-scope' }, { containerPort: 8888, name: 'unchanged', hostIP: '10.0.0.1' }]) },
  { name: 'nested globs', yaml: podAssign('spec.containers["name": *].ports["name": *].protocol', 'TCP'), input: opa(), want: opa([{ containerPort: 8080, name: 'out-of-scope', protocol: 'TCP' }, { containerPort: 8888, name: 'unchanged', protocol: 'TCP' }]) },
  { name: 'missing keyed list and element created on the way', yaml: podAssign('spec.element["name": "value"].element2.added', 'yes'), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), element: [{ name: 'value', element2: { added: 'yes' } }] }) },
  { name: 'a location that does not fit the object (list where a map is expected)', yaml: podAssign('spec.containers.ports.protocol', 'TCP'), input: opa(), error: /mismatch between path entry \(type: object\) and received object \(type: \[\]interface \{\}\)/ },
  { name: 'an element that is not a map under a glob', yaml: podAssign('spec.containers[name: *].image', 'x'), input: withSpec(opa(), { containers: ['not-a-map'] }), error: /mismatch between path entry \(type: object\) and received object \(type: string\)/ },
  // modify_set_test.go
  { name: 'ModifySet merge: duplicates not added, order kept', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { values: { fromList: ['a', 'b', 'd'] } } }), input: foo({ field: ['a', 'b', 'c'] }), want: foo({ field: ['a', 'b', 'c', 'd'] }) },
  { name: 'ModifySet merge: lists as members', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'merge', values: { fromList: [['a', 'b', 'd'], ['z', 'y', 'q']] } } }), input: foo({ field: [['a', 'b', 'd'], ['r', 'r', 'r']] }), want: foo({ field: [['a', 'b', 'd'], ['r', 'r', 'r'], ['z', 'y', 'q']] }) },
  { name: 'ModifySet merge into a missing list', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { values: { fromList: ['a', 'b'] } } }), input: foo({}), want: foo({ field: ['a', 'b'] }) },
  { name: 'ModifySet merge into an empty list', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { values: { fromList: ['a'] } } }), input: foo({ field: [] }), want: foo({ field: ['a'] }) },
  { name: 'ModifySet merge with no values', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { values: { fromList: [] } } }), input: foo({ field: ['a', 'b', 'c'] }), want: foo({ field: ['a', 'b', 'c'] }) },
  { name: 'ModifySet merge on a non-list', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { values: { fromList: ['a'] } } }), input: foo({ field: 7 }), error: /not a list of values/ },
  { name: 'ModifySet prune: every copy removed', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: ['a'] } } }), input: foo({ field: ['a', 'b', 'a'] }), want: foo({ field: ['b'] }) },
  { name: 'ModifySet prune: overlapping values', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: ['a', 'b', 'd'] } } }), input: foo({ field: ['a', 'b', 'c'] }), want: foo({ field: ['c'] }) },
  { name: 'ModifySet prune: lists as members', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: [['a', 'b', 'd'], ['z', 'y', 'q']] } } }), input: foo({ field: [['a', 'b', 'd'], ['r', 'r', 'r']] }), want: foo({ field: [['r', 'r', 'r']] }) },
  { name: 'ModifySet prune: a missing list stays missing', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: ['a'] } } }), input: foo({}), want: foo({}) },
  { name: 'ModifySet prune: an empty list stays empty', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: ['a'] } } }), input: foo({ field: [] }), want: foo({ field: [] }) },
  { name: 'ModifySet prune on a non-list', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { operation: 'prune', values: { fromList: ['a'] } } }), input: foo({ field: 7 }), error: /not a list of values/ },
  { name: 'ModifySet with MustExist on the list', yaml: doc('ModifySet', 's', { applyTo: FOO_APPLY, location: 'spec.field', parameters: { pathTests: [must('spec.field')], values: { fromList: ['a'] } } }), input: foo({}), want: foo({}) },
  // assignmeta_mutator_test.go
  { name: 'AssignMetadata fromMetadata name', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.foo', parameters: { assign: { fromMetadata: { field: 'name' } } } }), input: foo({}), want: { ...foo({}), metadata: { name: 'my-foo', labels: { foo: 'my-foo' } } } },
  { name: 'AssignMetadata never overwrites an existing label', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: opa(), want: opa() },
  { name: 'AssignMetadata an annotation with a quoted key', yaml: doc('AssignMetadata', 'm', { location: 'metadata.annotations."example.com/owner"', parameters: { assign: { value: 'x' } } }), input: opa(), want: { ...opa(), metadata: { ...(opa().metadata as Obj), annotations: { 'example.com/owner': 'x' } } } },
  // assignimage: imageparser_test.go splits, mutated
  { name: 'AssignImage domain: path and tag kept', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignDomain: 'my.reg.io' } }), input: foo({ image: 'gcr.io/some-image/hello:latest' }), want: foo({ image: 'my.reg.io/some-image/hello:latest' }) },
  { name: 'AssignImage domain on a digest', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignDomain: 'my.reg.io' } }), input: foo({ image: 'some-image/hello@sha256:abcde' }), want: foo({ image: 'my.reg.io/some-image/hello@sha256:abcde' }) },
  { name: 'AssignImage domain with a port replaces one with a port', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignDomain: 'localhost:5000' } }), input: foo({ image: 'this.that.com:5000/repo/alpine:latest' }), want: foo({ image: 'localhost:5000/repo/alpine:latest' }) },
  { name: 'AssignImage tag replaces a digest', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignTag: ':latest' } }), input: foo({ image: 'some-image/hello@sha256:abcde' }), want: foo({ image: 'some-image/hello:latest' }) },
  { name: 'AssignImage digest replaces a tag', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignTag: '@sha256:12345678901234567890123456789012' } }), input: foo({ image: 'alpine:3.19' }), want: foo({ image: 'alpine@sha256:12345678901234567890123456789012' }) },
  { name: 'AssignImage path: a dotted first path part stays path under a domain', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignPath: 'repo/app' } }), input: foo({ image: 'x.y.z/gcr.io/repo:latest' }), want: foo({ image: 'x.y.z/repo/app:latest' }) },
  { name: 'AssignImage on a leading-underscore path (no domain)', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignDomain: 'my.reg.io' } }), input: foo({ image: '_/alpine:latest' }), want: foo({ image: 'my.reg.io/_/alpine:latest' }) },
  { name: 'AssignImage on a non-string is an error', yaml: doc('AssignImage', 'i', { applyTo: FOO_APPLY, location: 'spec.image', parameters: { assignTag: ':x' } }), input: foo({ image: 7 }), error: /expected value at AssignImage location to be a string/ },
  // match.go / wildcard
  { name: 'match.namespaces infix glob', yaml: podAssign('spec.x', 1, { match: { namespaces: ['*oduct*'] } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.excludedNamespaces exact', yaml: podAssign('spec.x', 1, { match: { excludedNamespaces: ['production'] } }), input: opa(), want: opa() },
  { name: 'match.scope Namespaced', yaml: podAssign('spec.x', 1, { match: { scope: 'Namespaced' } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.scope: another value matches everything (a typo is not a filter)', yaml: podAssign('spec.x', 1, { match: { scope: 'cluster' } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.kinds: * group', yaml: podAssign('spec.x', 1, { match: { kinds: [{ apiGroups: ['*'], kinds: ['Pod'] }] } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.kinds: empty kinds list matches any kind', yaml: podAssign('spec.x', 1, { match: { kinds: [{ apiGroups: [''] }] } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.labelSelector matchExpressions', yaml: podAssign('spec.x', 1, { match: { labelSelector: { matchExpressions: [{ key: 'owner', operator: 'In', values: ['me.agilebank.demo'] }] } } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.namespaceSelector: the namespace labels', yaml: podAssign('spec.x', 1, { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }), input: opa(), namespaceLabels: { env: 'prod' }, want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.namespaceSelector: other labels', yaml: podAssign('spec.x', 1, { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }), input: opa(), namespaceLabels: { env: 'dev' }, want: opa() },
  { name: 'match.namespaceSelector: a cluster-scoped object always matches', yaml: doc('Assign', 'a', { applyTo: FOO_APPLY, match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, location: 'spec.x', parameters: { assign: { value: 1 } } }), input: foo({}), want: foo({ x: 1 }) },
  { name: 'match.name exact', yaml: podAssign('spec.x', 1, { match: { name: 'opa' } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.name suffix glob', yaml: podAssign('spec.x', 1, { match: { name: '*pa' } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.name other', yaml: podAssign('spec.x', 1, { match: { name: 'op' } }), input: opa(), want: opa() },
  { name: 'match.source Original', yaml: podAssign('spec.x', 1, { match: { source: 'Original' } }), input: opa(), want: withSpec(opa(), { ...(opa().spec as Obj), x: 1 }) },
  { name: 'match.source Generated never matches here', yaml: podAssign('spec.x', 1, { match: { source: 'Generated' } }), input: opa(), want: opa() },
  { name: 'applyTo: another version does not apply', yaml: doc('Assign', 'a', { applyTo: [{ groups: [''], versions: ['v2'], kinds: ['Pod'] }], location: 'spec.x', parameters: { assign: { value: 1 } } }), input: opa(), want: opa() },
];

/** The object after `run` (one document in, one out); throws RenderError. */
function viaRun(set: ReturnType<typeof gatekeeperSet>, input: KubeObject, nsLabels?: Record<string, string>): KubeObject {
  const ns = String((input.metadata as Obj).namespace ?? '');
  const out = renderManifests(YAML.stringify(input), set, nsLabels ? { namespaceLabels: { [ns]: nsLabels } } : {});
  const docs = YAML.parseAllDocuments(out.output).map((d) => d.toJS() as KubeObject).filter(isObject);
  return docs[0] as KubeObject;
}

/** The object the API server stores after `/mutate`, or the denial message. */
function viaMutate(set: ReturnType<typeof gatekeeperSet>, input: KubeObject, nsLabels?: Record<string, string>): { object?: KubeObject; denied?: string } {
  const body = review(createReview(input, 'u', {}), set, { route: 'mutate', ...(nsLabels ? { namespaceLabels: () => nsLabels } : {}) }).body;
  const { response, admitted } = admit(input, body);
  if (response.allowed !== true) return { denied: String((response.status as Obj | undefined)?.message ?? '') };
  return { object: admitted as KubeObject };
}

t.test('Gatekeeper mutation rows: run and /mutate agree, with the laws', async (t) => {
  for (const r of rows) {
    const set = gatekeeperSet(r.yaml);
    const p = gatekeeperPolicy(r.yaml);
    if (r.error) {
      t.throws(() => viaRun(set, r.input, r.namespaceLabels), RenderError, `${r.name}: run fails`);
      try {
        viaRun(set, r.input, r.namespaceLabels);
      } catch (e) {
        t.match((e as RenderError).lines.join('\n'), r.error, `${r.name}: run reason`);
      }
      const m = viaMutate(set, r.input, r.namespaceLabels);
      t.match(m.denied, r.error, `${r.name}: /mutate denies with the reason`);
      continue;
    }
    if (!r.namespaceLabels) t.same(checkLaws(t, r.name, p.transformers, r.input, String((r.input.metadata as Obj).namespace ?? '')), r.want, `${r.name}: transformers`);
    t.same(viaRun(set, r.input, r.namespaceLabels), r.want, `${r.name}: run`);
    t.same(viaMutate(set, r.input, r.namespaceLabels).object, r.want, `${r.name}: /mutate`);
  }
});

t.test('Gatekeeper\'s own resources are never mutated (webhook/common.go isGatekeeperResource, asked by webhook/mutation.go Handle before any mutator)', async (t) => {
  // a policy-level exclusion (as the default exclusions): run and /mutate, not the bare transformers
  const rows: Row[] = [
    { name: 'AssignMetadata on every kind: a ConstraintTemplate is left alone', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: gkObject('templates.gatekeeper.sh/v1', 'ConstraintTemplate'), want: gkObject('templates.gatekeeper.sh/v1', 'ConstraintTemplate') },
    { name: 'AssignMetadata on every kind: a constraint is left alone', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: gkObject('constraints.gatekeeper.sh/v1beta1', 'K8sRequiredLabels'), want: gkObject('constraints.gatekeeper.sh/v1beta1', 'K8sRequiredLabels') },
    { name: 'AssignMetadata on every kind: a mutator is left alone', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: gkObject('mutations.gatekeeper.sh/v1', 'Assign'), want: gkObject('mutations.gatekeeper.sh/v1', 'Assign') },
    { name: 'AssignMetadata on every kind: a Provider is left alone', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: gkObject('externaldata.gatekeeper.sh/v1beta1', 'Provider'), want: gkObject('externaldata.gatekeeper.sh/v1beta1', 'Provider') },
    { name: 'an Assign whose applyTo names a constraint kind still leaves it alone', yaml: doc('Assign', 'a', { applyTo: [{ groups: ['constraints.gatekeeper.sh'], versions: ['v1beta1'], kinds: ['K8sRequiredLabels'] }], location: 'spec.enforcementAction', parameters: { assign: { value: 'dryrun' } } }), input: gkObject('constraints.gatekeeper.sh/v1beta1', 'K8sRequiredLabels'), want: gkObject('constraints.gatekeeper.sh/v1beta1', 'K8sRequiredLabels') },
    { name: 'AssignMetadata on every kind: another group\'s object is labelled', yaml: doc('AssignMetadata', 'm', { location: 'metadata.labels.owner', parameters: { assign: { value: 'x' } } }), input: gkObject('gatekeeper.example.com/v1', 'Widget'), want: { ...gkObject('gatekeeper.example.com/v1', 'Widget'), metadata: { name: 'gk', labels: { owner: 'x' } } } },
  ];
  for (const r of rows) {
    const set = gatekeeperSet(r.yaml);
    t.same(viaRun(set, r.input), r.want, `${r.name}: run`);
    t.same(viaMutate(set, r.input).object, r.want, `${r.name}: /mutate`);
  }
});

t.test('fromMetadata namespace reads the request\'s namespace, and none for a Namespace (webhook/mutation.go mutateRequest)', async (t) => {
  const yaml = doc('AssignMetadata', 'ns', { location: 'metadata.annotations.ns', parameters: { assign: { fromMetadata: { field: 'namespace' } } } });
  const set = gatekeeperSet(yaml);
  const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const pod = (md: Obj = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...md }, spec: { containers: [] } });
  // [name, object, request namespace, operation, annotation Gatekeeper writes]
  const rows: [string, KubeObject, string, 'CREATE' | 'UPDATE', string][] = [
    ['a Namespace UPDATE (the API server sends its own name as the request namespace)', ns('team-a'), 'team-a', 'UPDATE', ''],
    ['a Namespace CREATE', ns('team-a'), '', 'CREATE', ''],
    ['a Pod without metadata.namespace: the request\'s', pod(), 'prod', 'CREATE', 'prod'],
    ['a Pod with its namespace', pod({ namespace: 'prod' }), 'prod', 'UPDATE', 'prod'],
  ];
  for (const [name, input, namespace, operation, want] of rows) {
    const body = review(createReview(input, 'u', { namespace, operation }), set, { route: 'mutate' }).body;
    const { response, admitted } = admit(input, body);
    t.equal(response.allowed, true, `${name}: allowed`);
    t.equal(((admitted.metadata as Obj).annotations as Obj | undefined)?.ns, want, `${name}: /mutate`);
  }
  t.equal(((viaRun(set, ns('team-a')).metadata as Obj).annotations as Obj).ns, '', 'a Namespace in run');
});

t.test('run: a field set to null counts as missing, as the API server drops it before Gatekeeper sees the object', async (t) => {
  // gatekeeper-library mutation/pod-security-policy/users/samples/mutation-mustRunAsNonRoot.yaml
  const nonRoot = podAssign('spec.containers[name:*].securityContext.runAsNonRoot', true, { parameters: { pathTests: [mustNot('spec.containers[name:*].securityContext.runAsNonRoot')], assign: { value: true } } });
  const podWith = (c: Obj, md: Obj = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'production', ...md }, spec: { containers: [{ name: 'c', image: 'nginx', ...c }] } });
  // [name, mutator, input as rendered (with nulls), the same object as the API server admits it (nulls dropped), both doors' result]
  const rows: [string, string, KubeObject, KubeObject, KubeObject][] = [
    ['Assign through a null securityContext', nonRoot, podWith({ securityContext: null }), podWith({}), podWith({ securityContext: { runAsNonRoot: true } })],
    ['Assign with MustNotExist on a null leaf', nonRoot, podWith({ securityContext: { runAsNonRoot: null } }), podWith({ securityContext: {} }), podWith({ securityContext: { runAsNonRoot: true } })],
    ['ModifySet merge into a null list', doc('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name:*].args', parameters: { values: { fromList: ['--v=2'] } } }), podWith({ args: null }), podWith({}), podWith({ args: ['--v=2'] })],
    ['AssignImage on a null image', doc('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name:*].image', parameters: { assignTag: ':1' } }), podWith({ image: null }), { ...podWith({}), spec: { containers: [{ name: 'c' }] } }, podWith({ image: ':1' })],
    ['AssignMetadata under null labels', doc('AssignMetadata', 'm', { location: 'metadata.labels.team', parameters: { assign: { value: 'a' } } }), podWith({}, { labels: null }), podWith({}), podWith({}, { labels: { team: 'a' } })],
  ];
  for (const [name, yaml, rendered, admitted, want] of rows) {
    const set = gatekeeperSet(yaml);
    t.same(viaRun(set, rendered), want, `${name}: run`);
    t.same(viaMutate(set, admitted).object, want, `${name}: /mutate of what the API server admits`);
  }
  // at admission the object is taken as sent: a null on the way (a nullable CRD field) is Gatekeeper's type mismatch
  const m = viaMutate(gatekeeperSet(fooAssign('spec.a.b', 1)), foo({ a: null }));
  t.match(m.denied, /mismatch between path entry \(type: object\) and received object \(type: <nil>\)/, '/mutate: a null on the way is still a mismatch');
});

/** Warnings and object of both front doors for `input`. */
function bothDoors(set: ReturnType<typeof gatekeeperSet>, input: KubeObject): { run: KubeObject; runWarnings: string[]; mutate?: KubeObject; mutateWarnings: string[] } {
  const out = renderManifests(YAML.stringify(input), set);
  const run = YAML.parseAllDocuments(out.output).map((d) => d.toJS() as KubeObject).filter(isObject)[0] as KubeObject;
  const body = review(createReview(input, 'u', {}), set, { route: 'mutate' }).body;
  const { response, admitted } = admit(input, body);
  return { run, runWarnings: out.warnings, mutate: admitted as KubeObject, mutateWarnings: (response.warnings as string[] | undefined) ?? [] };
}

t.test('order: by kind, then name, byte-wise (ordered_ids.go greaterOrEqual); the last writer of a field wins', async (t) => {
  const names = ['b', 'ab', 'a-b', 'a.b', 'a1', 'aa'];
  const yaml = names.map((n) => podAssign('spec.x', n).replace('name: a\n', `name: ${n}\n`)).join('---\n')
    + '---\n' + doc('ModifySet', 'a', { applyTo: POD_APPLY, location: 'spec.y', parameters: { values: { fromList: ['m'] } } })
    + '---\n' + doc('AssignImage', 'z', { applyTo: POD_APPLY, location: 'spec.containers[name: opa].image', parameters: { assignTag: ':1' } })
    + '---\n' + doc('AssignMetadata', 'a', { location: 'metadata.labels.x', parameters: { assign: { value: 'y' } } });
  const p = gatekeeperPolicy(yaml);
  t.same(mutatorsOf(p)?.map((m) => m.id), ['Assign/a-b', 'Assign/a.b', 'Assign/a1', 'Assign/aa', 'Assign/ab', 'Assign/b', 'AssignImage/z', 'AssignMetadata/a', 'ModifySet/a'], 'Gatekeeper\'s order');
  const d = bothDoors(gatekeeperSet(yaml), opa());
  t.equal((d.run.spec as Obj).x, 'b', 'run: the last Assign in the order wins');
  t.same(d.mutate, d.run, '/mutate == run');
});

t.test('schema conflicts: mutators whose locations disagree are never applied (schema/node.go, system.go)', async (t) => {
  const rows: { name: string; mutators: string[]; applied: string[]; conflicted: string[] }[] = [
    { name: 'a keyed list and an object at the same field', mutators: [podAssign('spec.containers[name: opa].image', 'x'), podAssign('spec.containers.image', 'y').replace('name: a\n', 'name: b\n')], applied: [], conflicted: ['Assign/a', 'Assign/b'] },
    { name: 'one list keyed by two fields', mutators: [podAssign('spec.containers[name: opa].image', 'x'), podAssign('spec.containers[image: y].name', 'z').replace('name: a\n', 'name: b\n')], applied: [], conflicted: ['Assign/a', 'Assign/b'] },
    { name: 'a set (ModifySet) where an Assign goes deeper', mutators: [doc('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: opa].args', parameters: { values: { fromList: ['--x'] } } }), podAssign('spec.containers[name: opa].args.x', 'y')], applied: [], conflicted: ['Assign/a', 'ModifySet/s'] },
    { name: 'an AssignImage string must terminate', mutators: [doc('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: opa].image', parameters: { assignTag: ':1' } }), podAssign('spec.containers[name: opa].image.x', 'y')], applied: [], conflicted: ['Assign/a', 'AssignImage/i'] },
    { name: 'an Assign of unknown type does not conflict with a set', mutators: [doc('ModifySet', 's', { applyTo: POD_APPLY, location: 'spec.containers[name: opa].args', parameters: { values: { fromList: ['--x'] } } }), podAssign('spec.containers[name: opa].args', ['run'])], applied: ['Assign/a', 'ModifySet/s'], conflicted: [] },
    { name: 'different kinds never conflict', mutators: [podAssign('spec.containers[name: opa].image', 'x'), doc('Assign', 'b', { applyTo: FOO_APPLY, location: 'spec.containers.image', parameters: { assign: { value: 'y' } } })], applied: ['Assign/a'], conflicted: [] },
    { name: 'a third mutator on the same kind still applies', mutators: [podAssign('spec.containers[name: opa].image', 'x'), podAssign('spec.containers.image', 'y').replace('name: a\n', 'name: b\n'), podAssign('spec.priority', 1).replace('name: a\n', 'name: c\n')], applied: ['Assign/c'], conflicted: ['Assign/a', 'Assign/b'] },
  ];
  for (const r of rows) {
    const yaml = r.mutators.join('---\n');
    const d = bothDoors(gatekeeperSet(yaml), opa());
    t.same(d.mutate, d.run, `${r.name}: /mutate == run`);
    for (const id of r.conflicted) {
      t.ok(d.runWarnings.some((w) => w.includes(id) && /implied schema conflicts/.test(w)), `${r.name}: run warns that ${id} is not applied`);
      t.ok(d.mutateWarnings.some((w) => w.includes(id) && /implied schema conflicts/.test(w)), `${r.name}: /mutate warns that ${id} is not applied`);
    }
    if (r.conflicted.length === 0) t.same(d.runWarnings, [], `${r.name}: no warning`);
    const changed = JSON.stringify(d.run) !== JSON.stringify(opa());
    t.equal(changed, r.applied.length > 0, `${r.name}: ${r.applied.length ? 'applied' : 'nothing applied'}`);
  }
});

t.test('AssignImage: Gatekeeper\'s split and validation (imageparser_test.go)', async (t) => {
  const splits: [string, string, string, string][] = [
    ['gcr.io/some-image/hello:latest', 'gcr.io', 'some-image/hello', ':latest'],
    ['', '', '', ''],
    ['some-image/hello@sha256:abcde', '', 'some-image/hello', '@sha256:abcde'],
    ['some-image/hello:latest', '', 'some-image/hello', ':latest'],
    ['some-image:tag123', '', 'some-image', ':tag123'],
    ['alpine', '', 'alpine', ''],
    ['_/alpine:latest', '', '_/alpine', ':latest'],
    ['library/busybox:v9', '', 'library/busybox', ':v9'],
    ['this.that.com:5000/repo/alpine:latest', 'this.that.com:5000', 'repo/alpine', ':latest'],
    ['localhost:5000/repo/alpine:latest', 'localhost:5000', 'repo/alpine', ':latest'],
    ['localhost/repo', 'localhost', 'repo', ''],
    ['x.y.z/gcr.io/repo:latest', 'x.y.z', 'gcr.io/repo', ':latest'],
    ['x.io/get/ready4.//this/not.good:404@yikes/bad/string', 'x.io', 'get/ready4.//this/not.good', ':404@yikes/bad/string'],
  ];
  for (const [ref, domain, path, tag] of splits) t.same(parseImage(ref), { domain, path, tag }, `split ${JSON.stringify(ref)}`);
  const DIGEST = '@sha256:12345678901234567890123456789012';
  const valid: [string, string, string][] = [
    ['my.register.io:5000', 'lib/stuff/app', ':latest'], ['localhost:5000', '', ''], ['localhost', '', ''], ['a.b.c', '', ''],
    ['a-b-c.com:5000', '', ''], ['a.b.c:123', '', ''], ['', 'lib/stuff', ''], ['my.reg.io:5000', 'a.b.c/stuff', ''],
    ['', 'lib/stuff-app__thing/a/b--c/e', ''], ['', '', ':latest'], ['', '', DIGEST],
  ];
  for (const [domain, path, tag] of valid) t.equal(validateImageParts({ domain, path, tag }), '', `valid ${domain}|${path}|${tag}`);
  const invalid: [string, string, string, RegExp][] = [
    ['', '', '', /at least one of/],
    ...['foobar', '.foobar', 'foobar.', 'foobar.:5000', 'foobar/:5000', '.foobar.', 'a_b_c:123', '/not.ok.io:2000', 'not.ok.io:2000/', 'not/ok/io', 'my.reg.io:abc2000', 'my.reg.io:2000:', 'my.reg.io::2000', 'my.reg.io:latest', 'my.reg.io@sha256:abcde123456789', ';!234.com']
      .map((d): [string, string, string, RegExp] => [d, '', '', /^assignDomain ".*" does not match pattern/]),
    ['', 'a.b.c/stuff', ':latest', /assignDomain must be set if the first part of assignPath/],
    ['', 'localhost/stuff', '', /assignDomain must be set/],
    ...['lib/stuff/app/', '/lib/stuff/app'].map((p): [string, string, string, RegExp] => ['', p, '', /^assignPath ".*" does not match pattern/]),
    ...[':lib/stuff/app', '@lib/stuff/app', 'lib/stuff/app:', 'lib/stuff/app@', 'lib/stuff:things/app'].map((p): [string, string, string, RegExp] => ['my.register.io:5000', p, '', /^assignPath ".*" does not match pattern/]),
    ...['latest', 'sha256:12345678901234567890123456789012', '@sha256:123456', '@sha256:1XYZ5678901234567890123456789012', '/:latest', ':latest/', ':latest:', ':latest@', ':lat:est', `${DIGEST}${DIGEST}`, '::latest', '@@sha256:1XYZ5678901234567890123456789012', '@:latest']
      .map((tg): [string, string, string, RegExp] => ['', '', tg, /^assignTag ".*" does not match pattern/]),
  ];
  for (const [domain, path, tag, re] of invalid) {
    t.match(validateImageParts({ domain, path, tag }), re, `invalid ${domain}|${path}|${tag}`);
    // and as a mutator, refused at load with the reason
    const yaml = doc('AssignImage', 'i', { applyTo: POD_APPLY, location: 'spec.containers[name: *].image', parameters: { ...(domain ? { assignDomain: domain } : {}), ...(path ? { assignPath: path } : {}), ...(tag ? { assignTag: tag } : {}) } });
    t.throws(() => gatekeeperPolicy(yaml), PolicyError, `${domain}|${path}|${tag}: refused at load`);
  }
});

t.test('empty specs are refused with Gatekeeper\'s first reason (Test_*_errors)', async (t) => {
  const rows: [string, string, RegExp][] = [
    ['Assign', doc('Assign', 'a', {}), /empty path/],
    ['AssignMetadata', doc('AssignMetadata', 'a', {}), /invalid location for assignmetadata a/],
    ['ModifySet', doc('ModifySet', 'a', {}), /applyTo required for ModifySet mutator a/],
    ['Assign, name over 63', doc('Assign', 'a'.repeat(64), {}), /maximum name length is 63 characters/],
    ['ModifySet, name over 63', doc('ModifySet', 'a'.repeat(64), {}), /maximum name length is 63 characters/],
    ['AssignMetadata, name over 63', doc('AssignMetadata', 'a'.repeat(64), {}), /maximum name length is 63 characters/],
    ['Assign: a value that changes the key of the element it replaces', podAssign('spec.containers[name: opa]', { name: 'other' }), /adding object to list with different key name/],
    ['Assign: a location ending in a list, a scalar value', podAssign('spec.containers[name: x]', 'notExists'), /only objects can be added to keyed lists/],
  ];
  for (const [name, yaml, re] of rows) t.throws(() => gatekeeperPolicy(yaml), { name: 'PolicyError', reason: re }, name);
});
