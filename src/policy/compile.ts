/**
 * Compiles policy documents into an immutable PolicySet: every transformer
 * configured, every regex and expression compiled before anything runs
 * (kustomize's Config() before Transform()).
 */
import { deepEqual, gvkOf, isObject, metaMap, type KubeObject } from '../kube/object.js';
import { SelectorError } from '../kube/selector.js';
import { runChain } from '../transform/pipeline.js';
import { ConfigError, type FactoryOptions, type Finding, type StreamRequirement, type Transformer, type TransformContext } from '../transform/types.js';
import type { TransformerRegistry } from '../transform/registry.js';
import { compileClause, compileDefaultExclusions, namesSubresources, splitKind, type Clause, type ConditionCompiler, type MatchSpec } from './match.js';
import type { Denial, EvaluationError, EvaluationInput, EvaluationResult, PolicySet } from './types.js';

/** Where a policy came from, for error messages: file path (or `cluster`) and document index (1-based). */
export interface PolicySource {
  file: string;
  document: number;
}

/** A policy with its transformers compiled. */
export interface CompiledPolicy {
  /** `name` for ClusterPostRenderPolicy and Kustomizations, `namespace/name` for PostRenderPolicy. */
  name: string;
  kind: 'ClusterPostRenderPolicy' | 'PostRenderPolicy' | 'Kustomization' | 'Gatekeeper';
  /** Own namespace of a PostRenderPolicy. */
  namespace?: string;
  order: number;
  failurePolicy: 'Fail' | 'Ignore';
  mode: 'Enforce' | 'Audit';
  hooks: 'include' | 'exclude' | 'only';
  transformers: Transformer[];
  /** Returns '' when the policy applies to the object, else the first clause that excluded it. */
  applies: (object: KubeObject, input: EvaluationInput) => string;
  /**
   * False when `match.resources` cannot hold for any object of this group and
   * kind (then `applies` is sure to return non-empty); absent: every kind may
   * match. Lets `evaluate` skip a policy without calling `applies`.
   */
  mayMatchKind?: (group: string, kind: string) => boolean;
  source: PolicySource;
}

/** A policy document error: file, document, JSON path and reason. */
export class PolicyError extends Error {
  constructor(readonly source: PolicySource, readonly path: string, readonly reason: string) {
    super(`${source.file}: document ${source.document}: ${path ? `${path}: ` : ''}${reason}`);
    this.name = 'PolicyError';
  }
}

/** Options for compiling policies. */
export interface CompileOptions {
  registry: TransformerRegistry;
  /** Reads a file for `path:` references (absolute path in, text out). Absent: `path:` is an error. */
  readFile?: (path: string) => string;
  /** Compiles CEL conditions; absent: policies with `conditions` are rejected. */
  compileCondition?: ConditionCompiler;
  /** The webhook's own namespace (never touched by default). */
  ownNamespace?: string;
}

/** The `spec` of a policy document, as validated by the JSON Schema. */
export interface PolicySpec {
  order?: number;
  failurePolicy?: 'Fail' | 'Ignore';
  mode?: 'Enforce' | 'Audit';
  hooks?: 'include' | 'exclude' | 'only';
  match?: MatchSpec;
  exclude?: MatchSpec;
  transformers: Record<string, unknown>[];
}

/** Compiles one transformer entry (`{name?, <type>: config}`), mapping config errors to a PolicyError. */
export function compileTransformer(
  entry: Record<string, unknown>,
  index: number,
  basePath: string,
  source: PolicySource,
  opts: CompileOptions & { baseDir?: string },
): Transformer {
  const path = `${basePath}[${index}]`;
  const types = Object.keys(entry).filter((k) => k !== 'name');
  if (types.length !== 1) {
    throw new PolicyError(source, path, types.length === 0 ? 'a transformer needs one type key' : `one transformer type per entry, got ${types.join(', ')}`);
  }
  const type = types[0];
  const factory = opts.registry.get(type);
  if (!factory) throw new PolicyError(source, `${path}.${type}`, `unknown transformer type "${type}" (known: ${opts.registry.types().join(', ')})`);
  const name = typeof entry.name === 'string' ? entry.name : `${type}[${index}]`;
  const fopts: FactoryOptions = { name, baseDir: opts.baseDir, readFile: opts.readFile };
  try {
    return factory(entry[type], fopts);
  } catch (e) {
    throw toPolicyError(e, source, `${path}.${type}`);
  }
}

