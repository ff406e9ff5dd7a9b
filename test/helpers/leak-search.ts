/**
 * Searching output for a marker value the way an attacker reading logs would:
 * case-insensitively, and inside every encoding a log line can carry it in:
 * JSON byte arrays (`rawPacket: [80, 79, ...]`, a Buffer's `{type: 'Buffer',
 * data: [...]}`), base64 and hex strings. Used by the hostile tests (issue 16).
 */

/** Every text a value holds, decoded: strings (plus their base64/hex decodings) and byte arrays as UTF-8. */
function texts(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    out.push(value);
    for (const m of value.match(/[A-Za-z0-9+/_-]{8,}={0,2}/g) ?? []) out.push(Buffer.from(m, 'base64').toString('latin1'));
    for (const m of value.match(/(?:[0-9a-fA-F]{2}){6,}/g) ?? []) out.push(Buffer.from(m, 'hex').toString('latin1'));
    return;
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)) out.push(Buffer.from(value as number[]).toString('latin1'));
    for (const v of value) texts(v, out);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      texts(v, out);
    }
  }
}

/**
 * The decoded texts of `output`: each line parsed as JSON when it is JSON
 * (pino lines), else taken as text; then decoded as `texts` does.
 */
export function decodedTexts(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    let parsed: unknown = line;
    try {
      parsed = JSON.parse(line);
    } catch {
      // a plain line
    }
    texts(parsed, out);
  }
  return out;
}

/** True when `marker` (case-insensitively) is in `output` or any decoding of it. */
export function leaks(output: string, marker: string): boolean {
  const m = marker.toLowerCase();
  return decodedTexts(output).some((s) => s.toLowerCase().includes(m));
}
