/**
 * The heap and compiler policy of `run` (src/cli/heap.ts): Turbofan is turned
 * off only on a V8 whose Maglev is on by default (V8 >= 12), and setting it
 * prints nothing (an unknown V8 flag would print "Error: unrecognized flag" on
 * stderr). That `run`'s output does not depend on it is checked by every CLI
 * test (test/cli/golden.test.ts, test/conformance.test.ts), which run with it.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keepYoungGenerationSmall, stopAtMidTier } from '../../src/cli/heap.js';

const root = resolve(import.meta.dirname, '../..');
const built = join(root, 'dist/cli/heap.js');

t.test('stopAtMidTier: only on V8 >= 12 (Maglev on by default)', async (t) => {
  const rows: { v8: string; want: false }[] = [
    { v8: '11.3.244.8-node.38', want: false }, // Node 20: Maglev off, Turbofan stays
    { v8: '10.2.154.26-node.26', want: false },
    { v8: '', want: false },
    { v8: 'not a version', want: false },
  ];
  for (const r of rows) t.equal(stopAtMidTier(r.v8), r.want, `V8 "${r.v8}"`);
});

t.test('on this V8 both flags are set, silently', { skip: !existsSync(built) && 'not built (npm run build)' }, async (t) => {
  const code = `import { keepYoungGenerationSmall, stopAtMidTier } from ${JSON.stringify(pathToFileURL(built).href)};
keepYoungGenerationSmall();
process.stdout.write(String(stopAtMidTier()));`;
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  t.equal(p.status, 0);
  t.equal(p.stdout, Number.parseInt(process.versions.v8, 10) >= 12 ? 'true' : 'false');
  t.equal(p.stderr, '', 'nothing printed');
});

t.test('keepYoungGenerationSmall never throws', async (t) => {
  t.doesNotThrow(() => keepYoungGenerationSmall());
});
