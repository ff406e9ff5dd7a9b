/**
 * DenialEvents: the core/v1 Event of a denial (names only, never rule
 * messages), the token bucket and the repeat window.
 */
import t from 'tap';
import { DenialEvents, type DeniedRequest } from '../../src/reports/denial-events.js';

const req = (name: string, overrides: Partial<DeniedRequest> = {}): DeniedRequest => ({
  operation: 'CREATE', apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'team-a',
  denials: [{ policy: 'owner', rule: 'has-owner', message: 'secret value s3cr3t' }], ...overrides,
});

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('the event: Warning PolicyViolation on the object, names only', async (t) => {
  const sent: { ns: string; e: Record<string, unknown> }[] = [];
  const ev = new DenialEvents({ create: async (ns, e) => void sent.push({ ns, e }), instance: 'pod-1', now: () => Date.UTC(2026, 11, 5, 21, 0, 0) });
  ev.denied(req('web'));
  ev.denied(req('cluster-thing', { namespace: '', kind: 'Namespace', apiVersion: 'v1' }));
  await flush();
  t.equal(sent.length, 2);
  t.match(sent[0], {
    ns: 'team-a',
    e: {
      apiVersion: 'v1', kind: 'Event', type: 'Warning', reason: 'PolicyViolation',
      metadata: { generateName: 'web.', namespace: 'team-a' },
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team-a' },
      message: 'CREATE denied by policy owner rule has-owner',
      reportingComponent: 'kube-postrender', reportingInstance: 'pod-1', firstTimestamp: '2026-12-05T21:00:00Z', count: 1,
    },
  });
  t.notMatch(JSON.stringify(sent), /s3cr3t/, 'rule messages are not copied into events');
  t.equal(sent[1].ns, 'default', 'cluster-scoped objects: events in default, as client-go');
});

t.test('rate-limited: burst, then refill; repeats within the window dropped', async (t) => {
  let now = 0;
  const outcomes: string[] = [];
  const ev = new DenialEvents({ create: async () => undefined, instance: 'x', burst: 2, perSecond: 1, repeatMs: 60_000, now: () => now, onEvent: (o) => outcomes.push(o) });
  ev.denied(req('a'));
  ev.denied(req('a'));
  ev.denied(req('b'));
  ev.denied(req('c'));
  await flush();
  t.same(outcomes.sort(), ['created', 'created', 'dropped', 'repeated'].sort());
  outcomes.length = 0;
  now = 1000;
  ev.denied(req('c'));
  now = 61_000;
  ev.denied(req('a'));
  await flush();
  t.same(outcomes, ['created', 'created'], 'a token per second; a repeat after the window is sent');
});

t.test('a failed write is reported, never thrown', async (t) => {
  const outcomes: string[] = [];
  const ev = new DenialEvents({ create: async () => { throw new Error('forbidden'); }, instance: 'x', onEvent: (o) => outcomes.push(o) });
  ev.denied(req('a'));
  await flush();
  await flush();
  t.same(outcomes, ['failed']);
});
