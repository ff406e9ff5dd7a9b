/**
 * The pure core (kube/, patch/, transform/, admission/) imports no fastify,
 * node:fs, logger or Kubernetes client and never logs to the console
 * (DESIGN.md layout), and each folder imports only what its row of the layout
 * table allows. (The one import-direction test.)
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const src = resolve(import.meta.dirname, '../src');
const FORBIDDEN_IN_CORE = [/^fastify/, /^node:fs/, /^fs$/, /^pino/, /^@kubernetes\/client-node/, /^node:child_process/];
const ALLOWED: Record<string, string[]> = {
  kube: [],
  patch: ['kube'],
  transform: ['kube', 'patch', 'expr'],
  expr: ['kube'],
  admission: ['policy', 'patch', 'kube', 'transform'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
}

t.test('pure core imports', async (t) => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    let dirFiles: string[] = [];
    try {
      dirFiles = files(join(src, folder));
    } catch {
      continue;
    }
    for (const f of dirFiles) {
      t.notMatch(readFileSync(f, 'utf8'), /\bconsole\./, `${f.slice(src.length + 1)}: no console logging`);
      for (const spec of imports(f)) {
        const rel = f.slice(src.length + 1);
        t.notOk(FORBIDDEN_IN_CORE.some((re) => re.test(spec)), `${rel} must not import ${spec}`);
        const m = /^\.\.\/([a-z-]+)\//.exec(spec);
        if (m) t.ok(allowed.includes(m[1]), `${rel} may import ../${m[1]}/ (allowed: ${allowed.join(', ') || 'nothing of ours'})`);
      }
    }
  }
});
