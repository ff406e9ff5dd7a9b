/**
 * Side-by-side in-process cost of the three dialects of issue 18's
 * 10-transformer chain (bench/policies/chain10*.yaml) for one or more builds
 * (checkouts with `dist/` built), in ONE process: every round runs each
 * (build, policy set) once over a pool of freshly parsed review bodies, in an
 * order flipped every round, so all share the machine's moment and the JIT's
 * state (a server loads all dialects). Prints per build the median µs per
 * `review()` and the median of the per-round ratios to chain10.
 * `npm run build && node bench/inprocess-ab.mjs [ROUNDS] [OTHER_CHECKOUT...]`
 * (default 200 rounds; this checkout first).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
const roots = [here, ...process.argv.slice(2).filter((a) => !/^\d+$/.test(a))];
const names = ['chain10', 'chain10-gatekeeper', 'chain10-map'];
const POOL = 40;

const runs = [];
for (const root of roots) {
  const { loadPolicies } = await import(join(root, 'dist/policy/load.js'));
  const { defaultLoadOptions } = await import(join(root, 'dist/cli/policies.js'));
  const { review } = await import(join(root, 'dist/admission/review.js'));
  const { admissionReview, podObject } = await import(join(root, 'bench/corpus.mjs'));
  const text = JSON.stringify(admissionReview(podObject()));
  for (const s of names) runs.push({ root, s, review, text, set: loadPolicies([join(root, 'bench/policies', `${s}.yaml`)], defaultLoadOptions()).set, us: [] });
}
for (const r of runs) for (let i = 0; i < 3000; i++) r.review(JSON.parse(r.text), r.set, { route: 'mutate' });
for (let k = 0; k < rounds; k++) {
  for (const r of k % 2 ? runs : [...runs].reverse()) {
    const bodies = Array.from({ length: POOL }, () => JSON.parse(r.text));
    const t0 = performance.now();
    for (const b of bodies) r.review(b, r.set, { route: 'mutate' });
    r.us.push(((performance.now() - t0) * 1000) / POOL);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const root of roots) {
  const mine = runs.filter((r) => r.root === root);
  const base = mine[0];
  console.log(root);
  for (const r of mine) console.log(`  ${r.s.padEnd(20)} ${median(r.us).toFixed(1).padStart(7)} µs  ${median(r.us.map((x, i) => x / base.us[i])).toFixed(2)}x chain10`);
}
