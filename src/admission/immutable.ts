/**
 * Immutable fields on UPDATE (DESIGN.md, "Admission contract"): a transform that
 * would change a field the API server refuses to change is reverted on that
 * object, so the user's update is not turned into an error by our patch.
 *
 * The table is data (STYLE.md item 8). Sources, from the API server's
 * validation (k8s.io/kubernetes pkg/apis/<group>/validation):
 * - apps/v1 Deployment, ReplicaSet, DaemonSet: `spec.selector` ("field is immutable").
 * - StatefulSet: "updates to statefulset spec for fields other than 'replicas',
 *   'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy'
 *   and 'minReadySeconds' are forbidden" (covers volumeClaimTemplates, serviceName,
 *   selector, podManagementPolicy).
 * - batch/v1 Job: `spec.selector`, `spec.template`, `spec.completionMode`.
 * - Pod: "pod updates may not change fields other than spec.containers[*].image,
 *   spec.initContainers[*].image, spec.activeDeadlineSeconds,
 *   spec.tolerations (only additions to existing tolerations), ...".
 * - Service: `spec.clusterIP`, `spec.clusterIPs` (immutable once set).
 * - ConfigMap with `immutable: true`: `data`, `binaryData`; Secret with
 *   `immutable: true`: `data`, `stringData`; Secret `type` always.
 * - PersistentVolumeClaim: spec except `resources` and `volumeAttributesClassName`.
 * - RoleBinding, ClusterRoleBinding: `roleRef`.
 * - every object: `metadata.name`, `metadata.namespace`.
 * https://kubernetes.io/docs/concepts/workloads/pods/#pod-update-and-replacement
 */
import { deepEqual, isObject } from '../kube/object.js';
import type { JsonObject, JsonValue, KubeObject } from '../kube/object.js';

/** One immutable field: `path` (map keys) is immutable except the sub-paths in `except` (`*` = every list item). */
export interface ImmutableField {
  path: readonly string[];
  except?: readonly (readonly string[])[];
  /** Only when this holds for the stored object (e.g. `immutable: true`). */
  when?: (oldObject: KubeObject) => boolean;
}

const isImmutableData = (old: KubeObject): boolean => old.immutable === true;
const METADATA: ImmutableField[] = [{ path: ['metadata', 'name'] }, { path: ['metadata', 'namespace'] }];
const SELECTOR: ImmutableField = { path: ['spec', 'selector'] };

/** Immutable fields by `group/kind` (core group: `/Kind`). */
export const IMMUTABLE_FIELDS: Readonly<Record<string, readonly ImmutableField[]>> = {
  'apps/Deployment': [SELECTOR],
  'apps/ReplicaSet': [SELECTOR],
  'apps/DaemonSet': [SELECTOR],
  'apps/StatefulSet': [{
    path: ['spec'],
    except: [['replicas'], ['ordinals'], ['template'], ['updateStrategy'], ['persistentVolumeClaimRetentionPolicy'], ['minReadySeconds']],
  }],
  'batch/Job': [SELECTOR, { path: ['spec', 'template'] }, { path: ['spec', 'completionMode'] }],
  '/Pod': [{
    path: ['spec'],
    except: [['containers', '*', 'image'], ['initContainers', '*', 'image'], ['activeDeadlineSeconds'], ['tolerations']],
  }],
  '/Service': [{ path: ['spec', 'clusterIP'] }, { path: ['spec', 'clusterIPs'] }],
  '/ConfigMap': [
    { path: ['data'], when: isImmutableData },
    { path: ['binaryData'], when: isImmutableData },
    { path: ['immutable'], when: isImmutableData },
  ],
  '/Secret': [
    { path: ['data'], when: isImmutableData },
    { path: ['stringData'], when: isImmutableData },
    { path: ['immutable'], when: isImmutableData },
    { path: ['type'] },
  ],
  '/PersistentVolumeClaim': [{ path: ['spec'], except: [['resources'], ['volumeAttributesClassName']] }],
  'rbac.authorization.k8s.io/RoleBinding': [{ path: ['roleRef'] }],
  'rbac.authorization.k8s.io/ClusterRoleBinding': [{ path: ['roleRef'] }],
};

/** A reverted field: its dotted path (`spec.selector`; `spec` with exceptions for Pod, StatefulSet, PVC). */
export interface RevertedField {
  field: string;
}

/**
 * Reverts, on `mutated`, every immutable field of the kind that the mutation
 * would change compared with the stored object.
 *
 * - `incoming`: the object as the user sent it (AdmissionRequest.object);
 * - `mutated`: the policies' result for it (not modified; a copy is returned when
 *   something is reverted);
 * - `stored`: AdmissionRequest.oldObject (when absent, `incoming` stands in).
 *
 * A field is reverted when the mutated value differs both from the stored value
 * (the API server would refuse it) and from the incoming value (the change is
 * ours, not the user's: the user's own change is the API server's to judge).
 * The reverted value is the incoming one, keeping in it the mutated values of
 * the `except` sub-paths (e.g. a Pod's new image). A mutation that restores the
 * stored value (a reinvocation of a CREATE-time default) is kept.
 * Returns the object to diff and the reverted fields ([] when none).
 */
