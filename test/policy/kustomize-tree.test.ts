/**
 * Kustomizations as kustomize composes them (src/policy/kustomization.ts):
 * the fixture tree test/data/kustomize-tree (base + component + overlay, with
 * images, labels, patches and replicas at each level) through `run -c overlay`
 * equals the recorded `kubectl kustomize overlay` (expected.yaml, regenerated
 * as scripts/gen-conformance-case.sh says) and, when kubectl is installed,
 * `kubectl kustomize` itself; then a table of load errors and accepted trees.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/cases.js';
import { compareStreams } from '../helpers/yaml11.js';
import { loadPolicies } from '../../src/policy/load.js';
import { PolicyError } from '../../src/policy/compile.js';
import type { PolicyErrorCode } from '../../src/errors.js';
import { renderManifests } from '../../src/policy/render.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';

const TREE = join(REPO_ROOT, 'test', 'data', 'kustomize-tree');
const input = readFileSync(join(TREE, 'base', 'input.yaml'), 'utf8');

function runTree(dir: string, text: string): string {
  return renderManifests(text, loadPolicies([join(dir, 'overlay')], { frontDoor: 'render' }).set).output;
}

t.test('run -c overlay == the recorded kubectl kustomize overlay', (t) => {
  const got = runTree(TREE, input);
  t.equal(compareStreams(got, readFileSync(join(TREE, 'expected.yaml'), 'utf8')), null);
  // Not a fixed point, as in kustomize: the base's no-target patch names web without a namespace, which the output has.
  t.equal(readFileSync(join(TREE, 'base', 'input.yaml'), 'utf8'), input, 'input untouched');
  t.end();
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const noKubectl = (kubectl.error || kubectl.status !== 0) && 'kubectl not installed (optional oracle)';

t.test('run -c overlay == kubectl kustomize overlay (oracle)', { skip: noKubectl }, (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kustomize-tree-'));
  cpSync(TREE, work, { recursive: true });
  const want = spawnSync('kubectl', ['kustomize', join(work, 'overlay')], { encoding: 'utf8' });
  t.equal(want.status, 0, want.stderr);
  t.equal(compareStreams(runTree(work, input), want.stdout), null);
  t.end();
});

/** Writes a tree of files under a fresh directory; returns its path. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ktree-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const component = (body: string): string => `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n${body}`;

interface ErrorRow {
  name: string;
  files: Record<string, string>;
  /** File (relative to the tree) the error must name. */
  file: string;
  path: string;
  reason: RegExp;
  /** Its stable code (src/errors.ts, docs/errors.md). */
  code: PolicyErrorCode;
}

