/**
 * re2js (RE2 semantics: linear time, Go's regexp syntax, as Kubernetes,
 * kustomize and Gatekeeper match), loaded on first use. It is the largest
 * module the CLI could load (~260 KB of JS, ~15 ms and ~2 MiB at start), and
 * most policy sets never run a regex: kustomize targets and image names are
 * usually literals, matched as strings (selector.ts `anchoredRegex`,
 * transform/images.ts `compileImageMatcher`). re2js ships a CommonJS build,
 * so the load is synchronous and needs no change to its callers' signatures.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

let loaded: typeof RE2JS | undefined;

/** The `RE2JS` class (compile with `re2js().compile(pattern)`); loads re2js on the first call. Throws only if the package is missing. */
export function re2js(): typeof RE2JS {
  loaded ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;
  return loaded;
}
