/**
 * The cluster policy reconciler: what `serve --cluster` does with each
 * ClusterPostRenderPolicy / PostRenderPolicy the informers report, without any
 * I/O of its own (the informers and the status writer are passed in), so the
 * logic is unit-tested with plain objects.
 *
 * Per policy object (kind, namespace, name):
 * - a new generation is validated against the policy JSON Schema and compiled
 *   (same code as files: `validatePolicyDocument` + `compilePolicy`);
 * - success replaces the running version and sets `Ready=True` with
 *   `observedGeneration`; failure keeps the last good version running (if
 *   any) and sets `Ready=False` with reason `Invalid` and the error (JSON path
 *   and reason) as message: the same rule as a file reload (DESIGN.md: an error
 *   "never replaces a loaded config");
 * - the status is written only when it differs from what the object already
 *   carries (ignoring `lastTransitionTime`), so our own status write, which
 *   comes back as a MODIFIED event with an unchanged `generation`, neither
 *   recompiles nor writes again (no write loop, also with several replicas);
 * - a deleted object stops applying at once.
 * Conditions follow the Kubernetes API conventions
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties):
 * `type`, `status` "True"/"False", `reason` in CamelCase, `message`,
 * `lastTransitionTime` changed only when `status` changes, `observedGeneration`.
 */
import { builtinRegistry } from '../../transform/registry.js';
import { compilePolicy, PolicyError, type CompiledPolicy, type CompileOptions, type PolicySpec } from '../compile.js';
import { validatePolicyDocument } from '../load.js';

/** Group/version of the policy CRDs. */
export const POLICY_GROUP = 'postrender.io';
export const POLICY_VERSION = 'v1alpha1';

/** The two policy kinds served as CRDs, with their plurals. */
export const POLICY_KINDS = {
  ClusterPostRenderPolicy: { plural: 'clusterpostrenderpolicies', namespaced: false },
  PostRenderPolicy: { plural: 'postrenderpolicies', namespaced: true },
} as const;

/** A policy kind served as a CRD. */
export type PolicyKind = keyof typeof POLICY_KINDS;

/** A policy object as the API server returns it (plain JSON; unknown fields kept). */
export interface PolicyObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; generation?: number; resourceVersion?: string; uid?: string; [k: string]: unknown };
  spec?: unknown;
  status?: PolicyStatus | Record<string, unknown>;
  [k: string]: unknown;
}

/** A status condition (Kubernetes API conventions). */
export interface PolicyCondition {
  type: 'Ready';
  status: 'True' | 'False';
  /** `Compiled` (True) or `Invalid` (False). */
  reason: string;
  message: string;
  /** RFC 3339 time of the last change of `status`. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** The `status` the webhook writes on a policy object. */
export interface PolicyStatus {
  observedGeneration?: number;
  conditions: PolicyCondition[];
}

/** Writes `status` to the object's status subresource. Rejections are reported to `onStatusError`. */
export type StatusWriter = (kind: PolicyKind, object: PolicyObject, status: PolicyStatus) => Promise<void>;

/**
 * The outcome of compiling one cluster object (for logs and metrics): a policy
 * (`K` = PolicyKind, this reconciler) or a Gatekeeper mutator (`K` =
 * MutatorKind, cluster-mutators.ts).
 */
export interface CompileEvent<K extends string = PolicyKind> {
  kind: K;
  /** `name` or `namespace/name`. */
  name: string;
  generation?: number;
  ok: boolean;
  error?: PolicyError;
  /** True when a previous good version keeps running after a failure. */
  keptLastGood: boolean;
  durationMs: number;
}

/** Options of `ClusterPolicyReconciler`. */
export interface ReconcilerOptions {
  /** Compile options (registry default: built-ins; CEL compiler; own namespace). */
  compile: Omit<CompileOptions, 'registry'> & Partial<Pick<CompileOptions, 'registry'>>;
  /** Receives the full list of running cluster policies after every change. */
  onChange: (policies: CompiledPolicy[]) => void;
  /** Status subresource writer; absent: no status writes. */
  writeStatus?: StatusWriter;
  /** Every compile's outcome. */
  onCompile?: (event: CompileEvent) => void;
  /** A failed status write (logged by the caller; the next event retries). */
  onStatusError?: (kind: PolicyKind, name: string, err: unknown) => void;
  /** Clock for `lastTransitionTime` (default `new Date()`). */
  now?: () => Date;
}

interface Entry {
  kind: PolicyKind;
  name: string;
  generation: number | undefined;
  /** JSON of `spec` (detects changes when `generation` is absent). */
  specJson: string;
  lastGood: CompiledPolicy | undefined;
  /** The object `lastGood` was compiled from (its recipe for the evaluation worker). */
  lastGoodObject?: PolicyObject;
  lastGoodGeneration: number | undefined;
  error: PolicyError | undefined;
}

/** Maximum length of a status message (characters). */
const MAX_MESSAGE = 1024;

/** Tracks cluster policies: compiles them, keeps the last good version, computes their status. */
export class ClusterPolicyReconciler {
  private readonly entries = new Map<string, Entry>();
  private readonly compileOpts: CompileOptions;

