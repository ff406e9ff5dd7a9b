#!/usr/bin/env node
// Copies the shared test material from ../shared (beside the repository) into
// test/data, where the tests read it: a clone of the project alone must pass
// `npm test`. Usage: npm run sync-testdata [-- --check]
//
// What is copied:
//   ../shared/conformance/{README.md,cases/*}  -> test/data/conformance/
//   ../shared/corpus/**                        -> test/data/corpus/ (SOURCES.md included)
//   ../shared/admission/{README.md,recorded/*} -> test/data/admission/
//   ../shared/k8s/{README.md,swagger.json}     -> test/data/k8s/
// New files are added and changed files replaced; files only in test/data (our
// own cases, the license text) are kept. `--check` changes nothing and exits 1
// when ../shared has material that test/data lacks or holds differently.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '..', 'shared');
const data = join(root, 'test', 'data');
const check = process.argv.includes('--check');
const TREES = ['conformance', 'corpus', 'admission', 'k8s'];

/** Every file under `dir`, as paths relative to `base`, sorted. */
function files(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p, base) : [relative(base, p)];
  });
}

if (!existsSync(shared)) {
  process.stderr.write(`sync-testdata: ${shared} not found (nothing to sync)\n`);
  process.exit(check ? 0 : 2);
}
let added = 0;
let changed = 0;
for (const tree of TREES) {
  const from = join(shared, tree);
  for (const rel of files(from)) {
    if (tree === 'k8s' && !['README.md', 'swagger.json'].includes(rel)) continue;
    const src = join(from, rel);
    const dst = join(data, tree, rel);
    const exists = existsSync(dst);
    if (exists && readFileSync(src).equals(readFileSync(dst))) continue;
    if (exists) changed++;
    else added++;
    process.stdout.write(`${exists ? 'changed' : 'new'}: test/data/${tree}/${rel}\n`);
    if (check) continue;
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
  }
}
process.stdout.write(`sync-testdata: ${added} new, ${changed} changed${check ? ' (check only)' : ''}\n`);
process.exit(check && added + changed > 0 ? 1 : 0);
