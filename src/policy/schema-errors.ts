/**
 * Readable JSON Schema errors for policy documents: every error ajv finds
 * (`allErrors`), each as a dotted path and a reason, unknown fields with a
 * "did you mean" suggestion from the fields allowed at that place (as
 * kubectl's `unknown field "spec.replcas"` and commander's suggestions do).
 */
import type { ErrorObject } from 'ajv';
import { PolicyError, type PolicySource } from './compile.js';

/** A file's or document's policy errors together; `message` is the first, with how many more. */
export class PolicyErrors extends PolicyError {
  constructor(readonly errors: PolicyError[]) {
    super(errors[0].source, errors[0].path, errors.length > 1 ? `${errors[0].reason} (and ${errors.length - 1} more)` : errors[0].reason);
  }
}

/** Every PolicyError inside `e` (itself when it is a single one). */
export function flattenPolicyErrors(e: PolicyError): PolicyError[] {
  return e instanceof PolicyErrors ? e.errors : [e];
}

/**
 * Optimal string alignment distance of `a` and `b` (Levenshtein plus adjacent
 * transpositions), in edits. Both strings are field names (short).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word` (case-insensitive), when close enough to be
 * a typo: at most 1 edit for short words, a third of the length for longer
 * ones (commander's `suggestSimilar` uses a similar bound). Undefined otherwise.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  if (word === '') return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    const distance = editDistance(word.toLowerCase(), c.toLowerCase());
    if (distance <= limit && distance < bestDistance) [best, bestDistance] = [c, distance];
  }
  return best;
}

function pathOf(instancePath: string): string {
  const segs = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return segs.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

const TRANSFORMER_ENTRY = /^spec\.transformers\[\d+\]$/;

/** The unknown-field error of `prop` at `parent`, with a suggestion from the allowed names. */
function unknownField(parent: string, prop: string, allowed: string[]): string {
  const isType = TRANSFORMER_ENTRY.test(parent);
  const guess = didYouMean(prop, allowed.filter((a) => a !== 'name' || !isType));
  const hint = guess ? ` (did you mean "${guess}"?)` : '';
  return isType ? `unknown transformer type "${prop}"${hint}` : `unknown field "${prop}"${hint}`;
}

/** Readable reasons for the keywords whose ajv message is terse, from the error's params. */
const KEYWORD_REASONS: Record<string, (params: Record<string, unknown>) => string> = {
  enum: (p) => `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
  const: (p) => `must be ${JSON.stringify(p.allowedValue)}`,
  required: (p) => `required field "${String(p.missingProperty)}" is missing`,
};

/**
 * Converts one ajv error (from a validator compiled with `verbose: true`, so
 * `parentSchema` is set) into a dotted JSON path and a reason. `extraTypes`
 * are transformer types registered beyond the schema's, offered as suggestions.
 */
export function describeSchemaError(e: ErrorObject, extraTypes: readonly string[] = []): { path: string; reason: string } {
  let path = pathOf(e.instancePath);
  let reason = e.message ?? 'invalid';
  if (e.keyword === 'additionalProperties') {
    const prop = String((e.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    reason = unknownField(path, prop, TRANSFORMER_ENTRY.test(path) ? [...allowed, ...extraTypes] : allowed);
    path = path ? `${path}.${prop}` : prop;
  } else {
    reason = KEYWORD_REASONS[e.keyword]?.(e.params) ?? reason;
  }
  return { path, reason };
}

/**
 * Every schema error of one document as PolicyErrors, one per path and
 * reason: unknown fields first, then by path. Throws nothing; an empty list means valid.
 */
export function schemaErrors(errors: ErrorObject[], source: PolicySource, extraTypes: readonly string[] = []): PolicyError[] {
  const seen = new Set<string>();
  const out: { error: PolicyError; rank: number }[] = [];
  for (const e of errors) {
    const { path, reason } = describeSchemaError(e, extraTypes);
    const key = `${path}\n${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Unknown fields first: a misspelt field also makes its parent miss a required one.
    out.push({ error: new PolicyError(source, path, reason), rank: e.keyword === 'additionalProperties' ? 0 : 1 });
  }
  out.sort((a, b) => a.rank - b.rank || (a.error.path < b.error.path ? -1 : a.error.path > b.error.path ? 1 : 0));
  return out.map((x) => x.error);
}
