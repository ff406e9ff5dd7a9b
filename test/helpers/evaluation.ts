/**
 * Test helpers for comparing two evaluations of the same input (a fast path
 * against its reference): a clock that passes the deadline at a chosen
 * reading, an Evaluation as comparable data, and a MutatingAdmissionPolicy
 * with its binding as YAML text.
 */
import type { KubeObject } from '../../src/kube/object.js';
import { compilePolicyText } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { stepChanged, type Evaluation, type TransformerStep } from '../../src/policy/evaluate.js';
import type { EvaluationInput } from '../../src/policy/types.js';

/** A clock past the deadline from its `after`-th reading on (Infinity: never). */
export function deadlineClock(after: number): Pick<EvaluationInput, 'now' | 'deadline'> {
  if (after === Infinity) return {};
  let n = 0;
  return { now: () => (n++ >= after ? 2 : 0), deadline: 1 };
}

/**
 * The evaluation as comparable data: every field, every step's objects by
 * content, and which steps share an object (ids by first appearance, the
 * input 0); `stepExtra` adds fields of the caller's to each step's record.
 */
export function evaluationRecord(e: Evaluation, input: KubeObject, stepExtra: (s: TransformerStep) => Record<string, unknown> = () => ({})): unknown {
  const ids = new Map<unknown, number>([[input, 0]]);
  const id = (o: unknown): number => {
    if (!ids.has(o)) ids.set(o, ids.size);
    return ids.get(o) as number;
  };
  return {
    object: JSON.stringify(e.object),
    same: e.object === input,
    changed: e.changed,
    changedBy: e.changedBy,
    errors: e.errors,
    denials: e.denials,
    warnings: e.warnings,
    matched: e.matchedPolicies,
    deadlineHit: e.deadlineHit,
    trace: e.trace.map((p) => ({
      policy: p.policy.name,
      status: p.status,
      reason: p.reason,
      outcome: p.outcome,
      iterations: p.iterations,
      steps: p.transformers.map((s) => ({
        name: s.transformer.name,
        status: s.status,
        reason: s.reason,
        error: s.error?.message,
        changed: stepChanged(s),
        before: [id(s.before), JSON.stringify(s.before)],
        after: [id(s.after), JSON.stringify(s.after)],
        ...stepExtra(s),
      })),
    })),
    final: id(e.object),
  };
}

/** Pods, v1, CREATE: the resource rule of `mutatingPolicyYaml`'s policy. */
const POD_CREATE_RULE = '{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}';

/** A MutatingAdmissionPolicy `m` on Pod creates (`mutations`: its YAML list items, indented) and its binding, as YAML text. */
export function mutatingPolicyYaml(mutations: string, failurePolicy = 'Fail'): string {
  return `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: m}
spec:
  failurePolicy: ${failurePolicy}
  reinvocationPolicy: Never
  matchConstraints: {resourceRules: [${POD_CREATE_RULE}]}
  mutations:
${mutations}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: m}
spec: {policyName: m}
`;
}

/** The policies of a YAML text (file name `test.yaml`), compiled with the built-in transformers. */
export const compilePolicies = (text: string): CompiledPolicy[] => compilePolicyText(text, 'test.yaml', { registry: builtinRegistry() });

/** A ClusterPostRenderPolicy document named `name` with `spec` (indented YAML lines), ended by `---`. */
export const policyDoc = (name: string, spec: string): string => `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: ${name}}
spec:
${spec}---
`;
