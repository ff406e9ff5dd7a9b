/**
 * The tap twin of the shared `conformance-score` tool: every case in
 * `test/data/conformance/cases` runs `node dist/cli/main.js run -c
 * <case>/kustomization.yaml` in the case directory with `input.yaml` on stdin,
 * and is judged exactly as the scorer judges it (see test/helpers/yaml11.ts).
 * `npm test` builds dist/ before tap runs; a missing CLI is a failure.
 * Set CONFORMANCE_CLI to run another CLI entry point instead.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASES_DIR, REPO_ROOT, loadCases, type ConformanceCase } from './helpers/cases.js';
import { compareStreams } from './helpers/yaml11.js';

/** The CLI under test; `CONFORMANCE_CLI` (a JS file run with node) overrides it, e.g. to check this harness with a stub. */
const CLI = process.env.CONFORMANCE_CLI ?? join(REPO_ROOT, 'dist', 'cli', 'main.js');
const CONCURRENCY = 2;
const CASE_TIMEOUT_MS = 60_000;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: string;
}

function runCase(c: ConformanceCase): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', '-c', join(c.dir, 'kustomization.yaml')], { cwd: c.dir, timeout: CASE_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => resolve({ code: null, signal: null, stdout: '', stderr: '', spawnError: e.message }));
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined); // the CLI may exit before reading everything
    child.stdin.end(readFileSync(join(c.dir, 'input.yaml')));
  });
}

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
function pool<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R>[] {
  const results: Promise<R>[] = [];
  let running = 0;
  const queue: (() => void)[] = [];
  for (const item of items) {
    results.push(new Promise<R>((resolve, reject) => {
      const start = (): void => {
        running++;
        fn(item).then(resolve, reject).finally(() => {
          running--;
          queue.shift()?.();
        });
      };
      if (running < limit) start();
      else queue.push(start);
    }));
  }
  return results;
}

/** The scorer's verdict on one case: null when it passes, else the reason. */
function judge(c: ConformanceCase, r: RunResult): string | null {
  if (r.spawnError) return `could not start the CLI: ${r.spawnError}`;
  if (r.signal) return `killed by ${r.signal} (timeout ${CASE_TIMEOUT_MS / 1000} s?)`;
  if (c.expectError) {
    if (r.code === 0) return 'expected a failure (kustomize refuses this input), got exit 0';
    if (r.stdout.trim()) return `failed (exit ${r.code}) but printed ${r.stdout.length} bytes on stdout`;
    if (!r.stderr.trim()) return `failed (exit ${r.code}) without a message on stderr`;
    return null;
  }
  if (r.code !== 0) {
    const lines = r.stderr.trim().split('\n');
    return `exit ${r.code}: ${lines[lines.length - 1] || '(no stderr)'}`;
  }
  return compareStreams(r.stdout, c.read('expected.yaml'));
}

const cases = loadCases();
if (cases.length === 0) {
  t.skip(`no conformance cases at ${CASES_DIR}`, () => undefined);
} else if (!existsSync(CLI)) {
  t.fail(`${CLI} does not exist: build first (npm run build; npm test does it)`);
} else {
  const results = pool(cases, CONCURRENCY, runCase);
  cases.forEach((c, i) => {
    t.test(c.name, async (t) => {
      const problem = judge(c, await results[i]);
      t.equal(problem, null, c.description || c.name);
    });
  });
}
