/**
 * The runtime cost meter of CEL evaluation, shared by the engine glue
 * (src/expr/cel.ts) and the Kubernetes libraries (src/expr/k8s-lib.ts).
 *
 * Costs follow Kubernetes' runtime cost model: every function call and
 * operator is charged exactly what the API server charges it
 * (src/expr/call-cost.ts: `k8s.io/apiserver/pkg/cel/library/cost.go` and
 * cel-go `interpreter/runtimecost.go`, e.g. `matches` ceil((1 + n) * 0.1) x
 * ceil(pattern * 0.25)), and each comprehension iteration one unit (where
 * cel-go charges its variable reads). The per-expression limit is
 * Kubernetes' `PerCallLimit` (1,000,000).
 *
 * Evaluation is synchronous, so one meter is active at a time: `startMeter`
 * installs it, `charge` reads it. Besides the cost limit (deterministic, the
 * same answer on every machine) the meter checks the wall clock every
 * CLOCK_CHECK_UNITS (64) units and stops an evaluation that ran longer than its
 * `maxMs`: the safety net that keeps the event loop (and `/healthz`) answering
 * whatever an expression and an object do.
 *
 * Around one policy's evaluation, the evaluation loop (src/policy/evaluate.ts)
 * opens a `PolicyBudget`: Kubernetes' runtime cost budget of one policy across
 * all its expressions (`celconfig.RuntimeCELCostBudget`, 10,000,000 units: "no
 * further validation rules will be run" once spent), and the admission
 * deadline, checked at the same clock reads, so an expression running when the
 * deadline passes stops there and the policy's failurePolicy applies.
 */

/** Kubernetes' per-expression runtime cost limit (`k8s.io/apiserver/pkg/apis/cel` PerCallLimit). */
export const PER_CALL_LIMIT = 1_000_000;

/** Default wall-clock bound of one evaluation, in milliseconds. */
export const DEFAULT_MAX_EVAL_MS = 50;

/**
 * Kubernetes' runtime cost budget of one policy evaluation, across all its
 * expressions (`k8s.io/apiserver/pkg/apis/cel` RuntimeCELCostBudget).
 */
export const RUNTIME_COST_BUDGET = 10_000_000;

/** Units between two reads of the clock. */
const CLOCK_CHECK_UNITS = 64;

/**
 * Characters of input above which a library call that cannot be interrupted
 * (a regex scan, a parse) is checked against the admission deadline before
 * it runs (`beforeLargeCall`): 64 Ki UTF-16 code units.
 */
export const LARGE_INPUT_CHARS = 64 * 1024;

/**
 * Worst-case nanoseconds per UTF-16 code unit of one re2js scan, measured on
 * 1 MiB inputs (docs/cel.md, "Bounded time"): `matches()` runs RE2JS.test
 * (DFA where it can; `^x*$` over 1 MiB of `x` 175-333 ms, ~320 ns per
 * character), `find()`/`findAll()` a Matcher (`(\w+\s*)*$` ~860 ns per
 * character over 1 MiB, `^(x|xx)+$` up to 1,600 over 128 KiB), on 2 shared
 * cores under load; rounded up.
 */
export const REGEX_TEST_NS_PER_CHAR = 500;
export const REGEX_FIND_NS_PER_CHAR = 2000;

/**
 * Worst-case nanoseconds per input character of any other library call over
 * a large string (size, trim, substring, lowerAscii, url/image parsing,
 * format, quote, replace, split...): the slowest measured over 1 MiB were
 * `replace('x', 'yy')` and `split('x')` of a string of `x` (~270-370 ns per
 * character, under load), rounded up.
 */
export const LIBRARY_NS_PER_CHAR = 500;

let clock: () => number = () => performance.now();

/**
 * Replaces the meter's clock (milliseconds; default performance.now(), the
 * clock src/policy/evaluate.ts computes the admission deadline on) and returns
 * the previous one: tests inject a clock, never measure one.
 */
export function setMeterClock(next?: () => number): () => number {
  const previous = clock;
  clock = next ?? ((): number => performance.now());
  return previous;
}

/** A cost limit or time bound was exceeded: the evaluation stops (the policy's failurePolicy applies). */
export class CostLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostLimitError';
  }
}

/** One evaluation's account: units spent, the limit, the next clock check and the deadline (performance.now() ms). */
export interface Meter {
  spent: number;
  limit: number;
  nextClock: number;
  deadline: number;
  maxMs: number;
  /** True when `limit` is what is left of the policy's budget rather than the per-expression limit. */
  budgeted: boolean;
  /** Set when a bound was exceeded: the error stands even if an operator (`||`, `&&`, a quantifier) absorbed it. */
  tripped?: CostLimitError;
  /** While recording (`recordCharges`): every charge, in order, and whether a large-input call read the clock. */
  record?: ChargeRecord;
}

