/**
 * The one evaluation: `evaluate(object, input) -> Evaluation` runs the sorted
 * policies of a PolicySet over one object and records what happened. Every
 * front door reads this record: `run` (policy/render.ts), `review`
 * (admission/review.ts), `explain` and `check` (cli/), the webhook's metrics and
 * logs (server/app.ts). No other module loops over policies or transformers.
 *
 * Semantics (DESIGN.md): policies run by `order`, cluster before namespaced,
 * then name. Each matching policy's chain runs on the object as the policies
 * before it left it (as chained webhooks see each other's mutations). A failed
 * policy contributes nothing; its failurePolicy decides (Fail: deny; Ignore:
 * warn). An Audit policy reports what it would do and changes nothing.
 *
 * The trace keeps references, not copies: each transformer step holds the
 * object it received and the object it returned (transformers share unchanged
 * subtrees). Per-transformer JSON patches and changed paths are computed only
 * when a reader asks (`stepPatch`, `stepChangedPaths`): the admission hot path
 * pays one small record per transformer, nothing more.
 */
import { closeBudget, openBudgetObject, RUNTIME_COST_BUDGET, type PolicyBudget } from '../expr/meter.js';
import { deepEqual, isObject, type KubeObject } from '../kube/object.js';
import { PairCache } from '../kube/pair-cache.js';
import { createPatch, type Operation as PatchOperation } from '../patch/create-patch.js';
import type { Finding, StreamRequirement, Transformer, TransformContext } from '../transform/types.js';
import { sortPolicies, type CompiledPolicy, type InPlacePass } from './compile.js';
import type { Denial, EvaluationError, EvaluationInput, EvaluationResult, PolicySet } from './types.js';

/**
 * What one transformer did to one object.
 *
 * - `ran`: it returned `after` (=== `before` when it did nothing; null when it
 *   deleted the object from the stream, kustomize `$patch: delete`);
 * - `error`: it threw `error`; the rest of its chain is `skipped`;
 * - `skipped`: it did not run (`reason`: `after error`, `after deletion`, or
 *   `validate route`: /validate runs validate rules only).
 */
export interface TransformerStep {
  /** The compiled transformer (a reference: name, type). */
  readonly transformer: Transformer;
  readonly status: 'ran' | 'skipped' | 'error';
  /** The object the transformer received (a reference, never a copy). */
  readonly before: KubeObject;
  /** The object it returned (a reference): `before` itself when unchanged, null when deleted; `before` when it did not run. */
  readonly after: KubeObject | null;
  /** Validate findings it reported (Deny/Warn with the rule name); absent when none. */
  readonly findings?: readonly Finding[];
  /** Its error (status `error`). Messages may quote object values: never log them. */
  readonly error?: Error;
  /** Why it was skipped (status `skipped`). */
  readonly reason?: string;
}

/**
 * What became of a matched policy's chain: `applied` (Enforce: the result is
 * carried on), `audit` (Audit mode: reported, not kept), `failed` (an error:
 * failurePolicy decided), `dropped` (a deletion at admission, which cannot
 * delete: ignored with a warning).
 */
export type PolicyOutcome = 'applied' | 'audit' | 'failed' | 'dropped';

/**
 * One policy's verdict on one object.
 *
 * - `matched`: its chain ran (`transformers`, `outcome`);
 * - `skipped`: `reason` names the first clause that excluded the object
 *   (`match.namespaces`, `exclude`, `default exclusion: ...`, `hooks: only`);
 * - `error`: a match condition could not be evaluated (`reason`); failurePolicy decided;
 * - `deadline`: the admission deadline passed before it started; failurePolicy decided.
 */
export interface PolicyStep {
  /** The compiled policy (a reference: name, kind, mode, failurePolicy, source). */
  readonly policy: CompiledPolicy;
  readonly status: 'matched' | 'skipped' | 'error' | 'deadline';
  /** '' when matched; else the excluding clause, the condition error or `deadline exceeded`. */
  readonly reason: string;
  /** Transformer steps, in chain order (matched only; across all iterations of a converging policy). */
  readonly transformers: readonly TransformerStep[];
  readonly outcome?: PolicyOutcome;
  /** Chain passes run (matched only): 1, or more for a policy with `convergence`; 2 for a reinvoked policy's second pass is a separate step. */
  readonly iterations?: number;
  /** True for the second pass of a policy with `reinvocationPolicy: IfNeeded`. */
  readonly reinvoked?: boolean;
}

/**
 * The evaluation of one object: the EvaluationResult fields (final object,
 * denials, warnings, errors, matchedPolicies, changedBy) plus `trace`, one
 * PolicyStep per policy of the set in evaluation order (policies a `/validate`
 * request leaves out because they hold no validate rule are absent; so are
 * those after the object was deleted).
 */
export interface Evaluation extends EvaluationResult {
  readonly trace: readonly PolicyStep[];
  /**
   * True when the admission deadline (EvaluationInput.deadline) stopped
   * something: a policy not started, a transformer not run, an expression
   * stopped (its failurePolicy then decided). False: no check found it
   * passed, so the result is the one an evaluation without a deadline gives
   * (the server answers a review that outlasted its event-loop slice with it
   * rather than evaluating it again in the worker: server/app.ts `inline`).
   */
  readonly deadlineHit: boolean;
}

/** The RFC 6902 patch a transformer step contributed (from `before` to `after`; [] when unchanged, deleted or not run). Computed on each call. */
export function stepPatch(step: TransformerStep): PatchOperation[] {
  if (step.after === null || step.after === step.before) return [];
  return createPatch(step.before, step.after);
}

