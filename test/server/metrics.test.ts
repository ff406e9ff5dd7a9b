/**
 * The admission latency histogram (LabelledHistogram) prints what
 * prom-client's Histogram printed for the same observations: cumulative
 * buckets with inclusive upper bounds, `+Inf`, `_sum` and `_count` per route.
 */
import t from 'tap';
import { LabelledHistogram, WebhookMetrics } from '../../src/server/metrics.js';

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