/**
 * The charges of one evaluation, in order (units each), as `recordCharges`
 * keeps them: replayed through `replayCharges`, they meet every limit, budget
 * and clock read at the same points as the evaluation they were recorded
 * from. `large` is set when a library call over LARGE_INPUT_CHARS read the
 * clock (`beforeLargeCall`), which a replay would not do.
 */
export interface ChargeRecord {
  readonly units: number[];
  large: boolean;
}

/**
 * One policy's account across its expressions: the cost units left of its
 * budget and the admission deadline (performance.now() ms; Infinity: none).
 */
export interface PolicyBudget {
  remaining: number;
  deadline: number;
  /**
   * Set (never cleared) when the admission deadline stopped an expression
   * under this budget: a clock read found it passed, or a large call could
   * not have finished before it (`beforeLargeCall`). False: none did.
   */
  deadlineHit: boolean;
}

let current: Meter | undefined;
let budget: PolicyBudget | undefined;

/**
 * Opens a policy's budget (`units` cost units; `deadline` on performance.now()'s
 * clock, Infinity for none) for the expressions evaluated until `closeBudget`;
 * returns the budget it replaces (restore it with `closeBudget`).
 */
export function openBudget(units: number, deadline: number): PolicyBudget | undefined {
  return openBudgetObject({ remaining: units, deadline, deadlineHit: false });
}

/**
 * `openBudget` of a budget object the caller keeps and sets (`remaining`,
 * `deadline`) before each use, instead of a new one per policy; the caller
 * must not open it again before closing it. Returns the budget it replaces.
 */
export function openBudgetObject(b: PolicyBudget): PolicyBudget | undefined {
  const previous = budget;
  budget = b;
  return previous;
}

/** Closes the open budget, restoring `previous` (from `openBudget`). */
export function closeBudget(previous: PolicyBudget | undefined): void {
  budget = previous;
}

/**
 * Installs a fresh meter (limit in cost units, maxMs in milliseconds; the
 * open PolicyBudget's remainder lowers the limit) and returns the previous
 * one; `stopMeter` removes it and charges the budget. With `record`, every
 * charge is also appended to it (see ChargeRecord).
 */
export function startMeter(limit: number, maxMs: number, record?: ChargeRecord): Meter | undefined {
  const previous = current;
  const left = budget ? budget.remaining : Infinity;
  // The clock is read at the first check (after CLOCK_CHECK_UNITS units), not here: most
  // evaluations never get there, and the units before it are bounded work.
  current = { spent: 0, limit: Math.min(limit, left), nextClock: CLOCK_CHECK_UNITS, deadline: -1, maxMs, budgeted: left < limit, record };
  return previous;
}

/** The bound the active meter tripped, if any. */
export function tripped(): CostLimitError | undefined {
  return current?.tripped;
}

/** Units spent by the active meter (0 without one). */
export function spent(): number {
  return current?.spent ?? 0;
}

/** Removes the active meter, charging what it spent to the open PolicyBudget, and restores `previous` (see startMeter). */
export function stopMeter(previous: Meter | undefined): void {
  if (budget && current) budget.remaining = Math.max(0, budget.remaining - current.spent);
  current = previous;
}

/** The active meter, for nesting (see stopMeter). */
export function activeMeter(): Meter | undefined {
  return current;
}

/**
 * Charges `units` to the active meter (no-op without one). Throws
 * CostLimitError when the cost limit or the wall-clock bound is exceeded.
 */
export function charge(units: number): void {
  const m = current;
  if (m === undefined) return;
  if (m.record !== undefined) m.record.units.push(units);
  m.spent += units;
  if (m.tripped) throw m.tripped;
  if (m.spent > m.limit) throw (m.tripped = overLimit(m));
  if (m.spent >= m.nextClock) checkClock(m);
}

/** The error of a spent limit: the policy's budget in Kubernetes' words (k8s.io/apiserver pkg/admission/plugin/cel filter.go), or the per-expression limit. */
function overLimit(m: Meter): CostLimitError {
  return new CostLimitError(m.budgeted ? 'validation failed due to running out of cost budget, no further validation rules will be run' : `evaluation cost limit exceeded: more than ${m.limit} units`);
}

/** The clock read every CLOCK_CHECK_UNITS units: the evaluation's own bound and the admission deadline. */
function checkClock(m: Meter): void {
  m.nextClock = m.spent + CLOCK_CHECK_UNITS;
  const now = clock();
  if (budget && now > budget.deadline) throw (m.tripped = deadlineHit(budget));
  if (m.deadline < 0) m.deadline = now + m.maxMs;
  else if (now > m.deadline) throw (m.tripped = new CostLimitError(`evaluation cost limit exceeded: took longer than ${m.maxMs} ms`));
}

