/**
 * `kube-postrender test [PATH...] [-o text|tap|junit] [--file-name NAME] [--fail-only]`:
 * runs the declarative policy tests of src/cli/policy-test.ts and prints the
 * checks as text (a table like `kyverno test`'s, with the reason and a
 * unified diff under each failure), TAP 14 or JUnit XML.
 *
 * Exit codes (the CLI contract, DESIGN.md): 0 every check passed; 1 a check
 * failed; 2 a test file, a policy or a resource file is invalid, or no test
 * file was found.
 */
import { displayPath, findTestFiles, readTestFile, runTestFile, TEST_FILE_NAME, type Check } from './policy-test.js';
import { EXIT, oneLine } from './io.js';

/** Options of `test`. */
export interface TestOptions {
  paths: string[];
  output?: 'text' | 'tap' | 'junit';
  fileName?: string;
  /** Text output: list only the failed checks. */
  failOnly?: boolean;
}

/** `policy/rule` or `policy` of a check. */
function subject(c: Check): string {
  return c.rule ? `${c.policy}/${c.rule}` : c.policy;
}

function verdict(c: Check): string {
  if (c.got === undefined) return c.reason;
  if (c.got !== c.want) return `want ${c.want}, got ${c.got}${c.reason ? `: ${c.reason}` : ''}`;
  return c.reason;
}

function indent(text: string, by: string): string {
  return text.split('\n').map((l) => by + l).join('\n');
}

/** Text output: per test file, one line per check (`ok`/`FAIL`, policy/rule, resource, result), reason and diff under failures, then a summary. */
export function formatText(checks: Check[], failOnly = false): string {
  const out: string[] = [];
  let file = '';
  const w1 = Math.max(0, ...checks.map((c) => subject(c).length));
  const w2 = Math.max(0, ...checks.map((c) => c.resource.length));
  for (const c of checks) {
    if (failOnly && c.ok) continue;
    if (c.file !== file) {
      file = c.file;
      out.push(`${displayPath(c.file)} (${c.test})`);
    }
    out.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${subject(c).padEnd(w1)}  ${c.resource.padEnd(w2)}  ${c.got ?? '-'}`);
    if (!c.ok) out.push(`        ${verdict(c)}`);
    if (c.diff) out.push(indent(c.diff, '        '));
  }
  const failed = checks.filter((c) => !c.ok).length;
  out.push(`${checks.length - failed} passed, ${failed} failed`);
  return out.join('\n') + '\n';
}

function yamlBlock(key: string, text: string): string[] {
  return [`  ${key}: |-`, indent(text, '    ')];
}

/** TAP 14: one test point per check, a YAML diagnostic block under each failure. */
export function formatTap(checks: Check[]): string {
  const out = ['TAP version 14', `1..${checks.length}`];
  checks.forEach((c, i) => {
    out.push(`${c.ok ? 'ok' : 'not ok'} ${i + 1} - ${displayPath(c.file)}: ${subject(c)} ${c.resource}: ${c.want}`);
    if (c.ok) return;
    out.push('  ---', `  want: ${c.want}`, `  got: ${c.got ?? 'none'}`, ...yamlBlock('reason', c.reason || verdict(c)));
    if (c.diff) out.push(...yamlBlock('diff', c.diff));
    out.push('  ...');
  });
  return out.join('\n') + '\n';
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] as string);
}

/** JUnit XML: a testsuite per test file, a testcase per check, `<failure>` with the reason and the diff. */
export function formatJunit(checks: Check[]): string {
  const files = [...new Set(checks.map((c) => c.file))];
  const failures = checks.filter((c) => !c.ok).length;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="kube-postrender test" tests="${checks.length}" failures="${failures}">`];
  for (const f of files) {
    const mine = checks.filter((c) => c.file === f);
    out.push(`  <testsuite name="${xml(displayPath(f))}" tests="${mine.length}" failures="${mine.filter((c) => !c.ok).length}">`);
    for (const c of mine) {
      const open = `    <testcase classname="${xml(c.test)}" name="${xml(`${subject(c)} ${c.resource}: ${c.want}`)}"`;
      if (c.ok) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`, `      <failure message="${xml(verdict(c))}">${xml(c.diff ?? verdict(c))}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function collectChecks(opts: TestOptions): Check[] {
  const files = findTestFiles(opts.paths.length ? opts.paths : ['.'], opts.fileName ?? TEST_FILE_NAME);
  if (files.length === 0) throw new Error(`no ${opts.fileName ?? TEST_FILE_NAME} under ${(opts.paths.length ? opts.paths : ['.']).join(', ')}`);
  // Read every file first: a malformed one stops the run before anything is printed.
  return files.map(readTestFile).flatMap(runTestFile);
}

/** Runs `test`; returns the exit code (0 all passed, 1 a check failed, 2 invalid input). Prints nothing partial. */
export async function testCommand(opts: TestOptions): Promise<number> {
  let checks: Check[];
  try {
    checks = collectChecks(opts);
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  const format = opts.output === 'tap' ? formatTap : opts.output === 'junit' ? formatJunit : (c: Check[]): string => formatText(c, opts.failOnly);
  process.stdout.write(format(checks));
  return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failed;
}
