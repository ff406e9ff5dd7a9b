/**
 * `review()` with hot and with cold caches (session 10, docs/performance.md
 * "what bounds each target"): each review of a freshly parsed bench Pod is
 * timed alone, either right after the previous one (hot: what the in-process
 * rows measure) or after copying 4 MiB between two reviews (cold: the HTTP
 * and TLS work between two requests evicts the review's code and data from
 * the CPU caches, as on the server). Alternating rounds of 300 reviews,
 * medians in µs per review (the response's JSON.stringify included).
 * `npm run build && node bench/cold-caches.mjs [SET...]` (sets of
 * bench/inprocess.mjs POLICY_FILES; default none chain10 full).
 */
import { loadPolicies } from '../dist/policy/load.js';
import { defaultLoadOptions } from '../dist/cli/policies.js';
import { reviewWithEvaluation } from '../dist/admission/review.js';
import { POLICY_FILES } from './inprocess.mjs';
import { admissionReview, podObject } from './corpus.mjs';

const names = process.argv.length > 2 ? process.argv.slice(2) : ['none', 'chain10', 'full'];
const text = JSON.stringify(admissionReview(podObject()));
const sets = names.map((n) => [n, loadPolicies(POLICY_FILES[n], defaultLoadOptions()).set]);
const from = Buffer.alloc(4 << 20);
const to = Buffer.alloc(4 << 20);
const ROUNDS = 30;
const WARM_ROUNDS = 5;
const PER_ROUND = 300;
const us = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, set] of sets) {
    for (const cold of [false, true]) {
      const bodies = Array.from({ length: PER_ROUND }, () => JSON.parse(text));
      let ms = 0;
      for (const body of bodies) {
        if (cold) from.copy(to);
        const t0 = performance.now();
        JSON.stringify(reviewWithEvaluation(body, set, { route: 'mutate' }).result.body);
        ms += performance.now() - t0;
      }
      if (round >= WARM_ROUNDS) (us[name] ??= { hot: [], cold: [] })[cold ? 'cold' : 'hot'].push((ms * 1000) / PER_ROUND);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.table(Object.entries(us).map(([scenario, { hot, cold }]) => ({
  scenario,
  hotUs: Math.round(median(hot) * 10) / 10,
  coldUs: Math.round(median(cold) * 10) / 10,
  coldXHot: Math.round((median(cold) / median(hot)) * 100) / 100,
})));
