/**
 * The V8 heap and compiler policy of `run`, a batch process (one manifest stream in, one
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

/**
 * Turns V8's top tier (Turbofan) off for the rest of the process, so that hot
 * code stops at Maglev, V8's mid tier. `run` reads, transforms and prints one
 * stream in well under a second: Turbofan's compilations of the YAML reader
 * and printer (~100 ms of CPU on argo-cd's install.yaml, on a background
 * thread, plus its ~12 MiB of zone memory) never pay for themselves there; off,
 * `run` on argo-cd took ~25 % less CPU and ~12 MiB less peak RSS, and still
 * ~3 % less CPU on a 48 MB stream (docs/performance.md, "Session 12 run").
 * Only on a V8 whose Maglev is on by default (V8 >= 12, Node >= 22): Node 20's
 * V8 (11.3) has Maglev off, and would be left with the baseline compiler.
 * Unlike `--max-opt=2`, which V8 reads once at start, `--no-turbofan` is read
 * at each tiering decision, so it takes effect when set here. Output never
 * depends on it. Returns whether it was set; never throws.
 */
export function stopAtMidTier(v8Version: string = process.versions.v8): boolean {
  if (!(Number.parseInt(v8Version, 10) >= 12)) return false;
  try {
    setFlagsFromString('--no-turbofan');
    return true;
  } catch {
    return false;
  }
}
