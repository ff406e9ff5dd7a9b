/**
 * The cluster policy source (`serve --cluster`): three list+watch informers
 * (ClusterPostRenderPolicy, PostRenderPolicy in all namespaces, Namespace)
 * feeding a `ClusterPolicyReconciler` and a `NamespaceLabelCache`.
 *
 * Informers come from @kubernetes/client-node's `makeInformer` (a `ListWatch`):
 * it lists, then watches from the list's resourceVersion, re-watches when the
 * API server ends a watch, and relists on `410 Gone` (an expired
 * resourceVersion), but stops for good on any other error and only reports it
 * (see its `doneHandler`; the client's examples restart from the `error`
 * callback). So every `error` here schedules a restart with exponential
 * backoff (1 s doubling to 30 s, with jitter, reset when a list succeeds or an
 * event arrives), as client-go's reflector does.
 *
 * Only objects we read are deserialized by the client, never objects under
 * admission (DESIGN.md).
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import type { CompiledPolicy } from '../compile.js';
import {
  ClusterPolicyReconciler,
  NamespaceLabelCache,
  POLICY_GROUP,
  POLICY_KINDS,
  POLICY_VERSION,
  type CompileEvent,
  type PolicyKind,
  type PolicyObject,
  type ReconcilerOptions,
  type StatusWriter,
} from './cluster-policies.js';
import { MUTATOR_KINDS, MutatorReconciler, type MutatorCompileEvent, type MutatorKind } from './cluster-mutators.js';
import { listTrackingInformer, type Listed, type SourceInformer } from './informer.js';

export type { SourceInformer } from './informer.js';

/** Which informer to make. */
export type InformerTarget = PolicyKind | 'Namespace' | MutatorKind;

const isMutatorKind = (t: InformerTarget): t is MutatorKind => Object.prototype.hasOwnProperty.call(MUTATOR_KINDS, t);

/** Makes the informer for one target. */
export type InformerFactory = (target: InformerTarget) => SourceInformer;

/** Options of `ClusterSource`. */
export interface ClusterSourceOptions {
  /** Informers (default: client-node informers from `kubeConfig`). */
  informers: InformerFactory;
  /** Status writer (default: `statusWriter(kubeConfig)`); absent: no status writes. */
  writeStatus?: StatusWriter;
  /** Compile options: CEL compiler, own namespace (registry default: built-ins). */
  compile: ReconcilerOptions['compile'];
  /** Receives the running cluster policies: once at first sync, then after every change. */
  onPolicies: (policies: CompiledPolicy[]) => void;
  /** Every compile's outcome. */
  onCompile?: (event: CompileEvent) => void;
  /** Informer errors (each followed by a restart after `delayMs`) and failed status writes. */
  onError?: (what: string, err: unknown, delayMs?: number) => void;
  /** First and maximum restart backoff, in ms (default 1000 and 30000). */
  backoffMs?: { initial: number; max: number };
  /** Clock for status `lastTransitionTime`. */
  now?: () => Date;
  /**
   * Also watch Gatekeeper's mutator CRDs (Assign, AssignMetadata, ModifySet,
   * AssignImage of mutations.gatekeeper.sh) and apply them as one mutator set
   * (src/policy/gatekeeper.ts). A cluster without those CRDs lists nothing.
   */
  gatekeeperMutators?: boolean;
  /** Every mutator compile's outcome. */
  onMutatorCompile?: (event: MutatorCompileEvent) => void;
}

/** Watches policy CRDs and Namespaces. */
export class ClusterSource {
  readonly reconciler: ClusterPolicyReconciler;
  /** Gatekeeper mutators read from the cluster (used only with `gatekeeperMutators`). */
  readonly mutators: MutatorReconciler;
  readonly namespaces = new NamespaceLabelCache();
  private readonly informers = new Map<InformerTarget, SourceInformer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backoff = new Map<InformerTarget, number>();
  private stopped = false;
  private syncedOnce = false;
  private targetCount = 3;
  private resolveSynced!: () => void;
  /** Resolves once every informer has listed (then `onPolicies` has been called once). */
  readonly synced: Promise<void>;

  constructor(private readonly opts: ClusterSourceOptions) {
    this.synced = new Promise((r) => {
      this.resolveSynced = r;
    });
    this.reconciler = new ClusterPolicyReconciler({
      compile: opts.compile,
      writeStatus: opts.writeStatus,
      onCompile: opts.onCompile,
      now: opts.now,
      onStatusError: (kind, name, err) => opts.onError?.(`status of ${kind} ${name}`, err),
      onChange: () => this.publish(),
    });
    this.mutators = new MutatorReconciler({ onChange: () => this.publish(), onCompile: opts.onMutatorCompile, ownNamespace: opts.compile.ownNamespace });
  }

  /** Every running cluster policy: the policy CRDs' and the Gatekeeper mutator set. */
  policies(): CompiledPolicy[] {
    return [...this.reconciler.policies(), ...this.mutators.policies()];
  }

  private publish(): void {
    if (this.syncedOnce) this.opts.onPolicies(this.policies());
  }

  /** True once every informer has listed. */
  get isSynced(): boolean {
    return this.syncedOnce;
  }

