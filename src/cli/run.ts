/**
 * `kube-postrender run`: the Helm post-renderer. Manifests on stdin (or -f) to
 * stdout, input order kept. Any failure: exit 1 (denied/transform error) or 2
 * (config error), every reason on stderr, and nothing at all on stdout.
 */
import { PolicyError } from '../policy/compile.js';
import { printManifestsTo } from '../kube/yaml-stream.js';
import { renderDocuments, RenderError } from '../policy/render.js';
import { loadForCommand, resolveNamespaceOptions } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `run`. */
export interface RunOptions {
  config: string[];
  file?: string;
  namespace?: string;
  namespaceLabels?: Record<string, Record<string, string>>;
  /** `--allow-empty`: run with no policies (otherwise exit 2, "no policies found in ..."). */
  allowEmpty?: boolean;
}

/** Runs the post-renderer; returns the exit code. Writes stdout only on success. */
export async function runCommand(opts: RunOptions): Promise<number> {
  const loaded = loadForCommand(opts.config, { frontDoor: 'render' }, { allowEmpty: opts.allowEmpty === true });
  if (!loaded) return EXIT.usage;
  let input: string;
  try {
    input = await readInput(opts.file);
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  try {
    const r = renderDocuments(input, loaded.set, resolveNamespaceOptions(opts));
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    // Everything that can fail has run: print document by document, so the
    // whole output text never exists at once (peak RSS), releasing each
    // printed object.
    if (r.documents === undefined) process.stdout.write(input);
    else printManifestsTo(r.documents, (chunk) => process.stdout.write(chunk), true);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof RenderError) {
      // as a denied admission answer, which carries its warnings too
      for (const w of e.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const line of e.lines) process.stderr.write(`kube-postrender: ${line}\n`);
      return EXIT.failed;
    }
    if (e instanceof PolicyError) {
      process.stderr.write(`${oneLine(e)}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.failed;
  }
}
