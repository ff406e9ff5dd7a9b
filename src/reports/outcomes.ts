/**
 * Rule outcomes: what a PolicyReport says about one object, read from one
 * evaluation (pure). This file is the only place that reads the evaluation
 * record for reports.
 *
 * Result values (the wgpolicyk8s.io `result` enum), per policy and rule:
 * - `fail`: a Deny rule denied the object (or, in Audit mode, would deny it);
 * - `warn`: a Warn rule's finding; a mutation that would change the object
 *   (Audit mode, or an existing object in the background scan: it differs from
 *   what the policy makes of it), with the number of changed paths;
 * - `error`: a transformer or match condition failed (whatever failurePolicy
 *   then did);
 * - `skip`: the policy was not run (the admission deadline ran out first);
 * - `pass`: the policy matched and none of the above happened (for a mutation
 *   at admission: it was applied).
 * As Kyverno, objects that no policy matched get no result.
 *
 * Read from the evaluation's trace (src/policy/evaluate.ts): every
 * transformer of a matched policy gets its own result, and mutations count
 * their own JSON patch operations.
 */
import { createPatch } from '../patch/create-patch.js';
import { stepChanged, type Evaluation, type PolicyStep, type TransformerStep } from '../policy/evaluate.js';

/** A `result` value of a PolicyReport. */
export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

/** The outcome of one rule (transformer) of one policy for one object. */
export interface RuleOutcome {
  policy: string;
  /** Transformer (rule) name; '' for the policy as a whole. */
  rule: string;
  result: ReportResultValue;
  message: string;
  /** Mutations: how many JSON patch paths the rule changes (or would change). */
  changedPaths?: number;
}

/** What the outcomes are read for. */
export interface OutcomeOptions {
  /** `admission`: Enforce-mode mutations were applied (pass); `scan`: they would change an existing object (warn). */
  origin: 'admission' | 'scan';
}

/** Most characters of a result message. */
const MAX_MESSAGE = 240;

/**
 * The outcomes of `result`, one or more per matched policy, in evaluation
 * order. Messages are the rules' own (policy-authored) messages and
 * transformer error texts, cut to 240 characters.
 */
export function ruleOutcomes(evaluation: Evaluation, opts: OutcomeOptions): RuleOutcome[] {
  return traceOutcomes(evaluation.trace, opts);
}

/** Outcomes from the trace: one per transformer of each matched policy (the per-rule record). */
function traceOutcomes(trace: readonly PolicyStep[], opts: OutcomeOptions): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  for (const p of trace) {
    const policy = p.policy.name;
    if (p.status === 'skipped') continue;
    if (p.status === 'deadline') out.push({ policy, rule: '', result: 'skip', message: clip(p.reason || 'deadline exceeded') });
    else if (p.status === 'error') out.push({ policy, rule: 'match.conditions', result: 'error', message: clip(p.reason) });
    else for (const step of p.transformers) {
      const o = stepOutcome(policy, p.outcome, step, opts);
      // eslint-disable-next-line max-depth -- policy steps, then their transformer steps
      if (o) out.push({ ...o, message: clip(o.message) });
    }
  }
  return out;
}

// eslint-disable-next-line complexity -- one row per result value of the table in the module comment
function stepOutcome(policy: string, outcome: string | undefined, step: TransformerStep, opts: OutcomeOptions): RuleOutcome | undefined {
  const rule = step.transformer.name;
  if (step.status === 'error') return { policy, rule, result: 'error', message: step.error?.message ?? 'error' };
  if (step.status === 'skipped') return step.reason === 'validate route' ? undefined : { policy, rule, result: 'skip', message: step.reason ?? '' };
  const deny = step.findings?.find((f) => f.action === 'Deny');
  if (deny) return { policy, rule, result: 'fail', message: deny.message };
  const warn = step.findings?.find((f) => f.action === 'Warn');
  if (warn) return { policy, rule, result: 'warn', message: warn.message };
  if (!stepChanged(step)) return { policy, rule, result: 'pass', message: '' };
  if (step.after === null) return { policy, rule, result: 'warn', message: 'would delete the object' };
  const n = createPatch(step.before, step.after).length;
  if (n === 0) return { policy, rule, result: 'pass', message: '' };
  if (outcome === 'applied' && opts.origin === 'admission') return { policy, rule, result: 'pass', message: `changed ${n} path${n === 1 ? '' : 's'}`, changedPaths: n };
  return { policy, rule, result: 'warn', message: `would change ${n} path${n === 1 ? '' : 's'}`, changedPaths: n };
}

function clip(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length <= MAX_MESSAGE ? line : `${line.slice(0, MAX_MESSAGE - 1)}…`;
}
