#!/usr/bin/env node
/**
 * Bundles the CLI that `tsc` wrote to dist/ (`npm run build` runs this after
 * tsc): dist/cli/main.js becomes an ES module bundle of our own modules, split
 * at each dynamic `import()` into chunks (dist/cli/chunk-*.js), so that a
 * command still loads only its own code. A Helm post-render is a new process
 * per release: resolving, linking and evaluating the ~75 modules of a
 * `kube-postrender run` one by one was ~15 % of its time on argo-cd's
 * install.yaml (docs/performance.md, "Session 12 run").
 *
 * What is and is not bundled:
 * - npm packages stay external (loaded from node_modules as before), except
 *   `BUNDLED_PACKAGES` (small, pure JS, on every `run`).
 * - The modules that our code loads by a path relative to its own file are
 *   entry points of their own, emitted next to the chunks (dist/cli/), where
 *   that relative path then leads: src/expr/engine.ts `require('./cel.js')`
 *   (the CEL engine, loaded on the first expression) and
 *   src/server/evaluation-pool.ts `./evaluation-worker.js` (the worker's
 *   module). As entry points they share the chunks, so there is one instance
 *   of each module (cel.ts registers itself with the engine module the
 *   bundle's code calls). `../../package.json` (main.ts, serve.ts) holds from
 *   dist/cli/ as from the tsc output.
 * - The rest of dist/ (the SDK, dist/index.js, and the tsc output of
 *   dist/cli/*.js) is left as tsc wrote it.
 *
 * The bundle is checked after it is written: each relative load above must
 * find its file. Exits non-zero on any error, leaving no half-written bundle.
 */
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const cli = join(dist, 'cli');
const TSC_MAIN = join(cli, 'main.js');

/** Packages bundled into the CLI (pure JS, no file loaded by a relative path at run time). */
const BUNDLED_PACKAGES = ['js-yaml', 'commander'];

/** Entry points: output name (in dist/cli/) -> tsc output. */
const ENTRIES = {
  main: TSC_MAIN,
  // Loaded by engine.ts as './cel.js' (relative to the chunk holding engine.ts).
  cel: join(dist, 'expr/cel.js'),
  // Loaded by evaluation-pool.ts as './evaluation-worker.js' (same).
  'evaluation-worker': join(dist, 'server/evaluation-worker.js'),
};

/** The first line of every output file: a bundle is never bundled again. */
const MARK = '// kube-postrender CLI bundle (scripts/bundle-cli.mjs)';

async function main() {
  const source = readFileSync(TSC_MAIN, 'utf8');
  if (source.includes(MARK)) throw new Error(`${TSC_MAIN} is already a bundle: run tsc first (npm run build)`);
  for (const f of Object.values(ENTRIES)) if (!existsSync(f)) throw new Error(`missing ${f}: run tsc first`);
  const out = join(dist, '.cli-bundle');
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: ENTRIES,
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // package.json engines is ^24; the CLI must still load on Node 20.
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    banner: { js: `${MARK}\nimport { createRequire as __cliCreateRequire } from 'node:module';\nconst require = __cliCreateRequire(import.meta.url);` },
    legalComments: 'inline',
    logLevel: 'warning',
    plugins: [externalPackages(BUNDLED_PACKAGES)],
  });
  // Replace: old chunks first (their names change with their content).
  for (const f of readdirSync(cli)) if (/^chunk-[A-Z0-9]+\.js$/.test(f)) rmSync(join(cli, f));
  for (const f of readdirSync(out)) renameSync(join(out, f), join(cli, f));
  rmSync(out, { recursive: true, force: true });
  for (const name of Object.keys(ENTRIES)) {
    if (!existsSync(join(cli, `${name}.js`))) throw new Error(`bundle: dist/cli/${name}.js was not written`);
  }
}

/** An esbuild plugin: every npm package is external except `bundled`. */
function externalPackages(bundled) {
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return bundled.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

main().catch((e) => {
  process.stderr.write(`bundle-cli: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
