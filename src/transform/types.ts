/**
 * The Transformer contract: one small interface, many small implementations
 * (as kustomize's `kio.Filter`), one file per transformer in `src/transform/`.
 *
 * A transformer is compiled once from its configuration (parse, validate,
 * compile regexes and expressions: kustomize's `Config()`), then applied to one
 * object at a time (`Transform()`). Application is pure: it must not mutate its
 * input (callers may pass frozen objects) and returns a new object, which may
 * share unchanged subtrees with the input.
 */
import type { KubeObject, ResId } from '../kube/object.js';
import type { ExprScope } from '../expr/vars.js';

/** Which front door is running the chain. */
export type FrontDoor = 'render' | 'admission';

/** Admission operations (AdmissionReview `request.operation`). */
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** A validation finding (validate rules, audit reports). */
export interface Finding {
  /** `Deny` stops the object; `Warn` becomes an admission warning / stderr line. */
  action: 'Deny' | 'Warn';
  /** Transformer (rule) name. */
  rule: string;
  message: string;
  /** `Deny` only: the refusal's HTTP status (see DenialStatus); absent: 403 Forbidden. */
  status?: DenialStatus;
}

/**
 * The HTTP status of a refusal at admission (the AdmissionResponse's
 * `status.code` and `status.reason`, which the API server passes on to the
 * client): a ValidatingAdmissionPolicy validation's `reason` and its code
 * (validating/dispatcher.go `Dispatch`, `reasonToCode`: Invalid 422, the
 * default, Forbidden 403, RequestEntityTooLarge 413).
 */
export interface DenialStatus {
  code: number;
  reason: string;
}

/**
 * What a transformer may know about the request besides the object itself.
 * Everything here is read-only.
 */
export interface TransformContext {
  readonly frontDoor: FrontDoor;
  /** Admission operation; `CREATE` in render mode. */
  readonly operation: Operation;
  /** Effective namespace ('' for cluster-scoped): `request.namespace` at admission, `metadata.namespace` in render. */
  readonly namespace: string;
  /** The object before the update (UPDATE only). */
  readonly oldObject?: KubeObject;
  /** Labels of the object's namespace, when known (cluster informer or Namespace objects in the stream). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Admission request fields for expressions (userInfo, dryRun, ...), when admitting. */
  readonly request?: Readonly<Record<string, unknown>>;
  /**
   * Extra CEL variables of the policy (`params`, `variables`: its
   * `paramKind`/`paramRef` and `spec.variables`), for CEL in transformers;
   * absent when the policy declares none.
   */
  readonly exprVars?: Readonly<Record<string, unknown>>;
  /**
   * Render only: the ids of every object in the input stream, for kustomize's
   * cross-object fix-ups (e.g. a RoleBinding subject following a ServiceAccount
   * of the build). Undefined at admission (one object at a time).
   */
  readonly stream?: readonly ResId[];
  /**
   * Marks a stream requirement (see `Transformer.requirements`) as satisfied
   * by this object. A no-op at admission.
   */
  satisfied(key: string): void;
  /** Records a finding (validate rules); the pipeline attributes it to the policy. */
  report(finding: Finding): void;
  /**
   * Render only: the stream at a cross-object step (kustomize `replacements`).
   * `snapshot(key, object)` records `object`, this object's state as the step
   * `key` receives it, and returns every object's state at that step, or
   * undefined while the render does not know it yet (it then evaluates the
   * stream again). Undefined at admission: the admitted object is the stream.
   */
  readonly snapshot?: (key: string, object: KubeObject) => readonly KubeObject[] | undefined;
}

/**
 * A stream-level requirement of kustomize: e.g. a no-target strategic merge
 * patch or a `replicas` entry must match at least one object. `run` fails with
 * `message` when no object satisfied `key`; admission ignores requirements
 * (DESIGN.md, "One object at a time").
 */
export interface StreamRequirement {
  key: string;
  message: string;
}

/**
 * A compiled transformer.
 *
 * `apply` returns the transformed object, or `null` when the object is deleted
 * from the stream (kustomize `$patch: delete` at the top of a patch). It throws
 * `TransformError` (or any Error) on failure; the pipeline then follows the
 * policy's failurePolicy.
 */
export interface Transformer {
  /** The transformer type as written in a policy: `patch`, `images`, `labels`, ... */
  readonly type: string;
  /** A name for messages, metrics and warnings: the configured `name`, else `<type>[<index>]`. */
  readonly name: string;
  apply(obj: KubeObject, ctx: TransformContext): KubeObject | null;
  /** Stream requirements (render only). */
  readonly requirements?: readonly StreamRequirement[];
}

/** A transformer failure. `path` is a JSON pointer into the object, when known. */
export class TransformError extends Error {
  constructor(message: string, readonly path?: string) {
    super(message);
    this.name = 'TransformError';
  }
}

/** A configuration error: the JSON path inside the transformer's config and the reason. */
export class ConfigError extends Error {
  constructor(message: string, readonly path: string = '') {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A transformer factory: validates and compiles one configuration. `config` is
 * the value under the transformer's key in the policy (e.g. the object under
 * `images:`); `baseDir` resolves relative `path:` references (render only).
 * Throws ConfigError with a path relative to `config`.
 */
export type TransformerFactory = (config: unknown, opts: FactoryOptions) => Transformer;

/** Options passed to every factory. */
export interface FactoryOptions {
  /** The transformer's name (configured or derived). */
  name: string;
  /** Directory of the policy file, for `path:` references; undefined for cluster policies. */
  baseDir?: string;
  /** Reads a file relative to baseDir (injected so the core never imports node:fs). */
  readFile?: (path: string) => string;
  /** CEL the policy declares besides Kubernetes' variables (`params`, `variables.<name>`), for expressions in the config. */
  exprScope?: ExprScope;
}

/** A simple TransformContext for tests and the SDK. */
export function makeContext(partial: Partial<Omit<TransformContext, 'satisfied' | 'report'>> & {
  satisfied?: (key: string) => void;
  report?: (f: Finding) => void;
} = {}): TransformContext {
  return {
    frontDoor: partial.frontDoor ?? 'render',
    operation: partial.operation ?? 'CREATE',
    namespace: partial.namespace ?? '',
    oldObject: partial.oldObject,
    namespaceLabels: partial.namespaceLabels,
    request: partial.request,
    exprVars: partial.exprVars,
    stream: partial.stream,
    satisfied: partial.satisfied ?? (() => undefined),
    report: partial.report ?? (() => undefined),
  };
}
