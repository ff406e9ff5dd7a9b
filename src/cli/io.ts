/**
 * CLI input/output helpers: read a file or stdin whole, and the exit codes of
 * the CLI contract (DESIGN.md): 0 ok, 1 denied or transform error, 2 usage or
 * config error.
 */
import { readFileSync } from 'node:fs';

/** Exit codes of the CLI contract, registered in src/errors.ts as EXIT_OK, EXIT_FAILED, EXIT_USAGE (test/errors.test.ts checks they agree). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Reads `file` (or stdin when absent or `-`) as UTF-8. Throws on I/O errors. */
export async function readInput(file?: string): Promise<string> {
  if (file && file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** First line of an error message, prefixed with the program name (the one-line stderr contract). */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return `kube-postrender: ${msg.split('\n')[0]}`;
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
