/**
 * `run` loads the CEL engine (src/expr/engine.ts) and re2js (src/kube/re2.ts)
 * only when a policy needs them, and loading them late changes nothing: the
 * output is byte for byte the output of a process that loaded the CEL engine
 * up front (as `serve` and the library do). On the built CLI (dist/), with
 * the modules each run loaded recorded by test/fixtures/record-modules.mjs.
 * The CLI is a bundle (scripts/bundle-cli.mjs) whose CEL engine is its own
 * entry point, dist/cli/cel.js; with tsc's output alone it is dist/expr/cel.js.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');
const recorder = pathToFileURL(join(root, 'test/fixtures/record-modules.mjs')).href;
// The CLI's CEL engine module: the bundle's entry point, else tsc's output.
const celFile = existsSync(join(root, 'dist/cli/cel.js')) ? 'dist/cli/cel.js' : 'dist/expr/cel.js';
const celModule = pathToFileURL(join(root, celFile)).href;
const celLoaded = new RegExp(`/${celFile.replaceAll('.', '\\.')}$`);

interface Row {
  name: string;
  policy: string;
  /** The run needs the CEL engine (an expression, a template, a condition). */
  cel: boolean;
  /** The run needs re2js (a regex that is not a literal). */
  re2: boolean;
  /** Something the output must hold (the policy did its work). */
  stdout: RegExp;
  /** Manifests (default test/fixtures/deployment.yaml). */
  input?: string;
}

const rows: Row[] = [
  { name: 'kustomize transforms with literal targets and plain image names', policy: 'test/fixtures/lazy/literal-targets.yaml', cel: false, re2: false, stdout: /image: registry\.example\.com\/mirror\/nginx:1\.25/ },
  { name: 'the platform policy (labels, annotations, images, patches)', policy: 'examples/platform-policy.yaml', cel: false, re2: false, stdout: /platform-team/ },
  { name: 'a kustomize target that is a regex', policy: 'test/fixtures/lazy/regex-target.yaml', cel: false, re2: true, stdout: /patched: "yes"/ },
  { name: 'a validate rule (CEL expression)', policy: 'examples/policies/require-labels/policy.yaml', input: 'examples/policies/require-labels/good/labelled.yaml', cel: true, re2: false, stdout: /team: / },
  { name: 'sidecar templates (CEL in {{ }})', policy: 'examples/sidecar-policy.yaml', cel: true, re2: false, stdout: /kind: Deployment/ },
];

/** Runs `run -c policy -f input` with `preload` (`--import` URLs); returns the result and the module URLs loaded. */
function run({ policy, input = 'test/fixtures/deployment.yaml' }: Row, preload: string[], dir: string): { code: number | null; stdout: string; stderr: string; modules: string[] } {
  const record = join(dir, `modules-${preload.length}.txt`);
  const args = [...preload.flatMap((p) => ['--import', p]), bin, 'run', '-c', join(root, policy), '-f', join(root, input)];
  const p = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, RECORD_MODULES: record, NODE_DISABLE_COMPILE_CACHE: '1' } });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr, modules: existsSync(record) ? readFileSync(record, 'utf8').split('\n') : [] };
}

const loads = (modules: string[], re: RegExp): boolean => modules.some((u) => re.test(u));

t.test('run loads the CEL engine and re2js only when a policy needs them', { skip: !existsSync(bin) && 'not built (npm run build)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-modules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const r of rows) {
    const lazy = run(r, [recorder], dir);
    t.equal(lazy.code, 0, `${r.name}: exit 0 (stderr: ${lazy.stderr.trim().split('\n')[0]})`);
    t.match(lazy.stdout, r.stdout, `${r.name}: the policy did its work`);
    t.ok(lazy.modules.length > 10, `${r.name}: modules recorded`);
    t.equal(loads(lazy.modules, celLoaded), r.cel, `${r.name}: CEL engine loaded: ${r.cel}`);
    t.equal(loads(lazy.modules, /\/@marcbachmann\/cel-js\//), r.cel, `${r.name}: @marcbachmann/cel-js loaded: ${r.cel}`);
    t.equal(loads(lazy.modules, /\/re2js\//), r.re2, `${r.name}: re2js loaded: ${r.re2}`);
    const eager = run(r, [recorder, celModule], dir);
    t.equal(eager.code, 0, `${r.name}: exit 0 with the engine loaded up front`);
    t.ok(loads(eager.modules, celLoaded), `${r.name}: the engine was loaded up front`);
    t.equal(lazy.stdout, eager.stdout, `${r.name}: same output, byte for byte`);
    t.equal(lazy.stderr, eager.stderr, `${r.name}: same stderr`);
  }
});
