/**
 * Empty policy sets and directories (issue 16): `run` and `check` refuse an
 * empty set (exit 2, "no policies found in ...") unless `--allow-empty`;
 * `-c DIR` reads subdirectories, skipping fixture files of other API groups;
 * a subdirectory holding a kustomization file is that Kustomization.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../../src/cli/run.js';
import { checkCommand } from '../../src/cli/check.js';
import { expandPolicyPath, loadPolicies } from '../../src/policy/load.js';
import { captureOutput } from '../helpers/capture.js';

const repo = resolve(import.meta.dirname, '../..');

const root = mkdtempSync(join(tmpdir(), 'kpr-paths-'));
const empty = join(root, 'empty');
mkdirSync(empty);
const onlyFixtures = join(root, 'fixtures');
mkdirSync(join(onlyFixtures, 'sub'), { recursive: true });
writeFileSync(join(onlyFixtures, 'sub', 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n');
const manifests = join(root, 'in.yaml');
writeFileSync(manifests, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');

t.test('an empty set is exit 2 for run and check, unless --allow-empty', async (t) => {
  for (const dir of [empty, onlyFixtures]) {
    const run = await captureOutput(() => runCommand({ config: [dir], file: manifests }));
    t.equal(run.code, 2, `run -c ${dir}: exit 2`);
    t.match(run.stderr, `kube-postrender: no policies found in ${dir}`, 'run: one-line reason');
    t.equal(run.stdout, '', 'run: nothing on stdout');
    const check = await captureOutput(() => checkCommand({ config: [dir] }));
    t.equal(check.code, 2, `check -c ${dir}: exit 2`);
    t.match(check.stderr, /no policies found in/, 'check: one-line reason');
    t.notMatch(check.stdout, /ok: 0 policies/, 'check does not say ok');
    const allowed = await captureOutput(() => runCommand({ config: [dir], file: manifests, allowEmpty: true }));
    t.equal(allowed.code, 0, 'run --allow-empty: exit 0');
    t.match(allowed.stdout, /kind: ConfigMap/, 'objects pass through');
    t.equal((await captureOutput(() => checkCommand({ config: [dir], allowEmpty: true }))).code, 0, 'check --allow-empty: exit 0');
  }
});

t.test('-c DIR reads subdirectories; fixtures of other groups are skipped', async (t) => {
  const files = expandPolicyPath(join(repo, 'examples/policies'));
  const policies = files.filter((f) => f.endsWith('/policy.yaml'));
  t.equal(policies.length, 9, `the 9 example policies: ${policies.map((f) => f.slice(repo.length + 1)).join(', ')}`);
  // `kube-postrender test` files (postrender.io group) are read and skipped at compile time (load.ts isPolicyTest).
  t.ok(files.every((f) => f.endsWith('/policy.yaml') || f.endsWith('/postrender-test.yaml')), 'good/ and bad/ fixtures skipped');
  const bad = join(repo, 'examples/policies/disallow-latest-tag/bad/latest.yaml');
  const run = await captureOutput(() => runCommand({ config: [join(repo, 'examples/policies')], file: bad }));
  t.equal(run.code, 1, 'run -c examples/policies -f bad.yaml: the violating object is denied');
  t.equal(run.stdout, '', 'nothing on stdout');
});

t.test('a subdirectory holding kustomization.yaml is that Kustomization; a policy file in a subdirectory is read', async (t) => {
  const dir = join(root, 'tree');
  mkdirSync(join(dir, 'overlay'), { recursive: true });
  mkdirSync(join(dir, 'teams', 'a'), { recursive: true });
  writeFileSync(join(dir, 'overlay', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels: {k: v}\n');
  writeFileSync(join(dir, 'overlay', 'patch.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n');
  writeFileSync(join(dir, 'overlay', 'other.yaml'), readFileSync(join(repo, 'examples/platform-policy.yaml'), 'utf8'));
  writeFileSync(join(dir, 'teams', 'a', 'p.yaml'), readFileSync(join(repo, 'examples/policies/require-labels/policy.yaml'), 'utf8'));
  writeFileSync(join(dir, 'teams', '.hidden.yaml'), 'not: read\n');
  const files = expandPolicyPath(dir).map((f) => f.slice(dir.length + 1));
  t.same(files, ['overlay/kustomization.yaml', 'teams/a/p.yaml'], 'the Kustomization (not its other files) and the nested policy');
  const loaded = loadPolicies([dir]);
  t.equal(loaded.policies.length, 2, 'two policies');
});
