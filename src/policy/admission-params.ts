/**
 * Params of admission policies: `paramKind` on a policy, `paramRef` on its
 * binding, resolved per request as the API server does
 * (k8s.io/apiserver/pkg/admission/plugin/policy/generic/policy_dispatcher.go
 * `CollectParams`):
 * - no `paramKind`, or no `paramRef`: one evaluation with `params` null;
 * - `paramRef.name`: that object; `paramRef.selector`: every object of the
 *   kind whose labels match (one evaluation per object, in name order);
 * - namespaced param kinds are looked up in `paramRef.namespace`, else in the
 *   request's namespace (a cluster-scoped request is then a configuration
 *   error); a cluster-scoped kind with `paramRef.namespace` is an error;
 * - nothing found: `parameterNotFoundAction: Deny` is a configuration error
 *   ("no params found for policy binding with `Deny` parameterNotFoundAction"),
 *   `Allow` skips the binding.
 *
 * Where params come from is a ParamStore: the documents of the policy files
 * (`run`, `serve -c`) or an informer (`serve --cluster`).
 */
import { compileLabelSelector, type LabelSelector } from '../kube/selector.js';
import { isObject, metaMap, metaString, type KubeObject } from '../kube/object.js';

/** `spec.paramKind` of a policy. */
export interface ParamKind {
  apiVersion: string;
  kind: string;
}

/** `spec.paramRef` of a binding (or of a postrender.io policy). */
export interface ParamRef {
  name?: string;
  namespace?: string;
  selector?: LabelSelector;
  parameterNotFoundAction?: 'Allow' | 'Deny';
}

/** The objects params may be taken from. */
export interface ParamStore {
  /** Every object of `apiVersion`/`kind` (any namespace). */
  list(apiVersion: string, kind: string): readonly KubeObject[];
  /** `Namespaced` or `Cluster`; undefined when the kind is unknown (no object of it). */
  scope(apiVersion: string, kind: string): 'Namespaced' | 'Cluster' | undefined;
}

/** A params configuration error (the binding is misconfigured); the policy's failurePolicy applies. */
export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

/** Namespaced kinds among the built-ins a params object is usually of. */
const NAMESPACED_BUILTINS = new Set(['v1/ConfigMap', 'v1/Secret']);

/**
 * A ParamStore over fixed objects (documents of the policy files). A kind is
 * namespaced when one of its objects has a namespace (or it is ConfigMap or
 * Secret).
 */
export function staticParamStore(objects: readonly KubeObject[]): ParamStore {
  const byKind = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const k = `${String(o.apiVersion)}/${String(o.kind)}`;
    const list = byKind.get(k) ?? [];
    list.push(o);
    byKind.set(k, list);
  }
  return {
    list: (apiVersion, kind) => byKind.get(`${apiVersion}/${kind}`) ?? [],
    scope: (apiVersion, kind) => {
      const k = `${apiVersion}/${kind}`;
      if (NAMESPACED_BUILTINS.has(k)) return 'Namespaced';
      const list = byKind.get(k);
      if (!list) return undefined;
      return list.some((o) => metaString(o, 'namespace') !== '') ? 'Namespaced' : 'Cluster';
    },
  };
}

/** An empty store (no params objects known). */
export const NO_PARAMS: ParamStore = { list: () => [], scope: () => undefined };

/**
 * The params a binding evaluates its policy with, for a request in
 * `namespace` ('' for cluster-scoped). `[null]` when the policy takes none.
 * Throws ParamError for a configuration error (see the module comment).
 */
// eslint-disable-next-line complexity -- the cases of policy_dispatcher.go CollectParams in its order
export function collectParams(kind: ParamKind | undefined, ref: ParamRef | undefined, namespace: string, store: ParamStore): (KubeObject | null)[] {
  if (!kind || !ref) return [null];
  const scope = store.scope(kind.apiVersion, kind.kind);
  let ns: string | undefined;
  if (scope === 'Cluster') {
    if (ref.namespace) throw new ParamError('paramRef.namespace must not be provided for a cluster-scoped `paramKind`');
  } else {
    ns = ref.namespace || namespace;
    if (!ns && scope === 'Namespaced') throw new ParamError('cannot use namespaced paramRef in policy binding that matches cluster-scoped resources');
  }
  const inScope = store.list(kind.apiVersion, kind.kind).filter((o) => ns === undefined || !ns || metaString(o, 'namespace') === ns);
  let found: KubeObject[];
  if (ref.name) {
    found = inScope.filter((o) => metaString(o, 'name') === ref.name).slice(0, 1);
  } else {
    const sel = compileLabelSelector(ref.selector ?? {});
    found = inScope.filter((o) => sel(metaMap(o, 'labels'))).sort((a, b) => (metaString(a, 'name') < metaString(b, 'name') ? -1 : 1));
  }
  if (found.length === 0 && ref.parameterNotFoundAction === 'Deny') {
    throw new ParamError('no params found for policy binding with `Deny` parameterNotFoundAction');
  }
  return found;
}

/** True when `v` looks like a Kubernetes object (apiVersion, kind, metadata.name): a params candidate. */
export function isParamsCandidate(v: unknown): v is KubeObject {
  return isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string' && isObject(v.metadata) && typeof v.metadata.name === 'string';
}