/** True when the step returned a different object (by reference: transformers return their input when they do nothing). */
export function stepChanged(step: TransformerStep): boolean {
  return step instanceof ReplayedStep ? step.changed : step.after !== step.before;
}

/**
 * The step as a plain record (own data properties: `{...step}` copies all
 * of it): the step itself, or for a step of a pass run in place
 * (ReplayedStep) a record with its objects, recomputed for it.
 */
export function plainStep(step: TransformerStep): TransformerStep {
  if (!(step instanceof ReplayedStep)) return step;
  return { transformer: step.transformer, status: step.status, before: step.before, after: step.after, findings: undefined };
}

/** JSON pointers of the changed subtrees of a step, at most `limit`, depth <= 3 (see `changedPaths`). */
export function stepChangedPaths(step: TransformerStep, limit = 5): string[] {
  if (step.after === step.before) return [];
  if (step.after === null) return ['/'];
  return changedPaths(step.before, step.after, limit);
}

/** Top-level-ish paths where two objects differ (for audit reports): at most `limit` entries, depth <= 3. */
export function changedPaths(a: unknown, b: unknown, limit = 5): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, prefix: string, depth: number): void => {
    if (x === y || deepEqual(x as never, y as never)) return;
    if (depth >= 3 || !isObject(x) || !isObject(y)) {
      out.push(prefix || '/');
      return;
    }
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (out.length >= limit) return;
      walk(x[k], y[k], `${prefix}/${k}`, depth + 1);
    }
  };
  walk(a, b, '', 0);
  return out;
}

/** A transformer step whose change was kept, with its policy and its `policy/transformer` name. */
export interface AppliedStep {
  policy: CompiledPolicy;
  name: string;
  step: TransformerStep;
}

/**
 * The transformer steps of an evaluation whose changes were kept (policies
 * `applied`), as `policy/transformer` names with their steps: the readers that
 * attribute a change to a transformer (immutable-field warnings) filter these.
 */
export function appliedSteps(evaluation: Evaluation): AppliedStep[] {
  const out: AppliedStep[] = [];
  forEachAppliedStep(evaluation, (policy, step) => out.push({ policy, name: `${policy.name}/${step.transformer.name}`, step }));
  return out;
}

/**
 * Calls `visit` with the policy and step of each transformer step whose change
 * was kept, in `appliedSteps` order, without building their names: the
 * server's metrics read these on every admission.
 */
export function forEachAppliedStep(evaluation: Evaluation, visit: (policy: CompiledPolicy, step: TransformerStep) => void): void {
  for (const p of evaluation.trace ?? []) {
    if (p.outcome !== 'applied') continue;
    for (const s of p.transformers) if (s.status === 'ran' && stepChanged(s)) visit(p.policy, s);
  }
}

/** Most group/kind masks kept per PolicySet (kinds come from requests: bounded against a flood of made-up kinds). */
const KIND_INDEX_LIMIT = 512;

/**
 * The per-kind index of a sorted policy list: for a group and kind, a mask of
 * the policies whose `match.resources` may admit it (1) or cannot (0), built on
 * first use and cached, plus which policies hold validate rules.
 */
interface KindIndex {
  mask: (group: string, kind: string) => Uint8Array;
  hasValidate: Uint8Array;
  /** 1 for the policies that DELETE and CONNECT evaluate (CompiledPolicy.withoutObject). */
  withoutObject: Uint8Array;
}

function kindIndex(policies: readonly CompiledPolicy[]): KindIndex {
  const cache = new PairCache<Uint8Array>(KIND_INDEX_LIMIT);
  const hasValidate = Uint8Array.from(policies, (p) => (p.transformers.some(isValidate) ? 1 : 0));
  // The last pair asked and its mask (a cluster's requests come in runs of one kind): two string
  // compares instead of the cache's two Map lookups. One entry, of at most LAST_KIND_MAX_CHARS.
  let lastGroup = '';
  let lastKind = '';
  let lastMask: Uint8Array | undefined;
  const mask = (group: string, kind: string): Uint8Array => {
    if (lastMask !== undefined && kind === lastKind && group === lastGroup) return lastMask;
    let m = cache.get(group, kind);
    if (!m) {
      m = Uint8Array.from(policies, (p) => (!p.mayMatchKind || p.mayMatchKind(group, kind) ? 1 : 0));
      cache.set(group, kind, m);
    }
    const keep = group.length + kind.length <= LAST_KIND_MAX_CHARS;
    lastGroup = keep ? group : '';
    lastKind = keep ? kind : '';
    lastMask = keep ? m : undefined;
    return m;
  };
  return { mask, hasValidate, withoutObject: Uint8Array.from(policies, (p) => (p.withoutObject === true ? 1 : 0)) };
}

/** The longest group and kind together (characters) that a kind index keeps as its last pair. */
export const LAST_KIND_MAX_CHARS = 256;

