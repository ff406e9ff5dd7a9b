/**
 * What the webhook records about one answered review, for metrics, logs and
 * reports, whichever thread evaluated it (the event loop, or the evaluation
 * worker: src/server/evaluation-worker.ts). Everything here is plain data:
 * structured-clonable, so the worker sends it back as is. Metadata only, never
 * object contents, except `PortableEvaluation`'s objects, which only the
 * reports read (and never log).
 */
import type { ReviewResult } from '../admission/types.js';
import { forEachAppliedStep, plainStep, type Evaluation, type PolicyStep } from '../policy/evaluate.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Denial, EvaluationError } from '../policy/types.js';
import type { AdmissionOutcome } from './metrics.js';

/** Identity of an admission request for logs and metrics: uid, kind, operation, namespace, name (metadata only). */
export interface RequestInfo {
  uid: string;
  kind: string;
  operation: string;
  namespace: string;
  name: string;
}

/**
 * What metrics and logs read from an evaluation (`summarize`): the matched
 * policies, the `policy`/`transformer` pairs whose changes were kept, errors
 * (their messages are dropped: they may quote object values) and denials.
 */
export interface EvaluationSummary {
  matchedPolicies: readonly string[];
  changedBy: readonly string[];
  applied: { policy: string; transformer: string }[];
  errors: Omit<EvaluationError, 'message'>[];
  denials: readonly Denial[];
}

/** The request's identity, read defensively from a decoded body (any shape). */
export function requestInfo(body: unknown): RequestInfo {
  const req = (body as { request?: unknown } | null)?.request;
  if (typeof req !== 'object' || req === null) return { uid: '', kind: '', operation: '', namespace: '', name: '' };
  const r = req as { uid?: unknown; kind?: { kind?: unknown }; operation?: unknown; namespace?: unknown; name?: unknown; object?: unknown };
  return { uid: infoText(r.uid), kind: infoText(r.kind?.kind), operation: infoText(r.operation), namespace: infoText(r.namespace), name: infoText(r.name) || objectName(r.object) };
}

/** A string field for logs and metrics, cut to 253 characters (the longest Kubernetes name); '' when not a string. */
function infoText(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 253) : '';
}

/** The object's `metadata.name`, else its `generateName` with a `*`, else ''. */
function objectName(object: unknown): string {
  const md = typeof object === 'object' && object !== null ? (object as { metadata?: { name?: unknown; generateName?: unknown } }).metadata : undefined;
  const generateName = infoText(md?.generateName);
  return infoText(md?.name) || (generateName ? `${generateName}*` : '');
}

/** The result label of a review's answer: error (not 200, no response, or a 500 denial), denied, patched or allowed. */
export function outcomeOf(result: ReviewResult): AdmissionOutcome {
  if (result.statusCode !== 200) return 'error';
  const response = (result.body as { response?: { allowed?: boolean; patch?: string; status?: { code?: number } } }).response;
  if (!response) return 'error';
  if (!response.allowed) return response.status?.code === 500 ? 'error' : 'denied';
  return response.patch ? 'patched' : 'allowed';
}

/** The summary of an evaluation (see EvaluationSummary). */
export function summarize(evaluation: Evaluation): EvaluationSummary {
  return {
    matchedPolicies: evaluation.matchedPolicies,
    changedBy: evaluation.changedBy,
    applied: evaluation.changed ? appliedPairs(evaluation) : [],
    errors: evaluation.errors.map((e) => ({ policy: e.policy, transformer: e.transformer, failurePolicy: e.failurePolicy })),
    denials: evaluation.denials,
  };
}

/** The `policy`/`transformer` names of the steps whose changes were kept (`forEachAppliedStep`, `appliedSteps` order). */
function appliedPairs(evaluation: Evaluation): EvaluationSummary['applied'] {
  const out: EvaluationSummary['applied'] = [];
  forEachAppliedStep(evaluation, (policy, step) => out.push({ policy: policy.name, transformer: step.transformer.name }));
  return out;
}

/**
 * An Evaluation that can cross threads: the same record, with each trace
 * step's compiled policy and transformer reduced to their data (names, kind,
 * mode, failurePolicy, order; no functions, which cannot be cloned). The
 * objects stay (structured clone keeps `after === before` within one
 * message). Readers of a worker's evaluation (the reports) read names and
 * objects only; nothing may call a function of its policies.
 */
export function portableEvaluation(evaluation: Evaluation): Evaluation {
  const policies = new Map<CompiledPolicy, CompiledPolicy>();
  const policyData = (p: CompiledPolicy): CompiledPolicy => {
    let d = policies.get(p);
    if (!d) {
      d = { name: p.name, kind: p.kind, namespace: p.namespace, order: p.order, failurePolicy: p.failurePolicy, mode: p.mode, source: p.source } as unknown as CompiledPolicy;
      policies.set(p, d);
    }
    return d;
  };
  const trace: PolicyStep[] = evaluation.trace.map((s) => ({
    ...s,
    policy: policyData(s.policy),
    transformers: s.transformers.map((t) => ({ ...plainStep(t), transformer: { name: t.transformer.name, type: t.transformer.type } as typeof t.transformer })),
  }));
  return { ...evaluation, trace };
}
