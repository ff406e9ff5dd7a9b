/**
 * `spec.hooks: include | exclude | only` (Helm 4 also post-renders hook
 * resources, marked by the `helm.sh/hook` annotation), and a stream without
 * documents passing through unchanged (Helm 4 refuses empty output).
 */
import t from 'tap';
import YAML from 'yaml';
import { policiesFromText } from '../../src/index.js';
import { renderManifests } from '../../src/policy/render.js';

const policy = (hooks?: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: p}
spec:
${hooks ? `  hooks: ${hooks}\n` : ''}  transformers:
  - annotations: {stamped: "true"}
`;

const stream = `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {helm.sh/hook: pre-upgrade}
spec: {template: {spec: {containers: [{name: m, image: migrate:1}], restartPolicy: Never}}}
`;

const rows: [string | undefined, boolean, boolean][] = [
  [undefined, true, true],
  ['include', true, true],
  ['exclude', true, false],
  ['only', false, true],
];

t.test('hooks', async (t) => {
  for (const [hooks, app, hook] of rows) {
    const out = YAML.parseAllDocuments(renderManifests(stream, policiesFromText(policy(hooks))).output).map((d) => d.toJS());
    t.equal(out[0].metadata.annotations?.stamped === 'true', app, `${hooks ?? 'default'}: ordinary object ${app ? 'stamped' : 'untouched'}`);
    t.equal(out[1].metadata.annotations.stamped === 'true', hook, `${hooks ?? 'default'}: hook ${hook ? 'stamped' : 'untouched'}`);
  }
});

t.test('a stream of comments passes through (never empty output)', async (t) => {
  const text = '---\n# Source: chart/templates/disabled.yaml\n';
  t.equal(renderManifests(text, policiesFromText(policy())).output, text);
});
