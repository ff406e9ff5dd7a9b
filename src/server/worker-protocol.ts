/**
 * The messages between the webhook's event loop and its evaluation worker
 * (evaluation-pool.ts and evaluation-worker.ts). All plain data
 * (structured-clonable). Times that cross threads are epoch ms
 * (`performance.timeOrigin + performance.now()`): each thread's
 * `performance.now()` has its own origin.
 */
import type { ParamChange } from '../policy/sources/cluster-admission.js';
import type { SourceRecipe } from '../policy/sources/recipe.js';
import type { SourceName } from '../policy/sources/store.js';
import type { Evaluation } from '../policy/evaluate.js';
import type { AdmissionOutcome } from './metrics.js';
import type { EvaluationSummary, RequestInfo } from './admission-record.js';

/** Main thread -> worker. */
export type ToWorker =
  /** The sources that must have delivered before the worker has a set (as PolicyStore's `required`). */
  | { type: 'required'; sources: SourceName[] }
  /** One source's recipe changed; `generation` counts every recipe sent, so an answer names the state it reflects. */
  | { type: 'recipe'; generation: number; recipe: SourceRecipe }
  /** A Namespace's labels (undefined: deleted). */
  | { type: 'namespace'; name: string; labels?: Record<string, string> }
  /** A params object or scope change (InformerParamStore). */
  | { type: 'param'; change: ParamChange }
  | WorkerReviewRequest;

/** One review for the worker to answer. */
export interface WorkerReviewRequest {
  type: 'review';
  id: number;
  /**
   * The request body: JSON text, or its UTF-8 bytes as received (a body too
   * large for the event loop, transferred: the event loop keeps no copy).
   */
  body: string | Uint8Array;
  route: 'mutate' | 'validate';
  /** The API server's evaluation deadline (epoch ms, from its `?timeout=`), when it sent one. */
  apiDeadline?: number;
  /** `maxEvaluationMs` (0: none): counted from when the worker starts evaluating, after parsing. */
  maxEvaluationMs: number;
  /** Send the evaluation itself back (for reports), not only its summary. */
  withEvaluation: boolean;
}

/** Worker -> main thread. */
export type FromWorker =
  /** The worker's set after `generation`: its policy names in evaluation order (undefined: not every required source yet). */
  | { type: 'synced'; generation: number; names?: string[] }
  /** A recipe did not compile (a file changed since the main thread read it): the worker keeps its previous policies of that source. */
  | { type: 'sync-failed'; generation: number; source: SourceName; reason: string }
  | WorkerAnswer;

/** The worker's answer to one review. */
export interface WorkerAnswer {
  type: 'answer';
  id: number;
  statusCode: number;
  /** The response body as JSON text (an AdmissionReview, or `{code, message}` for a 400). */
  body: string;
  info: RequestInfo;
  outcome: AdmissionOutcome;
  summary?: EvaluationSummary;
  /** With `withEvaluation`: the evaluation (admission-record.ts `portableEvaluation`) and the request's metadata for the reports. */
  evaluation?: Evaluation;
  request?: Record<string, unknown>;
}

/** Epoch ms now, comparable across threads. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