/** The group of an object, as `gvkOf` reads it. */
function groupOf(o: KubeObject): string {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** The kind of an object, as `gvkOf` reads it. */
function kindOf(o: KubeObject): string {
  return typeof o.kind === 'string' ? o.kind : '';
}

const isValidate = (t: Transformer): boolean => t.type === 'validate';

/** Truncates a message to `max` characters (warnings budget of the API server). */
function clip(s: string, max = 240): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * A policy that `match.resources` rules out for the object's kind: recorded
 * without calling `applies` on the hot path; the first excluding clause is
 * computed when a reader asks (`reason`), from the references kept.
 */
class KindSkip implements PolicyStep {
  readonly status = 'skipped' as const;
  readonly transformers: readonly TransformerStep[] = [];
  constructor(readonly policy: CompiledPolicy, private readonly object: KubeObject, private readonly input: EvaluationInput) {}

  get reason(): string {
    return this.policy.applies(this.object, this.input) || 'match.resources';
  }
}

/**
 * The empty list of every kind an evaluation records (denials, warnings,
 * errors, names, trace) until its first entry: one shared frozen list, so an
 * evaluation that records nothing of a kind (a review no policy matches: all
 * of them) makes no list for it. Lists are extended with `pushed`.
 */
const NONE: readonly never[] = Object.freeze([]);

/** `list` with `x` appended: `list` itself, or a new list of one when `list` is the shared empty one (NONE). */
function pushed<T>(list: readonly T[], x: T): readonly T[] {
  if (list === NONE) return [x];
  (list as T[]).push(x);
  return list;
}

/**
 * The global `performance`, read once: Node defines it on globalThis as an
 * accessor, whose getter runs at every `performance` read (~6 ns of the
 * clock's ~40; a chain10 review reads the clock 12 times). The same object.
 */
const PERFORMANCE = performance;

/**
 * `performance.now()` in ms, the default clock (one function for every
 * evaluation, and the server app's: src/server/app.ts maps its readings to
 * epoch ms when it is its clock).
 */
export const performanceNow = (): number => PERFORMANCE.now();

/**
 * An evaluation's deadline (ms on its clock `now`) on performance.now()'s
 * clock, for the CEL meter (expr/meter.ts); Infinity without a deadline. On
 * the default clock (`performanceNow`, the server's) the deadline itself,
 * with no clock reading (a review reads the clock before every transformer:
 * two readings fewer of ~12); on any other clock mapped by one reading of
 * each clock, performance.now() first (the readings a test clock counts).
 */
export function meterDeadlineOf(deadline: number | undefined, now: () => number): number {
  if (deadline === undefined) return Infinity;
  return now === performanceNow ? deadline : PERFORMANCE.now() + (deadline - now());
}

/** `satisfied` at admission and for callers without stream requirements: a no-op. */
const satisfiedNoop = (): undefined => undefined;

/**
 * The running state of one evaluation. What a review that no policy matches
 * does not use is made on first use: the lists (NONE until their first
 * entry), the transformers' context and the cost budgets.
 */
class Run {
  current: KubeObject | null;
  denials: readonly Denial[] = NONE;
  warnings: readonly string[] = NONE;
  errors: readonly EvaluationError[] = NONE;
  matchedPolicies: readonly string[] = NONE;
  changedBy: readonly string[] = NONE;
  trace: readonly PolicyStep[] = NONE;
  /** The evaluation's clock (EvaluationInput.now), in ms. */
  readonly now: () => number;
  /** The admission deadline on performance.now()'s clock, for the CEL meter (Infinity: none). */
  readonly meterDeadline: number;
  /** Findings reported since the last takeFindings; undefined: none (most transformers report none, a rule one: a list made at its first finding, of one place). */
  private findings: Finding[] | undefined;
  private context: TransformContext | undefined;
  private budgets: { policy: PolicyBudget; match: PolicyBudget } | undefined;

  constructor(readonly object: KubeObject, readonly input: EvaluationInput) {
    this.current = object;
    this.now = input.now ?? performanceNow;
    this.meterDeadline = meterDeadlineOf(input.deadline, this.now);
  }

  /** The transformers' context (made at its first use). */
  get ctx(): TransformContext {
    return (this.context ??= this.makeContext());
  }

  private makeContext(): TransformContext {
    const { input } = this;
    return {
      frontDoor: input.frontDoor,
      operation: input.operation,
      namespace: input.namespace,
      oldObject: input.oldObject,
      namespaceLabels: input.namespaceLabels,
      request: input.request,
      stream: input.stream,
      satisfied: input.satisfied ?? satisfiedNoop,
      snapshot: input.snapshot,
      report: (f) => {
        if (this.findings === undefined) this.findings = [f];
        else this.findings.push(f);
      },
    };
  }

  /** The budget of the policy running (runPolicy): one object per evaluation, set anew per policy. */
  get policyBudget(): PolicyBudget {
    return (this.budgets ??= this.makeBudgets()).policy;
  }

  /** The budget of the match conditions of the policy being matched (admits): one object per evaluation, set anew per policy. */
  get matchBudget(): PolicyBudget {
    return (this.budgets ??= this.makeBudgets()).match;
  }

  private makeBudgets(): { policy: PolicyBudget; match: PolicyBudget } {
    const deadline = this.meterDeadline;
    return { policy: { remaining: RUNTIME_COST_BUDGET, deadline, deadlineHit: false }, match: { remaining: Infinity, deadline, deadlineHit: false } };
  }

  /** True when a deadline check of this evaluation found the deadline passed (pastDeadline), or the CEL meter stopped an expression at it (PolicyBudget.deadlineHit). */
  get deadlineHit(): boolean {
    const b = this.budgets;
    return this.pastDeadlineSeen || (b !== undefined && (b.policy.deadlineHit || b.match.deadlineHit));
  }

  /** Set when pastDeadline answered true. */
  private pastDeadlineSeen = false;

  /** Records a policy's trace step. */
  step(s: PolicyStep): void {
    this.trace = pushed(this.trace, s);
  }

  /** Records a warning. */
  warn(message: string): void {
    this.warnings = pushed(this.warnings, message);
  }

  /** Deadline answers already read, all false, that the next calls of pastDeadline give without reading the clock (runInPlace). */
  answered = 0;

  /**
   * The last pair of objects a convergence test found to differ in content
   * (movedOn: `unequal` against `unequalFrom`), so that `finish` does not
   * compare the same pair again (a converging policy that runs alone over
   * the input: its first pass's object against the input). Objects are
   * never changed once a pass has left them, so the answer stays true.
   */
  unequal: KubeObject | null = null;
  unequalFrom: KubeObject | null = null;

  /** True once the admission deadline (EvaluationInput.deadline) has passed. */
  pastDeadline(): boolean {
    if (this.answered > 0) {
      this.answered--;
      return false;
    }
    if (this.input.deadline === undefined || this.now() <= this.input.deadline) return false;
    this.pastDeadlineSeen = true;
    return true;
  }

  /** Findings reported since the last call (one transformer's). */
  takeFindings(): Finding[] | undefined {
    const f = this.findings;
    if (f !== undefined) this.findingsTaken++;
    this.findings = undefined;
    return f;
  }

  /** How many takeFindings calls returned findings (a pass that saw it unchanged has none to report: ChainPass.noFindings). */
  findingsTaken = 0;

  /**
   * Resolves a policy failure (a transformer error, a match condition that
   * cannot be evaluated, the deadline) by the policy's mode and failurePolicy:
   * Audit reports it, Fail denies the object, Ignore skips the policy with a
   * warning. Every failure is recorded in `errors` (metrics, logs).
   */
  fail(policy: CompiledPolicy, rule: string, message: string): void {
    this.errors = pushed(this.errors, { policy: policy.name, transformer: rule, message, failurePolicy: policy.failurePolicy });
    const msg = clip(`${policy.name}/${rule}: ${message}`);
    if (policy.mode === 'Audit') this.warn(`[audit] ${msg}`);
    else if (policy.failurePolicy === 'Fail') this.denials = pushed(this.denials, { policy: policy.name, rule, message });
    else this.warn(`${msg} (failurePolicy Ignore: policy skipped)`);
  }

  /** Validate findings of a policy that ran: Deny and Warn, or `[audit]` reports. */
  report(policy: CompiledPolicy, steps: readonly TransformerStep[]): void {
    for (const s of steps) {
      if (s.findings === undefined) continue;
      for (const f of s.findings) {
        const msg = clip(`${policy.name}/${f.rule}: ${f.message}`);
        if (policy.mode === 'Audit') this.warn(`[audit] ${f.action === 'Deny' ? 'would deny: ' : ''}${msg}`);
        else if (f.action === 'Deny') this.denials = pushed(this.denials, f.status === undefined ? { policy: policy.name, rule: f.rule, message: f.message } : { policy: policy.name, rule: f.rule, message: f.message, status: f.status });
        else this.warn(msg);
      }
    }
  }
}

/** One pass of a chain: its steps, the object it left (null: deleted) and its error, if any. */
interface ChainPass {
  steps: TransformerStep[];
  object: KubeObject | null;
  error?: { transformer: string; error: Error };
  /** True when a pass over `object` is known to change nothing (InPlacePass.settled). */
  settled?: boolean;
  /** Chain passes run (runPolicyChain's answer; 1 for every single pass, so that one is its own answer). */
  iterations: number;
  /** How many of `steps` ran and changed the object (`ranChanged`), when the pass counted them (runSteps); else counted when read. */
  changed?: number;
  /** True when no step reported a finding (runSteps knows; Run.report has nothing to read then); else its steps are read. */
  noFindings?: boolean;
}

/**
 * Runs a policy's transformers once over `object`, recording a step each.
 * Never throws. The admission deadline is checked before each transformer
 * (and inside CEL, by the meter's PolicyBudget): past it, the transformer
 * fails with `admission deadline exceeded` and failurePolicy decides. A
 * policy with `passInPlace` runs the pass at once (inPlaceChain) unless it
 * declines.
 */
function runChain(run: Run, policy: CompiledPolicy, object: KubeObject, validateOnly: boolean): ChainPass {
  return (validateOnly ? undefined : runInPlace(run, policy, object)) ?? runSteps(run, policy.transformers, object, validateOnly);
}

/**
 * runChain step by step. Every transformer gets one step, so the list is made
 * at its final length (a list grown by push holds 17 places from its first
 * item on; most chains have one transformer).
 */
function runSteps(run: Run, transformers: readonly Transformer[], object: KubeObject, validateOnly: boolean): ChainPass {
  const steps: TransformerStep[] = new Array<TransformerStep>(transformers.length);
  let current: KubeObject = object;
  let stop = '';
  let error: ChainPass['error'];
  let changed = 0;
  const taken = run.findingsTaken;
  for (let i = 0; i < transformers.length; i++) {
    const transformer = transformers[i] as Transformer;
    if (stop || (validateOnly && !isValidate(transformer))) {
      steps[i] = { transformer, status: 'skipped', before: current, after: current, reason: stop || 'validate route' };
      continue;
    }
    try {
      if (run.pastDeadline()) throw new Error(DEADLINE_MESSAGE);
      const after = transformer.apply(current, run.ctx);
      steps[i] = { transformer, status: 'ran', before: current, after, findings: run.takeFindings() };
      if (after === null) return { steps: skipRest(steps, i + 1, transformers, current), object: null, iterations: 1, changed: changed + 1, noFindings: run.findingsTaken === taken };
      changed += Number(after !== current); // counted for recordChanges
      current = after;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      run.takeFindings();
      steps[i] = { transformer, status: 'error', before: current, after: current, error: err };
      error = { transformer: transformer.name, error: err };
      stop = 'after error';
    }
  }
  return { steps, object: current, error, iterations: 1, changed, noFindings: run.findingsTaken === taken };
}

const DEADLINE_MESSAGE = 'admission deadline exceeded before this transformer ran';

/**
 * The policy's pass in place as a chain pass (inPlaceChain), or undefined
 * when it has none or it declined: the deadline answers it read (all false: a true one
 * stops it) are then not read again by the step by step pass that follows
 * (Run.answered), which asks the clock as often as it would alone.
 */
function runInPlace(run: Run, policy: CompiledPolicy, object: KubeObject): ChainPass | undefined {
  if (policy.passInPlace === undefined) return undefined;
  let answered = 0;
  const pass = policy.passInPlace(object, run.ctx, () => {
    answered++;
    return run.pastDeadline();
  });
  if (pass !== undefined) return inPlaceChain(run, policy.transformers, object, pass);
  run.answered = answered;
  return undefined;
}

/**
 * The steps of a pass run in place (CompiledPolicy.passInPlace), the same
 * records runChain makes step by step: the steps before the first change see
 * the input, those after the last change the pass's object; only between
 * them are the objects between steps not there, and a ReplayedStep
 * recomputes them when read. A deadline stop is runChain's error step, the
 * rest skipped `after error`.
 */
function inPlaceChain(run: Run, transformers: readonly Transformer[], object: KubeObject, pass: InPlacePass): ChainPass {
  const end = pass.stoppedAt < 0 ? transformers.length : pass.stoppedAt;
  const first = pass.changed.indexOf(1);
  const last = pass.changed.lastIndexOf(1, end - 1);
  // nothing changed: pass.object is `object` itself
  const out = pass.object;
  const steps = unchangedSteps([], transformers, first < 0 || first >= end ? end : first, object);
  if (first === last && first >= 0 && first < end) steps.push({ transformer: transformers[first] as Transformer, status: 'ran', before: object, after: out, findings: undefined });
  else if (first < last) {
    const replay = new ReplayedPass({ transformers, ctx: run.ctx, input: object, first, last, output: out });
    for (let i = first; i <= last; i++) steps.push(new ReplayedStep(transformers[i] as Transformer, replay, i, pass.changed[i] === 1));
  }
  unchangedSteps(steps, transformers, end, out);
  const changed = changedBefore(pass.changed, end);
  if (pass.stoppedAt < 0) return { steps, object: out, settled: pass.settled, iterations: 1, changed };
  const stop = deadlineStop(run, steps, transformers, out);
  stop.changed = changed;
  return stop;
}

/** The number of transformers before `end` that changed the object (InPlacePass.changed: a 1 each), the steps `ranChanged` counts. */
function changedBefore(changed: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) n += changed[i] as number;
  return n;
}

