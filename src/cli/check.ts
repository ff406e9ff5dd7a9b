/**
 * `kube-postrender check`: validates policies (every error with file and path),
 * and with `-f MANIFESTS` runs each matching transformer twice over every object
 * and names those that are not idempotent (the API server may re-invoke the
 * webhook: `reinvocationPolicy: IfNeeded`).
 */
import { deepEqual, formatResId, isListObject, isObject, resIdOf, type KubeObject } from '../kube/object.js';
import { parseManifests } from '../kube/yaml-stream.js';
import { PolicyError } from '../policy/compile.js';
import { loadPolicies, type LoadedPolicies } from '../policy/load.js';
import { flattenPolicyErrors } from '../policy/schema-errors.js';
import { makeContext } from '../transform/types.js';
import { defaultLoadOptions, emptySetMessage } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `check`. */
export interface CheckOptions {
  config: string[];
  file?: string;
  /** `--allow-empty`: an empty set is valid (otherwise exit 2, "no policies found in ..."). */
  allowEmpty?: boolean;
}

/** Lists `transformer` names that are not idempotent on `objects`, one line each. */
export function nonIdempotent(loaded: LoadedPolicies, objects: KubeObject[]): string[] {
  const problems = new Set<string>();
  const stream = objects.map((o) => resIdOf(o));
  for (const obj of objects) {
    const id = resIdOf(obj);
    const ctx = makeContext({ frontDoor: 'render', namespace: id.namespace, stream });
    const input = { frontDoor: 'render' as const, operation: 'CREATE' as const, namespace: id.namespace };
    let current = obj;
    for (const policy of loaded.policies) {
      if (policy.applies(current, input) !== '') continue;
      for (const t of policy.transformers) {
        let once: KubeObject | null;
        let twice: KubeObject | null;
        try {
          once = t.apply(current, ctx);
          twice = once === null ? null : t.apply(once, ctx);
        } catch {
          continue; // errors are run's business, not idempotence
        }
        if (once !== null && twice !== null && !deepEqual(once, twice)) problems.add(`${policy.name}/${t.name} is not idempotent (e.g. on ${formatResId(id)})`);
        if (once === null) break;
        current = once;
      }
    }
  }
  return [...problems];
}

/** Loads every `-c` path; undefined (the reason on stderr) for an empty set without `--allow-empty`. */
function loadNonEmpty(opts: CheckOptions): LoadedPolicies | undefined {
  const loaded = loadPolicies(opts.config, defaultLoadOptions());
  if (loaded.policies.length > 0 || opts.allowEmpty === true) return loaded;
  process.stderr.write(`${emptySetMessage(opts.config)}\n`);
  return undefined;
}

/** Runs `check`; returns the exit code (0 valid, 2 invalid). */
export async function checkCommand(opts: CheckOptions): Promise<number> {
  const errors: string[] = [];
  for (const path of opts.config) {
    try {
      loadPolicies([path], defaultLoadOptions());
    } catch (e) {
      // Every error of the file at once (schema errors of every document, with "did you mean").
      errors.push(...(e instanceof PolicyError ? flattenPolicyErrors(e) : [e]).map(oneLine));
    }
  }
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
    let objects: KubeObject[];
    try {
      const values = parseManifests(await readInput(opts.file)).map((d) => d.value);
      objects = values.filter(isObject).flatMap((v) => (isListObject(v) ? (v.items as KubeObject[]).filter(isObject) : [v]));
    } catch (e) {
      process.stderr.write(`${oneLine(e)}\n`);
      return EXIT.usage;
    }
    const problems = nonIdempotent(loaded, objects);
    if (problems.length) {
      for (const p of problems) process.stderr.write(`kube-postrender: ${p}\n`);
      return EXIT.usage;
    }
    lines.push(`ok: every transformer is idempotent on ${objects.length} objects`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}
