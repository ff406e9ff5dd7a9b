/**
 * `serve --cluster --admission-policies`: MutatingAdmissionPolicy,
 * ValidatingAdmissionPolicy and their bindings read from the API server
 * (admissionregistration.k8s.io/v1), with their params objects watched by one
 * informer per `paramKind`, for clusters that do not enforce them natively
 * (opt-in: on a cluster that does, both would apply them).
 *
 * The reconciler below does no I/O (informers are passed in) so it is tested
 * with plain objects. Every change recompiles each (policy, binding) pair on
 * its own (admission-policy.ts `compileAdmissionPolicies`): an invalid pair is
 * reported (`onCompile`) and the last good compilation of that pair stays in
 * effect, as a file reload keeps the last good set. Params are read at
 * evaluation time from the informers' caches (InformerParamStore), so a params
 * update needs no recompile.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { isObject, metaString, type KubeObject } from '../../kube/object.js';
import type { CompiledPolicy } from '../compile.js';
import { PolicyError } from '../compile.js';
import { compileAdmissionPolicies, type SourcedDocument } from '../admission-policy.js';
import type { ParamKind, ParamStore } from '../admission-params.js';
import { listTrackingInformer, type Listed, type SourceInformer } from './informer.js';

/** The four kinds, with their plurals (admissionregistration.k8s.io/v1). */
export const ADMISSION_KINDS = {
  MutatingAdmissionPolicy: 'mutatingadmissionpolicies',
  MutatingAdmissionPolicyBinding: 'mutatingadmissionpolicybindings',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
} as const;

/** One of the four kinds. */
export type AdmissionKind = keyof typeof ADMISSION_KINDS;

/** Params objects kept by informers: `apiVersion/kind` -> `namespace/name` -> object. */
export class InformerParamStore implements ParamStore {
  private readonly byKind = new Map<string, Map<string, KubeObject>>();
  private readonly scopes = new Map<string, 'Namespaced' | 'Cluster'>();
  /** Receives every change, in order (the evaluation worker's mirror replays them on its own store). */
  onChange: ((change: ParamChange) => void) | undefined;

  /** Declares a kind's scope (known from discovery or from its first object). */
  setScope(kind: ParamKind, scope: 'Namespaced' | 'Cluster'): void {
    this.scopes.set(`${kind.apiVersion}/${kind.kind}`, scope);
    this.onChange?.({ op: 'scope', kind, scope });
  }

  /** Applies a change another store reported through `onChange`. */
  apply(change: ParamChange): void {
    if (change.op === 'scope') this.setScope(change.kind, change.scope);
    else if (change.op === 'upsert') this.upsert(change.kind, change.object);
    else this.remove(change.kind, change.object);
  }

  /** The changes that rebuild this store from empty (scopes first): the evaluation worker's initial mirror. */
  changes(): ParamChange[] {
    const out: ParamChange[] = [];
    for (const [k, scope] of this.scopes) out.push({ op: 'scope', kind: paramKindOf(k), scope });
    for (const [k, objects] of this.byKind) for (const object of objects.values()) out.push({ op: 'upsert', kind: paramKindOf(k), object });
    return out;
  }

  /** An informer's add or update of a params object of `kind`. */
  upsert(kind: ParamKind, o: KubeObject): void {
    this.onChange?.({ op: 'upsert', kind, object: o });
    const k = `${kind.apiVersion}/${kind.kind}`;
    const m = this.byKind.get(k) ?? new Map<string, KubeObject>();
    m.set(`${metaString(o, 'namespace')}/${metaString(o, 'name')}`, { ...o, apiVersion: kind.apiVersion, kind: kind.kind });
    this.byKind.set(k, m);
    if (!this.scopes.has(k)) this.scopes.set(k, metaString(o, 'namespace') ? 'Namespaced' : 'Cluster');
  }

  /** An informer's delete. */
  remove(kind: ParamKind, o: KubeObject): void {
    this.onChange?.({ op: 'remove', kind, object: o });
    this.byKind.get(`${kind.apiVersion}/${kind.kind}`)?.delete(`${metaString(o, 'namespace')}/${metaString(o, 'name')}`);
  }

  list(apiVersion: string, kind: string): readonly KubeObject[] {
    return [...(this.byKind.get(`${apiVersion}/${kind}`)?.values() ?? [])];
  }

  scope(apiVersion: string, kind: string): 'Namespaced' | 'Cluster' | undefined {
    const k = `${apiVersion}/${kind}`;
    return this.scopes.get(k) ?? (apiVersion === 'v1' && (kind === 'ConfigMap' || kind === 'Secret') ? 'Namespaced' : undefined);
  }
}

