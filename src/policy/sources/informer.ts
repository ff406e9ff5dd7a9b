/**
 * The informer shape the cluster sources use, and the one adapter from
 * @kubernetes/client-node's `makeInformer` (a `ListWatch`) to it. Only types
 * are imported from the client here: the client module is passed in by the
 * caller, so it is loaded only with `--cluster` (cluster-source.ts,
 * cluster-admission.ts).
 */
import type { KubeConfig, KubernetesObject, makeInformer } from '@kubernetes/client-node';

/** What the sources need of an informer (client-node's `Informer`, plus a sync flag). */
export interface SourceInformer {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: KubernetesObject) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  /** Lists then watches. Resolves when the watch is established or the attempt failed (then `error` fires). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once a list has succeeded and its items were delivered. */
  hasSynced(): boolean;
}

/** A list response: its items and the resourceVersion the watch starts from. */
export interface Listed {
  metadata?: { resourceVersion?: string };
  items: KubernetesObject[];
}

/**
 * A client-node informer over the collection at `path` (e.g.
 * `/api/v1/namespaces`), listing with `list`, with `hasSynced` true while the
 * last list has succeeded (false again while a relist runs). `make` is the
 * client module's `makeInformer`.
 */
export function listTrackingInformer(make: typeof makeInformer, kc: KubeConfig, path: string, list: () => Promise<Listed>): SourceInformer {
  let listed = false;
  const informer = make(kc, path, (async () => {
    listed = false;
    const result = await list();
    listed = true;
    return result;
  }) as never);
  return {
    on: (verb: 'add' | 'update' | 'delete' | 'error', cb: (x: never) => void) => informer.on(verb as 'add', cb as never),
    start: () => informer.start(),
    stop: () => informer.stop(),
    hasSynced: () => listed,
  } as SourceInformer;
}
