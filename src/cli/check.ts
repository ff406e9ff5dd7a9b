/**
 * `kube-postrender check`: validates policies (every error with file and path),
 * and with `-f MANIFESTS` evaluates every object exactly as `run` does (the one
 * evaluation, policy/evaluate.ts: sorted policies, Audit changes not kept,
 * `-n`/$HELM_NAMESPACE and `--namespace-labels` as run's), then evaluates the
 * result once more and names every transformer that changes it again: those
 * are not idempotent (the API server may re-invoke the webhook:
 * `reinvocationPolicy: IfNeeded`).
 */
import { formatResId, resIdOf, type KubeObject } from '../kube/object.js';
import { appliedSteps } from '../policy/evaluate.js';
import { PolicyError } from '../policy/compile.js';
import { loadPolicies, type LoadedPolicies } from '../policy/load.js';
import { flattenPolicyErrors } from '../policy/schema-errors.js';
import { evaluateStream, readManifestStream, type ManifestStream, type RenderOptions } from '../policy/render.js';
import { defaultLoadOptions, emptySetMessage, resolveNamespaceOptions } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `check`. */
export interface CheckOptions {
  config: string[];
  file?: string;
  /** `--allow-empty`: an empty set is valid (otherwise exit 2, "no policies found in ..."). */
  allowEmpty?: boolean;
  /** As `run -n` (the CLI defaults it to $HELM_NAMESPACE). */
  namespace?: string;
  /** As `run --namespace-labels`. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** A stream of bare objects (no lists), for a second evaluation. */
function objectStream(objects: KubeObject[]): ManifestStream {
  return { values: objects, slots: objects.map((object, doc) => ({ doc, item: -1, object })), ids: objects.map((o) => resIdOf(o)) };
}

/**
 * Lists the `policy/transformer` names that are not idempotent on `stream`, one
 * line each: run's evaluation of every object, then a second evaluation of
 * each result; a transformer whose change is kept in the second is named.
 * Objects denied or deleted in the first pass are left out.
 */
export function nonIdempotent(loaded: LoadedPolicies, stream: ManifestStream, opts: RenderOptions = {}): string[] {
  const first = evaluateStream(stream, loaded.set, opts).results.filter((r) => r.output !== null && r.evaluation.denials.length === 0);
  const second = evaluateStream(objectStream(first.map((r) => r.output as KubeObject)), loaded.set, opts).results;
  const problems = new Set<string>();
  second.forEach((r, i) => {
    if (!r.evaluation.changed) return;
    const at = formatResId((first[i] as (typeof first)[number]).id);
    for (const s of appliedSteps(r.evaluation)) problems.add(`${s.name} is not idempotent (e.g. on ${at})`);
  });
  return [...problems];
}

/** Loads every `-c` path; undefined (the reason on stderr) for an empty set without `--allow-empty`. */
function loadNonEmpty(opts: CheckOptions): LoadedPolicies | undefined {
  const loaded = loadPolicies(opts.config, defaultLoadOptions());
  if (loaded.policies.length > 0 || opts.allowEmpty === true) return loaded;
  process.stderr.write(`${emptySetMessage(opts.config)}\n`);
  return undefined;
}

/** Every error of a load, one line each (schema errors of every document, with "did you mean"). */
function errorLines(e: unknown): string[] {
  return (e instanceof PolicyError ? flattenPolicyErrors(e) : [e]).map(oneLine);
}

/** An error that may come from a document of another path: a binding's policy, a params object's paramKind. */
function crossPath(line: string): boolean {
  return /: spec\.policyName: |: not a policy \(/.test(line);
}

/**
 * The load errors of `paths`, one line each: per path where possible (every
 * error of each file), plus the whole set's when it fails for a reason no
 * single path shows (a binding whose policy, or a params object whose policy,
 * is in another path is only an error when the whole set lacks it).
 */
function loadErrors(paths: string[]): string[] {
  let whole: string[];
  try {
    loadPolicies(paths, defaultLoadOptions());
    return [];
  } catch (e) {
    whole = errorLines(e);
  }
  const errors: string[] = [];
  for (const path of paths) {
    try {
      loadPolicies([path], defaultLoadOptions());
    } catch (e) {
      errors.push(...errorLines(e).filter((line) => !crossPath(line)));
    }
  }
  for (const line of whole) if (!errors.includes(line)) errors.push(line);
  return errors;
}

/** Runs `check`; returns the exit code (0 valid, 2 invalid). */
export async function checkCommand(opts: CheckOptions): Promise<number> {
  const errors = loadErrors(opts.config);
  if (errors.length) {
    for (const e of errors) process.stderr.write(`${e}\n`);
    return EXIT.usage;
  }
  const loaded = loadNonEmpty(opts);
  return loaded ? report(loaded, opts) : EXIT.usage;
}

/** The ok lines of `check`, after the idempotence check on `-f` manifests. */
async function report(loaded: LoadedPolicies, opts: CheckOptions): Promise<number> {
  const lines = [`ok: ${loaded.policies.length} policies from ${loaded.files.length} files: ${loaded.set.names.join(', ')}`];
  if (opts.file !== undefined) {
    let stream: ManifestStream;
    try {
      stream = readManifestStream(await readInput(opts.file));
    } catch (e) {
      process.stderr.write(`${oneLine(e)}\n`);
      return EXIT.usage;
    }
    const problems = nonIdempotent(loaded, stream, resolveNamespaceOptions(opts));
    if (problems.length) {
      for (const p of problems) process.stderr.write(`kube-postrender: ${p}\n`);
      return EXIT.usage;
    }
    lines.push(`ok: every transformer is idempotent on ${stream.slots.length} objects`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}