/** One change of an InformerParamStore (structured-clonable: sent to the evaluation worker). */
export type ParamChange =
  | { op: 'scope'; kind: ParamKind; scope: 'Namespaced' | 'Cluster' }
  | { op: 'upsert' | 'remove'; kind: ParamKind; object: KubeObject };

/** `apiVersion/kind` back to a ParamKind (the kind is the last segment: apiVersion may hold a `/`). */
function paramKindOf(key: string): ParamKind {
  const i = key.lastIndexOf('/');
  return { apiVersion: key.slice(0, i), kind: key.slice(i + 1) };
}

/** The outcome of compiling one (policy, binding) pair. */
export interface AdmissionCompileEvent {
  /** `<policy>/<binding>`, or the policy's name when it failed alone. */
  name: string;
  ok: boolean;
  error?: PolicyError;
}

/** Options of AdmissionPolicyReconciler. */
export interface AdmissionReconcilerOptions {
  /** Receives the running pairs after every change. */
  onChange: (policies: CompiledPolicy[]) => void;
  /** Every failed compile (and a recovered one). */
  onCompile?: (event: AdmissionCompileEvent) => void;
  params: ParamStore;
}

const keyOf = (kind: AdmissionKind, o: KubeObject): string => `${kind}/${metaString(o, 'name')}`;

/** Tracks the four kinds and compiles (policy, binding) pairs. */
export class AdmissionPolicyReconciler {
  private readonly objects = new Map<string, { kind: AdmissionKind; object: KubeObject }>();
  private readonly lastGood = new Map<string, CompiledPolicy>();
  /** The (policy, binding) documents each `lastGood` entry was compiled from (the evaluation worker's recipe). */
  private readonly lastGoodDocs = new Map<string, [SourcedDocument, SourcedDocument]>();
  private readonly failing = new Set<string>();

  constructor(private readonly opts: AdmissionReconcilerOptions) {}

  /** An informer's add or update. */
  upsert(kind: AdmissionKind, o: KubeObject): void {
    this.objects.set(keyOf(kind, o), { kind, object: { ...o, apiVersion: 'admissionregistration.k8s.io/v1', kind } });
    this.recompile();
  }

  /** An informer's delete. */
  remove(kind: AdmissionKind, o: KubeObject): void {
    this.objects.delete(keyOf(kind, o));
    this.recompile();
  }

  /** The params kinds the current policies name (the params informers to run). */
  paramKinds(): ParamKind[] {
    const out = new Map<string, ParamKind>();
    for (const { object } of this.objects.values()) {
      const pk = isObject(object.spec) && isObject(object.spec.paramKind) ? object.spec.paramKind : undefined;
      if (pk && typeof pk.apiVersion === 'string' && typeof pk.kind === 'string') out.set(`${pk.apiVersion}/${pk.kind}`, { apiVersion: pk.apiVersion, kind: pk.kind });
    }
    return [...out.values()];
  }

  /** The running pairs. */
  policies(): CompiledPolicy[] {
    return [...this.lastGood.values()];
  }

  /** The documents of the running pairs, in `policies()`' order (for `compileAdmissionPolicies` with the same params). */
  recipe(): [SourcedDocument, SourcedDocument][] {
    return [...this.lastGood.keys()].flatMap((k) => {
      const docs = this.lastGoodDocs.get(k);
      return docs ? [docs] : [];
    });
  }

  private doc(kind: AdmissionKind, o: KubeObject): SourcedDocument {
    return { value: o, source: { file: `${kind} ${metaString(o, 'name')}`, document: 1 } };
  }

  /** Compiles every pair; a failing pair keeps its last good compilation. */
  // eslint-disable-next-line complexity -- one pass over bindings with their policy lookup and error handling
  private recompile(): void {
    const live = new Set<string>();
    for (const { kind, object } of this.objects.values()) {
      if (!kind.endsWith('Binding')) continue;
      const policyKind = kind.slice(0, -'Binding'.length) as AdmissionKind;
      const policyName = isObject(object.spec) && typeof object.spec.policyName === 'string' ? object.spec.policyName : '';
      const policy = this.objects.get(`${policyKind}/${policyName}`);
      const name = `${policyName}/${metaString(object, 'name')}`;
      if (!policy) continue; // a binding whose policy does not exist (yet) is inactive, as in the API server
      live.add(name);
      try {
        const docs: [SourcedDocument, SourcedDocument] = [this.doc(policyKind, policy.object), this.doc(kind, object)];
        const [compiled] = compileAdmissionPolicies(docs, { params: this.opts.params });
        if (compiled) {
          this.lastGood.set(name, compiled);
          this.lastGoodDocs.set(name, docs);
        }
        if (this.failing.delete(name)) this.opts.onCompile?.({ name, ok: true });
      } catch (e) {
        this.failing.add(name);
        const error = e instanceof PolicyError ? e : new PolicyError({ file: name, document: 1 }, '', e instanceof Error ? e.message : String(e));
        this.opts.onCompile?.({ name, ok: false, error });
      }
    }
    for (const k of [...this.lastGood.keys()]) {
      if (live.has(k)) continue;
      this.lastGood.delete(k);
      this.lastGoodDocs.delete(k);
    }
    this.opts.onChange(this.policies());
  }
}

