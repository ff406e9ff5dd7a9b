/**
 * `kube-postrender review`: answers one AdmissionReview offline (stdin or -f)
 * exactly as `POST /mutate` would, and prints the response AdmissionReview.
 */
import { review } from '../admission/review.js';
import { loadForCommand } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `review`. */
export interface ReviewOptions {
  config: string[];
  file?: string;
  route?: 'mutate' | 'validate';
}

/** Runs `review`; returns the exit code (0 when an AdmissionReview was printed, 2 on bad policies or input). */
export async function reviewCommand(opts: ReviewOptions): Promise<number> {
  const loaded = loadForCommand(opts.config);
  if (!loaded) return EXIT.usage;
  let body: unknown;
  try {
    body = JSON.parse(await readInput(opts.file));
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  const r = review(body, loaded.set, { route: opts.route ?? 'mutate' });
  if (r.statusCode !== 200) {
    process.stderr.write(`kube-postrender: ${JSON.stringify(r.body)}\n`);
    return EXIT.usage;
  }
  process.stdout.write(JSON.stringify(r.body, null, 2) + '\n');
  return EXIT.ok;
}
