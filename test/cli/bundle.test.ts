/**
 * The CLI bundle (scripts/bundle-cli.mjs, run by `npm run build`): dist/cli/main.js
 * is the bundle, every chunk it names is there, and the modules our code
 * loads by a path relative to its own file (the CEL engine, the evaluation
 * worker) are entry points next to the chunks, where those paths lead. The
 * commands themselves are tested through the bundle by every CLI test
 * (test/cli/*.test.ts, test/conformance.test.ts, the corpus tests).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli');
const main = join(cli, 'main.js');
const MARK = '// kube-postrender CLI bundle (scripts/bundle-cli.mjs)';
const built = existsSync(main) && readFileSync(main, 'utf8').includes(MARK);
const skip = !built && 'not bundled (npm run build)';

/** The bundle's files: the entry points and chunks (each starts with the mark). */
function bundleFiles(): string[] {
  return readdirSync(cli).filter((f) => f.endsWith('.js') && readFileSync(join(cli, f), 'utf8').includes(MARK));
}

t.test('dist/cli/main.js is the bundle, and every relative import in it is there', { skip }, async (t) => {
  t.ok(readFileSync(main, 'utf8').startsWith(`#!/usr/bin/env node\n${MARK}\n`), 'shebang, then the mark');
  const files = bundleFiles();
  for (const entry of ['main.js', 'cel.js', 'evaluation-worker.js']) t.ok(files.includes(entry), `entry point ${entry}`);
  const relative = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(join(cli, f), 'utf8').matchAll(/(?:from\s*|import\s*\(\s*|import\s+)"(\.\/[^"]+)"/g)) relative.add(m[1]!);
  }
  t.ok(relative.size > 3, 'the bundle is split into chunks');
  for (const r of relative) t.ok(files.includes(r.slice(2)), `${r} is part of the bundle`);
  // Each file compiles (the banner's `require` is the only one at its top level), loaded or not by the tests.
  for (const f of files) t.equal(spawnSync(process.execPath, ['--check', join(cli, f)], { encoding: 'utf8' }).status, 0, `${f} compiles`);
});

t.test('the paths our code loads relative to itself lead to the bundle entry points', { skip }, async (t) => {
  const text = bundleFiles().map((f) => readFileSync(join(cli, f), 'utf8')).join('\n');
  // src/expr/engine.ts and src/server/evaluation-pool.ts: if one of these
  // names changes, scripts/bundle-cli.mjs ENTRIES must change with it.
  t.ok(text.includes('"./cel.js"'), "engine.ts loads './cel.js'");
  t.ok(text.includes('"./evaluation-worker.js"'), "evaluation-pool.ts starts './evaluation-worker.js'");
  t.ok(text.includes('"../../package.json"'), 'main.ts and serve.ts read ../../package.json, which holds from dist/cli/');
  const version = spawnSync(process.execPath, [main, '--version'], { encoding: 'utf8' });
  t.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version, '--version');
  const evaluated = spawnSync(process.execPath, [main, 'eval', '-e', "'a' + 'b'"], { encoding: 'utf8' });
  t.equal(evaluated.stdout.trim(), '"ab"', 'eval (the CEL engine, loaded by the bundle)');
});

t.test("the bundle's evaluation worker starts and answers", { skip }, async (t) => {
  const worker = new Worker(join(cli, 'evaluation-worker.js'));
  t.teardown(() => worker.terminate());
  const answer = new Promise<{ id: number; statusCode: number; body: string }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  // No policies yet: the worker answers 503 ERR_NOT_READY.
  worker.postMessage({ type: 'review', id: 7, body: '{}', route: 'mutate', maxEvaluationMs: 0, withEvaluation: false });
  const a = await answer;
  t.equal(a.id, 7);
  t.equal(a.statusCode, 503);
  t.match(a.body, /ERR_NOT_READY/);
});