/** Which informer to make: one of the four kinds, or the params of a kind. */
export type AdmissionInformerTarget = { admission: AdmissionKind } | { params: ParamKind };

/** Options of ClusterAdmissionSource. */
export interface ClusterAdmissionSourceOptions {
  informers: (target: AdmissionInformerTarget) => SourceInformer;
  onPolicies: (policies: CompiledPolicy[]) => void;
  onCompile?: (event: AdmissionCompileEvent) => void;
  onError?: (what: string, err: unknown) => void;
}

/** Watches the four kinds and, on demand, the params kinds their policies name. */
export class ClusterAdmissionSource {
  readonly params = new InformerParamStore();
  readonly reconciler: AdmissionPolicyReconciler;
  private readonly informers = new Map<string, SourceInformer>();

  constructor(private readonly opts: ClusterAdmissionSourceOptions) {
    this.reconciler = new AdmissionPolicyReconciler({
      params: this.params,
      onCompile: opts.onCompile,
      onChange: (p) => {
        this.watchParams();
        opts.onPolicies(p);
      },
    });
  }

  /** Starts the four informers (params informers start as policies name them). */
  start(): void {
    for (const kind of Object.keys(ADMISSION_KINDS) as AdmissionKind[]) {
      const inf = this.opts.informers({ admission: kind });
      inf.on('add', (o) => this.reconciler.upsert(kind, o as unknown as KubeObject));
      inf.on('update', (o) => this.reconciler.upsert(kind, o as unknown as KubeObject));
      inf.on('delete', (o) => this.reconciler.remove(kind, o as unknown as KubeObject));
      this.run(kind, inf);
    }
    this.opts.onPolicies([]);
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.informers.values()].map((i) => i.stop()));
  }

  private run(key: string, inf: SourceInformer): void {
    this.informers.set(key, inf);
    inf.on('error', (err) => this.opts.onError?.(`${key} informer`, err));
    inf.start().catch((err: unknown) => this.opts.onError?.(`${key} informer start`, err));
  }

  private watchParams(): void {
    for (const kind of this.reconciler.paramKinds()) {
      const key = `params ${kind.apiVersion}/${kind.kind}`;
      if (this.informers.has(key)) continue;
      const inf = this.opts.informers({ params: kind });
      const obj = (o: KubernetesObject): KubeObject => o as unknown as KubeObject;
      inf.on('add', (o) => this.params.upsert(kind, obj(o)));
      inf.on('update', (o) => this.params.upsert(kind, obj(o)));
      inf.on('delete', (o) => this.params.remove(kind, obj(o)));
      this.run(key, inf);
    }
  }
}

/**
 * Informers over the API server of `kc` for ClusterAdmissionSource: the four
 * kinds under `/apis/admissionregistration.k8s.io/v1/<plural>`, params kinds
 * under `/api/v1/<plural>` or `/apis/<group>/<version>/<plural>` (the plural by
 * Kubernetes' naming rule; listed through discovery). The client module is
 * passed in, so it is only loaded with `--cluster`.
 */
export function admissionClientInformers(
  client: typeof import('@kubernetes/client-node'),
  kc: import('@kubernetes/client-node').KubeConfig,
  plural: (kind: string) => string,
): (target: AdmissionInformerTarget) => SourceInformer {
  const custom = kc.makeApiClient(client.CustomObjectsApi);
  const objects = client.KubernetesObjectApi.makeApiClient(kc);
  return (target) => {
    if ('admission' in target) {
      const p = ADMISSION_KINDS[target.admission];
      const list = async (): Promise<Listed> => (await custom.listClusterCustomObject({ group: 'admissionregistration.k8s.io', version: 'v1', plural: p })) as Listed;
      return listTrackingInformer(client.makeInformer, kc, `/apis/admissionregistration.k8s.io/v1/${p}`, list);
    }
    const { apiVersion, kind } = target.params;
    const path = `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/${plural(kind)}`;
    const list = async (): Promise<Listed> => (await objects.list(apiVersion, kind)) as unknown as Listed;
    return listTrackingInformer(client.makeInformer, kc, path, list);
  };
}
