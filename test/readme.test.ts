/**
 * Every complete policy shown in README.md loads (docs never drift from the
 * schema), and every example policy in examples/ passes `check`.
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { policiesFromText } from '../src/index.js';
import { loadPolicies } from '../src/policy/load.js';
import { defaultLoadOptions } from '../src/cli/policies.js';
import { REPO_ROOT } from './helpers/cases.js';

t.test('README policies load', async (t) => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('apiVersion: postrender.io/v1alpha1'));
  t.ok(blocks.length >= 2, `${blocks.length} complete policies in the README`);
  for (const b of blocks) t.doesNotThrow(() => policiesFromText(b, defaultLoadOptions()), b.split('\n').find((l) => l.includes('name:')) ?? 'policy');
});

t.test('example policies load', async (t) => {
  const ex = join(REPO_ROOT, 'examples');
  const paths = [join(ex, 'platform-policy.yaml'), join(ex, 'sidecar-policy.yaml'), ...readdirSync(join(ex, 'policies')).map((d) => join(ex, 'policies', d, 'policy.yaml'))];
  for (const p of paths) {
    t.ok(statSync(p).isFile(), p);
    t.doesNotThrow(() => loadPolicies([p], defaultLoadOptions()), p.slice(REPO_ROOT.length + 1));
  }
});
