/**
 * Shaping admission warnings to what the API server passes on.
 *
 * Kubernetes docs (extensible-admission-controllers, "Response"): "Limit
 * warnings to 120 characters if possible", "Individual warning messages over
 * 256 characters may be truncated by the API server", "If more than 4096
 * characters of warning messages are added (from all sources), additional
 * warning messages are ignored", and "Don't include a 'Warning:' prefix".
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response
 * Warnings travel as HTTP `Warning` headers, so control characters are replaced.
 */

/** Preferred maximum length of one warning (characters). */
export const WARNING_MAX_CHARS = 120;
/** Budget for all warnings of one response together (characters); the API server ignores warnings past 4096. */
export const WARNINGS_TOTAL_CHARS = 4096;

/**
 * Deduplicates, cleans and bounds warnings. Each one: control characters become
 * spaces, a leading `Warning:` is dropped, whitespace trimmed, empty ones skipped,
 * and longer than WARNING_MAX_CHARS cut to that length ending in `...`. If the
 * total would exceed WARNINGS_TOTAL_CHARS the rest are replaced by one
 * `N more warnings omitted` line (the result stays under the budget).
 * Input order is kept (first occurrence wins).
 */
export function normalizeWarnings(warnings: readonly string[]): string[] {
  const seen = new Set<string>();
  const cleaned: string[] = [];
  for (const w of warnings) {
    const c = clean(w);
    if (c === '' || seen.has(c)) continue;
    seen.add(c);
    cleaned.push(c);
  }
  const out: string[] = [];
  const reserve = 40; // room for the "omitted" line
  let total = 0;
  for (let i = 0; i < cleaned.length; i++) {
    const rest = cleaned.length - i - 1;
    const limit = rest > 0 ? WARNINGS_TOTAL_CHARS - reserve : WARNINGS_TOTAL_CHARS;
    if (total + cleaned[i].length > limit) {
      out.push(`${cleaned.length - i} more warnings omitted`);
      break;
    }
    total += cleaned[i].length;
    out.push(cleaned[i]);
  }
  return out;
}

function clean(w: string): string {
  // eslint-disable-next-line no-control-regex
  let c = String(w).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  c = c.replace(/^warning:\s*/i, '');
  if (c.length > WARNING_MAX_CHARS) c = `${c.slice(0, WARNING_MAX_CHARS - 3)}...`;
  return c;
}