  constructor(private readonly opts: ReconcilerOptions) {
    this.compileOpts = { ...opts.compile, registry: opts.compile.registry ?? builtinRegistry() };
  }

  /** Running policies (the last good version of each object), unsorted. */
  policies(): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    for (const e of this.entries.values()) if (e.lastGood) out.push(e.lastGood);
    return out;
  }

  /** The objects of the running policies, parallel to `policies()`: what an evaluation worker compiles (`compileClusterPolicy`). */
  recipe(): ClusterPolicyObject[] {
    const out: ClusterPolicyObject[] = [];
    for (const e of this.entries.values()) if (e.lastGood && e.lastGoodObject) out.push({ kind: e.kind, object: e.lastGoodObject });
    return out;
  }

  /** Number of objects whose current generation is invalid. */
  invalidCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.error) n++;
    return n;
  }

  /** Number of objects known (valid or not). */
  size(): number {
    return this.entries.size;
  }

  /**
   * An informer's add or update. Compiles when the generation (or, without
   * one, the spec) changed; publishes the running set when it changed; writes
   * the status when it differs from the object's.
   */
  upsert(kind: PolicyKind, object: PolicyObject): void {
    const key = keyOf(kind, object);
    const name = displayName(kind, object);
    const generation = typeof object.metadata.generation === 'number' ? object.metadata.generation : undefined;
    const specJson = JSON.stringify(object.spec ?? null);
    let entry = this.entries.get(key);
    const unchanged = entry !== undefined && entry.generation === generation && entry.specJson === specJson;
    if (!entry || !unchanged) {
      entry ??= { kind, name, generation, specJson, lastGood: undefined, lastGoodGeneration: undefined, error: undefined };
      entry.generation = generation;
      entry.specJson = specJson;
      this.entries.set(key, entry);
      const changed = this.compile(entry, kind, object);
      if (changed) this.opts.onChange(this.policies());
    }
    this.syncStatus(entry, kind, object);
  }

  /** An informer's delete: the policy stops applying. */
  remove(kind: PolicyKind, object: PolicyObject): void {
    const key = keyOf(kind, object);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (entry.lastGood) this.opts.onChange(this.policies());
  }

  /**
   * The status `object` should carry: Ready=True with observedGeneration when
   * its generation compiled, else Ready=False with the error. Keeps the
   * object's `lastTransitionTime` when the condition's status is unchanged.
   * Undefined for an object this reconciler has not seen.
   */
  desiredStatus(kind: PolicyKind, object: PolicyObject): PolicyStatus | undefined {
    const entry = this.entries.get(keyOf(kind, object));
    if (!entry) return undefined;
    const ok = entry.error === undefined;
    const message = entry.error === undefined ? 'compiled; in effect' : invalidMessage(entry, entry.error);
    const status: 'True' | 'False' = ok ? 'True' : 'False';
    const condition: PolicyCondition = {
      type: 'Ready',
      status,
      reason: ok ? 'Compiled' : 'Invalid',
      message: message.slice(0, MAX_MESSAGE),
      lastTransitionTime: this.transitionTime(object, status),
    };
    if (entry.generation !== undefined) condition.observedGeneration = entry.generation;
    const out: PolicyStatus = { conditions: [condition] };
    if (entry.generation !== undefined) out.observedGeneration = entry.generation;
    return out;
  }

  /** The object's Ready `lastTransitionTime` when its status stays `status`, else now (RFC 3339). */
  private transitionTime(object: PolicyObject, status: 'True' | 'False'): string {
    const previous = currentReady(object);
    if (previous?.status === status && previous.lastTransitionTime) return previous.lastTransitionTime;
    return rfc3339(this.opts.now?.() ?? new Date());
  }

  /** Compiles the entry's new version; returns true when the running set changed. */
  private compile(entry: Entry, kind: PolicyKind, object: PolicyObject): boolean {
    const start = performance.now();
    let compiled: CompiledPolicy | undefined;
    let error: PolicyError | undefined;
    try {
      compiled = compileClusterPolicy(kind, object, this.compileOpts);
    } catch (e) {
      error = e instanceof PolicyError ? e : new PolicyError({ file: `${kind} ${entry.name}`, document: 1 }, '', e instanceof Error ? e.message : String(e));
    }
    entry.error = error;
    if (compiled) {
      entry.lastGood = compiled;
      entry.lastGoodObject = object;
      entry.lastGoodGeneration = entry.generation;
    }
    this.opts.onCompile?.({
      kind,
      name: entry.name,
      generation: entry.generation,
      ok: !error,
      error,
      keptLastGood: !!error && !!entry.lastGood,
      durationMs: performance.now() - start,
    });
    return compiled !== undefined;
  }

  private syncStatus(entry: Entry, kind: PolicyKind, object: PolicyObject): void {
    if (!this.opts.writeStatus) return;
    const desired = this.desiredStatus(kind, object);
    if (!desired || sameStatus(object.status, desired)) return;
    this.opts.writeStatus(kind, object, desired).catch((e: unknown) => this.opts.onStatusError?.(kind, entry.name, e));
  }
}

