/**
 * `kube-postrender eval` (the built bin): the result as JSON on stdout; exit 2
 * with line and column on a compile error, 1 on an evaluation error, nothing
 * on stdout on error. Also `check` listing every schema error of a file at
 * once, each unknown field with a "did you mean".
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');
const pod = join(root, 'examples/mutations/image-mirror/resources.yaml');

function cli(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', cwd: root });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}

const rows: { name: string; args: string[]; input?: string; code: number; stdout?: string; stderr?: RegExp }[] = [
  { name: 'arithmetic without an object', args: ['eval', '-e', '1 + 2 * 3'], code: 0, stdout: '7\n' },
  { name: 'object from a file (first document)', args: ['eval', '-e', 'object.spec.template.spec.containers.map(c, c.image)', '-f', pod], code: 0, stdout: '[\n  "nginx:1.27",\n  "registry.example.com/shop/api:2.0"\n]\n' },
  { name: 'object from stdin', args: ['eval', '-e', 'object.metadata.name + "/" + request.operation', '-f', '-'], input: '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}', code: 0, stdout: '"p/CREATE"\n' },
  { name: 'oldObject makes an UPDATE', args: ['eval', '-e', '[request.operation, oldObject.metadata.name]', '-f', pod, '--old-object', pod], code: 0, stdout: '[\n  "UPDATE",\n  "web"\n]\n' },
  { name: 'namespaceObject from the object and --namespace-labels', args: ['eval', '-e', 'namespaceObject', '-f', pod, '--namespace-labels', 'env=prod'], code: 0, stdout: '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {\n    "name": "shop",\n    "labels": {\n      "env": "prod"\n    }\n  }\n}\n' },
  { name: 'the string library', args: ['eval', '-e', '"a,b".split(",").join("-")'], code: 0, stdout: '"a-b"\n' },
  { name: 'syntax error: exit 2 with line and column', args: ['eval', '-e', 'object.spec.('], code: 2, stderr: /^kube-postrender: syntax error at 1:1[23]: .*\n$/ },
  { name: 'undeclared variable: exit 2', args: ['eval', '-e', 'params.x'], code: 2, stderr: /undeclared reference to 'params' at 1:1/ },
  { name: 'evaluation error: exit 1, no value quoted', args: ['eval', '-e', 'object.spec.nope', '-f', pod], code: 1, stderr: /^kube-postrender: (no such key|field not found): nope at 1:13\n$/ },
  { name: 'unreadable object file: exit 2', args: ['eval', '-e', 'true', '-f', join(root, 'no/such.yaml')], code: 2, stderr: /no such file/ },
  { name: 'missing -e: usage error', args: ['eval'], code: 2, stderr: /required option '-e, --expression <cel>'/ },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const r = cli(row.args, row.input);
    t.equal(r.code, row.code, r.stderr);
    if (row.stdout !== undefined) t.equal(r.stdout, row.stdout);
    else t.equal(r.stdout, '', 'nothing on stdout');
    if (row.stderr) t.match(r.stderr, row.stderr);
  });
}

t.test('check lists every schema error of a file at once, with did-you-mean', async (t) => {
  const r = cli(['check', '-c', join(root, 'test/fixtures/policies/five-typos.yaml')]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n').map((l) => l.replace(/^kube-postrender: .*five-typos\.yaml: /, ''));
  t.same(lines, [
    'document 1: spec.failurPolicy: unknown field "failurPolicy" (did you mean "failurePolicy"?)',
    'document 1: spec.match.resorces: unknown field "resorces" (did you mean "resources"?)',
    'document 1: spec.transformers[0].lables: unknown transformer type "lables" (did you mean "labels"?)',
    'document 1: spec.transformers[1].validate.mesage: unknown field "mesage" (did you mean "message"?)',
    'document 2: spec.mode: must be one of "Enforce", "Audit"',
  ]);
});
