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
 * With the evaluation's trace (src/policy/evaluate.ts) every transformer of a
 * matched policy gets its own result, and mutations count their own JSON
 * patch operations; without one, results are read from the summary fields
 * (denials, errors, warnings, changedBy) per policy.
 */
import type { KubeObject } from '../kube/object.js';
import { createPatch } from '../patch/create-patch.js';
import type { EvaluationResult } from '../policy/types.js';

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
  /** Scan: the number of JSON patch operations between the object and the evaluated result (all Enforce-mode mutations together). */
  patchOps?: number;
}

/** Most characters of a result message. */
const MAX_MESSAGE = 240;

/**
 * The outcomes of `result`, one or more per matched policy, in evaluation
 * order. Messages are the rules' own (policy-authored) messages and
 * transformer error texts, cut to 240 characters.
 */
export function ruleOutcomes(result: EvaluationResult, opts: OutcomeOptions): RuleOutcome[] {
  const trace = (result as Partial<TracedResult>).trace;
  if (Array.isArray(trace)) return traceOutcomes(trace, opts);
  return summaryOutcomes(result, opts);
}

/**
 * The per-policy, per-transformer record of `evaluate` (src/policy/evaluate.ts,
 * the `Evaluation.trace`), as far as reports read it: structural, so this
 * module reads it wherever the evaluation carries one.
 */
interface TracedResult {
  trace: readonly TracePolicy[];
}
interface TracePolicy {
  policy: { name: string };
  status: 'matched' | 'skipped' | 'error' | 'deadline';
  reason: string;
  transformers: readonly TraceStep[];
  outcome?: string;
}
interface TraceStep {
  transformer: { name: string; type: string };
  status: 'ran' | 'skipped' | 'error';
  before: KubeObject;
  after: KubeObject | null;
  findings?: readonly { action: 'Deny' | 'Warn'; rule: string; message: string }[];
  error?: Error;
  reason?: string;
}

