/**
 * A denial does not hide the warnings: at admission a denied response
 * carries its `warnings` next to `allowed: false` (kubectl prints them before
 * the error), so `run`, which fails (exit 1) on a denial, prints the warnings
 * of the whole stream on stderr before the denials, as it does on success.
 * Each row: the policy, the stream, run's exit code and stderr lines, and
 * the warnings /mutate answers for the first object.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCommand } from '../../src/cli/run.js';
import { policiesFromText } from '../../src/index.js';
import type { JsonObject, KubeObject } from '../../src/kube/object.js';
import { review } from '../../src/admission/review.js';
import { createReview } from '../helpers/admission.js';
import { captureOutput } from '../helpers/capture.js';

const policy = (denyName: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
  transformers:
  - validate: {expression: "has(object.metadata.labels)", message: "no labels", action: Warn}
  - validate: {expression: "object.metadata.name != '${denyName}'", message: "bad name", action: Deny}
`;

const STREAM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: good, namespace: a}\n';

const rows: [string, string, number, string[], string[]][] = [
  ['denied: the warnings, then the denial', 'bad', 1, [
    'warning: ConfigMap.v1/bad.a: p/validate[0]: no labels',
    'warning: ConfigMap.v1/good.a: p/validate[0]: no labels',
    'kube-postrender: ConfigMap.v1/bad.a: denied by p/validate[1]: bad name',
  ], ['p/validate[0]: no labels']],
  ['allowed: the warnings', 'nothing', 0, [
    'warning: ConfigMap.v1/bad.a: p/validate[0]: no labels',
    'warning: ConfigMap.v1/good.a: p/validate[0]: no labels',
  ], ['p/validate[0]: no labels']],
];

t.test('warnings of a denied run are printed, as a denied admission carries them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'denial-warnings-'));
  const file = join(dir, 'in.yaml');
  writeFileSync(file, STREAM);
  for (const [message, deny, code, stderr, admissionWarnings] of rows) {
    const config = join(dir, `${deny}.yaml`);
    writeFileSync(config, policy(deny));
    const run = await captureOutput(() => runCommand({ config: [config], file }));
    t.equal(run.code, code, `${message}: exit`);
    t.same(run.stderr.split('\n').filter(Boolean), stderr, `${message}: stderr`);
    t.equal(run.stdout === '', code !== 0, `${message}: stdout empty exactly when failed`);
    const obj = YAML.parseAllDocuments(STREAM)[0]?.toJS() as KubeObject;
    const body = review(createReview(obj, 'u', { namespace: 'a' }), policiesFromText(policy(deny)), { route: 'mutate' }).body as unknown as JsonObject;
    t.same((body.response as JsonObject).warnings, admissionWarnings, `${message}: /mutate warnings`);
  }
});
