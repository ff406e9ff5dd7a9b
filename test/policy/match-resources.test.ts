/**
 * `match.resources` (src/policy/match.ts compileResources): an object matches
 * when some entry admits its group, version, kind (and subresource) and, for
 * an entry with `names`, its name (or generateName, for an object created
 * with one). The group/version/kind are read once per clause and the name
 * only for an entry with names: this table fails when an entry's names are
 * not consulted, or consulted for the wrong entry.
 */
import t from 'tap';
import { compileClause, type MatchSpec } from '../../src/policy/match.js';
import type { EvaluationInput } from '../../src/policy/types.js';
import type { KubeObject } from '../../src/kube/object.js';

const input = (subResource = ''): EvaluationInput => ({ frontDoor: 'admission', operation: 'CREATE', namespace: 'shop', subResource });
const pod = (metadata: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata });
const deploy: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };

const rows: { name: string; resources: MatchSpec['resources']; object: KubeObject; sub?: string; want: boolean }[] = [
  { name: 'a kind, no names', resources: [{ kinds: ['Pod'] }], object: pod({ name: 'x' }), want: true },
  { name: 'a name that matches', resources: [{ kinds: ['Pod'], names: ['web-*'] }], object: pod({ name: 'web-1' }), want: true },
  { name: 'a name that does not', resources: [{ kinds: ['Pod'], names: ['web-*'] }], object: pod({ name: 'db-1' }), want: false },
  { name: 'generateName when there is no name', resources: [{ kinds: ['Pod'], names: ['web-*'] }], object: pod({ generateName: 'web-5d8f-' }), want: true },
  { name: 'generateName that does not match', resources: [{ kinds: ['Pod'], names: ['web-*'] }], object: pod({ generateName: 'db-' }), want: false },
  { name: 'the name wins over generateName', resources: [{ kinds: ['Pod'], names: ['web-*'] }], object: pod({ name: 'db-1', generateName: 'web-' }), want: false },
  { name: 'names of another entry do not apply', resources: [{ kinds: ['Deployment'], names: ['nope'] }, { kinds: ['Pod'] }], object: pod({ name: 'x' }), want: true },
  { name: 'the first entry fails on names, the second admits', resources: [{ kinds: ['Pod'], names: ['nope'] }, { kinds: ['Pod'], names: ['x'] }], object: pod({ name: 'x' }), want: true },
  { name: 'both entries fail on names', resources: [{ kinds: ['Pod'], names: ['nope'] }, { kinds: ['*'], names: ['also-not'] }], object: pod({ name: 'x' }), want: false },
  { name: 'a group', resources: [{ group: 'apps', kinds: ['Deployment'], names: ['web'] }], object: deploy, want: true },
  { name: 'another group', resources: [{ group: 'batch', kinds: ['Deployment'] }], object: deploy, want: false },
  { name: 'a version', resources: [{ group: 'apps', version: 'v1beta1', kinds: ['Deployment'] }, { version: 'v1', kinds: ['Deployment'], names: ['web'] }], object: deploy, want: true },
  { name: 'a subresource named', resources: [{ kinds: ['Deployment/status'], names: ['web'] }], object: deploy, sub: 'status', want: true },
  { name: 'a subresource not named', resources: [{ kinds: ['Deployment'], names: ['web'] }], object: deploy, sub: 'status', want: false },
];

t.test('match.resources: kinds, groups, versions, subresources and names, entry by entry', async (t) => {
  for (const row of rows) {
    const clause = compileClause({ resources: row.resources }, 'spec.match');
    t.equal(clause(row.object, input(row.sub)), row.want ? '' : 'resources', row.name);
  }
});
