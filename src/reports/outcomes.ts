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
 */
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
