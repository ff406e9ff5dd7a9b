/**
 * The V8 heap policy of `run`, a batch process (one manifest stream in, one
 * out, then exit): the young generation keeps its initial size instead of
 * doubling after each scavenge that finds it busy (V8 `--semi-space-growth-factor`,
 * default 2, up to 16 MiB semi-spaces). Reading a stream allocates much that
 * lives until the end (the objects) and much that dies at once (the parser's
 * scratch); a large young generation holds both at the peak. Kept small, the
 * peak RSS of `run` on argo-cd's install.yaml (1.9 MB) is ~10 MiB lower, at no
 * measured cost in time (docs/performance.md, "Session 7"). Node documents
 * changing V8 flags after start as possibly without effect; this one is read
 * each time the young generation would grow, so it takes effect, and if it did
 * not only memory would differ: output never depends on it.
 */
import { setFlagsFromString } from 'node:v8';

/** Sets the young generation's growth factor to 1 for the rest of the process. Never throws. */
export function keepYoungGenerationSmall(): void {
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // A Node without the flag: the default heap policy, nothing else changes.
  }
}
