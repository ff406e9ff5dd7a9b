/**
 * The kustomize conformance cases (`test/data/conformance/cases`, copied from
 * the shared conformance folder by `npm run sync-testdata`): one directory per case,
 * see that folder's README.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataPath, REPO_ROOT } from './testdata.js';

export { REPO_ROOT };

/** Where the cases live (throws when the folder is missing: a suite never skips for lack of data). */
export const CASES_DIR = dataPath('conformance', 'cases');

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
 * scorer walks them). Throws when the folder does not exist.
 */
export function loadCases(root: string = CASES_DIR): ConformanceCase[] {
  if (!existsSync(root)) throw new Error(`conformance cases missing: ${root}`);
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
