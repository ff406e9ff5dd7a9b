/**
 * `kube-postrender explain -c POLICY... [-f FILE] [-o text|json]`: for each
 * object of a manifest stream, which policies matched and which were skipped
 * (with the first clause that excluded them), what each transformer did (the
 * RFC 6902 patch it contributed, its validate findings or its error), and the
 * outcome the render front door would give (denials, warnings, changed).
 *
 * The per-transformer trace follows `policy/compile.ts` evaluation: policies in
 * evaluation order, each chain on the object as left by the previous Enforce
 * policies; an Audit policy or a failed chain does not carry its changes on.
 * The outcome itself comes from `PolicySet.evaluate`, never re-derived.
 */
import { CLUSTER_SCOPED_KINDS, formatResId, isListObject, isObject, metaMap, resIdOf, type KubeObject } from '../kube/object.js';
import { parseManifests } from '../kube/yaml-stream.js';
import { createPatch, type Operation as PatchOp } from '../patch/create-patch.js';
import { isNamespace, sortPolicies } from '../policy/compile.js';
import type { LoadedPolicies } from '../policy/load.js';
import type { EvaluationInput } from '../policy/types.js';
import type { Finding, TransformContext } from '../transform/types.js';
import { loadForCommand } from './policies.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `explain`. */
export interface ExplainOptions {
  config: string[];
  file?: string;
  output?: 'text' | 'json';
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
}

/** One policy's verdict on one object. */
export interface PolicyTrace {
  policy: string;
  mode: 'Enforce' | 'Audit';
  /** `skipped` with the first clause that excluded the object, or `matched` with the transformers' traces. */
  status: 'matched' | 'skipped';
  reason?: string;
  transformers?: TransformerTrace[];
}

/** The explanation of one object. */
export interface ObjectExplanation {
  /** `group/version Kind namespace/name` as in run's messages. */
  object: string;
  policies: PolicyTrace[];
  /** What run would do with this object. */
  outcome: { changed: boolean; denials: string[]; warnings: string[] };
}


function traceChain(policy: LoadedPolicies['policies'][number], object: KubeObject, ctx: Omit<TransformContext, 'report'>): { traces: TransformerTrace[]; object: KubeObject | null; failed: boolean } {
  const traces: TransformerTrace[] = [];
  let current: KubeObject | null = object;
  let failed = false;
  for (const tr of policy.transformers) {
    const base = { name: tr.name, type: tr.type };
    if (current === null || failed) {
      traces.push({ ...base, result: 'not run' });
      continue;
    }
    const findings: Finding[] = [];
    try {
      const next: KubeObject | null = tr.apply(current, { ...ctx, report: (f) => findings.push(f) });
      const patch = next === null ? [] : createPatch(current, next);
      traces.push({ ...base, result: next === null ? 'deleted' : patch.length ? 'changed' : 'unchanged', ...(patch.length ? { patch } : {}), ...(findings.length ? { findings } : {}) });
      current = next;
    } catch (e) {
      traces.push({ ...base, result: 'error', error: e instanceof Error ? e.message : String(e) });
      failed = true;
    }
  }
  return { traces, object: current, failed };
}

/**
 * Explains a manifest stream (YAML text) under loaded policies, as `run` would
 * see it: namespace from `metadata.namespace` ('' for cluster-scoped kinds),
 * namespace labels from Namespace objects in the stream. Pure apart from the
 * policies' own evaluation. Throws on malformed YAML.
 */
