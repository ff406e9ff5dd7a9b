/**
 * The compiled policy set as the front doors see it: one call per object.
 *
 * `admission/` and `cli/` depend on this interface only; `policy/evaluate.ts`
 * implements it. Evaluation is pure (no I/O, no logging) and never throws for a
 * transformer failure: failures are reported and resolved by each policy's
 * failurePolicy (Fail: the object is denied; Ignore: the policy's changes are
 * dropped and a warning is returned).
 */
import type { KubeObject, JsonObject } from '../kube/object.js';
import type { FrontDoor, Operation } from '../transform/types.js';
import type { Evaluation } from './evaluate.js';

/** Everything about the request that matching and transformers may read. */
export interface EvaluationInput {
  frontDoor: FrontDoor;
  operation: Operation;
  /** Effective namespace: `request.namespace` at admission ('' for cluster-scoped). */
  namespace: string;
  oldObject?: KubeObject;
  /** Labels of the namespace, when known. */
  namespaceLabels?: Record<string, string>;
  /** AdmissionReview `request.subResource` ('' when none). */
  subResource?: string;
  /** AdmissionReview `request` as JSON (for CEL `request`, userInfo matching). */
  request?: JsonObject;
  /** Extra CEL variables of the policy being matched (`params`, `variables`); set by the policy itself. */
  exprVars?: Readonly<Record<string, unknown>>;
  /** Render only: ids of all objects in the stream (see TransformContext.stream). */
  stream?: TransformStreamIds;
  /** Render only: marks stream requirements satisfied. */
  satisfied?: (key: string) => void;
  /** Render only: the stream at cross-object steps (see TransformContext.snapshot). */
  snapshot?: TransformSnapshot;
  /** Run only validate rules (the `/validate` route): never a mutation. */
  validateOnly?: boolean;
  /**
   * Admission deadline, in ms on the `now()` clock (the API server's
   * `?timeout=` minus a margin). A policy not started by then fails with
   * "deadline exceeded" and its failurePolicy applies.
   */
  deadline?: number;
  /** Clock for `deadline`, in ms (default `performance.now`). Injected so evaluation stays testable. */
  now?: () => number;
}

/** See TransformContext.snapshot. */
export type TransformSnapshot = NonNullable<import('../transform/types.js').TransformContext['snapshot']>;

/** Ids of every object in a render stream. */
export type TransformStreamIds = import('../transform/types.js').TransformContext['stream'];

/** A deny: which policy and rule, and why. */
export interface Denial {
  policy: string;
  rule: string;
  message: string;
  /** The refusal's HTTP status when its rule gives one (Finding.status); absent: 403 Forbidden. */
  status?: import('../transform/types.js').DenialStatus;
}

/** A transformer error and how its policy's failurePolicy resolved it. */
export interface EvaluationError {
  policy: string;
  transformer: string;
  message: string;
  failurePolicy: 'Fail' | 'Ignore';
}

/**
 * The result of running every matching policy over one object. Readers must
 * not modify its lists: `evaluate` answers an empty one with a shared, frozen
 * empty list (policy/evaluate.ts), so an evaluation that records nothing
 * makes no lists.
 */
export interface EvaluationResult {
  /** The object after all mutations (the input object itself when nothing changed); null when a patch deleted it (render only). */
  object: KubeObject | null;
  /** True when `object` differs from the input. */
  changed: boolean;
  /** Non-empty: the object must be refused (Deny rules, failurePolicy Fail errors). */
  denials: readonly Denial[];
  /** Admission warnings / stderr lines (Warn rules, Audit mode, ignored errors, skipped immutable fields). */
  warnings: readonly string[];
  /** Every transformer error, whatever its resolution (for metrics and logs). */
  errors: readonly EvaluationError[];
  /** Names of the policies that matched the object, in evaluation order. */
  matchedPolicies: readonly string[];
  /** `policy/transformer` of every transformer that changed the object (for metrics and explain). */
  changedBy: readonly string[];
}

/** A compiled, immutable set of policies. */
export interface PolicySet {
  /** Policy names in evaluation order. */
  readonly names: readonly string[];
  /** Policy kinds (`PostRenderPolicy`, `Kustomization`, ...), parallel to `names`; absent in hand-made sets. */
  readonly kinds?: readonly string[];
  /**
   * Runs the matching policies over one object (policy/evaluate.ts). The
   * input is not mutated. The result is the EvaluationResult plus its trace.
   */
  evaluate(object: KubeObject, input: EvaluationInput): Evaluation;
  /** Stream requirements of all policies (render: checked after the whole stream). */
  readonly requirements: readonly { key: string; message: string }[];
}