/**
 * Before one library call that cannot be interrupted over `chars` characters
 * (worst case `nsPerChar` each): for an input over LARGE_INPUT_CHARS, reads
 * the clock (the evaluation's bound and the admission deadline, as every 64
 * units) and, when an admission deadline is set and the time left cannot
 * cover the call's worst case, stops with `admission deadline exceeded` (the
 * policy's failurePolicy applies) instead of running past it. Throws
 * CostLimitError.
 */
export function beforeLargeCall(chars: number, nsPerChar: number): void {
  const m = current;
  if (chars <= LARGE_INPUT_CHARS || m === undefined) return;
  if (m.record !== undefined) m.record.large = true;
  checkClock(m);
  if (budget && clock() + (chars * nsPerChar) / 1e6 > budget.deadline) throw (m.tripped = deadlineHit(budget));
}

/** The error of the admission deadline, recorded on the open budget (`PolicyBudget.deadlineHit`). */
function deadlineHit(b: PolicyBudget): CostLimitError {
  b.deadlineHit = true;
  return new CostLimitError('admission deadline exceeded');
}

/**
 * Runs `fn` under a fresh meter (`limit` units, `maxMs` ms) outside any
 * policy budget, recording its charges: `{ value, record }`, or undefined
 * when `fn` threw or tripped a bound. For evaluating a constant expression
 * once at load (src/expr/cel.ts); the active meter and budget are restored.
 */
export function recordCharges<T>(fn: () => T, limit: number, maxMs: number): { value: T; record: ChargeRecord } | undefined {
  const outer = openBudget(Infinity, Infinity);
  const previous = startMeter(limit, maxMs);
  const m = current as Meter;
  m.record = { units: [], large: false };
  try {
    const value = fn();
    return m.tripped ? undefined : { value, record: m.record };
  } catch {
    return undefined;
  } finally {
    stopMeter(previous);
    closeBudget(outer);
  }
}

/**
 * Charges `total` units of a recorded evaluation at once, when replaying them
 * under a fresh meter of `limit` units (startMeter, replayCharges,
 * stopMeter) could not stop: no meter active, `total` within `limit` and
 * what is left of the open budget, and below the first clock read
 * (CLOCK_CHECK_UNITS). Then the budget is charged as stopMeter would and the
 * answer is true; else nothing is charged and the answer is false (replay).
 */
export function chargeWithinBounds(total: number, limit: number): boolean {
  if (current !== undefined || !(total < CLOCK_CHECK_UNITS) || total > limit) return false;
  if (budget === undefined) return true;
  if (total > budget.remaining) return false;
  budget.remaining -= total;
  return true;
}

/**
 * True when a recorded evaluation of `total` units under a limit of `limit`
 * may be charged at once whenever no meter is active and the open budget
 * has `total` left (chargeWithinBounds' conditions that do not depend on
 * the moment): `total` below the first clock read and within `limit`.
 */
export function chargedAtOnce(total: number, limit: number): boolean {
  return total < CLOCK_CHECK_UNITS && total <= limit;
}

/**
 * Charges `total` units, the sum of several recorded evaluations each of
 * which may be charged at once (chargedAtOnce), evaluated one after the
 * other outside any expression: when no meter is active and the open
 * budget has `total` left, each of them would have been charged at once
 * (chargeWithinBounds: the budget falls by each one's units, which all
 * fit), so the budget is charged the sum and the answer is true; else
 * nothing is charged and the answer is false (evaluate them one by one).
 */
export function chargeAllWithinBounds(total: number): boolean {
  if (current !== undefined) return false;
  if (budget === undefined) return true;
  if (total > budget.remaining) return false;
  budget.remaining -= total;
  return true;
}

/**
 * Charges a recorded evaluation's units again, one `charge` per recorded
 * charge, to the active meter: the same CostLimitError (per-expression
 * limit, the policy's budget, the admission deadline at the same clock reads)
 * as evaluating it again would throw.
 */
export function replayCharges(units: readonly number[]): void {
  for (const u of units) charge(u);
}

/**
 * Charges a recorded evaluation's units (`units` in order, `total` their
 * sum) as evaluating it again under a fresh meter of `limit` units and
 * `maxMs` ms would, outside any expression: at once when that reads no clock
 * (chargeWithinBounds), else one by one through `charge`, so the clock is
 * read at the same units. Returns false, charging nothing, when an
 * expression is being evaluated (a nested meter) or when the units would
 * exceed the limit or what is left of the policy's budget: the caller then
 * evaluates, and the error and what it charges are the evaluation's own.
 * Throws CostLimitError when a clock read finds a deadline passed (the
 * evaluation's bound or the admission deadline), as the evaluation would at
 * that read.
 */
export function replayRecorded(units: readonly number[], total: number, limit: number, maxMs: number): boolean {
  if (chargeWithinBounds(total, limit)) return true;
  if (current !== undefined || total > Math.min(limit, budget ? budget.remaining : Infinity)) return false;
  const previous = startMeter(limit, maxMs);
  try {
    replayCharges(units);
  } finally {
    stopMeter(previous);
  }
  return true;
}
