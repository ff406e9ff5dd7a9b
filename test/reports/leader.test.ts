/**
 * LeaderElector (src/policy/sources/leader.ts) over a fake Lease API and a
 * fake clock: client-go's tryAcquireOrRenew rules, one step per row.
 */
import t from 'tap';
import { LeaderElector, type LeaseApi, type LeaseObject } from '../../src/policy/sources/leader.js';

function fakeLeases(): LeaseApi & { lease?: LeaseObject; rv: number } {
  const api = {
    lease: undefined as LeaseObject | undefined,
    rv: 0,
    get: async () => (api.lease ? structuredClone(api.lease) : undefined),
    create: async (l: LeaseObject) => {
      if (api.lease) return false;
      api.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++api.rv) } };
      return true;
    },
    replace: async (l: LeaseObject) => {
      if (!api.lease || l.metadata.resourceVersion !== api.lease.metadata.resourceVersion) return false;
      api.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++api.rv) } };
      return true;
    },
  };
  return api;
}

t.test('acquire, hold off, take over an expired lease, renew', async (t) => {
  const api = fakeLeases();
  let now = 1_000_000;
  const make = (identity: string) => new LeaderElector({ api, namespace: 'ns', name: 'l', identity, now: () => now });
  const a = make('a');
  const b = make('b');
  t.ok(await a.tryAcquireOrRenew(), 'a creates the lease');
  t.equal(api.lease?.spec?.holderIdentity, 'a');
  t.match(api.lease?.spec?.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime with six fractional digits');
  t.notOk(await b.tryAcquireOrRenew(), 'b sees a fresh lease held by a');
  now += 10_000;
  t.ok(await a.tryAcquireOrRenew(), 'a renews');
  now += 10_000;
  t.notOk(await b.tryAcquireOrRenew(), 'b saw the record change 10 s ago: not expired (its own clock)');
  now += 16_000;
  t.ok(await b.tryAcquireOrRenew(), 'no change for > 15 s: b takes over');
  t.equal(api.lease?.spec?.holderIdentity, 'b');
  t.equal(api.lease?.spec?.leaseTransitions, 1);
  t.notOk(await a.tryAcquireOrRenew(), 'a lost it');
});

t.test('a write race: only one wins (409 on the stale resourceVersion)', async (t) => {
  const api = fakeLeases();
  const now = 5_000_000;
  const a = new LeaderElector({ api, namespace: 'ns', name: 'l', identity: 'a', now: () => now });
  await a.tryAcquireOrRenew();
  api.lease!.spec!.holderIdentity = '';
  const b = new LeaderElector({ api, namespace: 'ns', name: 'l', identity: 'b', now: () => now });
  const c = new LeaderElector({ api, namespace: 'ns', name: 'l', identity: 'c', now: () => now });
  const [rb, rc] = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
  t.equal([rb, rc].filter(Boolean).length, 1);
});

t.test('start leads, stop releases the lease for a successor', async (t) => {
  const api = fakeLeases();
  const events: string[] = [];
  const a = new LeaderElector({ api, namespace: 'ns', name: 'l', identity: 'a', retryPeriodMs: 10, onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop') });
  a.start();
  for (let i = 0; i < 100 && !a.isLeader; i++) await new Promise((r) => setTimeout(r, 5));
  t.ok(a.isLeader);
  await a.stop();
  t.same(events, ['start', 'stop']);
  t.equal(api.lease?.spec?.holderIdentity, '', 'released');
  const b = new LeaderElector({ api, namespace: 'ns', name: 'l', identity: 'b' });
  t.ok(await b.tryAcquireOrRenew(), 'a successor takes it at once');
});

t.test('a leader that cannot renew for renewDeadline stops leading', async (t) => {
  const api = fakeLeases();
  let now = 0;
  let failing = false;
  const flaky: LeaseApi = { ...api, get: async (ns, n) => { if (failing) throw new Error('unreachable'); return api.get(ns, n); } };
  const events: string[] = [];
  const a = new LeaderElector({ api: flaky, namespace: 'ns', name: 'l', identity: 'a', retryPeriodMs: 5, renewDeadlineMs: 10_000, now: () => now, onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop'), onError: () => events.push('error') });
  a.start();
  for (let i = 0; i < 100 && !a.isLeader; i++) await new Promise((r) => setTimeout(r, 5));
  failing = true;
  now = 5_000;
  await new Promise((r) => setTimeout(r, 30));
  t.ok(a.isLeader, 'within the deadline: still leading');
  now = 11_000;
  for (let i = 0; i < 100 && a.isLeader; i++) await new Promise((r) => setTimeout(r, 5));
  t.notOk(a.isLeader);
  await a.stop();
  t.same(events.filter((e) => e !== 'error'), ['start', 'stop']);
});
