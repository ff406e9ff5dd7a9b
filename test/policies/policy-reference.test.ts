/**
 * docs/policy-reference.md is generated from src/policy/policy.schema.json:
 * the block between the GENERATED markers must equal what this test renders
 * from the schema, so docs and validation never drift. Regenerate with
 * REFRESH_GOLDEN=true (never hand-edit the block).
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  minLength?: number;
  minimum?: number;
};

const repo = resolve(import.meta.dirname, '../..');
const schema = JSON.parse(readFileSync(resolve(repo, 'src/policy/policy.schema.json'), 'utf8')) as Schema & { definitions: Record<string, Schema> };
const docPath = resolve(repo, 'docs/policy-reference.md');
const BEGIN = '<!-- BEGIN GENERATED from src/policy/policy.schema.json: regenerate with REFRESH_GOLDEN=true npx tap test/policies/policy-reference.test.ts -->';
const END = '<!-- END GENERATED -->';

function deref(s: Schema): Schema {
  let cur = s;
  while (cur.$ref) cur = schema.definitions[cur.$ref.replace('#/definitions/', '')];
  return { ...cur, description: s.description ?? cur.description };
}

function typeOf(s: Schema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf ?? []).map((x) => typeOf(deref(x))).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(deref(s.items)) : 'any'}`;
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object') return `map of ${typeOf(deref(s.additionalProperties))}`;
  return Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? 'any';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** One row per field, depth first, `[]` marking list items. */
function rows(s: Schema, path: string, out: string[], seen: string[] = []): void {
  const d = deref(s);
  const obj = d.type === 'array' && d.items ? deref(d.items) : d;
  const prefix = d.type === 'array' ? `${path}[]` : path;
  for (const [key, child] of Object.entries(obj.properties ?? {})) {
    const c = deref(child);
    const req = (obj.required ?? []).includes(key) ? 'yes' : '';
    const def = c.default !== undefined ? `\`${JSON.stringify(c.default)}\`` : '';
    out.push(`| \`${prefix ? `${prefix}.` : ''}${key}\` | ${cell(typeOf(c))} | ${req} | ${def} | ${cell(c.description ?? '')} |`);
    const ref = child.$ref ?? (child.items?.$ref ?? '');
    if (ref && seen.includes(ref)) continue;
    rows(child, `${prefix ? `${prefix}.` : ''}${key}`, out, ref ? [...seen, ref] : seen);
  }
}

/** The generated reference: the document's fields, then one table per transformer type. */
export function renderReference(): string {
  const out: string[] = [BEGIN, '', '## Fields', '', '| field | type | required | default | description |', '|---|---|---|---|---|'];
  const top: Schema = { ...schema, properties: { ...schema.properties } };
  delete top.properties!.spec;
  rows(top, '', out);
  rows(schema.definitions.spec, 'spec', out);
  const tr = schema.definitions.transformer;
  out.push('', '## Transformers', '', cell(tr.description ?? ''), '');
  for (const [type, s] of Object.entries(tr.properties ?? {})) {
    if (type === 'name') continue;
    const d = deref(s);
    out.push(`### \`${type}\``, '', `Type: ${cell(typeOf(d))}.${d.description ? ` ${cell(d.description)}` : ''}`, '');
    const body: string[] = [];
    rows(s, type, body);
    if (body.length) out.push('| field | type | required | default | description |', '|---|---|---|---|---|', ...body, '');
  }
  out.push(END);
  return out.join('\n');
}

t.test('docs/policy-reference.md is generated from the schema', async (t) => {
  const doc = readFileSync(docPath, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  t.ok(start >= 0 && end > start, 'the doc has the generated block');
  const generated = renderReference();
  if (process.env.REFRESH_GOLDEN === 'true') {
    writeFileSync(docPath, doc.slice(0, start) + generated + doc.slice(end + END.length));
    return;
  }
  t.equal(doc.slice(start, end + END.length), generated, 'generated block matches the schema (REFRESH_GOLDEN=true to regenerate)');
});

t.test('every transformer type and spec field of the schema appears in the reference', async (t) => {
  const doc = readFileSync(docPath, 'utf8');
  for (const type of Object.keys(schema.definitions.transformer.properties ?? {}).filter((k) => k !== 'name')) t.match(doc, `### \`${type}\``, type);
  for (const f of Object.keys(schema.definitions.spec.properties ?? {})) t.match(doc, `\`spec.${f}\``, f);
  t.match(doc, '`validate.messageExpression`');
});
