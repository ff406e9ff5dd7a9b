/**
 * Stable error codes (src/errors.ts, as fastify's lib/errors.js): docs/errors.md
 * is generated from the registry (REFRESH_GOLDEN=true rewrites it) and this
 * test fails on a stale docs file, on a code used in src/ but not registered
 * (undocumented) and on a registered code that src/ no longer uses (stale).
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERROR_CODES, errorMessage, errorsMarkdown, FASTIFY_ERROR_CODES, fromFastifyError, type ErrorCode } from '../src/errors.js';
import { EXIT } from '../src/cli/io.js';

const repo = resolve(import.meta.dirname, '..');
const src = join(repo, 'src');
const docs = join(repo, 'docs/errors.md');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const sources = files(src).filter((f) => !f.endsWith('/errors.ts')).map((f) => ({ file: f.slice(repo.length + 1), text: readFileSync(f, 'utf8') }));
/** A code as written where it is used: a string literal `'ERR_...'`. */
const CODE = /['"`](ERR_[A-Z0-9_]*[A-Z0-9])['"`]/g;

t.test('docs/errors.md is generated from the registry', async (t) => {
  const want = errorsMarkdown();
  if (process.env.REFRESH_GOLDEN === 'true') writeFileSync(docs, want);
  t.equal(readFileSync(docs, 'utf8'), want, 'docs/errors.md is current (REFRESH_GOLDEN=true regenerates it)');
  for (const code of Object.keys(ERROR_CODES)) t.match(readFileSync(docs, 'utf8'), `\`${code}\``, `${code} is documented`);
});

t.test('every code used in src/ is registered (no undocumented code)', async (t) => {
  const used = new Set<string>();
  for (const s of sources) for (const m of s.text.matchAll(CODE)) used.add(m[1] as string);
  t.ok(used.size > 10, 'codes found');
  for (const code of used) t.ok(code in ERROR_CODES, `${code} is registered in src/errors.ts`);
});

t.test('every registered code is used in src/ (no stale code)', async (t) => {
  for (const code of Object.keys(ERROR_CODES)) {
    t.ok(sources.some((s) => new RegExp(`\\b${code}\\b`).test(s.text)), `${code} is used outside src/errors.ts`);
  }
});

t.test('the registry agrees with the CLI exit codes and fastify mapping', async (t) => {
  t.equal(ERROR_CODES.EXIT_OK.exit, EXIT.ok);
  t.equal(ERROR_CODES.EXIT_FAILED.exit, EXIT.failed);
  t.equal(ERROR_CODES.EXIT_USAGE.exit, EXIT.usage);
  for (const [f, ours] of Object.entries(FASTIFY_ERROR_CODES)) t.equal(fromFastifyError({ code: f, statusCode: 400 }), ours, `${f} -> ${ours}`);
  t.equal(fromFastifyError({ code: 'FST_ERR_SOMETHING_NEW', statusCode: 404 }), 'ERR_BAD_REQUEST', 'an unknown 4xx fastify code is never passed through');
  t.equal(fromFastifyError({ code: 'FST_ERR_SOMETHING_NEW' }), 'ERR_INTERNAL');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    if (spec.kind === 'http' || spec.kind === 'review') t.ok(spec.status !== undefined && spec.status >= 400, `${code} has an HTTP status`);
    else t.ok(spec.exit !== undefined, `${code} has an exit code`);
  }
  t.equal(errorMessage('ERR_POLICY_YAML', 3, 4, 'bad'), 'invalid YAML: line 3, column 4: bad', 'templates fill in order');
  t.equal(errorMessage('ERR_API_VERSION' as ErrorCode), 'apiVersion must be one of ', 'missing arguments read as empty');
});