export function revertImmutableFields(
  gvk: { group: string; kind: string },
  incoming: KubeObject,
  mutated: KubeObject,
  stored?: KubeObject | null,
): { object: KubeObject; reverted: RevertedField[] } {
  const rules = [...METADATA, ...(IMMUTABLE_FIELDS[`${gvk.group}/${gvk.kind}`] ?? [])];
  const base = stored ?? incoming;
  let out: KubeObject = mutated;
  const reverted: RevertedField[] = [];
  for (const rule of rules) {
    if (rule.when && !(stored && rule.when(stored))) continue;
    const m = masked(getPath(out, rule.path), rule.except);
    if (deepEqual(m, masked(getPath(base, rule.path), rule.except))) continue;
    if (deepEqual(m, masked(getPath(incoming, rule.path), rule.except))) continue;
    if (out === mutated) out = structuredClone(mutated);
    setPath(out, rule.path, restored(getPath(incoming, rule.path), getPath(out, rule.path), rule.except));
    reverted.push({ field: rule.path.join('.') });
  }
  return { object: out, reverted };
}

/**
 * True when the immutable field `field` (a RevertedField's dotted path, for the
 * kind `gvk`) differs between `before` and `after`, ignoring its mutable
 * sub-paths: which transformer of a chain changed a reverted field (the
 * warning names only those).
 */
export function immutableFieldDiffers(gvk: { group: string; kind: string }, field: string, before: KubeObject, after: KubeObject): boolean {
  const rules = [...METADATA, ...(IMMUTABLE_FIELDS[`${gvk.group}/${gvk.kind}`] ?? [])];
  const rule = rules.find((r) => r.path.join('.') === field);
  if (!rule) return false;
  const a = getPath(before, rule.path);
  const b = getPath(after, rule.path);
  return a !== b && !deepEqual(masked(a, rule.except), masked(b, rule.except));
}

function getPath(v: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let cur = v;
  for (const k of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Sets (or, for undefined, deletes) the value at a path of map keys, creating maps on the way. */
function setPath(obj: JsonObject, path: readonly string[], value: JsonValue | undefined): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (!isObject(cur[k])) {
      if (value === undefined) return;
      cur[k] = {};
    }
    cur = cur[k] as JsonObject;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/** A copy of `v` without the `except` sub-paths (for comparison). */
function masked(v: JsonValue | undefined, except?: readonly (readonly string[])[]): JsonValue | undefined {
  if (!except || v === undefined) return v;
  const copy = structuredClone(v);
  for (const p of except) visit(copy, p, (parent, key) => { delete (parent as Record<string, JsonValue>)[key]; });
  return copy;
}

/** `incoming`'s value with the `except` sub-paths taken from `mutated` (list items by index, where both have one). */
function restored(incoming: JsonValue | undefined, mutated: JsonValue | undefined, except?: readonly (readonly string[])[]): JsonValue | undefined {
  if (incoming === undefined) return undefined;
  const out = structuredClone(incoming);
  if (!except) return out;
  for (const p of except) {
    visit(out, p, (parent, key, trail) => {
      const from = getTrail(mutated, trail);
      if (from === undefined) delete (parent as Record<string, JsonValue>)[key];
      else (parent as Record<string, JsonValue>)[key] = structuredClone(from);
    }, true);
  }
  return out;
}

type Trail = (string | number)[];

function getTrail(v: JsonValue | undefined, trail: Trail): JsonValue | undefined {
  let cur = v;
  for (const k of trail) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = isObject(cur) ? cur[k] : undefined;
  }
  return cur;
}

/**
 * Calls `fn(parent, key, trail)` for every map that holds (or, with
 * `includeMissing`, could hold) the last key of `path`; `*` walks list items.
 */
function visit(
  v: JsonValue,
  path: readonly string[],
  fn: (parent: JsonObject, key: string, trail: Trail) => void,
  includeMissing = false,
): void {
  const walk = (node: JsonValue, keys: readonly string[], trail: Trail): void => {
    const [head, ...rest] = keys;
    if (head === '*') {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, rest, [...trail, i]));
      return;
    }
    if (!isObject(node)) return;
    if (rest.length === 0) {
      if (includeMissing || head in node) fn(node, head, [...trail, head]);
      return;
    }
    if (node[head] !== undefined) walk(node[head], rest, [...trail, head]);
  };
  walk(v, path, []);
}