/** `steps` with the steps up to transformer `to` (exclusive) of transformers that returned `at` itself appended. */
function unchangedSteps(steps: TransformerStep[], transformers: readonly Transformer[], to: number, at: KubeObject): TransformerStep[] {
  for (let i = steps.length; i < to; i++) steps.push({ transformer: transformers[i] as Transformer, status: 'ran', before: at, after: at, findings: undefined });
  return steps;
}

/**
 * A pass over an object that it is known to leave as it is
 * (InPlacePass.settled): runChain's steps, each transformer returning its
 * input, with the deadline asked before each as runChain asks it, appended
 * to `steps` (the converging policy's steps so far: the pass's own list
 * would only be copied there).
 */
function settledChain(run: Run, transformers: readonly Transformer[], object: KubeObject, steps: TransformerStep[]): ChainPass {
  const from = steps.length;
  for (let i = 0; i < transformers.length; i++) {
    if (run.pastDeadline()) {
      const stop = deadlineStop(run, steps, transformers, object, from);
      stop.changed = 0;
      return stop;
    }
    steps.push({ transformer: transformers[i] as Transformer, status: 'ran', before: object, after: object, findings: undefined });
  }
  return { steps, object, iterations: 1, changed: 0 };
}

/**
 * runChain's records when the deadline passed before transformer
 * `steps.length - from` (`steps` holds the pass's steps from index `from`
 * on): its error step, the rest skipped `after error`.
 */
