/**
 * kubectl's kustomize (v5.5) as an extra oracle, when it is installed (never
 * required): every corpus file through the platform transforms written as a
 * Kustomization (bench/kustomize/kustomization.yaml) gives the same objects
 * from `kube-postrender run` as from `kubectl kustomize`.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO_ROOT } from '../helpers/cases.js';
import { corpusFiles } from '../helpers/corpus.js';
import { compareStreams } from '../helpers/yaml11.js';

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const noKubectl = (kubectl.error || kubectl.status !== 0) && 'kubectl not installed (optional oracle)';
const bin = join(REPO_ROOT, 'dist/cli/main.js');

t.test('run == kubectl kustomize over the corpus', { skip: noKubectl }, async (t) => {
  const kustomization = readFileSync(join(REPO_ROOT, 'bench/kustomize/kustomization.yaml'), 'utf8');
  const work = mkdtempSync(join(tmpdir(), 'kustomize-oracle-'));
  let compared = 0;
  for (const file of corpusFiles()) {
    const dir = mkdtempSync(join(work, `${basename(file, '.yaml')}-`));
    copyFileSync(file, join(dir, 'install.yaml'));
    writeFileSync(join(dir, 'kustomization.yaml'), kustomization);
    const want = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const got = spawnSync(process.execPath, [bin, 'run', '-c', join(dir, 'kustomization.yaml'), '-f', join(dir, 'install.yaml')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    t.equal(want.status, 0, `${basename(file)}: kubectl kustomize ran`);
    t.equal(got.status, 0, `${basename(file)}: run exit 0 ${got.stderr.split('\n')[0]}`);
    t.equal(compareStreams(got.stdout, want.stdout), null, `${basename(file)}: same objects`);
    compared++;
  }
  t.ok(compared >= 30, `${compared} corpus files compared`);
});
