/**
 * answerJson (the server's reply serializer) against its reference,
 * `JSON.stringify`: every answer `review` gives (recorded reviews, the bench's
 * policy sets, denials, warnings, errors, 400s), answers changed after review
 * (which must fall back), and values that are not answers at all. The
 * counters check that the common answers do take the direct path (so the
 * table compares it, not only the fallback).
 */
import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerJson, review } from '../../src/admission/review.js';
import { loadPolicies } from '../../src/policy/load.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';
import type { PolicySet } from '../../src/policy/types.js';
import type { JsonObject } from '../../src/kube/object.js';
import { fakePolicies } from './fake-policies.js';

/** A Pod CREATE the bench's chain10 changes (labels, annotations, an image, spec fields). */
function podReview(name = 'web-5d8f7c9b4-x'): JsonObject {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `uid-${name}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop', operation: 'CREATE',
      object: {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name, labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'quay.io/argoproj/argocd:v2.9' }, { name: 'proxy', image: 'envoyproxy/envoy:v1.28' }] },
      },
    },
  };
}

const root = new URL('../../', import.meta.url).pathname;
const recordedDir = join(root, 'test/data/admission/recorded');
const recorded = readdirSync(recordedDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f, review: (JSON.parse(readFileSync(join(recordedDir, f), 'utf8')) as { review: JsonObject }).review }));
const sets: [string, PolicySet][] = [
  ...['chain10', 'chain10-gatekeeper', 'chain10-map', 'none', 'sidecar-pod'].map((s): [string, PolicySet] => [s, loadPolicies([join(root, 'bench/policies', `${s}.yaml`)], defaultLoadOptions()).set]),
  ['fake', fakePolicies()],
  ['fake deny', fakePolicies({ deny: [{ policy: 'p', rule: 'r', message: 'no "way"' }] })],
  ['fake throws', fakePolicies({ throws: new Error('boom "quoted" \u0001') })],
  ['fake warns', fakePolicies({ warnings: ['w "1"', 'w\n2'] })],
];

/** `answerJson(x)`, with `onCall` told the first argument of every `JSON.stringify` call it made. */
function spiedAnswerJson(x: unknown, onCall: (value: unknown) => void): string {
  const real = JSON.stringify;
  JSON.stringify = ((...args: Parameters<typeof real>) => {
    onCall(args[0]);
    return real(...args);
  }) as typeof real;
  try {
    return answerJson(x);
  } finally {
    JSON.stringify = real;
  }
}

/** `answerJson(x)` and the number of `JSON.stringify` calls it made. */
function countedAnswerJson(x: unknown): { got: string; calls: number } {
  let calls = 0;
  const got = spiedAnswerJson(x, () => calls++);
  return { got, calls };
}

/** Compares `answerJson(x)` with `JSON.stringify(x)`; counts how many took the direct path (no `JSON.stringify` call). */
function check(t: Test, x: unknown, name: string, direct: { n: number }): void {
  const { got, calls } = countedAnswerJson(x);
  t.equal(got, JSON.stringify(x), name);
  // The direct path calls JSON.stringify only for the uid (one call on a string).
  if (calls <= 1) direct.n++;
}

t.test('every answer of review, and the same answer changed after review', async (t) => {
  const direct = { n: 0 };
  const bodies = [...recorded, { name: 'Pod', review: podReview() }];
  for (const [setName, set] of sets) {
    for (const { name, review: body } of bodies) {
      for (const route of ['mutate', 'validate'] as const) {
        const r = review(structuredClone(body), set, { route });
        const label = `${setName} ${name} ${route}`;
        check(t, r.body, label, direct);
        const b = structuredClone(r.body) as unknown as { response?: JsonObject };
        if (!b.response) continue;
        // Changed after review: each must fall back (and so still equal JSON.stringify).
        const changes: [string, (x: { apiVersion?: unknown; response: JsonObject }) => void][] = [
          ['uid with quotes and controls', (x) => void (x.response.uid = 'a"b\\c\u0000\ud800')],
          ['allowed flipped', (x) => void (x.response.allowed = !x.response.allowed)],
          ['allowed not a boolean', (x) => void (x.response.allowed = 'yes')],
          ['patch with a quote', (x) => void (x.response.patch = 'ab"c')],
          ['patch undefined', (x) => void (x.response.patch = undefined as unknown as JsonObject)],
          ['patchType other', (x) => void (x.response.patchType = 'Other')],
          ['extra key', (x) => void (x.response.extra = 1)],
          ['apiVersion other', (x) => void (x.apiVersion = 'x"y')],
          ['apiVersion v1beta1', (x) => void (x.apiVersion = 'admission.k8s.io/v1beta1')],
          ['keys reordered', (x) => {
            const { uid, ...rest } = x.response;
            x.response = { ...rest, uid };
          }],
          ['response a list', (x) => void (x.response = [] as unknown as JsonObject)],
        ];
        for (const [what, change] of changes) {
          const c = structuredClone(b) as { response: JsonObject };
          change(c);
          check(t, c, `${label}: ${what}`, { n: 0 });
        }
        // The same answer, its objects rebuilt: still the last patch, still equal.
        check(t, structuredClone(r.body), `${label}: copied`, { n: 0 });
      }
    }
  }
  t.ok(direct.n >= 100, `the direct path was taken (${direct.n} answers)`);
});

t.test('a patch from an earlier review falls back', async (t) => {
  const set = sets[0]![1];
  const first = review(podReview(), set, { route: 'mutate' }).body;
  review(podReview('other'), set, { route: 'mutate' });
  const { got, calls } = countedAnswerJson(first);
  t.equal(got, JSON.stringify(first));
  t.equal(calls, 1, 'one JSON.stringify: of the whole answer');
});

t.test('values that are not answers', async (t) => {
  const rows: [string, unknown][] = [
    ['string', 'a"b'],
    ['number', 5],
    ['null', null],
    ['boolean', true],
    ['list', [1, { a: 2 }]],
    ['400 body', { code: 'ERR_KIND', message: 'm "q"' }],
    ['health', { status: 'ok' }],
    ['AdmissionReview without response', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    ['kind other', { apiVersion: 'admission.k8s.io/v1', kind: 'Other', response: { uid: 'u', allowed: true } }],
    ['minimal answer', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } }],
    ['minimal answer, uid not a string', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 5, allowed: true } }],
    ['answer with a toJSON', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true }, toJSON: () => 'x' }],
  ];
  for (const [name, x] of rows) t.equal(answerJson(x), JSON.stringify(x), name);
});

t.test('own keys only: inherited enumerable keys and own non-enumerable ones are not members', async (t) => {
  const withProto = (proto: object, own: JsonObject): JsonObject => Object.assign(Object.create(proto) as JsonObject, own);
  const response = { uid: 'u', allowed: true };
  const hidden = { uid: 'u', allowed: true };
  Object.defineProperty(hidden, 'secret', { value: 1, enumerable: false });
  const rows: [string, unknown][] = [
    ['an inherited enumerable key on the review', withProto({ extra: 1 }, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response })],
    ['an inherited enumerable key on the response', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: withProto({ extra: 'x' }, response) }],
    ['an own non-enumerable key on the response', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: hidden }],
    ['allowed false', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid: 'u"v', allowed: false } }],
    ['a key missing', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u' } }],
    ['a key more', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true, z: 1 } }],
  ];
  /** `answerJson(x)`, and whether it wrote anything but a string (the uid) through JSON.stringify: false on the direct path. */
  const fellBack = (x: unknown): { got: string; whole: boolean } => {
    let whole = false;
    const got = spiedAnswerJson(x, (value) => {
      if (typeof value !== 'string') whole = true;
    });
    return { got, whole };
  };
  for (const [name, x] of rows) {
    const { got, whole } = fellBack(x);
    t.equal(got, JSON.stringify(x), name);
    if (name.startsWith('an ') || name === 'allowed false') t.notOk(whole, `${name}: the direct path (only the uid through JSON.stringify)`);
  }
  // An enumerable key polluting Object.prototype is inherited by every answer: still not a member.
  const body = review(podReview(), sets[0]![1], { route: 'mutate' }).body;
  Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true });
  try {
    const { got, whole } = fellBack(body);
    t.equal(got, JSON.stringify(body), 'Object.prototype polluted');
    t.notOk(whole, 'the direct path');
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
  }
});
