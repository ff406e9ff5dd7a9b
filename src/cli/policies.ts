/**
 * How the CLI loads policies: the built-in transformer registry plus the CEL
 * compiler for `match.conditions` (one place, so every command agrees).
 */
import { loadPolicies, type LoadedPolicies, type LoadOptions } from '../policy/load.js';
import { oneLine } from './io.js';
import { errorMessage } from '../errors.js';
import { conditionCompiler } from '../expr/vars.js';

/** Load options shared by every command. */
export function defaultLoadOptions(extra: Partial<LoadOptions> = {}): LoadOptions {
  return { compileCondition: conditionCompiler, ...extra };
}

/** Parses `--namespace-labels ns:k=v,k2=v2` values into a map (repeatable). Throws on a malformed value. */
export function parseNamespaceLabels(values: string[] = []): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const v of values) {
    const i = v.indexOf(':');
    if (i <= 0) throw new Error(`--namespace-labels ${JSON.stringify(v)}: expected NAMESPACE:key=value[,key=value]`);
    const ns = v.slice(0, i);
    out[ns] ??= {};
    for (const pair of v.slice(i + 1).split(',').filter(Boolean)) {
      const j = pair.indexOf('=');
      if (j <= 0) throw new Error(`--namespace-labels ${JSON.stringify(v)}: expected key=value, got ${JSON.stringify(pair)}`);
      out[ns][pair.slice(0, j)] = pair.slice(j + 1);
    }
  }
  return out;
}

/**
 * The stream namespace options of every command that reads manifests (`run`,
 * `explain`, `check`): `-n` (default $HELM_NAMESPACE, as Helm passes the
 * release namespace to a post-renderer) and `--namespace-labels`. One place,
 * so that the commands agree (policy/render.ts `streamNamespace`).
 */
export interface NamespaceOptions {
  namespace?: string;
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** Resolves `-n` against $HELM_NAMESPACE (from `env`, default `process.env`). */
export function resolveNamespaceOptions(opts: NamespaceOptions, env: NodeJS.ProcessEnv = process.env): NamespaceOptions {
  return { namespace: opts.namespace ?? env.HELM_NAMESPACE, namespaceLabels: opts.namespaceLabels };
}

/**
 * Loads the policies of a command (`-c`), or writes the one-line reason (file,
 * document, path) to stderr and returns undefined: the command then exits 2.
 * `allowEmpty: false` also refuses a set of no policies (`emptySetMessage`);
 * absent, an empty set is accepted.
 */
export function loadForCommand(config: string[], extra: Partial<LoadOptions> = {}, opts: { allowEmpty?: boolean } = {}): LoadedPolicies | undefined {
  let loaded: LoadedPolicies;
  try {
    loaded = loadPolicies(config, defaultLoadOptions(extra));
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return undefined;
  }
  if (opts.allowEmpty === false && loaded.policies.length === 0) {
    process.stderr.write(`${emptySetMessage(config)}\n`);
    return undefined;
  }
  return loaded;
}

/**
 * The one-line refusal of an empty policy set (`run`, `check`): a typo in a
 * `-c` path or a directory of the wrong shape must not let every object pass.
 */
export function emptySetMessage(config: string[]): string {
  return errorMessage('ERR_POLICY_EMPTY', config.join(', '));
}
