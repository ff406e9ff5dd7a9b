/**
 * ReportWriter over a fake ReportApi: create, update with the read
 * resourceVersion, delete when empty, at most maxWrites per batch, conflicts
 * and failures retried in the next batch.
 */
import t from 'tap';
import { reportResults, type ObjectReference, type PolicyReportObject } from '../../src/reports/policy-report.js';
import { ReportStore } from '../../src/reports/report-store.js';
import { ReportWriter, type ReportApi } from '../../src/reports/report-writer.js';

const ref = (name: string, namespace: string): ObjectReference => ({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace });
const put = (s: ReportStore, name: string, ns: string, result: 'pass' | 'fail' = 'fail'): void =>
  s.set(ref(name, ns), reportResults(ref(name, ns), [{ policy: 'p', rule: 'r', result, message: '' }], 1, 'scan'));

function fakeApi(): ReportApi & { reports: Map<string, PolicyReportObject & { rv: number }>; calls: string[]; failNext?: string; conflictNext?: string } {
  const reports = new Map<string, PolicyReportObject & { rv: number }>();
  const calls: string[] = [];
  const api = {
    reports,
    calls,
    failNext: undefined as string | undefined,
    conflictNext: undefined as string | undefined,
    get: async (ns: string) => {
      calls.push(`get ${ns}`);
      if (api.failNext === ns) {
        api.failNext = undefined;
        throw new Error('boom');
      }
      const r = reports.get(ns);
      return r ? { resourceVersion: String(r.rv) } : undefined;
    },
    create: async (r: PolicyReportObject) => {
      calls.push(`create ${r.metadata.namespace ?? ''}`);
      reports.set(r.metadata.namespace ?? '', { ...r, rv: 1 });
      return true;
    },
    replace: async (r: PolicyReportObject) => {
      const ns = r.metadata.namespace ?? '';
      calls.push(`replace ${ns}@${r.metadata.resourceVersion}`);
      if (api.conflictNext === ns) {
        api.conflictNext = undefined;
        return false;
      }
      reports.set(ns, { ...r, rv: (reports.get(ns)?.rv ?? 0) + 1 });
      return true;
    },
    remove: async (ns: string) => {
      calls.push(`delete ${ns}`);
      reports.delete(ns);
    },
    list: async () => [...reports.keys()],
  };
  return api;
}

t.test('create, update, delete; one write per namespace per batch', async (t) => {
  const store = new ReportStore();
  const api = fakeApi();
  const w = new ReportWriter({ store, api, maxWrites: 10 });
  put(store, 'a', 'ns1');
  put(store, 'b', 'ns1');
  put(store, 'c', 'ns2');
  t.ok(await w.flush());
  t.same(api.calls, ['get ns1', 'create ns1', 'get ns2', 'create ns2']);
  t.equal(api.reports.get('ns1')?.results.length, 2, 'both objects in one report');
  api.calls.length = 0;
  put(store, 'a', 'ns1', 'pass');
  await w.flush();
  t.same(api.calls, ['get ns1', 'replace ns1@1']);
  t.same(api.reports.get('ns1')?.summary, { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
  api.calls.length = 0;
  store.delete(ref('c', 'ns2'));
  await w.flush();
  t.same(api.calls, ['get ns2', 'delete ns2']);
  api.calls.length = 0;
  t.ok(await w.flush());
  t.same(api.calls, [], 'nothing changed, nothing written');
});

t.test('maxWrites bounds a batch; the rest waits for the next', async (t) => {
  const store = new ReportStore();
  const api = fakeApi();
  const w = new ReportWriter({ store, api, maxWrites: 2 });
  for (let i = 0; i < 5; i++) put(store, 'x', `ns${i}`);
  await w.flush();
  t.equal(api.reports.size, 2);
  await w.flush();
  await w.flush();
  t.equal(api.reports.size, 5);
});

t.test('a conflict or a failure is retried in the next batch', async (t) => {
  const store = new ReportStore();
  const api = fakeApi();
  const outcomes: string[] = [];
  const w = new ReportWriter({ store, api, onWrite: (_ns, o) => outcomes.push(o) });
  put(store, 'a', 'ns1');
  await w.flush();
  put(store, 'a', 'ns1', 'pass');
  api.conflictNext = 'ns1';
  await w.flush();
  api.failNext = 'ns1';
  t.notOk(await w.flush(), 'a failed batch');
  t.ok(await w.flush());
  t.same(outcomes, ['created', 'conflict', 'failed', 'updated']);
  t.equal(api.reports.get('ns1')?.results[0].result, 'pass');
});

t.test('adoptExisting: reports of namespaces without results are deleted', async (t) => {
  const store = new ReportStore();
  const api = fakeApi();
  const w = new ReportWriter({ store, api });
  put(store, 'a', 'old');
  await w.flush();
  const fresh = new ReportStore();
  const w2 = new ReportWriter({ store: fresh, api });
  await w2.adoptExisting();
  await w2.flush();
  t.equal(api.reports.size, 0);
});