/** Converts a config/selector error into a PolicyError under `path`. */
export function toPolicyError(e: unknown, source: PolicySource, path: string): PolicyError {
  if (e instanceof PolicyError) return e;
  // A CEL error already carries the expression's full path (spec.match.conditions[0].expression).
  const exprPath = e instanceof Error && e.name === 'ExprError' ? (e as Error & { path?: unknown }).path : undefined;
  if (typeof exprPath === 'string' && exprPath) return new PolicyError(source, exprPath, (e as Error).message);
  if (e instanceof ConfigError || e instanceof SelectorError) {
    const sub = e.path ? (e.path.startsWith('[') ? e.path : `.${e.path}`) : '';
    return new PolicyError(source, `${path}${sub}`, e.message);
  }
  return new PolicyError(source, path, e instanceof Error ? e.message : String(e));
}

/**
 * Compiles a validated policy document. `spec` must already have passed the
 * JSON Schema. Throws PolicyError.
 */
export function compilePolicy(
  doc: { kind: string; metadata: { name: string; namespace?: string }; spec: PolicySpec },
  source: PolicySource,
  opts: CompileOptions & { baseDir?: string },
): CompiledPolicy {
  const { spec } = doc;
  const kind = doc.kind as CompiledPolicy['kind'];
  const namespaced = kind === 'PostRenderPolicy';
  if (namespaced && !doc.metadata.namespace) throw new PolicyError(source, 'metadata.namespace', 'a PostRenderPolicy needs a namespace');
  const transformers = spec.transformers.map((t, i) => compileTransformer(t, i, 'spec.transformers', source, opts));
  const clause = (m: MatchSpec | undefined, p: string): Clause | undefined => {
    if (!m) return undefined;
    try {
      return compileClause(m, p, opts.compileCondition);
    } catch (e) {
      throw toPolicyError(e, source, p);
    }
  };
  const match = clause(spec.match, 'spec.match');
  const exclude = clause(spec.exclude, 'spec.exclude');
  const defaults = kind === 'Kustomization' ? undefined : compileDefaultExclusions(spec.match, opts.ownNamespace);
  const hooks = spec.hooks ?? 'include';
  const ownNs = doc.metadata.namespace;
  const subresources = namesSubresources(spec.match);
  const applies = (o: KubeObject, input: EvaluationInput): string => {
    if (namespaced && input.namespace !== ownNs) return `namespace (a PostRenderPolicy applies only in ${ownNs})`;
    // Subresource requests (status, scale, ...) only for policies that name them (`Deployment/status`).
    if (input.subResource && !subresources) return `subresource ${input.subResource} (name Kind/${input.subResource} in match.resources)`;
    const d = defaults?.(o, input);
    if (d) return `default exclusion: ${d}`;
    if (hooks !== 'include') {
      const isHook = metaMap(o, 'annotations')['helm.sh/hook'] !== undefined;
      if (hooks === 'exclude' && isHook) return 'hooks: exclude';
      if (hooks === 'only' && !isHook) return 'hooks: only';
    }
    const m = match?.(o, input);
    if (m) return `match.${m}`;
    if (exclude && exclude(o, input) === '') return 'exclude';
    return '';
  };
  return {
    mayMatchKind: spec.match?.resources ? kindFilter(spec.match.resources) : undefined,
    name: namespaced ? `${ownNs}/${doc.metadata.name}` : doc.metadata.name,
    kind,
    namespace: namespaced ? ownNs : undefined,
    order: spec.order ?? 100,
    failurePolicy: spec.failurePolicy ?? 'Fail',
    mode: spec.mode ?? 'Enforce',
    hooks,
    transformers,
    applies,
    source,
  };
}

/**
 * The group/kind part of `match.resources` (as `compileResources` in
 * match.ts): true when some entry admits `group` and `kind`. Versions and names
 * are left to `applies`.
 */
function kindFilter(resources: NonNullable<MatchSpec['resources']>): (group: string, kind: string) => boolean {
  return (group, kind) => resources.some((r) =>
    (r.group === undefined || r.group === '*' || r.group === group) && (!r.kinds || r.kinds.some((k) => {
      const base = splitKind(k).kind;
      return base === '*' || base === kind;
    })));
}

