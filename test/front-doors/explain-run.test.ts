/**
 * `explain -o json` and `run` agree on every object of every corpus file and
 * on which policies applied, with and without `-n` and $HELM_NAMESPACE: the
 * objects rebuilt from explain's per-transformer patches (the applied
 * policies' steps, in order) are run's output, and the namespace-only policy
 * applied in explain exactly where run's output carries its annotation.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainCommand, type ObjectExplanation } from '../../src/cli/explain.js';
import { runCommand } from '../../src/cli/run.js';
import type { JsonObject } from '../../src/kube/object.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { corpusFiles, streamObjects } from '../helpers/corpus.js';
import { withoutEmptyAnnotations } from '../helpers/admission.js';
import { reapply } from '../helpers/laws.js';
import { captureOutput } from '../helpers/capture.js';

const config = [join(REPO_ROOT, 'examples/platform-policy.yaml'), join(REPO_ROOT, 'test/fixtures/policies/team-a-only.yaml')];
const MARK = 'example.com/team-a';

/** The input object with the patches of every transformer of an applied policy, in order. */
function rebuilt(input: JsonObject, e: ObjectExplanation): JsonObject {
  let o = input;
  for (const p of e.policies) {
    if (p.outcome !== 'applied') continue;
    for (const tr of p.transformers ?? []) o = reapply(o, tr.patch ?? []);
  }
  return o;
}

const normal = (o: JsonObject): JsonObject => withoutEmptyAnnotations(JSON.parse(JSON.stringify(o)) as JsonObject);
const marked = (o: JsonObject): boolean => ((o.metadata as JsonObject | undefined)?.annotations as JsonObject | undefined)?.[MARK] === 'yes';

const modes: { name: string; namespace?: string; env?: string }[] = [
  { name: 'no namespace' },
  { name: '-n team-a', namespace: 'team-a' },
  { name: 'HELM_NAMESPACE=team-a', env: 'team-a' },
];

const files = corpusFiles();

t.test('explain -o json and run agree on every corpus object', async (t) => {
  t.ok(files.length > 10, `${files.length} corpus files`);
  const saved = process.env.HELM_NAMESPACE;
  let marks = 0;
  try {
    for (const file of files) {
      const name = file.slice(file.lastIndexOf('corpus/') + 7);
      const inputs = streamObjects(readFileSync(file, 'utf8'));
      for (const m of modes) {
        if (m.env === undefined) delete process.env.HELM_NAMESPACE;
        else process.env.HELM_NAMESPACE = m.env;
        const run = await captureOutput(() => runCommand({ config, file, namespace: m.namespace }));
        const explained = await captureOutput(() => explainCommand({ config, file, output: 'json', namespace: m.namespace }));
        t.equal(explained.code, 0, `${name} (${m.name}): explained`);
        const list = JSON.parse(explained.stdout) as ObjectExplanation[];
        if (run.code !== 0) {
          t.ok(list.some((o) => o.outcome.denials.length > 0), `${name} (${m.name}): run failed and explain shows a denial`);
          continue;
        }
        const outputs = streamObjects(run.stdout);
        t.equal(list.length, inputs.length, `${name} (${m.name}): one explanation per object`);
        t.equal(outputs.length, inputs.length, `${name} (${m.name}): run kept every object`);
        const bad = inputs.findIndex((input, i) => JSON.stringify(normal(rebuilt(input, list[i] as ObjectExplanation))) !== JSON.stringify(normal(outputs[i] as JsonObject)));
        t.equal(bad, -1, `${name} (${m.name}): explain's patches rebuild run's objects${bad >= 0 ? ` (first difference: ${list[bad]?.object})` : ''}`);
        const appliedMark = list.map((o) => o.policies.some((p) => p.policy === 'team-a-only' && p.outcome === 'applied'));
        t.same(outputs.map(marked), appliedMark, `${name} (${m.name}): the namespace-only policy applied in both or neither`);
        marks += appliedMark.filter(Boolean).length;
      }
    }
  } finally {
    if (saved === undefined) delete process.env.HELM_NAMESPACE;
    else process.env.HELM_NAMESPACE = saved;
  }
  t.ok(marks > 0, `the namespace-only policy applied ${marks} times (with -n or HELM_NAMESPACE)`);
});