// eslint-disable-next-line max-params -- a pass's records and where they start
function deadlineStop(run: Run, steps: TransformerStep[], transformers: readonly Transformer[], at: KubeObject, from = 0): ChainPass {
  const transformer = transformers[steps.length - from] as Transformer;
  const error = new Error(DEADLINE_MESSAGE);
  run.takeFindings();
  steps.push({ transformer, status: 'error', before: at, after: at, error });
  for (let i = steps.length - from; i < transformers.length; i++) steps.push({ transformer: transformers[i] as Transformer, status: 'skipped', before: at, after: at, reason: 'after error' });
  return { steps, object: at, error: { transformer: transformer.name, error }, iterations: 1 };
}

/**
 * The objects between the steps `first`..`last` of a pass run in place,
 * recomputed on first read by running those transformers one at a time from
 * the pass's input (they are pure functions of the object and context: the
 * same objects the pass went through; test/policy/gatekeeper-pass.test.ts).
 */
class ReplayedPass {
  private objects: KubeObject[] | undefined;

  constructor(private readonly p: {
    transformers: readonly Transformer[];
    ctx: TransformContext;
    /** The pass's input, and the object it left. */
    input: KubeObject;
    output: KubeObject;
    /** The first and last transformers that changed the object (first < last). */
    first: number;
    last: number;
  }) {}

  /** The object step `i` received (first <= i <= last + 1; last + 1: the pass's object). */
  before(i: number): KubeObject {
    if (i <= this.p.first) return this.p.input;
    if (i > this.p.last) return this.p.output;
    this.objects ??= this.replay();
    return this.objects[i - this.p.first - 1] as KubeObject;
  }

  private replay(): KubeObject[] {
    const out: KubeObject[] = [];
    let o = this.p.input;
    for (let i = this.p.first; i < this.p.last; i++) {
      o = (this.p.transformers[i] as Transformer).apply(o, this.p.ctx) as KubeObject;
      out.push(o);
    }
    return out;
  }
}

