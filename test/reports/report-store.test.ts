/**
 * ReportStore and buildReport (pure): results per object, dirty namespaces,
 * equal results write nothing, bounded memory, sorting and truncation.
 */
import t from 'tap';
import { buildReport, reportResults, OMITTED_ANNOTATION, type ObjectReference } from '../../src/reports/policy-report.js';
import { ReportStore } from '../../src/reports/report-store.js';
import type { RuleOutcome } from '../../src/reports/outcomes.js';

const ref = (name: string, namespace = 'team-a', kind = 'Deployment', apiVersion = 'apps/v1'): ObjectReference => ({ apiVersion, kind, name, namespace });
const outcome = (result: RuleOutcome['result'], rule = 'r'): RuleOutcome => ({ policy: 'p', rule, result, message: `${result} message` });
const results = (r: ObjectReference, ...o: RuleOutcome[]) => reportResults(r, o, 1000, 'scan');

t.test('a result carries the wgpolicyk8s.io fields', async (t) => {
  const [r] = results(ref('web'), { ...outcome('warn'), changedPaths: 3 });
  t.same(r, {
    source: 'kube-postrender', policy: 'p', rule: 'r', result: 'warn', message: 'warn message', scored: true,
    timestamp: { seconds: 1000, nanos: 0 }, resources: [ref('web')], properties: { origin: 'scan', changedPaths: '3' },
  });
});

t.test('set, equal set, delete: dirty namespaces', async (t) => {
  const s = new ReportStore();
  s.set(ref('web'), results(ref('web'), outcome('fail')));
  s.set(ref('db', ''), results(ref('db', ''), outcome('pass')));
  t.same(s.takeDirty(10), ['team-a', '']);
  s.set(ref('web'), reportResults(ref('web'), [outcome('fail')], 2000, 'scan'));
  t.same(s.takeDirty(10), [], 'same results at a later time: nothing to write');
  s.set(ref('web'), results(ref('web'), outcome('pass')));
  t.same(s.takeDirty(1), ['team-a']);
  s.delete(ref('web'));
  t.same(s.takeDirty(10), ['team-a']);
  t.equal(s.report('team-a'), undefined, 'no results: no report (the writer deletes it)');
  t.equal(s.report('')?.kind, 'ClusterPolicyReport');
  s.set(ref('db', ''), []);
  t.equal(s.size, 0, 'an empty result list removes the object');
});

t.test('takeDirty returns at most max namespaces, the rest stay', async (t) => {
  const s = new ReportStore();
  for (const ns of ['a', 'b', 'c']) s.set(ref('x', ns), results(ref('x', ns), outcome('pass')));
  t.same(s.takeDirty(2), ['a', 'b']);
  t.equal(s.dirtyCount, 1);
  t.same(s.takeDirty(2), ['c']);
});

t.test('bounded: the least recently updated object goes first', async (t) => {
  const s = new ReportStore(2);
  s.set(ref('a'), results(ref('a'), outcome('pass')));
  s.set(ref('b'), results(ref('b'), outcome('pass')));
  s.set(ref('a'), results(ref('a'), outcome('fail')));
  s.set(ref('c'), results(ref('c'), outcome('pass')));
  t.equal(s.size, 2);
  t.equal(s.evicted, 1);
  t.same(s.report('team-a')?.results.map((r) => r.resources[0].name).sort(), ['a', 'c']);
});

t.test('retainKind and retainKinds drop objects by kind', async (t) => {
  const s = new ReportStore();
  s.set(ref('a'), results(ref('a'), outcome('pass')));
  s.set(ref('b'), results(ref('b'), outcome('pass')));
  s.set(ref('p', 'team-a', 'Pod', 'v1'), results(ref('p', 'team-a', 'Pod', 'v1'), outcome('pass')));
  s.retainKind('apps/Deployment', (r) => r.name === 'a');
  t.equal(s.size, 2);
  s.retainKinds((k) => k !== '/Pod');
  t.same(s.report('team-a')?.results.map((r) => r.resources[0].name), ['a']);
  t.same(s.summary(), { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
});

t.test('buildReport: worst first, summary over all, truncation annotated', async (t) => {
  const all = [
    ...results(ref('b'), outcome('pass')),
    ...results(ref('a'), outcome('warn')),
    ...results(ref('c'), outcome('fail')),
    ...results(ref('a'), outcome('error')),
    ...results(ref('a'), outcome('skip')),
  ];
  const report = buildReport('team-a', all, 3);
  t.equal(report.apiVersion, 'wgpolicyk8s.io/v1alpha2');
  t.equal(report.kind, 'PolicyReport');
  t.same(report.metadata, { name: 'kube-postrender', namespace: 'team-a', labels: { 'app.kubernetes.io/managed-by': 'kube-postrender' }, annotations: { [OMITTED_ANNOTATION]: '2' } });
  t.same(report.results.map((r) => r.result), ['fail', 'error', 'warn']);
  t.same(report.summary, { pass: 1, fail: 1, warn: 1, error: 1, skip: 1 });
  t.notOk(buildReport('', all).metadata.namespace, 'cluster report has no namespace');
  t.notOk(buildReport('', all).metadata.annotations, 'nothing omitted, no annotation');
});
