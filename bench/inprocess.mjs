/**
 * In-process cost of `review()` (no HTTP, no TLS): µs per call for the bench's
 * payloads and policy sets, split into JSON.parse, review and the response's
 * JSON.stringify. `node bench/inprocess.mjs [seconds]`; also used by run.mjs.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicies } from '../dist/policy/load.js';
import { defaultLoadOptions } from '../dist/cli/policies.js';
import { review } from '../dist/admission/review.js';
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
};

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

/** Measures each (policy set, payload) pair for about `ms` milliseconds; returns rows of µs. */
export function inProcess(ms = 500) {
  const sets = Object.fromEntries(Object.entries(POLICY_FILES).map(([k, v]) => [k, loadPolicies(v, defaultLoadOptions()).set]));
  const payloads = { pod: podObject(), configmap8k: configMapObject(9 * 1024, 'small-config'), crd1m: crdObject() };
  const plan = [['none', 'pod'], ['unmatched', 'configmap8k'], ['platform', 'pod'], ['chain10', 'pod'], ['chain10gk', 'pod'], ['full', 'pod'], ['platform', 'crd1m']];
  return plan.map(([set, name]) => {
    const text = JSON.stringify(admissionReview(payloads[name]));
    const parsed = JSON.parse(text);
    const res = review(parsed, sets[set], { route: 'mutate' });
    const out = JSON.stringify(res.body);
    return {
      scenario: `${set}/${name}`,
      parseUs: Math.round(perCall(() => JSON.parse(text), ms) * 10) / 10,
      reviewUs: Math.round(perCall(() => review(JSON.parse(text), sets[set], { route: 'mutate' }), ms) * 10) / 10 - 0,
      stringifyUs: Math.round(perCall(() => JSON.stringify(res.body), ms / 5) * 10) / 10,
      allowed: res.body.response.allowed,
      patchOps: res.body.response.patch ? JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString()).length : 0,
      responseBytes: out.length,
    };
  }).map((r) => ({ ...r, reviewUs: Math.round((r.reviewUs - r.parseUs) * 10) / 10 }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(inProcess(Number(process.argv[2] ?? 1) * 1000));
}
