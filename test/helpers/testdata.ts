/**
 * The test data the suites read, kept in the repository (`test/data/`) so a
 * clone of the project alone runs every test: the kustomize conformance cases,
 * the corpus of real manifests, recorded AdmissionReviews and the Kubernetes
 * OpenAPI document. `npm run sync-testdata` copies new material from
 * the shared folder beside the repository (see scripts/sync-testdata.mjs).
 *
 * A suite whose data is missing fails: `dataPath` throws, it never lets a test
 * skip silently.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `test/helpers/testdata.ts`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `test/data` in the repository. */
export const DATA_ROOT = join(REPO_ROOT, 'test', 'data');

/**
 * The absolute path of `test/data/<parts...>`. Throws an Error naming the path
 * and `npm run sync-testdata` when it does not exist.
 */
export function dataPath(...parts: string[]): string {
  const p = join(DATA_ROOT, ...parts);
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (run npm run sync-testdata)`);
  return p;
}
