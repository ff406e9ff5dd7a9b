/**
 * Gatekeeper mutators from the API server (`serve --cluster`): the Assign,
 * AssignMetadata, ModifySet and AssignImage objects the informers report
 * are compiled one by one (same code as files: src/policy/gatekeeper.ts) and
 * published as one mutator-set policy, with the rule of every other source:
 * an invalid new generation never replaces the last good one of that object
 * (it is reported through `onCompile`), a deleted object stops applying at
 * once. No status is written: the objects belong to Gatekeeper's CRDs.
 */
import { compileMutator, mutatorSetPolicy, type GatekeeperMutator } from '../gatekeeper.js';
import { PolicyError, type CompiledPolicy } from '../compile.js';
import { ConfigError } from '../../transform/types.js';
import { isObject, type JsonObject } from '../../kube/object.js';
import type { CompileEvent } from './cluster-policies.js';

/** Gatekeeper's mutator CRDs: plural and the version read (the newest each Gatekeeper release serves). */
export const MUTATOR_KINDS = {
  Assign: { plural: 'assign', version: 'v1' },
  AssignMetadata: { plural: 'assignmetadata', version: 'v1' },
  ModifySet: { plural: 'modifyset', version: 'v1' },
  AssignImage: { plural: 'assignimage', version: 'v1alpha1' },
} as const;

/** A Gatekeeper mutator kind served as a CRD. */
export type MutatorKind = keyof typeof MUTATOR_KINDS;

/** The outcome of compiling one mutator object. */
export type MutatorCompileEvent = CompileEvent<MutatorKind>;

interface Entry {
  generation: number | undefined;
  specJson: string;
  lastGood: GatekeeperMutator | undefined;
  /** The object `lastGood` was compiled from, apiVersion and kind set (the evaluation worker's recipe). */
  lastGoodObject?: JsonObject;
  error: PolicyError | undefined;
}

/** The mutator set policy of compiled mutators (none: no policy), as the reconciler and the evaluation worker build it. */
export function mutatorSetPolicies(mutators: GatekeeperMutator[], ownNamespace: string | undefined): CompiledPolicy[] {
  return mutators.length ? [mutatorSetPolicy(mutators, { file: 'cluster', document: 0 }, ownNamespace)] : [];
}

/**
 * The running mutator set compiled again from its objects (each as
 * `MutatorReconciler.recipe()` returns it): the evaluation worker's copy.
 * Throws what `compileMutator` throws (not for objects that compiled once).
 */
export function compileMutatorSet(objects: JsonObject[], ownNamespace: string | undefined): CompiledPolicy[] {
  return mutatorSetPolicies(objects.map((o) => compileMutator(o)), ownNamespace);
}

/** Tracks the cluster's mutator objects and their last good compilations. */
export class MutatorReconciler {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: {
    onChange: () => void;
    onCompile?: (e: MutatorCompileEvent) => void;
    ownNamespace?: string;
  }) {}

  /** The running mutator set as policies: none, or one `gatekeeper-mutators` policy. */
  policies(): CompiledPolicy[] {
    const ms = [...this.entries.values()].flatMap((e) => (e.lastGood ? [e.lastGood] : []));
    return mutatorSetPolicies(ms, this.opts.ownNamespace);
  }

  /** The objects of the running mutators, in `policies()`' order (for `compileMutatorSet`). */
  recipe(): JsonObject[] {
    return [...this.entries.values()].flatMap((e) => (e.lastGood && e.lastGoodObject ? [e.lastGoodObject] : []));
  }

  /** Objects whose current generation is invalid. */
  invalidCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.error) n++;
    return n;
  }

  /** An informer's add or update: compiles a changed generation (or spec). */
  // eslint-disable-next-line complexity -- the reconciler rule (unchanged generation, compile, last good) in one place
  upsert(kind: MutatorKind, object: JsonObject): void {
    const md = isObject(object.metadata) ? object.metadata : {};
    const name = typeof md.name === 'string' ? md.name : '';
    const key = `${kind}/${name}`;
    const generation = typeof md.generation === 'number' ? md.generation : undefined;
    const specJson = JSON.stringify(object.spec ?? null);
    const entry = this.entries.get(key) ?? { generation: undefined, specJson: '', lastGood: undefined, error: undefined };
    if (this.entries.has(key) && entry.generation === generation && entry.specJson === specJson) return;
    entry.generation = generation;
    entry.specJson = specJson;
    this.entries.set(key, entry);
    const start = performance.now();
    const source = { file: `cluster ${kind} ${name}`, document: 1 };
    try {
      // The API server may omit apiVersion/kind on list items: the informer's kind is authoritative.
      const typed = { ...object, apiVersion: `mutations.gatekeeper.sh/${MUTATOR_KINDS[kind].version}`, kind };
      entry.lastGood = compileMutator(typed);
      entry.lastGoodObject = typed;
      entry.error = undefined;
      this.opts.onCompile?.({ kind, name, generation, ok: true, keptLastGood: false, durationMs: performance.now() - start });
      this.opts.onChange();
    } catch (e) {
      entry.error = e instanceof ConfigError ? new PolicyError(source, e.path, e.message) : new PolicyError(source, '', e instanceof Error ? e.message : String(e));
      this.opts.onCompile?.({ kind, name, generation, ok: false, error: entry.error, keptLastGood: entry.lastGood !== undefined, durationMs: performance.now() - start });
    }
  }

  /** An informer's delete: the mutator stops applying. */
  remove(kind: MutatorKind, object: JsonObject): void {
    const md = isObject(object.metadata) ? object.metadata : {};
    const key = `${kind}/${typeof md.name === 'string' ? md.name : ''}`;
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (entry.lastGood) this.opts.onChange();
  }
}
