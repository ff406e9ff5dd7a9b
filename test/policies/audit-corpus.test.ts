/**
 * Audit mode over the whole corpus (test/data/corpus): the platform policy and every
 * example policy, switched to `mode: Audit`, produce zero patches and zero
 * denials, through `run` (renderManifests) and `/mutate` (review); and the
 * `[audit]` warnings list exactly what Enforce mode would have done (each
 * denial as `would deny: policy/rule: message`, each change as `would change`).
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { review } from '../../src/admission/review.js';
import { isListObject, isObject, metaString, resIdOf, CLUSTER_SCOPED_KINDS, type KubeObject } from '../../src/kube/object.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { admissionReview, policyLoadOptions } from './helpers.js';

const repo = resolve(import.meta.dirname, '../..');
const corpus = resolve(repo, 'test/data/corpus');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

const policyFiles = [join(repo, 'examples/platform-policy.yaml'), ...readdirSync(join(repo, 'examples/policies')).sort().map((d) => join(repo, 'examples/policies', d, 'policy.yaml'))];

/** Writes audit copies of the policies (`mode: Audit` added to each spec) into a temp dir. */
function auditCopies(): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-policies-'));
  for (const [i, f] of policyFiles.entries()) {
    const text = readFileSync(f, 'utf8');
    t.match(text, /^spec:\n/m, `${f} has a top-level spec`);
    writeFileSync(join(dir, `${String(i).padStart(2, '0')}.yaml`), text.replace(/^spec:\n/m, 'spec:\n  mode: Audit\n'));
  }
  return dir;
}

const enforce = loadPolicies(policyFiles, policyLoadOptions());
const audit = loadPolicies([auditCopies()], policyLoadOptions());
const none = createPolicySet([]);
const files = yamlFiles(corpus);

t.test('audit copies hold the same policies', async (t) => {
  t.same([...audit.set.names].sort(), [...enforce.set.names].sort());
  t.ok(audit.policies.every((p) => p.mode === 'Audit'));
  t.ok(files.length >= 10, 'the corpus is there');
});

t.test('run: zero changes, zero denials, warnings are [audit]', async (t) => {
  let warned = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const a = renderManifests(text, audit.set);
    t.equal(a.changed, 0, `${f}: nothing changed`);
    t.equal(a.output, renderManifests(text, none).output, `${f}: output as with no policy`);
    for (const w of a.warnings) t.match(w, /: \[audit\] /, `${f}: ${w.slice(0, 80)}`);
    warned += a.warnings.length;
  }
  t.ok(warned > 0, 'the corpus gives audit warnings');
});

t.test('/mutate: zero patches, zero denials; warnings say what Enforce would do', async (t) => {
  let objects = 0;
  let wouldDeny = 0;
  let wouldChange = 0;
  for (const f of files) {
    const values = parseManifests(readFileSync(f, 'utf8')).map((d) => d.value).filter(isObject) as KubeObject[];
    for (const v of values.flatMap((o) => (isListObject(o) ? (o.items as KubeObject[]) : [o]))) {
      const id = resIdOf(v);
      const object = id.namespace || CLUSTER_SCOPED_KINDS.has(id.kind) ? v : { ...v, metadata: { ...(v.metadata as object), namespace: 'default' } };
      const r = review(admissionReview(object, `u${objects++}`), audit.set, { route: 'mutate' });
      const resp = (r.body as { response: { allowed: boolean; patch?: string; warnings?: string[] } }).response;
      const label = `${f.slice(corpus.length + 1)} ${id.kind}/${metaString(v, 'name')}`;
      if (!resp.allowed || resp.patch !== undefined) t.fail(`${label}: audit must allow without a patch`);
      // What Enforce does to the same object, at the same door.
      const e = enforce.set.evaluate(object, { frontDoor: 'admission', operation: 'CREATE', namespace: metaString(object, 'namespace') });
      const warnings = (resp.warnings ?? []).join('\n');
      for (const d of e.denials) {
        wouldDeny++;
        if (!warnings.includes(`[audit] would deny: ${d.policy}/${d.rule}`)) t.fail(`${label}: no audit warning for the denial ${d.policy}/${d.rule}`);
      }
      if (e.changed) {
        wouldChange++;
        if (!/\[audit\] [^:]+: would change \//.test(warnings)) t.fail(`${label}: no audit warning for the change`);
      }
      for (const w of resp.warnings ?? []) if (!w.startsWith('[audit] ')) t.fail(`${label}: warning without [audit]: ${w}`);
    }
  }
  t.ok(objects > 100, `${objects} objects reviewed`);
  t.ok(wouldDeny > 0, `${wouldDeny} denials Enforce would make are reported`);
  t.ok(wouldChange > 0, `${wouldChange} changes Enforce would make are reported`);
});
