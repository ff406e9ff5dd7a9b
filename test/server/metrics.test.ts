/**
 * The admission latency histogram (LabelledHistogram) prints what
 * prom-client's Histogram printed for the same observations: cumulative
 * buckets with inclusive upper bounds, `+Inf`, `_sum` and `_count` per route.
 */
import t from 'tap';
import { LabelledHistogram, MAX_KINDS, WebhookMetrics } from '../../src/server/metrics.js';

const NAME = 'kube_postrender_admission_duration_seconds';

/** The exposition lines of the latency histogram after `observations` ([route, seconds]). */
async function histogramLines(observations: [string, number][]): Promise<string[]> {
  const m = new WebhookMetrics();
  for (const [route, seconds] of observations) m.observeRequest(route, 'CREATE', 'Pod', 'allowed', seconds);
  return (await m.registry.metrics()).split('\n').filter((l) => l.startsWith(NAME));
}

const rows: { name: string; observations: [string, number][]; want: string[] }[] = [
  { name: 'nothing observed: no series', observations: [], want: [] },
  {
    name: 'a bound is inclusive; past the last bound only +Inf',
    observations: [['mutate', 0.001], ['mutate', 0.0011], ['mutate', 9]],
    want: [
      `${NAME}_bucket{le="0.001",route="mutate"} 1`,
      `${NAME}_bucket{le="0.0025",route="mutate"} 2`,
      `${NAME}_bucket{le="5",route="mutate"} 2`,
      `${NAME}_bucket{le="+Inf",route="mutate"} 3`,
      `${NAME}_count{route="mutate"} 3`,
    ],
  },
  {
    name: 'one series per route',
    observations: [['mutate', 0.0001], ['validate', 0.02]],
    want: [
      `${NAME}_bucket{le="0.0005",route="mutate"} 1`,
      `${NAME}_bucket{le="0.0005",route="validate"} 0`,
      `${NAME}_bucket{le="0.025",route="validate"} 1`,
      `${NAME}_sum{route="validate"} 0.02`,
      `${NAME}_count{route="validate"} 1`,
    ],
  },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const lines = await histogramLines(row.observations);
    for (const line of row.want) t.ok(lines.includes(line), line);
    if (row.observations.length === 0) t.same(lines, [], 'no series');
    const routes = new Set(row.observations.map(([r]) => r));
    // 13 bounds + `+Inf` + sum + count per route.
    t.equal(lines.length, routes.size * 16, 'every series complete');
  });
}

t.test('requests rejected before the handler are counted but not timed', async (t) => {
  const m = new WebhookMetrics();
  m.observeRequest('mutate', '', '', 'error');
  const text = await m.registry.metrics();
  t.match(text, /kube_postrender_admission_requests_total\{route="mutate",operation="",kind="",result="error"\} 1/);
  t.notMatch(text, new RegExp(`${NAME}_count`), 'no latency series');
});

t.test('reset forgets every observation', async (t) => {
  const h = new LabelledHistogram('x_seconds', 'help', 'route', [1]);
  h.observe('mutate', 0.5);
  t.equal(h.get().values.length, 4, 'bucket, +Inf, sum, count');
  h.reset();
  t.same(h.get().values, []);
});

t.test('evaluation counters: matches, changes, errors by failurePolicy and denials, counted per label values', async (t) => {
  const m = new WebhookMetrics();
  const summary = {
    matchedPolicies: ['a', 'b'],
    changedBy: ['a/t1'],
    applied: [{ policy: 'a', transformer: 't1' }],
    errors: [{ policy: 'b', transformer: 'rule', failurePolicy: 'Ignore' as const }],
    denials: [{ policy: 'b', rule: 'r', message: 'no' }],
  };
  m.observeEvaluation(summary);
  m.observeEvaluation(summary);
  const text = await m.registry.metrics();
  for (const line of [
    'kube_postrender_policy_matches_total{policy="a"} 2',
    'kube_postrender_transformer_changes_total{policy="a",transformer="t1"} 2',
    'kube_postrender_transformer_errors_total{policy="b",transformer="rule",failure_policy="Ignore"} 2',
    'kube_postrender_denials_total{policy="b"} 2',
  ]) t.ok(text.split('\n').includes(line), line);
});

