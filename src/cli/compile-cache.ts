/**
 * Node's on-disk compile cache for the CLI (`module.enableCompileCache`,
 * Node >= 22.1; docs: https://nodejs.org/api/module.html#module-compile-cache).
 * A Helm post-renderer is a new process per release: most of `run`'s start is
 * compiling the CLI's own modules, which the cache turns into reading V8 code
 * cache (docs/performance.md, "Session 7").
 *
 * The directory is the user's own cache directory (`$XDG_CACHE_HOME`, else
 * `~/.cache`), never a shared one such as `/tmp/node-compile-cache`: code cache
 * is code, and a directory other users can write to would let them plant it.
 * Node's own switches win: `NODE_COMPILE_CACHE=dir` (already enabled, that
 * directory) and `NODE_DISABLE_COMPILE_CACHE=1` (off). The cache changes no
 * output; failing to enable it (read-only home, no home) is silent and never
 * fails a command. The directory is made here, one level at a time: Node's
 * recursive mkdir (which `enableCompileCache` uses) never returns on a path
 * where mkdir answers ENOENT under an existing parent, such as one under /proc
 * (Node 24.19).
 */
import { mkdirSync, statSync } from 'node:fs';
// A namespace import: a Node without the compile cache API (before 22.1) then
// runs the CLI without a cache instead of failing to link this module.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** What `enableCliCompileCache` did: the directory asked for (undefined: none found) and Node's status name. */
export interface CompileCacheOutcome {
  directory?: string;
  status: 'enabled' | 'already-enabled' | 'disabled' | 'failed' | 'no-directory';
}

/**
 * The CLI's compile cache directory: `$XDG_CACHE_HOME/kube-postrender/compile-cache`
 * (XDG Base Directory: an absolute `XDG_CACHE_HOME` only), else
 * `<home>/.cache/kube-postrender/compile-cache`; undefined without either (then
 * no cache). `home` is `os.homedir()` by default ('' when it throws).
 */
export function compileCacheDirectory(env: NodeJS.ProcessEnv = process.env, home: string = safeHomedir()): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'kube-postrender', 'compile-cache');
  if (home && isAbsolute(home)) return join(home, '.cache', 'kube-postrender', 'compile-cache');
  return undefined;
}

function safeHomedir(): string {
  try {
    return homedir();
  } catch {
    return '';
  }
}

/**
 * Makes `dir` and its missing parents (mode 0700), without recursive mkdir;
 * true when `dir` then is a directory. Each level is tried at most twice, so
 * it ends on any file system.
 */
export function makeDirectory(dir: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(dir, { mode: 0o700 });
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return isDirectory(dir);
      const parent = dirname(dir);
      if (code !== 'ENOENT' || parent === dir || !makeDirectory(parent)) return false;
    }
  }
  return false;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const codes = (nodeModule as Partial<typeof nodeModule>).constants?.compileCacheStatus;
const STATUS: Record<number, CompileCacheOutcome['status']> = codes
  ? { [codes.ENABLED]: 'enabled', [codes.ALREADY_ENABLED]: 'already-enabled', [codes.DISABLED]: 'disabled', [codes.FAILED]: 'failed' }
  : {};

/**
 * Enables Node's compile cache in `compileCacheDirectory(env)` (made if
 * missing) for the modules loaded from now on, unless Node's own variables
 * decide: `NODE_DISABLE_COMPILE_CACHE=1` (off, nothing made) or
 * `NODE_COMPILE_CACHE` (Node enabled it at start, in that directory). Never
 * throws and prints nothing: any failure is the outcome `failed`, and the
 * command compiles as without a cache.
 */
export function enableCliCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheOutcome {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return { status: 'disabled' };
  if (env.NODE_COMPILE_CACHE) return { directory: env.NODE_COMPILE_CACHE, status: 'already-enabled' };
  const directory = compileCacheDirectory(env);
  if (directory === undefined) return { status: 'no-directory' };
  try {
    const enable = (nodeModule as Partial<typeof nodeModule>).enableCompileCache;
    if (!enable || !makeDirectory(directory)) return { directory, status: 'failed' };
    return { directory, status: STATUS[enable(directory).status] ?? 'failed' };
  } catch {
    return { directory, status: 'failed' };
  }
}
