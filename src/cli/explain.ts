/**
 * `kube-postrender explain -c POLICY... [-f FILE] [-o text|json]`: for each
 * object of a manifest stream, which policies matched and which were skipped
 * (with the first clause that excluded them), what each transformer did (the
 * RFC 6902 patch it contributed, its validate findings or its error), and the
 * outcome the render front door would give (denials, warnings, changed).
 *
 * Everything comes from the one evaluation (policy/evaluate.ts) over the
 * stream exactly as `run` evaluates it (policy/render.ts `evaluateStream`:
 * same namespace resolution, `-n`/$HELM_NAMESPACE and `--namespace-labels`);
 * each transformer's patch is computed from the trace's references only here.
 */
import { formatResId } from '../kube/object.js';
import type { Operation as PatchOp } from '../patch/create-patch.js';
import { stepPatch, type PolicyOutcome, type PolicyStep, type TransformerStep } from '../policy/evaluate.js';
import type { LoadedPolicies } from '../policy/load.js';
import { evaluateStream, readManifestStream, type RenderOptions } from '../policy/render.js';
import type { Finding } from '../transform/types.js';
import { loadForCommand, resolveNamespaceOptions } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `explain`. */
export interface ExplainOptions {
  config: string[];
  file?: string;
  output?: 'text' | 'json';
  /** As `run -n` (the CLI defaults it to $HELM_NAMESPACE). */
  namespace?: string;
  /** As `run --namespace-labels`. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** What one transformer did to one object. */
export interface TransformerTrace {
  name: string;
  type: string;
  /** `changed` (see patch), `unchanged`, `deleted` (kustomize `$patch: delete`), `error`, or `not run` (after an error or a deletion). */
  result: 'changed' | 'unchanged' | 'deleted' | 'error' | 'not run';
  /** RFC 6902 operations from the object before this transformer to after it. */
  patch?: PatchOp[];
  /** Validate findings (a passing validate rule has none). */
  findings?: Finding[];
  error?: string;
  /** The pass of the policy's chain, for a policy run to convergence (Gatekeeper mutators); absent for a single pass. */
  iteration?: number;
}

/** One policy's verdict on one object. */
export interface PolicyTrace {
  policy: string;
  mode: 'Enforce' | 'Audit';
  /** `skipped` with the first clause that excluded the object, or `matched` with the transformers' traces. */
  status: 'matched' | 'skipped';
  reason?: string;
  /** Matched: whether its changes were kept (`applied`), only reported (`audit`), or dropped (`failed`, `dropped`). */
  outcome?: PolicyOutcome;
  transformers?: TransformerTrace[];
}

/** The explanation of one object. */
export interface ObjectExplanation {
  /** `group/version Kind namespace/name` as in run's messages. */
  object: string;
  policies: PolicyTrace[];
  /** What run would do with this object. */
  outcome: { changed: boolean; denials: string[]; warnings: readonly string[] };
}

function transformerTrace(step: TransformerStep): TransformerTrace {
  const base = { name: step.transformer.name, type: step.transformer.type };
  if (step.status === 'skipped') return { ...base, result: 'not run' };
  if (step.status === 'error') return { ...base, result: 'error', error: step.error?.message ?? 'error' };
  const findings = step.findings?.length ? { findings: [...step.findings] } : {};
  if (step.after === null) return { ...base, result: 'deleted', ...findings };
  const patch = stepPatch(step);
  return { ...base, result: patch.length ? 'changed' : 'unchanged', ...(patch.length ? { patch } : {}), ...findings };
}

function policyTrace(p: PolicyStep): PolicyTrace {
  const base = { policy: p.policy.name, mode: p.policy.mode };
  if (p.status !== 'matched') return { ...base, status: 'skipped', reason: p.status === 'skipped' ? p.reason : `error: ${p.reason}` };
  const chain = p.policy.transformers.length;
  const passes = (p.iterations ?? 1) > 1 && chain > 0;
  const traces = p.transformers.map((step, i) => ({ ...transformerTrace(step), ...(passes ? { iteration: Math.floor(i / chain) + 1 } : {}) }));
  return { ...base, status: 'matched', outcome: p.outcome, transformers: traces };
}

/**
 * Explains a manifest stream (YAML text) under loaded policies, exactly as
 * `run` evaluates it (`opts`: `-n` and `--namespace-labels`, as run's).
 * Pure apart from the policies' own evaluation. Throws on malformed YAML.
 */
export function explainManifests(text: string, loaded: LoadedPolicies, opts: RenderOptions = {}): ObjectExplanation[] {
  const { results } = evaluateStream(readManifestStream(text), loaded.set, opts);
  return results.map(({ id, evaluation: e }) => ({
    object: formatResId(id),
    policies: e.trace.map(policyTrace),
    outcome: { changed: e.changed, denials: e.denials.map((d) => `${d.policy}/${d.rule}: ${d.message}`), warnings: e.warnings },
  }));
}

/** One finding as `deny: message` / `warn: message`. */
function findingText(f: { action: string; message: string }): string {
  return `${f.action === 'Deny' ? 'deny' : 'warn'}: ${f.message}`;
}

function formatTransformer(tr: TransformerTrace): string[] {
  const findings = tr.findings ?? [];
  if (tr.type === 'validate' && tr.result === 'unchanged') {
    return [`    - ${tr.name} (validate): ${findings.length ? findings.map(findingText).join('; ') : 'pass'}`];
  }
  const pass = tr.iteration ? ` [iteration ${tr.iteration}]` : '';
  const lines = [`    - ${tr.name} (${tr.type})${pass}: ${tr.result}${tr.error ? `: ${tr.error}` : ''}`];
  for (const op of tr.patch ?? []) lines.push(`        ${JSON.stringify(op)}`);
  for (const f of findings) lines.push(`        ${findingText(f)}`);
  return lines;
}

function formatPolicy(p: ObjectExplanation['policies'][number]): string[] {
  const mode = p.mode === 'Audit' ? ' [audit]' : '';
  if (p.status === 'skipped') return [`  skipped ${p.policy}${mode}: ${p.reason}`];
  return [`  matched ${p.policy}${mode}`, ...(p.transformers ?? []).flatMap(formatTransformer)];
}

function formatObject(o: ObjectExplanation): string[] {
  const { denials, warnings, changed } = o.outcome;
  const verdict = denials.length ? 'denied' : changed ? 'changed' : 'unchanged';
  return [
    o.object,
    ...o.policies.flatMap(formatPolicy),
    `  => ${verdict}`,
    ...denials.map((d) => `     denied by ${d}`),
    ...warnings.map((w) => `     warning: ${w}`),
    '',
  ];
}

/** Formats explanations for people: one block per object, policies indented under it, then the outcome. */
export function formatExplanation(list: ObjectExplanation[]): string {
  return list.flatMap(formatObject).join('\n');
}

/**
 * Runs `explain`; returns the exit code: 0 when explained (denials included:
 * explaining is not enforcing), 2 on bad policies or unreadable manifests.
 * Writes the explanation on stdout (text, or JSON with `output: 'json'`).
 */
export async function explainCommand(opts: ExplainOptions): Promise<number> {
  // Loaded as `run` loads (kustomize replacements between objects accepted): explain evaluates the stream as run does.
  const loaded = loadForCommand(opts.config, { frontDoor: 'render' });
  if (!loaded) return EXIT.usage;
  let list: ObjectExplanation[];
  try {
    list = explainManifests(await readInput(opts.file), loaded, resolveNamespaceOptions(opts));
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(list, null, 2)}\n` : formatExplanation(list));
  return EXIT.ok;
}
