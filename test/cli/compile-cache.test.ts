/**
 * The CLI's compile cache (src/cli/compile-cache.ts): its directory is the
 * user's own cache directory, it is used, and a cache that cannot be made
 * (no directory, a file in the way, Node's switch off) changes nothing: same
 * output, same exit code, nothing on stderr.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileCacheDirectory, enableCliCompileCache, makeDirectory } from '../../src/cli/compile-cache.js';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');

t.test('compileCacheDirectory', async (t) => {
  const rows: { name: string; env: NodeJS.ProcessEnv; home: string; want: string | undefined }[] = [
    { name: 'XDG_CACHE_HOME wins', env: { XDG_CACHE_HOME: '/x/cache' }, home: '/home/u', want: '/x/cache/kube-postrender/compile-cache' },
    { name: 'a relative XDG_CACHE_HOME is ignored (XDG Base Directory)', env: { XDG_CACHE_HOME: 'cache' }, home: '/home/u', want: '/home/u/.cache/kube-postrender/compile-cache' },
    { name: 'an empty XDG_CACHE_HOME is ignored', env: { XDG_CACHE_HOME: '' }, home: '/home/u', want: '/home/u/.cache/kube-postrender/compile-cache' },
    { name: 'home', env: {}, home: '/home/u', want: '/home/u/.cache/kube-postrender/compile-cache' },
    { name: 'no home: no cache (never a shared directory)', env: {}, home: '', want: undefined },
    { name: 'a relative home: no cache', env: {}, home: 'u', want: undefined },
  ];
  for (const r of rows) t.equal(compileCacheDirectory(r.env, r.home), r.want, r.name);
});

t.test('makeDirectory: one level at a time, never hangs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'make-directory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), 'x');
  const rows: { name: string; path: string; want: boolean; skip?: boolean }[] = [
    { name: 'missing parents are made', path: join(dir, 'a/b/c'), want: true },
    { name: 'an existing directory', path: join(dir, 'a/b'), want: true },
    { name: 'a file in the way', path: join(dir, 'file'), want: false },
    { name: 'under a file', path: join(dir, 'file/x'), want: false },
    // Node's recursive mkdir never returns here (mkdir answers ENOENT under an existing /proc).
    { name: 'under /proc', path: '/proc/kube-postrender-no-such-dir/x', want: false, skip: !existsSync('/proc/self') },
  ];
  for (const r of rows) {
    if (r.skip) continue;
    t.equal(makeDirectory(r.path), r.want, r.name);
  }
  t.equal(statSync(join(dir, 'a/b/c')).mode & 0o777, 0o700, 'made directories are private (0700)');
});

t.test("enableCliCompileCache leaves the decision to Node's own variables", async (t) => {
  t.same(enableCliCompileCache({ NODE_DISABLE_COMPILE_CACHE: '1', XDG_CACHE_HOME: '/nonexistent' }), { status: 'disabled' }, 'NODE_DISABLE_COMPILE_CACHE=1: off, nothing made');
  t.same(enableCliCompileCache({ NODE_COMPILE_CACHE: '/elsewhere' }), { directory: '/elsewhere', status: 'already-enabled' }, 'NODE_COMPILE_CACHE: Node enabled it at start');
});

t.test('the compile cache is used, and failing to make it is harmless', { skip: !existsSync(bin) && 'not built (npm run build)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a directory\n');
  const args = ['run', '-c', join(root, 'examples/platform-policy.yaml'), '-f', join(root, 'test/fixtures/deployment.yaml')];
  const cli = (env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } => {
    const base = { ...process.env };
    delete base.NODE_COMPILE_CACHE;
    delete base.NODE_DISABLE_COMPILE_CACHE;
    const p = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...base, ...env } });
    return { code: p.status, stdout: p.stdout, stderr: p.stderr };
  };
  const reference = cli({ NODE_DISABLE_COMPILE_CACHE: '1', XDG_CACHE_HOME: join(dir, 'unused') });
  t.equal(reference.code, 0, 'reference run: exit 0');
  t.match(reference.stdout, /platform-team/, 'reference run: transformed');
  t.notOk(existsSync(join(dir, 'unused')), 'NODE_DISABLE_COMPILE_CACHE=1: no cache directory');

  const cacheHome = join(dir, 'cache');
  const rows: { name: string; env: NodeJS.ProcessEnv }[] = [
    { name: 'first run (cache written)', env: { XDG_CACHE_HOME: cacheHome } },
    { name: 'second run (cache read)', env: { XDG_CACHE_HOME: cacheHome } },
    { name: 'a file where the cache directory would be', env: { XDG_CACHE_HOME: aFile } },
    { name: 'a cache directory under a missing, unwritable path', env: { XDG_CACHE_HOME: '/proc/kube-postrender-no-such-dir' } },
  ];
  for (const r of rows) {
    const got = cli(r.env);
    t.equal(got.code, 0, `${r.name}: exit 0`);
    t.equal(got.stdout, reference.stdout, `${r.name}: same output`);
    t.equal(got.stderr, '', `${r.name}: nothing on stderr`);
  }
  const cacheDir = join(cacheHome, 'kube-postrender/compile-cache');
  t.ok(existsSync(cacheDir) && readdirSync(cacheDir).length > 0, 'the cache was written under $XDG_CACHE_HOME/kube-postrender/compile-cache');
});
