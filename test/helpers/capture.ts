/**
 * Runs a CLI command in process with `process.stdout.write` and
 * `process.stderr.write` captured (restored afterwards, also on a throw);
 * `thrown` captures what a call throws.
 */

/** What a command wrote, and its exit code. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `fn` (a command returning its exit code), capturing what it writes to stdout and stderr. */
export async function captureOutput(fn: () => Promise<number>): Promise<Captured> {
  const out = { stdout: '', stderr: '' };
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => ((out.stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((out.stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), ...out };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

/** The error `f` throws (undefined when it returns), for assertions on its class and message together. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