/** A step of a pass run in place between its first and last change: `changed` known, `before`/`after` recomputed when read (ReplayedPass). */
class ReplayedStep implements TransformerStep {
  readonly status = 'ran' as const;

  constructor(readonly transformer: Transformer, private readonly pass: ReplayedPass, private readonly index: number, readonly changed: boolean) {}

  get before(): KubeObject {
    return this.pass.before(this.index);
  }

  get after(): KubeObject {
    return this.pass.before(this.index + 1);
  }
}

/** `steps` with the steps from transformer `from` on set to skipped `after deletion`. */
function skipRest(steps: TransformerStep[], from: number, transformers: readonly Transformer[], at: KubeObject): TransformerStep[] {
  for (let i = from; i < transformers.length; i++) {
    steps[i] = { transformer: transformers[i] as Transformer, status: 'skipped', before: at, after: at, reason: 'after deletion' };
  }
  return steps;
}

/** False: the convergence bookkeeping's shortcuts are off (setConvergenceShortcuts). */
let shortcuts = true;

/**
 * Turns the convergence bookkeeping's shortcuts on or off (default on) and
 * returns the previous setting. For tests, which compare evaluations with
 * and without them (the same results, errors and traces): a converging
 * pass's changes counted per pass and summed (off: counted over all its
 * steps when changedBy is recorded), changedBy's names read only up to the
 * last change, and a pair of objects found to differ not compared again
 * (Run.unequal).
 */
export function setConvergenceShortcuts(on: boolean): boolean {
  const previous = shortcuts;
  shortcuts = on;
  return previous;
}

/**
 * Runs a policy's chain: once, or for a policy with `convergence` until a pass
 * changes nothing (at most `maxIterations` passes; Gatekeeper's mutation
 * system runs its mutators to convergence, pkg/mutation/system.go).
 */
function runPolicyChain(run: Run, policy: CompiledPolicy, object: KubeObject): ChainPass {
  const validateOnly = run.input.validateOnly === true;
  const pass = runChain(run, policy, object, validateOnly);
  const max = policy.convergence?.maxIterations ?? 1;
  if (max <= 1) return pass; // one pass: its own record (iterations 1)
  return convergedChain(run, policy, object, pass, max);
}

/** runPolicyChain's passes after the first (`pass`) of a policy with `convergence` (at most `max` in all). */
// eslint-disable-next-line max-params -- runPolicyChain's state handed on
function convergedChain(run: Run, policy: CompiledPolicy, object: KubeObject, first: ChainPass, max: number): ChainPass {
  const validateOnly = run.input.validateOnly === true;
  let pass = first;
  const steps = pass.steps;
  let changed = shortcuts ? pass.changed : undefined; // the passes' counts summed while every pass counted
  let iterations = 1;
  let last: KubeObject = object;
  while (iterations < max && movedOn(run, pass, last)) {
    last = pass.object as KubeObject;
    pass = nextPass(run, policy, pass, validateOnly, steps);
    changed = plus(changed, pass.changed);
    iterations++;
  }
  if (max > 1 && movedOn(run, pass, last)) {
    const message = policy.convergence?.notConverging?.(object, run.input.namespace) ?? `no fixed point after ${max} passes`;
    return { steps, object: pass.object, iterations, error: { transformer: '(convergence)', error: new Error(message) }, changed };
  }
  return { steps, object: pass.object, error: pass.error, iterations, changed };
}

/** The sum of two passes' `changed` counts; undefined when either did not count. */
function plus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/** The pass after `pass` (which moved on), its steps appended to `steps`: recorded without running when `pass` settled, else run. */
// eslint-disable-next-line max-params -- convergedChain's state handed on
function nextPass(run: Run, policy: CompiledPolicy, pass: ChainPass, validateOnly: boolean, steps: TransformerStep[]): ChainPass {
  const last = pass.object as KubeObject;
  if (pass.settled === true) return settledChain(run, policy.transformers, last, steps);
  const next = runChain(run, policy, last, validateOnly);
  for (const s of next.steps) steps.push(s);
  return next;
}

/** True when a pass succeeded and left an object different from `last` (convergence not reached); a pair found to differ is remembered in `run` (Run.unequal). */
function movedOn(run: Run, pass: ChainPass, last: KubeObject): boolean {
  const o = pass.object;
  if (pass.error || o === null || o === last) return false;
  if (shortcuts && o === run.unequal && last === run.unequalFrom) return true;
  if (deepEqual(o, last)) return false;
  if (shortcuts) {
    run.unequal = o;
    run.unequalFrom = last;
  }
  return true;
}

/**
 * `policy/transformer` names of each policy's transformers, made once (every
 * changing step of every review names one), with the policy name they were
 * made for: by index in `policy.transformers` (`list`, for a pass's steps,
 * which are in that order) and by transformer (`names`).
 */
const STEP_NAMES = new WeakMap<CompiledPolicy, StepNames>();

interface StepNames {
  policy: string;
  transformers: readonly Transformer[];
  list: readonly string[];
  names: ReadonlyMap<Transformer, string>;
}

/** The `policy/transformer` names of a policy's transformers (changedBy; a transformer missing from them is named on the spot). */
function stepNames(policy: CompiledPolicy): StepNames {
  let entry = STEP_NAMES.get(policy);
  if (entry === undefined || entry.policy !== policy.name || entry.transformers !== policy.transformers) {
    const list = policy.transformers.map((t) => `${policy.name}/${t.name}`);
    entry = { policy: policy.name, transformers: policy.transformers, list, names: new Map(policy.transformers.map((t, i) => [t, list[i] as string])) };
    STEP_NAMES.set(policy, entry);
  }
  return entry;
}