/** The Ready=False message: the error (path: reason), then whether the last valid version stays in effect. */
function invalidMessage(entry: Entry, error: PolicyError): string {
  const where = error.path ? `${error.path}: ` : '';
  if (!entry.lastGood) return `${where}${error.reason}; not in effect`;
  const generation = entry.lastGoodGeneration !== undefined ? ` (generation ${entry.lastGoodGeneration})` : '';
  return `${where}${error.reason}; the last valid version${generation} stays in effect`;
}

/** A cluster policy object and its kind: the recipe of one running cluster policy. */
export interface ClusterPolicyObject {
  kind: PolicyKind;
  object: PolicyObject;
}

/**
 * Compiles one ClusterPostRenderPolicy or PostRenderPolicy read from the API
 * server (the reconciler's compile, and the evaluation worker's from the same
 * object). A cluster policy cannot read the webhook's file system: `path:` is
 * refused. Throws PolicyError (source `<Kind> <name>`, document 1).
 */
export function compileClusterPolicy(kind: PolicyKind, object: PolicyObject, compileOpts: Omit<CompileOptions, 'registry'> & { registry?: CompileOptions['registry'] }): CompiledPolicy {
  const source = { file: `${kind} ${displayName(kind, object)}`, document: 1 };
  const doc = { ...object, apiVersion: object.apiVersion ?? `${POLICY_GROUP}/${POLICY_VERSION}`, kind };
  if (POLICY_KINDS[kind].namespaced && !object.metadata.namespace) throw new PolicyError(source, 'metadata.namespace', 'a PostRenderPolicy needs a namespace', 'ERR_POLICY_NAMESPACE');
  const opts = { ...compileOpts, registry: compileOpts.registry ?? builtinRegistry(), readFile: undefined };
  validatePolicyDocument(doc, source, opts.registry);
  return compilePolicy(doc as unknown as { kind: string; metadata: { name: string; namespace?: string }; spec: PolicySpec }, source, opts);
}

/** Labels of Namespaces, fed by the Namespace informer (for `match.namespaceSelector`). */
export class NamespaceLabelCache {
  private readonly labels = new Map<string, Record<string, string>>();
  /** Receives every change (labels undefined: deleted): the evaluation worker's mirror. */
  onChange: ((name: string, labels: Record<string, string> | undefined) => void) | undefined;

  /** Add or update of a Namespace. */
  upsert(ns: { metadata?: { name?: string; labels?: Record<string, string> } }): void {
    const name = ns.metadata?.name;
    if (!name) return;
    const labels = { ...(ns.metadata?.labels ?? {}) };
    this.labels.set(name, labels);
    this.onChange?.(name, labels);
  }

  /** Delete of a Namespace. */
  remove(ns: { metadata?: { name?: string } }): void {
    const name = ns.metadata?.name;
    if (!name) return;
    this.labels.delete(name);
    this.onChange?.(name, undefined);
  }

  /** Every namespace's labels (a copy of the map): the evaluation worker's initial mirror. */
  entries(): [string, Record<string, string>][] {
    return [...this.labels.entries()];
  }

  /** The labels of `namespace`, or undefined when unknown. */
  get(namespace: string): Record<string, string> | undefined {
    return this.labels.get(namespace);
  }

  /** Number of namespaces known. */
  size(): number {
    return this.labels.size;
  }
}

function keyOf(kind: PolicyKind, o: PolicyObject): string {
  return `${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function displayName(kind: PolicyKind, o: PolicyObject): string {
  return POLICY_KINDS[kind].namespaced ? `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');
}

function currentReady(o: PolicyObject): Partial<PolicyCondition> | undefined {
  const conditions = (o.status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is Partial<PolicyCondition> => typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'Ready');
}

/** True when `current` already says what `desired` says (lastTransitionTime ignored). */
function sameStatus(current: PolicyObject['status'], desired: PolicyStatus): boolean {
  if (!current || (current as PolicyStatus).observedGeneration !== desired.observedGeneration) return false;
  const ready = currentReady({ metadata: {}, status: current });
  const want = desired.conditions[0];
  return (
    ready !== undefined &&
    ready.status === want.status &&
    ready.reason === want.reason &&
    ready.message === want.message &&
    ready.observedGeneration === want.observedGeneration
  );
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
