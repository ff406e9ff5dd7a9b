/**
 * The CLI contract from the outside (a subprocess of the built bin): exit
 * codes, one-line errors on stderr, and nothing on stdout on failure.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');
const fx = (p: string): string => join(root, 'test/fixtures', p);
const example = join(root, 'examples/platform-policy.yaml');

function cli(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}

interface Row {
  name: string;
  args: string[];
  input?: string;
  code: number;
  stderr?: RegExp;
  stdout?: RegExp;
}

const rows: Row[] = [
  { name: 'run transforms stdin', args: ['run', '-c', example], input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', code: 0, stdout: /platform-team/ },
  { name: 'malformed YAML on stdin', args: ['run', '-c', example], input: 'a: [1, 2\nb: c\n', code: 1, stderr: /^kube-postrender: .*\n$/ },
  { name: 'unknown transformer', args: ['run', '-c', fx('policies/unknown-transformer.yaml')], input: '', code: 2, stderr: /unknown-transformer\.yaml: document 1: spec\.transformers\[1\]\.imagez: unknown transformer type "imagez"/ },
  { name: 'bad enum names file, document and path', args: ['check', '-c', fx('policies/bad-field-type.yaml')], code: 2, stderr: /bad-field-type\.yaml: document 2: spec\.failurePolicy: must be one of "Fail", "Ignore"/ },
  { name: 'missing policy file', args: ['run', '-c', fx('policies/nope.yaml')], input: '', code: 2, stderr: /nope\.yaml.*no such file/ },
  { name: 'missing -c is a usage error', args: ['run'], code: 2, stderr: /required option/ },
  { name: 'unknown command', args: ['frobnicate'], code: 2, stderr: /unknown command/ },
  { name: 'failurePolicy Fail: exit 1, nothing on stdout', args: ['run', '-c', fx('policies/failing-test-op.yaml'), '-f', fx('deployment.yaml')], code: 1, stderr: /strict-replicas\/replicas-must-be-one/ },
  { name: 'failurePolicy Ignore: policy skipped with a warning', args: ['run', '-c', fx('policies/failing-test-op-ignore.yaml'), '-f', fx('deployment.yaml')], code: 0, stderr: /warning: .*failurePolicy Ignore/ },
  { name: 'check a valid policy', args: ['check', '-c', example], code: 0, stdout: /ok: 1 policies/ },
  { name: 'check refuses a rule over the cost estimate', args: ['check', '-c', fx('policies/cel-cost-bomb.yaml')], code: 2, stderr: /cel-cost-bomb\.yaml: document 1: spec\.transformers\[0\]\.validate\.expression: estimated rule cost exceeds budget by factor of more than 100x \(estimated cost [\d,]+ units/ },
  { name: 'run refuses a rule over the cost estimate', args: ['run', '-c', fx('policies/cel-cost-bomb.yaml')], input: '', code: 2, stderr: /cel-cost-bomb\.yaml: document 1: spec\.transformers\[0\]\.validate\.expression: estimated rule cost exceeds budget/ },
  { name: 'Gatekeeper mutators: run', args: ['run', '-c', join(root, 'test/data/gatekeeper/docs-examples.yaml'), '-f', join(root, 'test/data/gatekeeper/pods.yaml')], code: 0, stdout: /image: my\.registry\.io\/nginx:1\.27/ },
  { name: 'Gatekeeper mutators: check -f runs them twice (idempotent)', args: ['check', '-c', join(root, 'test/data/gatekeeper/docs-examples.yaml'), '-f', join(root, 'test/data/gatekeeper/pods.yaml')], code: 0, stdout: /ok/ },
  { name: 'Gatekeeper mutators: explain names each mutator', args: ['explain', '-c', join(root, 'test/data/gatekeeper/docs-examples.yaml'), '-f', join(root, 'test/data/gatekeeper/pods.yaml')], code: 0, stdout: /AssignImage\/assign-container-image[\s\S]*ModifySet\/remove-err-logging/ },
  { name: 'Gatekeeper mutators: a set that does not converge fails run', args: ['run', '-c', join(root, 'test/data/gatekeeper/not-converging.yaml')], input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {x: "1"}\n', code: 1, stderr: /gatekeeper-mutators\/\(convergence\): mutation not converging/ },
  { name: 'Gatekeeper mutators: Assign on metadata refused at load', args: ['check', '-c', join(root, 'test/data/gatekeeper/invalid-assign-metadata.yaml')], code: 2, stderr: /invalid-assign-metadata\.yaml: document 1: spec\.location: assign set-label can't change metadata/ },
  { name: 'check idempotence on manifests', args: ['check', '-c', example, '-f', fx('deployment.yaml')], code: 0, stdout: /idempotent on 1 objects/ },
  { name: 'check names a transformer that is not idempotent', args: ['check', '-c', fx('policies/not-idempotent.yaml'), '-f', fx('untagged-cr.yaml')], code: 2, stderr: /tagger\/self-matching-rename is not idempotent \(e\.g\. on Workflow\.v1\.batch\.example\.com\/nightly\.shop\)/ },
];

t.test('CLI contract', { skip: !existsSync(bin) && 'not built (npm run build)' }, async (t) => {
  for (const r of rows) {
    const got = cli(r.args, r.input);
    t.equal(got.code, r.code, `${r.name}: exit ${r.code} (stderr: ${got.stderr.trim().split('\n')[0]})`);
    if (r.stderr) t.match(got.stderr, r.stderr, `${r.name}: stderr`);
    if (r.stdout) t.match(got.stdout, r.stdout, `${r.name}: stdout`);
    if (r.code !== 0) t.equal(got.stdout, '', `${r.name}: nothing on stdout`);
  }
});

t.test('failurePolicy Ignore keeps the object untouched by that policy', { skip: !existsSync(bin) }, async (t) => {
  const got = cli(['run', '-c', fx('policies/failing-test-op-ignore.yaml'), '-f', fx('deployment.yaml')]);
  const out = YAML.parse(got.stdout);
  t.equal(out.metadata.annotations, undefined, 'the policy\'s earlier annotation is dropped with it');
  t.equal(out.spec.replicas, 2);
});

t.test('review answers a recorded AdmissionReview', { skip: !existsSync(bin) }, async (t) => {
  const got = cli(['review', '-c', example, '-f', join(root, 'examples/admission-review.json')]);
  t.equal(got.code, 0, got.stderr);
  const body = JSON.parse(got.stdout);
  t.equal(body.kind, 'AdmissionReview');
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  t.ok(body.response.uid);
});

t.test('a reader that closes stdout early: one line on stderr, exit 1, no stack trace', async (t) => {
  const argo = join(root, 'test/data/corpus/argo-cd-install.yaml');
  // `head -c 1` reads one byte and exits: the rest of the 1.9 MB output meets a closed pipe.
  const script = `"${process.execPath}" "${bin}" run -c "${example}" -f "${argo}" 2>"$ERR" | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const err = join(t.testdir(), 'stderr');
  const p = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ERR: err } });
  const stderr = (await import('node:fs')).readFileSync(err, 'utf8');
  t.equal(p.stdout.trim(), '1', 'exit 1');
  t.match(stderr, /^kube-postrender: stdout closed before the output was written \(EPIPE\)\n$/, 'one line');
});