const errors: ErrorRow[] = [
  { name: 'remote resource (URL)', code: 'ERR_POLICY_KUSTOMIZE_REMOTE', files: { 'o/kustomization.yaml': 'resources:\n- https://github.com/org/repo//base?ref=v1\n' }, file: 'o/kustomization.yaml', path: 'resources[0]', reason: /remote resources entry .* not supported/ },
  { name: 'remote resource (go-getter style)', code: 'ERR_POLICY_KUSTOMIZE_REMOTE', files: { 'o/kustomization.yaml': 'resources:\n- github.com/org/repo/base\n' }, file: 'o/kustomization.yaml', path: 'resources[0]', reason: /remote resources entry/ },
  { name: 'remote component', code: 'ERR_POLICY_KUSTOMIZE_REMOTE', files: { 'o/kustomization.yaml': 'components:\n- git@github.com:org/repo.git\n' }, file: 'o/kustomization.yaml', path: 'components[0]', reason: /remote components entry/ },
  { name: 'cycle names the path', code: 'ERR_POLICY_KUSTOMIZE_CYCLE', files: { 'o/kustomization.yaml': 'resources:\n- ../b\n', 'b/kustomization.yaml': 'resources:\n- ../o\n' }, file: 'b/kustomization.yaml', path: 'resources[0]', reason: /^cycle: .*\/o -> .*\/b -> .*\/o$/ },
  { name: 'component under resources', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': 'resources:\n- ../c\n', 'c/kustomization.yaml': component('commonAnnotations: {a: b}\n') }, file: 'o/kustomization.yaml', path: 'resources[0]', reason: /expected kind != 'Component'/ },
  { name: 'kustomization under components', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': 'components:\n- ../b\n', 'b/kustomization.yaml': 'commonAnnotations: {a: b}\n' }, file: 'o/kustomization.yaml', path: 'components[0]', reason: /expected kind 'Component' .* but got 'Kustomization'/ },
  { name: 'missing component directory', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': 'components:\n- ../nope\n' }, file: 'o/kustomization.yaml', path: 'components[0]', reason: /must be a directory holding a kustomization \(no such directory\)/ },
  { name: 'directory without a kustomization', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': 'resources:\n- ../b\n', 'b/deploy.yaml': 'kind: X\n' }, file: 'o/kustomization.yaml', path: 'resources[0]', reason: /unable to find one of 'kustomization.yaml'/ },
  { name: 'two bases with transforms', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': 'resources:\n- ../a\n- ../b\n', 'a/kustomization.yaml': 'namespace: a\n', 'b/kustomization.yaml': 'namespace: b\n' }, file: 'o/kustomization.yaml', path: 'resources[1]', reason: /two bases carry transforms \(\.\.\/a and \.\.\/b\)/ },
  { name: 'a Component on its own', code: 'ERR_POLICY_KUSTOMIZE_TREE', files: { 'o/kustomization.yaml': component('namespace: x\n') }, file: 'o/kustomization.yaml', path: 'kind', reason: /not loaded on its own/ },
  { name: 'Component with the Kustomization apiVersion', code: 'ERR_POLICY_SCHEMA', files: { 'o/kustomization.yaml': 'components: [../c]\n', 'c/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\n' }, file: 'c/kustomization.yaml', path: 'apiVersion', reason: /apiVersion for Component should be kustomize.config.k8s.io\/v1alpha1/ },
  { name: 'unsupported field in a base names the base file', code: 'ERR_POLICY_UNSUPPORTED', files: { 'o/kustomization.yaml': 'resources: [../b]\n', 'b/kustomization.yaml': 'namePrefix: x-\n' }, file: 'b/kustomization.yaml', path: 'namePrefix', reason: /not supported: namePrefix/ },
  { name: 'bad patch in a component names the component file', code: 'ERR_POLICY_TRANSFORMER_CONFIG', files: { 'o/kustomization.yaml': 'components: [../c]\n', 'c/kustomization.yaml': component('patches:\n- path: missing.yaml\n') }, file: 'c/kustomization.yaml', path: 'patches[0].path', reason: /missing\.yaml/ },
  { name: 'a bare document in a file not named like a kustomization', code: 'ERR_POLICY_NOT_A_POLICY', files: { 'o/policy.yaml': 'namespace: x\n' }, file: 'o/policy.yaml', path: '', reason: /not a policy \(undefined undefined\)/ },
];

for (const row of errors) {
  t.test(`load error: ${row.name}`, (t) => {
    const root = tree(row.files);
    const entry = Object.keys(row.files)[0] as string;
    const target = entry.endsWith('kustomization.yaml') ? dirname(join(root, entry)) : join(root, entry);
    const err = t.throws(() => loadPolicies([target])) as unknown;
    t.ok(err instanceof PolicyError, String(err));
    const e = err as PolicyError;
    t.equal(e.source.file, join(root, row.file), 'names the file');
    if (row.path) t.equal(e.path, row.path);
    t.match(e.reason.replaceAll(root, ''), row.reason);
    t.equal(e.code, row.code, 'its code');
    t.end();
  });
}

const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25\n';

interface OkRow {
  name: string;
  files: Record<string, string>;
  /** Directory or file passed to -c. */
  entry: string;
  /** Expected annotations and image of the Deployment after run. */
  annotations: Record<string, string>;
  image: string;
}

const accepted: OkRow[] = [
  { name: 'bare kustomization.yaml', files: { 'o/kustomization.yaml': 'commonAnnotations: {a: b}\nimages: [{name: nginx, newTag: "1.27"}]\n' }, entry: 'o', annotations: { a: 'b' }, image: 'nginx:1.27' },
  { name: 'bare kustomization.yml given as a file', files: { 'o/kustomization.yml': 'commonAnnotations: {a: b}\n' }, entry: 'o/kustomization.yml', annotations: { a: 'b' }, image: 'nginx:1.25' },
  { name: 'bare Kustomization file', files: { 'o/Kustomization': 'commonAnnotations: {a: b}\n' }, entry: 'o', annotations: { a: 'b' }, image: 'nginx:1.25' },
  { name: 'file resources (present or not) are ignored', files: { 'o/kustomization.yaml': 'resources: [deploy.yaml, missing.yaml]\ncommonAnnotations: {a: b}\n', 'o/deploy.yaml': 'kind: Ignored\n' }, entry: 'o', annotations: { a: 'b' }, image: 'nginx:1.25' },
  {
    name: 'a second base without transforms is fine; base first, then components, then the overlay',
    files: {
      'o/kustomization.yaml': 'resources: [../b, ../crds]\ncomponents: [../c]\ncommonAnnotations: {level: overlay}\nimages: [{name: mirror/nginx, newTag: "2"}]\n',
      'b/kustomization.yaml': 'resources: [deploy.yaml]\ncommonAnnotations: {level: base, base: seen}\nimages: [{name: nginx, newName: mirror/nginx}]\n',
      'crds/kustomization.yaml': 'resources: [crd.yaml]\n',
      'c/kustomization.yaml': component('commonAnnotations: {level: component, component: seen}\n'),
    },
    entry: 'o',
    annotations: { level: 'overlay', base: 'seen', component: 'seen' },
    image: 'mirror/nginx:2',
  },
  { name: 'deprecated imageTags after images', files: { 'o/kustomization.yaml': 'imageTags: [{name: mirror/nginx, newTag: "3"}]\nimages: [{name: nginx, newName: mirror/nginx}]\n' }, entry: 'o', annotations: {}, image: 'mirror/nginx:3' },
];

for (const row of accepted) {
  t.test(`accepted: ${row.name}`, (t) => {
    const root = tree(row.files);
    const out = renderManifests(deployment, loadPolicies([join(root, row.entry)], { frontDoor: 'render' }).set).output;
    const obj = parseManifests(out)[0]?.value as { metadata: { annotations?: Record<string, string> }; spec: { template: { spec: { containers: { image: string }[] } } } };
    t.same(obj.metadata.annotations ?? {}, row.annotations);
    t.equal(obj.spec.template.spec.containers[0]?.image, row.image);
    t.end();
  });
}