/**
 * The changedBy name of `step`, the `i`-th of a pass of `policy`: by index
 * when it is the `i`-th transformer's step (a single pass: always), else by
 * transformer (a converging policy's later passes), else made on the spot.
 */
function stepName(names: StepNames, policy: CompiledPolicy, step: TransformerStep, i: number): string {
  const t = step.transformer;
  if (names.transformers[i] === t) return names.list[i] as string;
  return names.names.get(t) ?? `${policy.name}/${t.name}`;
}

/** Runs one matching policy and records its step; updates the current object when its changes are kept. */
function runPolicy(run: Run, policy: CompiledPolicy, object: KubeObject, reinvoked: boolean): void {
  run.matchedPolicies = pushed(run.matchedPolicies, policy.name);
  // Kubernetes' runtime cost budget per policy evaluation, and the deadline inside CEL (expr/meter.ts).
  const budget = run.policyBudget; // not open: runPolicy does not nest
  budget.remaining = RUNTIME_COST_BUDGET;
  const outer = openBudgetObject(budget);
  let pass: ChainPass;
  try {
    pass = runPolicyChain(run, policy, object);
  } finally {
    closeBudget(outer);
  }
  run.step(matchedStep(policy, pass, policyOutcome(run, policy, object, pass), reinvoked));
}

/** What becomes of a matched policy's pass (PolicyOutcome), recorded in `run`: its failure, findings, audit report, or its changes kept. */
function policyOutcome(run: Run, policy: CompiledPolicy, object: KubeObject, pass: ChainPass): PolicyOutcome {
  if (pass.error) {
    run.fail(policy, pass.error.transformer, pass.error.error.message);
    return 'failed';
  }
  if (pass.noFindings !== true) run.report(policy, pass.steps);
  if (policy.mode === 'Audit') {
    auditReport(run, policy, object, pass.object);
    return 'audit';
  }
  if (run.input.frontDoor === 'admission' && pass.object === null) {
    run.warn(clip(`${policy.name}: a patch deletes the object, which admission cannot do; ignored`));
    return 'dropped';
  }
  recordChanges(run, policy, pass);
  run.current = pass.object;
  return 'applied';
}

/**
 * Appends the `policy/transformer` names of the pass's steps that changed the
 * object to `run.changedBy`. The evaluation's first names go in a list made
 * at their number (the usual: one policy changes the object), not one grown
 * by push; the pass counted them when it ran (`changed`: step by step, in
 * place, or a settled pass's none), and the steps after the last change are
 * not read.
 */
function recordChanges(run: Run, policy: CompiledPolicy, pass: ChainPass): void {
  const steps = pass.steps;
  const count = pass.changed ?? countChanged(steps);
  if (count === 0) return; // a validate policy changes nothing
  const names = stepNames(policy);
  const list = run.changedBy === NONE ? new Array<string>(count) : (run.changedBy as string[]);
  let k = run.changedBy === NONE ? 0 : list.length;
  const end = shortcuts ? k + count : Infinity; // the steps after the last change are not read (a converging policy's settled pass)
  for (let i = 0; i < steps.length && k < end; i++) {
    const s = steps[i] as TransformerStep;
    if (ranChanged(s)) list[k++] = stepName(names, policy, s, i);
  }
  run.changedBy = list;
}

/** The number of `steps` that ran and changed the object. */
function countChanged(steps: readonly TransformerStep[]): number {
  let count = 0;
  for (const s of steps) if (ranChanged(s)) count++;
  return count;
}

/** True for a step that ran and changed the object. */
function ranChanged(s: TransformerStep): boolean {
  return s.status === 'ran' && stepChanged(s);
}

/** The trace record of a matched policy. */
function matchedStep(policy: CompiledPolicy, pass: ChainPass, outcome: PolicyOutcome, reinvoked: boolean): PolicyStep {
  const step: PolicyStep = { policy, status: 'matched', reason: '', transformers: pass.steps, outcome, iterations: pass.iterations };
  return reinvoked ? { ...step, reinvoked } : step;
}

function auditReport(run: Run, policy: CompiledPolicy, before: KubeObject, after: KubeObject | null): void {
  if (after === null) {
    run.warn(`[audit] ${policy.name}: would delete the object`);
    return;
  }
  if (after === before) return;
  const paths = changedPaths(before, after);
  if (paths.length) run.warn(clip(`[audit] ${policy.name}: would change ${paths.join(', ')}`));
}

/**
 * Decides whether a policy runs on `object`: records a skip, a condition error
 * or a deadline cut-off and returns false, or returns true.
 */
function admits(run: Run, policy: CompiledPolicy, object: KubeObject): boolean {
  const { input } = run;
  if (run.pastDeadline()) {
    run.fail(policy, '(deadline)', 'deadline exceeded before this policy ran');
    run.step({ policy, status: 'deadline', reason: 'deadline exceeded', transformers: [] });
    return false;
  }
  let skip: string;
  // Match conditions' CEL stops at the admission deadline too (no cost budget: each has its per-expression limit).
  let outer: PolicyBudget | undefined;
  if (run.meterDeadline !== Infinity) {
    run.matchBudget.remaining = Infinity; // not open: admits does not nest
    outer = openBudgetObject(run.matchBudget);
  }
  try {
    skip = policy.applies(object, input);
  } catch (e) {
    // A match condition that cannot be evaluated follows failurePolicy, as webhook matchConditions do.
    const message = `match condition failed: ${e instanceof Error ? e.message : String(e)}`;
    run.fail(policy, 'match.conditions', message);
    run.step({ policy, status: 'error', reason: message, transformers: [] });
    return false;
  } finally {
    if (run.meterDeadline !== Infinity) closeBudget(outer);
  }
  if (skip === '') return true;
  run.step({ policy, status: 'skipped', reason: skip, transformers: [] });
  return false;
}

