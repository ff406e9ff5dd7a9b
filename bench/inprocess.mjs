/**
 * In-process cost of `review()` (no HTTP, no TLS): µs per call for the bench's
 * payloads and policy sets, split into the parse (JSON.parse and
 * `jsonNestingBound` of the body's bytes, which bounds its nesting, as the
 * server's JSON parser does), review (of a freshly parsed body given that bound, as the server
 * passes it; timed without the parse) and the response's JSON.stringify.
 * `node bench/inprocess.mjs [seconds]`; also used by run.mjs.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicies } from '../dist/policy/load.js';
import { defaultLoadOptions } from '../dist/cli/policies.js';
import { review } from '../dist/admission/review.js';
import { jsonNestingBound } from '../dist/admission/nesting-bound.js';
import { MAX_NESTING_DEPTH } from '../dist/admission/parse.js';
import { admissionReview, configMapObject, crdObject, podObject } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const VALIDATES = ['allowed-registries', 'disallow-latest-tag', 'disallow-privileged-hostpath', 'require-resource-limits', 'require-run-as-non-root'].map((p) => join(root, 'examples/policies', p, 'policy.yaml'));
/** The policy sets of the bench. */
export const POLICY_FILES = {
  none: [join(here, 'policies/none.yaml')],
  platform: [join(root, 'examples/platform-policy.yaml')],
  full: [join(root, 'examples/platform-policy.yaml'), join(here, 'policies/sidecar-pod.yaml'), ...VALIDATES],
  unmatched: [join(here, 'policies/sidecar-pod.yaml'), ...VALIDATES],
  chain10: [join(here, 'policies/chain10.yaml')],
  chain10gk: [join(here, 'policies/chain10-gatekeeper.yaml')],
  chain10map: [join(here, 'policies/chain10-map.yaml')],
};

/**
 * The three dialects of the 10-transformer chain (our transformers, Gatekeeper
 * mutators, a MutatingAdmissionPolicy) must do the same work for their costs
 * to compare: their answers for the bench Pod are checked to be the same patch
 * operations.
 * Throws naming the sets that differ.
 */
function checkSameWork(sets, pod) {
  // The same operations; their order follows each dialect's order (Gatekeeper sorts mutators by ID).
  const patchOf = (set) => {
    const patch = review(JSON.parse(JSON.stringify(admissionReview(pod))), sets[set], { route: 'mutate' }).body.response.patch;
    return patch && JSON.stringify(JSON.parse(Buffer.from(patch, 'base64').toString()).map((op) => JSON.stringify(op)).sort());
  };
  const want = patchOf('chain10');
  const differ = ['chain10gk', 'chain10map'].filter((s) => patchOf(s) !== want);
  if (!want || differ.length > 0) throw new Error(`bench: ${differ.join(', ') || 'chain10'} do not make the same change as chain10`);
}

function perCall(fn, ms) {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    fn();
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * µs per `review()` of a freshly parsed body, as the server sees it: rounds of
 * `pool` bodies parsed outside the timed loop (no subtraction of two noisy
 * timings, which went negative under load), the median round of about `ms`
 * milliseconds in all.
 */
function perReview(text, set, ms, pool) {
  const opts = { route: 'mutate', nestingBound: boundOf(text) };
  for (let i = 0; i < 20; i++) review(JSON.parse(text), set, opts);
  const rounds = [];
  const end = performance.now() + ms;
  while (rounds.length < 5 || (performance.now() < end && rounds.length < 201)) {
    const bodies = Array.from({ length: pool }, () => JSON.parse(text));
    const t0 = performance.now();
    for (const b of bodies) review(b, set, opts);
    rounds.push(((performance.now() - t0) * 1000) / pool);
  }
  rounds.sort((a, b) => a - b);
  return rounds[rounds.length >> 1];
}

/** The nesting bound the server's JSON parser computes for a body's bytes (src/server/app.ts). */
const boundOf = (text) => jsonNestingBound(Buffer.from(text), MAX_NESTING_DEPTH);

const round1 = (x) => Math.round(x * 10) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The three dialects of issue 18's 10-transformer chain, ours first (the ratios' base). */
const DIALECTS = ['chain10', 'chain10gk', 'chain10map'];