  /** Starts the informers (does not wait for the first sync: see `synced`). */
  start(): void {
    const targets: InformerTarget[] = ['Namespace', 'ClusterPostRenderPolicy', 'PostRenderPolicy'];
    if (this.opts.gatekeeperMutators) targets.push(...(Object.keys(MUTATOR_KINDS) as MutatorKind[]));
    this.targetCount = targets.length;
    for (const target of targets) {
      const inf = this.opts.informers(target);
      this.informers.set(target, inf);
      const progress = (): void => {
        this.backoff.delete(target);
      };
      if (target === 'Namespace') {
        inf.on('add', (o) => (progress(), this.namespaces.upsert(o)));
        inf.on('update', (o) => (progress(), this.namespaces.upsert(o)));
        inf.on('delete', (o) => (progress(), this.namespaces.remove(o)));
      } else if (isMutatorKind(target)) {
        inf.on('add', (o) => (progress(), this.mutators.upsert(target, o as never)));
        inf.on('update', (o) => (progress(), this.mutators.upsert(target, o as never)));
        inf.on('delete', (o) => (progress(), this.mutators.remove(target, o as never)));
      } else {
        inf.on('add', (o) => (progress(), this.reconciler.upsert(target, o as PolicyObject)));
        inf.on('update', (o) => (progress(), this.reconciler.upsert(target, o as PolicyObject)));
        inf.on('delete', (o) => (progress(), this.reconciler.remove(target, o as PolicyObject)));
      }
      inf.on('error', (err) => this.restartLater(target, inf, err));
      this.run(inf);
    }
  }

  /** Stops the informers and pending restarts. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.informers.values()].map((i) => i.stop()));
  }

  private run(inf: SourceInformer): void {
    inf.start().then(
      () => this.checkSynced(),
      (err: unknown) => this.opts.onError?.('informer start', err),
    );
  }

  private checkSynced(): void {
    if (this.syncedOnce || this.stopped || this.informers.size < this.targetCount) return;
    for (const inf of this.informers.values()) if (!inf.hasSynced()) return;
    this.syncedOnce = true;
    this.opts.onPolicies(this.policies());
    this.resolveSynced();
  }

  private restartLater(target: InformerTarget, inf: SourceInformer, err: unknown): void {
    if (this.stopped) return;
    const { initial, max } = this.opts.backoffMs ?? { initial: 1000, max: 30_000 };
    const base = this.backoff.get(target) ?? initial;
    this.backoff.set(target, Math.min(base * 2, max));
    const delayMs = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.opts.onError?.(`${target} informer`, err, delayMs);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) this.run(inf);
    }, delayMs);
    this.timers.add(timer);
  }
}

/** API path of a target's collection (all namespaces). */
export function collectionPath(target: InformerTarget): string {
  if (target === 'Namespace') return '/api/v1/namespaces';
  if (isMutatorKind(target)) return `/apis/mutations.gatekeeper.sh/${MUTATOR_KINDS[target].version}/${MUTATOR_KINDS[target].plural}`;
  return `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_KINDS[target].plural}`;
}

/**
 * Informers over the API server of `kc` (client-node `makeInformer`), with
 * `hasSynced` tracking the last list. Policy objects arrive as plain JSON
 * (custom objects are not run through the client's model).
 */
export function clientInformers(kc: KubeConfig): InformerFactory {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return (target) => {
    const list = async (): Promise<Listed> => {
      if (target === 'Namespace') return core.listNamespace();
      if (isMutatorKind(target)) return listMutators(custom, target);
      return (await custom.listClusterCustomObject({ group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_KINDS[target].plural })) as Listed;
    };
    return listTrackingInformer(makeInformer, kc, collectionPath(target), list);
  };
}

/**
 * Lists one kind of Gatekeeper mutator. A cluster without Gatekeeper's CRDs
 * answers 404: that is an empty list (the watch then fails and is retried with
 * backoff, so CRDs installed later are picked up).
 */
async function listMutators(custom: CustomObjectsApi, kind: MutatorKind): Promise<Listed> {
  try {
    return (await custom.listClusterCustomObject({ group: 'mutations.gatekeeper.sh', version: MUTATOR_KINDS[kind].version, plural: MUTATOR_KINDS[kind].plural })) as { items: KubernetesObject[] };
  } catch (e) {
    if ((e as { code?: unknown }).code === 404) return { items: [] };
    throw e;
  }
}

/**
 * Writes a policy's status through the status subresource with a JSON patch
 * (`add /status`: sets or replaces it; needs `patch` on `.../status`, which
 * the chart's ClusterRole grants).
 */
export function statusWriter(kc: KubeConfig): StatusWriter {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return async (kind, object, status) => {
    const body = [{ op: 'add', path: '/status', value: status }];
    const name = object.metadata.name ?? '';
    const { plural } = POLICY_KINDS[kind];
    if (POLICY_KINDS[kind].namespaced) {
      await custom.patchNamespacedCustomObjectStatus({ group: POLICY_GROUP, version: POLICY_VERSION, namespace: object.metadata.namespace ?? '', plural, name, body });
    } else {
      await custom.patchClusterCustomObjectStatus({ group: POLICY_GROUP, version: POLICY_VERSION, plural, name, body });
    }
  };
}

/** Loads the kubeconfig as `kubectl` does: in-cluster service account, or KUBECONFIG / ~/.kube/config. */
export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
