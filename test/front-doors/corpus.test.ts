/**
 * The main job on real input: every file of test/data/corpus goes through
 * `kube-postrender run` with the example platform policy: exit 0, the same
 * number of objects out as in, input order kept, and a second pass over the
 * output changes nothing (idempotence: the API server may re-invoke us).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { deepEqual, isListObject, isObject, type JsonValue } from '../../src/kube/object.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests } from '../../src/policy/render.js';
import { REPO_ROOT } from '../helpers/cases.js';
import { CORPUS_DIR, corpusFiles } from '../helpers/corpus.js';

const bin = join(REPO_ROOT, 'dist/cli/main.js');
const policy = join(REPO_ROOT, 'examples/platform-policy.yaml');

function objects(text: string): JsonValue[] {
  return parseManifests(text)
    .map((d) => d.value)
    .flatMap((v) => (isObject(v) && isListObject(v) ? (v.items as JsonValue[]) : [v]));
}

function key(v: JsonValue): string {
  if (!isObject(v)) return JSON.stringify(v);
  const m = isObject(v.metadata) ? v.metadata : {};
  return `${String(v.apiVersion)}/${String(v.kind)}/${String(m.namespace ?? '')}/${String(m.name ?? '')}`;
}

t.test('corpus through run with the platform policy', async (t) => {
  const files = corpusFiles();
  t.ok(files.length >= 30, `corpus has ${files.length} files`);
  const set = loadPolicies([policy]).set;
  let changed = 0;
  for (const file of files) {
    const input = readFileSync(file, 'utf8');
    const p = spawnSync(process.execPath, [bin, 'run', '-c', policy, '-f', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const name = file.slice(CORPUS_DIR.length + 1);
    t.equal(p.status, 0, `${name}: exit 0 ${p.stderr.split('\n')[0]}`);
    const inObjs = objects(input);
    const outObjs = objects(p.stdout);
    t.equal(outObjs.length, inObjs.length, `${name}: ${inObjs.length} objects in, same out`);
    t.same(outObjs.map(key), inObjs.map(key), `${name}: input order kept`);
    changed += outObjs.filter((o, i) => !deepEqual(o, inObjs[i])).length;
    const again = renderManifests(p.stdout, set);
    t.equal(again.changed, 0, `${name}: a second pass changes nothing`);
  }
  t.ok(changed > 100, `the policy changed ${changed} objects`);
});