/** The kind mask for the current object (a policy may, rarely, change apiVersion or kind). */
class KindCursor {
  private of: KubeObject;
  private group: string;
  private kind: string;
  mask: Uint8Array;

  constructor(private readonly index: KindIndex, object: KubeObject) {
    this.of = object;
    this.group = groupOf(object);
    this.kind = kindOf(object);
    this.mask = index.mask(this.group, this.kind);
  }

  follow(object: KubeObject): Uint8Array {
    if (object === this.of) return this.mask;
    const group = groupOf(object);
    const kind = kindOf(object);
    if (group !== this.group || kind !== this.kind) this.mask = this.index.mask(group, kind);
    this.group = group;
    this.kind = kind;
    this.of = object;
    return this.mask;
  }
}

/**
 * True when the request leaves the `i`th policy out altogether: `/validate`
 * and a policy without validate rules; DELETE or CONNECT and a policy that
 * does not evaluate them (CompiledPolicy.withoutObject).
 */
function leftOut(index: KindIndex, i: number, input: EvaluationInput): boolean {
  if (input.validateOnly === true && !index.hasValidate[i]) return true;
  return (input.operation === 'DELETE' || input.operation === 'CONNECT') && !index.withoutObject[i];
}

/**
 * Evaluates sorted policies over one object (see the module comment). Pure:
 * no I/O, no logging; the input object is never mutated. Never throws for a
 * transformer or condition failure (failurePolicy resolves it); a throwing
 * `now` or a bug may still throw (review answers those with a 500 denial).
 * On DELETE and CONNECT only the policies marked `withoutObject` run (the
 * others are left out of the trace, as `/validate` leaves out those without
 * validate rules): `object` is then what they match (review.ts).
 */
function evaluateSorted(policies: readonly CompiledPolicy[], index: KindIndex, object: KubeObject, input: EvaluationInput): Evaluation {
  const run = new Run(object, input);
  let kinds: KindCursor | undefined; // made for the first policy (a set without policies needs none)
  let reinvoke: readonly number[] = NONE;
  for (let i = 0; i < policies.length && run.current !== null; i++) {
    const policy = policies[i] as CompiledPolicy;
    if (leftOut(index, i, input)) continue;
    const current: KubeObject = run.current;
    if (!(kinds ??= new KindCursor(index, object)).follow(current)[i]) {
      run.step(new KindSkip(policy, current, input));
      continue;
    }
    if (!admits(run, policy, current)) continue;
    const before = run.trace.length;
    runPolicy(run, policy, current, false);
    if (policy.reinvocationPolicy === 'IfNeeded') reinvoke = pushed(pushed(reinvoke, i), before);
  }
  if (reinvoke !== NONE) reinvokeIfNeeded(run, policies, reinvoke);
  return finish(run);
}

/**
 * Kubernetes' `reinvocationPolicy: IfNeeded` (MutatingAdmissionPolicy): a
 * policy that ran is run once more, after all others, when the object changed
 * from its own pass on: its own change counts, as a v1.36 API server does (a
 * MAP appending with `/-` under IfNeeded appends twice; under Never once), and
 * so does any later policy's (k8s.io/apiserver pkg/admission/plugin/policy/
 * mutating reinvocation). `pending` holds pairs (policy index, trace length
 * before it ran).
 */
function reinvokeIfNeeded(run: Run, policies: readonly CompiledPolicy[], pending: readonly number[]): void {
  for (let k = 0; k < pending.length && run.current !== null; k += 2) {
    const policy = policies[pending[k] as number] as CompiledPolicy;
    const after = pending[k + 1] as number;
    const changedLater = run.trace.slice(after).some((p) => p.outcome === 'applied' && p.transformers.some(stepChanged));
    if (!changedLater) continue;
    if (!admits(run, policy, run.current)) continue;
    runPolicy(run, policy, run.current, true);
  }
}

function finish(run: Run): Evaluation {
  const { object, current } = run;
  const changed = current !== object && (current === null || (shortcuts && current === run.unequal && object === run.unequalFrom) || !deepEqual(current, object));
  // The lists are NONE when empty (frozen; EvaluationResult's lists are readonly).
  return {
    object: changed ? current : object,
    changed,
    denials: run.denials,
    warnings: run.warnings.length > 1 ? [...new Set(run.warnings)] : run.warnings,
    errors: run.errors,
    matchedPolicies: run.matchedPolicies,
    changedBy: changed ? run.changedBy : NONE,
    trace: run.trace,
    deadlineHit: run.deadlineHit,
  };
}

/**
 * Builds the PolicySet over compiled policies (sorted here: `sortPolicies`).
 * `evaluate` returns an Evaluation and never throws for a transformer failure
 * (see PolicySet).
 */
export function createPolicySet(policies: CompiledPolicy[]): PolicySet {
  const sorted = sortPolicies(policies);
  const requirements: StreamRequirement[] = sorted.flatMap((p) => p.transformers.flatMap((t) => [...(t.requirements ?? [])]));
  const index = kindIndex(sorted);
  return {
    names: sorted.map((p) => p.name),
    kinds: sorted.map((p) => p.kind),
    requirements,
    evaluate: (object, input) => evaluateSorted(sorted, index, object, input),
  };
}

/**
 * `evaluate(object, input)` over a list of compiled policies (sorted here),
 * for callers without a PolicySet. Prefer `createPolicySet(...).evaluate`,
 * which builds the kind index once.
 */
export function evaluate(policies: CompiledPolicy[], object: KubeObject, input: EvaluationInput): Evaluation {
  return createPolicySet(policies).evaluate(object, input);
}