/**
 * Sorts policies for evaluation: by `order` (lower first), then cluster-wide
 * before namespaced, then by name (DESIGN.md).
 */
export function sortPolicies(policies: CompiledPolicy[]): CompiledPolicy[] {
  const scope = (p: CompiledPolicy): number => (p.kind === 'PostRenderPolicy' ? 1 : 0);
  return [...policies].sort((a, b) => a.order - b.order || scope(a) - scope(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Truncates a message to `max` characters (warnings budget of the API server). */
function clip(s: string, max = 240): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Top-level-ish paths where two objects differ (for audit reports): at most `limit` entries, depth <= 3. */
export function changedPaths(a: unknown, b: unknown, limit = 5, prefix = '', depth = 0): string[] {
  if (deepEqual(a as never, b as never)) return [];
  if (depth >= 3 || !isObject(a) || !isObject(b)) return [prefix || '/'];
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (out.length >= limit) break;
    out.push(...changedPaths(a[k], b[k], limit - out.length, `${prefix}/${k}`, depth + 1));
  }
  return out;
}

/**
 * Builds the PolicySet over compiled policies (sorted here). `evaluate` never
 * throws for a transformer failure (see PolicySet).
 */
export function createPolicySet(policies: CompiledPolicy[]): PolicySet {
  const sorted = sortPolicies(policies);
  const requirements: StreamRequirement[] = sorted.flatMap((p) => p.transformers.flatMap((t) => [...(t.requirements ?? [])]));
  const index = kindIndex(sorted);
  return {
    names: sorted.map((p) => p.name),
    requirements,
    evaluate: (object, input) => evaluate(sorted, index, object, input),
  };
}

/** Most group/kind masks kept per PolicySet (kinds come from requests: bounded against a flood of made-up kinds). */
const KIND_INDEX_LIMIT = 512;

/**
 * The per-kind index of a sorted policy list: for a group and kind, a mask of
 * the policies whose `match.resources` may admit it (1) or cannot (0), built on
 * first use and cached, plus which policies hold validate rules.
 */
interface KindIndex {
  mask: (group: string, kind: string) => Uint8Array;
  hasValidate: Uint8Array;
}

function kindIndex(policies: CompiledPolicy[]): KindIndex {
  const cache = new Map<string, Uint8Array>();
  const hasValidate = Uint8Array.from(policies, (p) => (p.transformers.some((t) => t.type === 'validate') ? 1 : 0));
  const mask = (group: string, kind: string): Uint8Array => {
    const key = `${group}/${kind}`;
    let m = cache.get(key);
    if (m) return m;
    m = Uint8Array.from(policies, (p) => (!p.mayMatchKind || p.mayMatchKind(group, kind) ? 1 : 0));
    if (cache.size >= KIND_INDEX_LIMIT) cache.clear();
    cache.set(key, m);
    return m;
  };
  return { mask, hasValidate };
}

/** The group and kind of an object, as `gvkOf` reads them. */
function groupKind(o: KubeObject): { group: string; kind: string } {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const i = apiVersion.indexOf('/');
  return { group: i < 0 ? '' : apiVersion.slice(0, i), kind: typeof o.kind === 'string' ? o.kind : '' };
}

/** What evaluation accumulates over the policies of one object. */
interface Outcome {
  denials: Denial[];
  warnings: string[];
  errors: EvaluationError[];
}

/**
 * Resolves a policy failure (a transformer error, a match condition that
 * cannot be evaluated, the deadline) by the policy's mode and failurePolicy:
 * Audit reports it, Fail denies the object, Ignore skips the policy with a
 * warning. Every failure is recorded in `errors` (metrics, logs).
 */
function failPolicy(out: Outcome, policy: CompiledPolicy, rule: string, message: string): void {
  out.errors.push({ policy: policy.name, transformer: rule, message, failurePolicy: policy.failurePolicy });
  const msg = clip(`${policy.name}/${rule}: ${message}`);
  if (policy.mode === 'Audit') out.warnings.push(`[audit] ${msg}`);
  else if (policy.failurePolicy === 'Fail') out.denials.push({ policy: policy.name, rule, message });
  else out.warnings.push(`${msg} (failurePolicy Ignore: policy skipped)`);
}

/** Validate findings of a policy that ran: Deny and Warn, or `[audit]` reports. */
function report(out: Outcome, policy: CompiledPolicy, findings: Finding[]): void {
  for (const f of findings) {
    const msg = clip(`${policy.name}/${f.rule}: ${f.message}`);
    if (policy.mode === 'Audit') out.warnings.push(`[audit] ${f.action === 'Deny' ? 'would deny: ' : ''}${msg}`);
    else if (f.action === 'Deny') out.denials.push({ policy: policy.name, rule: f.rule, message: f.message });
    else out.warnings.push(msg);
  }
}

function contextFor(input: EvaluationInput, findings: Finding[]): TransformContext {
  return {
    frontDoor: input.frontDoor,
    operation: input.operation,
    namespace: input.namespace,
    oldObject: input.oldObject,
    namespaceLabels: input.namespaceLabels,
    request: input.request,
    stream: input.stream,
    satisfied: input.satisfied ?? (() => undefined),
    report: (f) => findings.push(f),
  };
}

const isValidate = (t: Transformer): boolean => t.type === 'validate';

/**
 * Runs the policies in order over one object. Each matching policy's chain
 * runs on the object as the policies before it left it (as chained webhooks
 * see each other's mutations); a failed policy contributes nothing.
 */
function evaluate(policies: CompiledPolicy[], index: KindIndex, object: KubeObject, input: EvaluationInput): EvaluationResult {
  let current: KubeObject | null = object;
  const out: Outcome = { denials: [], warnings: [], errors: [] };
  const matchedPolicies: string[] = [];
  const changedBy: string[] = [];
  const now = input.now ?? (() => performance.now());
  // The kind mask follows the current object: a policy may (rarely) change apiVersion or kind.
  let gkOf: KubeObject = object;
  let gk = groupKind(object);
  let mask = index.mask(gk.group, gk.kind);
  for (let i = 0; i < policies.length && current !== null; i++) {
    const policy = policies[i] as CompiledPolicy;
    if (input.validateOnly && !index.hasValidate[i]) continue;
    if (current !== gkOf) {
      const next = groupKind(current);
      if (next.group !== gk.group || next.kind !== gk.kind) mask = index.mask(next.group, next.kind);
      gk = next;
      gkOf = current;
    }
    if (!mask[i]) continue; // match.resources cannot hold: applies() would skip it
    if (input.deadline !== undefined && now() > input.deadline) {
      failPolicy(out, policy, '(deadline)', 'deadline exceeded before this policy ran');
      continue;
    }
    let skip: string;
    try {
      skip = policy.applies(current, input);
    } catch (e) {
      // A match condition that cannot be evaluated follows failurePolicy, as webhook matchConditions do.
      failPolicy(out, policy, 'match.conditions', `match condition failed: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (skip !== '') continue;
    matchedPolicies.push(policy.name);
    const findings: Finding[] = [];
    const result = runChain(policy.transformers, current, contextFor(input, findings), input.validateOnly ? isValidate : undefined);
    if (!result.ok) {
      failPolicy(out, policy, result.transformer, result.error.message);
      continue;
    }
    report(out, policy, findings);
    if (policy.mode === 'Audit') {
      if (result.object === null) out.warnings.push(`[audit] ${policy.name}: would delete the object`);
      else if (result.object !== current) {
        const paths = changedPaths(current, result.object);
        if (paths.length) out.warnings.push(clip(`[audit] ${policy.name}: would change ${paths.join(', ')}`));
      }
      continue;
    }
    if (input.frontDoor === 'admission' && result.object === null) {
      out.warnings.push(clip(`${policy.name}: a patch deletes the object, which admission cannot do; ignored`));
      continue;
    }
    for (const t of result.changedBy) changedBy.push(`${policy.name}/${t}`);
    current = result.object;
  }
  const changed = current !== object && (current === null || !deepEqual(current, object));
  return {
    object: changed ? current : object,
    changed,
    denials: out.denials,
    warnings: dedupe(out.warnings),
    errors: out.errors,
    matchedPolicies,
    changedBy: changed ? changedBy : [],
  };
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** True when the object is a core Namespace (for stream namespace labels). */
export function isNamespace(o: KubeObject): boolean {
  const g = gvkOf(o);
  return g.kind === 'Namespace' && g.group === '';
}
