/**
 * `serve --manage-webhooks` (issue 16): the live configurations' rules follow
 * the policies in effect, only the Lease holder writes, nothing is written
 * before the first set loads, a broken policy edit never widens the rules,
 * and a refused matchConditions falls back to rules only. A fake API client
 * (in-memory objects, RFC 6902 patches applied with fast-json-patch); the
 * Lease election itself is test/reports/leader.test.ts.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fjp from 'fast-json-patch';
import { WebhookSync, type ConfigKind, type PatchOp, type WebhookConfigClient } from '../../src/policy/sources/webhook-sync.js';
import { FilePolicySource } from '../../src/policy/sources/file-source.js';
import { PolicyStore } from '../../src/policy/sources/store.js';
import { webhookConfigurations } from '../../src/policy/webhook-config.js';
import { CURRENT_SERVER, serverFeatures, type ServerFeatures, type WebhookRule } from '../../src/policy/webhook-rules.js';
import { defaultLoadOptions } from '../../src/cli/policies.js';
import type { JsonObject } from '../../src/kube/object.js';

function fakeClient(features: ServerFeatures = CURRENT_SERVER, refuseConditions = false): WebhookConfigClient & { objects: Map<ConfigKind, JsonObject>; patches: PatchOp[][] } {
  const base = webhookConfigurations([], { name: 'kpr', namespace: 'platform' });
  const objects = new Map<ConfigKind, JsonObject>([['mutating', base.mutating], ['validating', base.validating]]);
  const patches: PatchOp[][] = [];
  return {
    objects,
    patches,
    get: async (kind) => structuredClone(objects.get(kind)),
    patch: async (kind, _name, ops) => {
      if (refuseConditions && ops.some((o) => o.path.endsWith('/matchConditions') && o.op !== 'remove')) throw Object.assign(new Error('Invalid'), { code: 422 });
      patches.push(ops);
      objects.set(kind, fjp.applyPatch(structuredClone(objects.get(kind) as JsonObject), ops as fjp.Operation[], true, false).newDocument);
    },
    features: async () => features,
  };
}

const rulesOf = (o: JsonObject | undefined, i = 0): WebhookRule[] => ((o?.webhooks as JsonObject[])[i].rules ?? []) as unknown as WebhookRule[];
const kindsOf = (o: JsonObject | undefined, i = 0): string[] => rulesOf(o, i).flatMap((r) => r.resources.map((x) => `${r.apiGroups[0]}/${x}:${r.operations.join('+')}`)).sort();

const dir = mkdtempSync(join(tmpdir(), 'kpr-sync-'));
const policyFile = join(dir, 'p.yaml');
const policy = (kinds: string, extra = ''): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  match: {resources: [{kinds: [${kinds}]}]${extra}}
  transformers:
  - labels: {pairs: {a: b}}
  - validate: {expression: "true", message: m}
`;

t.test('rules follow the policies; one writer; nothing before the first load; broken edits never widen', async (t) => {
  const client = fakeClient();
  const store = new PolicyStore(['file']);
  const files = new FilePolicySource({ paths: [dir], load: defaultLoadOptions(), onPolicies: (p) => store.update('file', p) });
  let leader = true;
  const sync = new WebhookSync({ client, name: 'kpr', policies: () => (store.current() ? store.policies() : undefined), isLeader: () => leader });

  t.equal(await sync.syncOnce(), 0, 'no set loaded yet: nothing written');
  t.equal(client.patches.length, 0);

  writeFileSync(policyFile, policy('Deployment, Pod'));
  t.ok(files.reload().ok, 'first set loaded');
  t.equal(await sync.syncOnce(), 2, 'both configurations written');
  t.same(kindsOf(client.objects.get('mutating')), ['/pods:CREATE+UPDATE', 'apps/deployments:CREATE+UPDATE'], 'mutating: exactly the kinds matched');
  t.same(kindsOf(client.objects.get('validating'), 0), kindsOf(client.objects.get('validating'), 1), 'both validating webhooks carry the rules');
  t.same(kindsOf(client.objects.get('validating')), ['/pods:CREATE+UPDATE', 'apps/deployments:CREATE+UPDATE'], 'validating: the validate policy\'s kinds');
  t.equal(client.patches[0][0].op, 'test', 'each write is guarded by a test on the webhook name');
  t.equal(await sync.syncOnce(), 0, 'in step: no write');

  writeFileSync(policyFile, policy('ConfigMap'));
  t.ok(files.reload().ok, 'edit: ConfigMaps instead');
  await sync.syncOnce();
  t.same(kindsOf(client.objects.get('mutating')), ['/configmaps:CREATE+UPDATE'], 'the edit is followed');

  writeFileSync(policyFile, policy('ConfigMap', ', conditions: [{name: c, expression: "object.("}]'));
  t.notOk(files.reload().ok, 'a broken edit is refused');
  writeFileSync(policyFile, 'apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec: {transformers: [{labels: {pairs: {a: 1}}}]}\n');
  t.notOk(files.reload().ok, 'a broken edit that would match everything is refused');
  t.equal(await sync.syncOnce(), 0, 'broken edits: no write');
  t.same(kindsOf(client.objects.get('mutating')), ['/configmaps:CREATE+UPDATE'], 'rules not widened');

  leader = false;
  writeFileSync(policyFile, policy('Secret'));
  t.ok(files.reload().ok);
  t.equal(await sync.syncOnce(), 0, 'not the Lease holder: no write');
  leader = true;
  await sync.syncOnce();
  t.same(kindsOf(client.objects.get('mutating')), ['/secrets:CREATE+UPDATE'], 'the new leader writes');

  client.objects.get('mutating')!.webhooks = [{ ...(client.objects.get('mutating')!.webhooks as JsonObject[])[0], rules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['*'], scope: '*' }] }];
  await sync.syncOnce();
  t.same(kindsOf(client.objects.get('mutating')), ['/secrets:CREATE+UPDATE'], 'drift (a helm upgrade) is undone');

  writeFileSync(policyFile, '# no policies\n');
  t.ok(files.reload().ok);
  await sync.syncOnce();
  t.same(rulesOf(client.objects.get('mutating')), [], 'no policies, no rules');
  t.same(rulesOf(client.objects.get('validating')), []);
});

t.test('matchConditions: written where served, dropped on old servers, rules only when refused', async (t) => {
  writeFileSync(policyFile, policy('Pod', ', conditions: [{name: c, expression: "has(object.spec)"}]'));
  const store = new PolicyStore(['file']);
  const files = new FilePolicySource({ paths: [dir], load: defaultLoadOptions(), onPolicies: (p) => store.update('file', p) });
  t.ok(files.reload().ok);
  for (const [name, client, want] of [
    ['1.36', fakeClient(), true],
    ['1.20', fakeClient(serverFeatures('1', '20')), false],
    ['refused', fakeClient(CURRENT_SERVER, true), false],
  ] as const) {
    const errors: string[] = [];
    const sync = new WebhookSync({ client, name: 'kpr', policies: () => (store.current() ? store.policies() : undefined), isLeader: () => true, onError: (w) => errors.push(w) });
    await sync.syncOnce();
    const w = (client.objects.get('mutating')!.webhooks as JsonObject[])[0];
    t.equal(Array.isArray(w.matchConditions), want, `${name}: matchConditions ${want ? 'written' : 'absent'}`);
    t.same(kindsOf(client.objects.get('mutating')), ['/pods:CREATE+UPDATE'], `${name}: rules written`);
    if (name === 'refused') t.match(errors.join(), /matchConditions refused/, 'the refusal is reported');
  }
});
