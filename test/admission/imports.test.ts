import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// DESIGN.md layout: admission/ and patch/ never import fastify, node:fs, a logger or the Kubernetes client.
const FORBIDDEN = /from\s+['"](fastify|node:fs|fs|fs\/promises|node:fs\/promises|pino|@kubernetes\/client-node)(\/[^'"]*)?['"]/;
const files = [
  ...readdirSync('src/admission').filter((f) => f.endsWith('.ts')).map((f) => join('src/admission', f)),
  'src/patch/create-patch.ts',
];

t.test('pure core imports', async (t) => {
  t.ok(files.length >= 6, 'files found');
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    t.notMatch(src, FORBIDDEN, `${f}: no forbidden import`);
    t.notMatch(src, /console\./, `${f}: no console logging`);
  }
  t.match("import x from 'fastify';", FORBIDDEN, 'the pattern itself catches fastify');
});