/**
 * Issue 18's "MutatingAdmissionPolicies and Gatekeeper mutators doing the
 * same work cost no more than our own transformers", measured the same way
 * for the three dialects: every round runs each one once over a pool of 40
 * freshly parsed review bodies of the bench Pod, in an order flipped every
 * round (as bench/inprocess-ab.mjs), for about `ms` milliseconds (11 to 401
 * rounds), so the three share the machine's moment and the JIT's state;
 * measured one after the other (the rows of inProcess), the later sets ran
 * with a JIT shaped by the earlier ones, and the ratio moved by up to 2x.
 * Returns per dialect the median µs per `review()` and the median of the
 * per-round ratios to chain10 (`xChain10`, what the targets read).
 */
export function dialectRatios(ms = 3000, sets = Object.fromEntries(DIALECTS.map((k) => [k, loadPolicies(POLICY_FILES[k], defaultLoadOptions()).set]))) {
  const text = JSON.stringify(admissionReview(podObject()));
  checkSameWork(sets, podObject());
  const runs = DIALECTS.map((name) => ({ name, set: sets[name], us: [] }));
  const opts = { route: 'mutate', nestingBound: boundOf(text) };
  for (const r of runs) for (let i = 0; i < 1000; i++) review(JSON.parse(text), r.set, opts);
  const end = performance.now() + ms;
  for (let k = 0; k < 11 || (performance.now() < end && k < 401); k++) {
    for (const r of k % 2 ? runs : [...runs].reverse()) {
      const bodies = Array.from({ length: 40 }, () => JSON.parse(text));
      const t0 = performance.now();
      for (const b of bodies) review(b, r.set, opts);
      r.us.push(((performance.now() - t0) * 1000) / bodies.length);
    }
  }
  const base = runs[0].us;
  return runs.map((r) => ({ scenario: `${r.name}/pod`, reviewUs: round1(median(r.us)), xChain10: Math.round(median(r.us.map((x, i) => x / base[i])) * 100) / 100, rounds: r.us.length }));
}

/** Measures each (policy set, payload) pair for about `ms` milliseconds; returns rows of µs. */
export function inProcess(ms = 500) {
  const sets = Object.fromEntries(Object.entries(POLICY_FILES).map(([k, v]) => [k, loadPolicies(v, defaultLoadOptions()).set]));
  const payloads = { pod: podObject(), configmap8k: configMapObject(9 * 1024, 'small-config'), crd1m: crdObject() };
  checkSameWork(sets, payloads.pod);
  const plan = [['none', 'pod'], ['unmatched', 'configmap8k'], ['platform', 'pod'], ['chain10', 'pod'], ['chain10gk', 'pod'], ['chain10map', 'pod'], ['full', 'pod'], ['platform', 'crd1m']];
  return plan.map(([set, name]) => {
    const text = JSON.stringify(admissionReview(payloads[name]));
    const bytes = Buffer.from(text);
    const res = review(JSON.parse(text), sets[set], { route: 'mutate' });
    const out = JSON.stringify(res.body);
    return {
      scenario: `${set}/${name}`,
      parseUs: round1(perCall(() => {
        JSON.parse(bytes.toString('utf8'));
        jsonNestingBound(bytes, MAX_NESTING_DEPTH);
      }, ms / 2)),
      reviewUs: round1(perReview(text, sets[set], ms, name === 'crd1m' ? 4 : 100)),
      stringifyUs: round1(perCall(() => JSON.stringify(res.body), ms / 5)),
      allowed: res.body.response.allowed,
      patchOps: res.body.response.patch ? JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString()).length : 0,
      responseBytes: out.length,
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(inProcess(Number(process.argv[2] ?? 1) * 1000));
  console.table(dialectRatios(Number(process.argv[2] ?? 1) * 3000));
}