t.test('tallies of 1 to 4 labels: each tuple of label values counted apart (the same values in other positions too), as a reference count', async (t) => {
  const m = new WebhookMetrics();
  const want = new Map<string, number>();
  const count = (line: string): void => void want.set(line, (want.get(line) ?? 0) + 1);
  const values = ['', 'a', 'b', 'a/b'];
  const digit = (i: number, k: number): string => values[Math.floor(i / 4 ** k) % 4] as string; // i's k-th base-4 digit
  const results = ['allowed', 'patched', 'denied', 'error'] as const;
  for (let i = 0; i < 4 ** 4 * 2; i++) {
    const [route, operation, kind, policy, transformer, fp] = [digit(i, 0), digit(i, 1), digit(i, 2) || 'K', digit(i, 1), digit(i, 3), i % 3 ? 'Fail' : 'Ignore'] as const;
    const result = results[Math.floor(i / 4 ** 3) % 4] as (typeof results)[number];
    m.observeRequest(route, operation, kind, result);
    count(`kube_postrender_admission_requests_total{route="${route}",operation="${operation}",kind="${kind}",result="${result}"}`);
    m.observeEvaluation({ matchedPolicies: [policy], changedBy: [], applied: [{ policy, transformer }], errors: [{ policy: transformer, transformer: policy, failurePolicy: fp }], denials: [{ policy: transformer, rule: 'r', message: 'm' }] });
    count(`kube_postrender_policy_matches_total{policy="${policy}"}`);
    count(`kube_postrender_transformer_changes_total{policy="${policy}",transformer="${transformer}"}`);
    count(`kube_postrender_transformer_errors_total{policy="${transformer}",transformer="${policy}",failure_policy="${fp}"}`);
    count(`kube_postrender_denials_total{policy="${transformer}"}`);
  }
  const text = (await m.registry.metrics()).split('\n');
  const got = new Map(text.filter((l) => /^kube_postrender_(admission_requests|policy_matches|transformer_changes|transformer_errors|denials)_total\{/.test(l)).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
  t.same(got, want, `${want.size} series, each with its count`);
  t.ok(want.size > 150, 'many tuples');
});

/** The counter lines of `m` (matches, changes, errors, denials), by series. */
async function evaluationCounts(m: WebhookMetrics): Promise<Map<string, number>> {
  const text = (await m.registry.metrics()).split('\n');
  return new Map(text.filter((l) => /^kube_postrender_(policy_matches|transformer_changes|transformer_errors|denials)_total\{/.test(l)).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
}

t.test('evaluation counters against a reference count: repeated summaries (counted through the last summary\'s counts) and every kind of change between them', async (t) => {
  type Summary = Parameters<WebhookMetrics['observeEvaluation']>[0];
  const summary = (matched: string[], applied: [string, string][], errors = 0): Summary => ({
    matchedPolicies: matched,
    changedBy: applied.map(([p, x]) => `${p}/${x}`),
    applied: applied.map(([policy, transformer]) => ({ policy, transformer })),
    errors: Array.from({ length: errors }, () => ({ policy: matched[0] ?? 'p', transformer: 't', failurePolicy: 'Ignore' as const })),
    denials: [],
  });
  const base = summary(['a', 'b'], [['a', 't1'], ['a', 't2'], ['b', 't1']]);
  // Each differs from `base` in one way the last summary's counts must notice.
  const others: [string, Summary][] = [
    ['a policy more', summary(['a', 'b', 'c'], [['a', 't1'], ['a', 't2'], ['b', 't1']])],
    ['a policy less', summary(['a'], [['a', 't1'], ['a', 't2'], ['b', 't1']])],
    ['another policy', summary(['a', 'c'], [['a', 't1'], ['a', 't2'], ['b', 't1']])],
    ['policies reordered', summary(['b', 'a'], [['a', 't1'], ['a', 't2'], ['b', 't1']])],
    ['a change less', summary(['a', 'b'], [['a', 't1'], ['a', 't2']])],
    ['a change more', summary(['a', 'b'], [['a', 't1'], ['a', 't2'], ['b', 't1'], ['b', 't2']])],
    ['another transformer', summary(['a', 'b'], [['a', 't1'], ['a', 't3'], ['b', 't1']])],
    ['a change by another policy', summary(['a', 'b'], [['a', 't1'], ['b', 't2'], ['b', 't1']])],
    ['policy and transformer swapped', summary(['a', 'b'], [['t1', 'a'], ['a', 't2'], ['b', 't1']])],
    ['nothing matched', summary([], [])],
    ['the same, with an error', summary(['a', 'b'], [['a', 't1'], ['a', 't2'], ['b', 't1']], 1)],
    ['the same names, new strings', summary(['a', 'b'].map((s) => `${s}!`.slice(0, 1)), [['a', 't1'], ['a', 't2'], ['b', 't1']].map(([p, x]) => [`${p}!`.slice(0, 1), `${x}!`.slice(0, 2)] as [string, string]))],
  ];
  const m = new WebhookMetrics();
  const want = new Map<string, number>();
  const count = (line: string): void => void want.set(line, (want.get(line) ?? 0) + 1);
  const observe = (s: Summary): void => {
    m.observeEvaluation(s);
    for (const p of s.matchedPolicies) count(`kube_postrender_policy_matches_total{policy="${p}"}`);
    for (const a of s.applied) count(`kube_postrender_transformer_changes_total{policy="${a.policy}",transformer="${a.transformer}"}`);
    for (const e of s.errors) count(`kube_postrender_transformer_errors_total{policy="${e.policy}",transformer="${e.transformer}",failure_policy="${e.failurePolicy}"}`);
  };
  for (const [name, other] of others) {
    for (const s of [base, base, other, other, base, other]) observe(s);
    t.same(await evaluationCounts(m), want, name);
  }
  // A summary's lists changed in place after it was counted, to the names of the next one: that one is counted under its own names.
  const changedMatches = summary(['a', 'b'], [['a', 't1']]);
  observe(changedMatches);
  (changedMatches.matchedPolicies as string[]).splice(0, 2, 'c', 'd');
  observe(summary(['c', 'd'], [['a', 't1']]));
  t.same(await evaluationCounts(m), want, 'matched policies changed after they were counted');
  const changedPairs = summary(['a'], [['a', 't1'], ['b', 't2']]);
  observe(changedPairs);
  changedPairs.applied[0] = { policy: 'c', transformer: 't9' };
  (changedPairs.applied[1] as { transformer: string }).transformer = 't8';
  observe(summary(['a'], [['c', 't9'], ['b', 't8']]));
  t.same(await evaluationCounts(m), want, 'changes changed after they were counted');
  // Scrapes between observations see every observation so far.
  for (let i = 0; i < 3; i++) {
    observe(base);
    t.same(await evaluationCounts(m), want, `scrape ${i}`);
  }
});

t.test('request counter against a reference count: repeated label values (counted through the last request\'s count), each one changed, and kinds past MAX_KINDS', async (t) => {
  const m = new WebhookMetrics();
  const want = new Map<string, number>();
  const results = ['allowed', 'patched', 'denied', 'error'] as const;
  const observe = (route: string, operation: string, kind: string, result: (typeof results)[number], label = kind): void => {
    m.observeRequest(route, operation, kind, result, 0.001);
    const line = `kube_postrender_admission_requests_total{route="${route}",operation="${operation}",kind="${label}",result="${result}"}`;
    want.set(line, (want.get(line) ?? 0) + 1);
  };
  const requestCounts = async (): Promise<Map<string, number>> => new Map((await m.registry.metrics()).split('\n').filter((l) => l.startsWith('kube_postrender_admission_requests_total{')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
  const base = ['mutate', 'CREATE', 'Pod', 'patched'] as const;
  const others: (readonly [string, string, string, (typeof results)[number]])[] = [
    ['validate', 'CREATE', 'Pod', 'patched'], ['mutate', 'UPDATE', 'Pod', 'patched'], ['mutate', 'CREATE', 'Deployment', 'patched'], ['mutate', 'CREATE', 'Pod', 'allowed'],
    ['', '', '', 'error'], ['mutate', 'Pod', 'CREATE', 'patched'],
  ];
  for (const other of others) for (const r of [base, base, other, other, base]) observe(...r);
  t.same(await requestCounts(), want, 'each label value changed');
  // Fill the kinds up to MAX_KINDS; a new kind is then `other`, and a repeated one stays `other`, while a kept kind keeps its label.
  const seen = new Set([base, ...others].map((r) => r[2])); // kinds labelled so far
  for (let i = 0; i < MAX_KINDS; i++) observe('mutate', 'CREATE', `K${i}`, 'allowed', seen.size + i < MAX_KINDS ? `K${i}` : 'other');
  observe('mutate', 'CREATE', 'Late', 'allowed', 'other');
  observe('mutate', 'CREATE', 'Late', 'allowed', 'other');
  observe('mutate', 'CREATE', 'Pod', 'allowed');
  observe('mutate', 'CREATE', 'Late2', 'allowed', 'other');
  observe('mutate', 'CREATE', 'Pod', 'allowed');
  t.same(await requestCounts(), want, 'kinds past MAX_KINDS');
});

t.test('the last summary\'s counts are one entry: the labels of the last summary only', async (t) => {
  const m = new WebhookMetrics();
  const kept = (): number => (m as unknown as { lastEvaluation: { counts: unknown[] } }).lastEvaluation.counts.length;
  const many = Array.from({ length: 500 }, (_, i) => `p${i}`);
  m.observeEvaluation({ matchedPolicies: many, changedBy: [], applied: many.map((policy) => ({ policy, transformer: 't' })), errors: [], denials: [] });
  t.equal(kept(), 1000, 'a large summary: its matches and changes');
  m.observeEvaluation({ matchedPolicies: ['a'], changedBy: [], applied: [], errors: [], denials: [] });
  t.equal(kept(), 1, 'the next one replaces it');
});