export function explainManifests(text: string, loaded: LoadedPolicies): ObjectExplanation[] {
  const values = parseManifests(text).map((d) => d.value).filter(isObject) as KubeObject[];
  const objects = values.flatMap((v) => (isListObject(v) ? (v.items as KubeObject[]).filter(isObject) : [v]));
  const stream = objects.map((o) => resIdOf(o));
  const nsLabels = new Map<string, Record<string, string>>();
  for (const o of objects) if (isNamespace(o)) nsLabels.set(resIdOf(o).name, metaMap(o, 'labels'));
  const policies = sortPolicies(loaded.policies);
  return objects.map((obj, i) => {
    const id = stream[i];
    const namespace = CLUSTER_SCOPED_KINDS.has(id.kind) ? '' : id.namespace;
    const input: EvaluationInput = { frontDoor: 'render', operation: 'CREATE', namespace, namespaceLabels: nsLabels.get(namespace), stream };
    const ctx = { frontDoor: 'render' as const, operation: 'CREATE' as const, namespace, namespaceLabels: input.namespaceLabels, stream, satisfied: (): void => undefined };
    let current: KubeObject | null = obj;
    const traces: PolicyTrace[] = [];
    for (const p of policies) {
      if (current === null) break;
      let reason: string;
      try {
        reason = p.applies(current, input);
      } catch (e) {
        reason = `error: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (reason !== '') {
        traces.push({ policy: p.name, mode: p.mode, status: 'skipped', reason });
        continue;
      }
      const r = traceChain(p, current, ctx);
      traces.push({ policy: p.name, mode: p.mode, status: 'matched', transformers: r.traces });
      if (p.mode === 'Enforce' && !r.failed) current = r.object;
    }
    let outcome: ObjectExplanation['outcome'];
    try {
      const res = loaded.set.evaluate(obj, { ...input, satisfied: () => undefined });
      outcome = { changed: res.changed, denials: res.denials.map((d) => `${d.policy}/${d.rule}: ${d.message}`), warnings: res.warnings };
    } catch (e) {
      outcome = { changed: false, denials: [`evaluation failed: ${e instanceof Error ? e.message : String(e)}`], warnings: [] };
    }
    return { object: formatResId(id), policies: traces, outcome };
  });
}

function formatTransformer(tr: TransformerTrace): string[] {
  if (tr.type === 'validate' && tr.result === 'unchanged') {
    const verdicts = (tr.findings ?? []).map((f) => `${f.action === 'Deny' ? 'deny' : 'warn'}: ${f.message}`);
    return [`    - ${tr.name} (validate): ${verdicts.length ? verdicts.join('; ') : 'pass'}`];
  }
  const lines = [`    - ${tr.name} (${tr.type}): ${tr.result}${tr.error ? `: ${tr.error}` : ''}`];
  for (const op of tr.patch ?? []) lines.push(`        ${JSON.stringify(op)}`);
  for (const f of tr.findings ?? []) lines.push(`        ${f.action === 'Deny' ? 'deny' : 'warn'}: ${f.message}`);
  return lines;
}

/** Formats explanations for people: one block per object, policies indented under it, then the outcome. */
export function formatExplanation(list: ObjectExplanation[]): string {
  const out: string[] = [];
  for (const o of list) {
    out.push(o.object);
    for (const p of o.policies) {
      const mode = p.mode === 'Audit' ? ' [audit]' : '';
      if (p.status === 'skipped') {
        out.push(`  skipped ${p.policy}${mode}: ${p.reason}`);
        continue;
      }
      out.push(`  matched ${p.policy}${mode}`);
      for (const tr of p.transformers ?? []) out.push(...formatTransformer(tr));
    }
    const verdict = o.outcome.denials.length ? 'denied' : o.outcome.changed ? 'changed' : 'unchanged';
    out.push(`  => ${verdict}`);
    for (const d of o.outcome.denials) out.push(`     denied by ${d}`);
    for (const w of o.outcome.warnings) out.push(`     warning: ${w}`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * Runs `explain`; returns the exit code: 0 when explained (denials included:
 * explaining is not enforcing), 2 on bad policies or unreadable manifests.
 * Writes the explanation on stdout (text, or JSON with `output: 'json'`).
 */
export async function explainCommand(opts: ExplainOptions): Promise<number> {
  const loaded = loadForCommand(opts.config);
  if (!loaded) return EXIT.usage;
  let list: ObjectExplanation[];
  try {
    list = explainManifests(await readInput(opts.file), loaded);
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(list, null, 2)}\n` : formatExplanation(list));
  return EXIT.ok;
}