/** Outcomes from the trace: one per transformer of each matched policy (the per-rule record). */
function traceOutcomes(trace: readonly TracePolicy[], opts: OutcomeOptions): RuleOutcome[] {
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
function stepOutcome(policy: string, outcome: string | undefined, step: TraceStep, opts: OutcomeOptions): RuleOutcome | undefined {
  const rule = step.transformer.name;
  if (step.status === 'error') return { policy, rule, result: 'error', message: step.error?.message ?? 'error' };
  if (step.status === 'skipped') return step.reason === 'validate route' ? undefined : { policy, rule, result: 'skip', message: step.reason ?? '' };
  const deny = step.findings?.find((f) => f.action === 'Deny');
  if (deny) return { policy, rule, result: 'fail', message: deny.message };
  const warn = step.findings?.find((f) => f.action === 'Warn');
  if (warn) return { policy, rule, result: 'warn', message: warn.message };
  if (step.after === step.before) return { policy, rule, result: 'pass', message: '' };
  if (step.after === null) return { policy, rule, result: 'warn', message: 'would delete the object' };
  const n = createPatch(step.before, step.after).length;
  if (n === 0) return { policy, rule, result: 'pass', message: '' };
  if (outcome === 'applied' && opts.origin === 'admission') return { policy, rule, result: 'pass', message: `changed ${n} path${n === 1 ? '' : 's'}`, changedPaths: n };
  return { policy, rule, result: 'warn', message: `would change ${n} path${n === 1 ? '' : 's'}`, changedPaths: n };
}

/** Outcomes from the summary fields alone (an evaluation without a trace). */
// eslint-disable-next-line complexity -- the interim reader of the summary fields
function summaryOutcomes(result: EvaluationResult, opts: OutcomeOptions): RuleOutcome[] {
  const byPolicy = new Map<string, RuleOutcome[]>(result.matchedPolicies.map((p) => [p, []]));
  const add = (o: RuleOutcome): void => {
    const list = byPolicy.get(o.policy) ?? [];
    if (!byPolicy.has(o.policy)) byPolicy.set(o.policy, list);
    if (!list.some((x) => x.rule === o.rule && x.result === o.result)) list.push({ ...o, message: clip(o.message) });
  };
  const errored = new Set<string>();
  for (const e of result.errors) {
    errored.add(`${e.policy}\u0000${e.transformer}`);
    const skipped = e.transformer === '(deadline)';
    add({ policy: e.policy, rule: skipped ? '' : e.transformer, result: skipped ? 'skip' : 'error', message: e.message });
  }
  for (const d of result.denials) {
    if (!errored.has(`${d.policy}\u0000${d.rule}`)) add({ policy: d.policy, rule: d.rule, result: 'fail', message: d.message });
  }
  for (const w of result.warnings) {
    const o = warningOutcome(w, result.matchedPolicies);
    if (o && !errored.has(`${o.policy}\u0000${o.rule}`)) add(o);
  }
  for (const entry of result.changedBy) {
    const policy = longestPrefix(entry, result.matchedPolicies, '/');
    if (policy) add(mutationOutcome(policy, entry.slice(policy.length + 1), opts));
  }
  const out: RuleOutcome[] = [];
  for (const [policy, list] of byPolicy) out.push(...(list.length > 0 ? list : [{ policy, rule: '', result: 'pass' as const, message: '' }]));
  return out;
}

function mutationOutcome(policy: string, rule: string, opts: OutcomeOptions): RuleOutcome {
  if (opts.origin === 'admission') return { policy, rule, result: 'pass', message: 'mutation applied' };
  const n = opts.patchOps ?? 0;
  return { policy, rule, result: 'warn', message: `would change ${n} path${n === 1 ? '' : 's'} (of all mutating policies together)`, changedPaths: n };
}

/**
 * Reads one warning line of the evaluation (src/policy/compile.ts writes
 * them): `[audit] would deny: P/R: msg` (fail), `[audit] P: would change
 * /a, /b` (warn, paths counted), `[audit] P: would delete the object` (warn),
 * `[audit] P/R: msg` and `P/R: msg` (warn). Lines of other shapes give nothing.
 */
// eslint-disable-next-line complexity -- one branch per warning shape compile.ts writes
function warningOutcome(line: string, policies: readonly string[]): RuleOutcome | undefined {
  let text = line;
  const audit = text.startsWith('[audit] ');
  if (audit) text = text.slice(8);
  const wouldDeny = audit && text.startsWith('would deny: ');
  if (wouldDeny) text = text.slice(12);
  const policy = longestPrefix(text, policies, '/') || longestPrefix(text, policies, ':');
  if (!policy) return undefined;
  const rest = text.slice(policy.length);
  if (rest.startsWith(': would change ')) {
    const paths = rest.slice(15).split(', ').filter(Boolean);
    return { policy, rule: '', result: 'warn', message: `would change ${paths.length} path${paths.length === 1 ? '' : 's'}: ${paths.join(', ')}`, changedPaths: paths.length };
  }
  if (rest.startsWith(': would delete the object')) return { policy, rule: '', result: 'warn', message: 'would delete the object' };
  if (!rest.startsWith('/')) return undefined;
  const sep = rest.indexOf(': ');
  if (sep < 0) return undefined;
  return { policy, rule: rest.slice(1, sep), result: wouldDeny ? 'fail' : 'warn', message: rest.slice(sep + 2) };
}

/** The longest name in `names` that `text` starts with, followed by `sep`; '' when none. */
function longestPrefix(text: string, names: readonly string[], sep: string): string {
  let best = '';
  for (const n of names) if (n.length > best.length && text.startsWith(`${n}${sep}`)) best = n;
  return best;
}

function clip(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length <= MAX_MESSAGE ? line : `${line.slice(0, MAX_MESSAGE - 1)}…`;
}
