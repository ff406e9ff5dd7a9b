/**
 * The conformance corpus (`../shared/conformance/cases`, relative to the repo
 * root): one directory per case, see that folder's README.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `test/helpers/cases.ts`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the cases live, whether or not the folder exists. */
export const CASES_DIR = resolve(REPO_ROOT, '..', 'shared', 'conformance', 'cases');

/** One conformance case. */
export interface ConformanceCase {
  /** Directory name, e.g. `169-output-scalar-types`. */
  name: string;
  /** Absolute path of the case directory. */
  dir: string;
  /** True when kustomize refused the input (`expected-error.txt`). */
  expectError: boolean;
  /** The case's one-line description (`case.txt`), '' when absent. */
  description: string;
  /** Read a file of the case as UTF-8 (throws when absent). */
  read(file: string): string;
}

/**
 * Every case directory holding a `kustomization.yaml`, sorted by name (as the
 * scorer walks them). Returns [] when the folder does not exist.
 */
export function loadCases(root: string = CASES_DIR): ConformanceCase[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, 'kustomization.yaml')))
    .map((dir) => ({
      name: dir.slice(root.length + 1),
      dir,
      expectError: existsSync(join(dir, 'expected-error.txt')),
      description: existsSync(join(dir, 'case.txt')) ? readFileSync(join(dir, 'case.txt'), 'utf8').trim() : '',
      read: (file: string) => readFileSync(join(dir, file), 'utf8'),
    }));
}
