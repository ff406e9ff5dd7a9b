/**
 * The `sidecar` transformer: sidecar injection into Pods and the pod templates
 * of workloads, at the level of Istio's injector (istio/istio
 * `pkg/kube/inject`: webhook.go `injectRequired`, inject.go `injectPod`, the
 * `sidecar.istio.io/status` annotation and `kube-inject`'s strip-and-reapply),
 * run by both front doors (`run` and the webhook) with the same result.
 *
 * What it adds is recorded, per injection name, in the status annotation
 * `sidecar.postrender.io/status` of the pod (template), with a hash of the
 * rendered template:
 * - same hash and everything recorded still present: no change (idempotent;
 *   the API server may re-invoke the webhook, and a Pod created from an
 *   injected template carries the template's annotation and containers, so it
 *   gets no second copy);
 * - a different hash: strip what the old injection added, inject again (as
 *   istio `kube-inject` on an already injected manifest).
 * Containers are appended (never inserted at the head unless `position:
 * first`), so the webhook's index-based JSON patch stays a few `add`s.
 *
 * Pure: no I/O; node:crypto only for the template hash.
 */
import { copyFor, deepClone, deepEqual, deepFreeze, hasOwnKeys, isObject, ownKeyCount, podTemplateLocation, setOwn, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { compileTemplate, evaluateTemplateExpressions, fillTemplate, templateExpressions, TemplateError, type Template, type TemplateExpression, type TemplateScope } from '../expr/template.js';
import { decodeStringMap, decodeStruct, joinPath, typeName } from './decode.js';
import { scopeOptions } from '../expr/vars.js';
import { ConfigError, TransformError, type TransformContext, type TransformerFactory } from './types.js';

/** Pod annotation (or label) `"true"`/`"false"`: opt in / opt out of every injection (as `sidecar.istio.io/inject`). */
export const SIDECAR_INJECT_ANNOTATION = 'sidecar.postrender.io/inject';
/** Namespace label `enabled`/`disabled` (as Istio's `istio-injection`). */
export const SIDECAR_NAMESPACE_LABEL = 'sidecar.postrender.io/inject';
/** The status annotation: JSON `{<injection name>: InjectionRecord}` (as `sidecar.istio.io/status`). */
export const SIDECAR_STATUS_ANNOTATION = 'sidecar.postrender.io/status';
/** The kubelet's mirror-pod annotation: mirror pods (static pods) are never injected (their spec is the node's file). */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export { POD_TEMPLATE_LOCATIONS, podTemplateLocation, type PodTemplateLocation } from '../kube/object.js';

/**
 * What one injection added to a pod, as recorded in the status annotation.
 * Lists hold names (volumeMounts: mount paths), in the order added; `env` and
 * `volumeMounts` are keyed by the app container they were added to. Only what
 * was added or replaced is recorded (an identical item already present is the
 * workload's own and is never stripped). Empty fields are omitted.
 */
export interface InjectionRecord {
  hash: string;
  containers?: string[];
  initContainers?: string[];
  volumes?: string[];
  imagePullSecrets?: string[];
  env?: Record<string, string[]>;
  volumeMounts?: Record<string, string[]>;
}

/** The decoded status annotation: one record per injection name. */
export type SidecarStatus = Record<string, InjectionRecord>;

/** `onConflict`: what to do when a container, volume, env var or mount of the same key but different content exists. */
export type ConflictPolicy = 'skip' | 'replace' | 'fail';

/** The decoded `sidecar` configuration (see docs/sidecar.md). */
export interface SidecarConfig {
  name: string;
  containers: JsonObject[];
  initContainers: JsonObject[];
  volumes: JsonObject[];
  imagePullSecrets: JsonObject[];
  volumeMounts: JsonObject[];
  env: JsonObject[];
  annotations: Record<string, string>;
  labels: Record<string, string>;
  position: 'first' | 'last';
  injectByDefault: boolean;
  onConflict: ConflictPolicy;
  initContainerOrder: { after: string[]; before: string[] };
}

const CONFIG_FIELDS = [
  'name', 'containers', 'initContainers', 'volumes', 'imagePullSecrets', 'volumeMounts', 'env',
  'annotations', 'labels', 'position', 'injectByDefault', 'onConflict', 'initContainerOrder',
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A list of maps, each with a non-empty string `key` (unique within the list). Throws ConfigError. */
function decodeKeyedList(v: unknown, path: string, key: string): JsonObject[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`expected a list, got ${typeName(v)}`, path);
  const seen = new Set<string>();
  return v.map((el, i) => {
    const p = joinPath(path, i);
    if (!isObject(el)) throw new ConfigError(`expected a map, got ${typeName(el)}`, p);
    const k = el[key];
    if (typeof k !== 'string' || k === '') throw new ConfigError(`${key} is required (a non-empty string)`, joinPath(p, key));
    if (seen.has(k)) throw new ConfigError(`duplicate ${key} ${JSON.stringify(k)}`, joinPath(p, key));
    seen.add(k);
    return el as JsonObject;
  });
}

function decodeEnum<T extends string>(v: unknown, path: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, path);
  }
  return v as T;
}

function decodeNames(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ConfigError('expected a list of container names', path);
  return v as string[];
}

function decodeOrder(v: unknown, path: string): SidecarConfig['initContainerOrder'] {
  if (v === undefined || v === null) return { after: [], before: [] };
  const o = decodeStruct(v, path, ['after', 'before']);
  return { after: decodeNames(o.after, joinPath(path, 'after')), before: decodeNames(o.before, joinPath(path, 'before')) };
}

function decodeName(v: unknown): string {
  if (typeof v !== 'string' || !DNS_LABEL.test(v) || v.length > 63) {
    throw new ConfigError('name is required: a DNS label (lower-case letters, digits, "-"), it names the injection in annotations', 'name');
  }
  return v;
}

/** The fields the API server refuses on an init container that is not a native sidecar. */
const SIDECAR_ONLY_FIELDS = ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const;

/**
 * Throws ConfigError (at `path.<field>`) when the init container `c` is not
 * a native sidecar (`restartPolicy` is not `Always`, nor a template value
 * that may render it) and sets a field only a native sidecar may have: the
 * API server would refuse every Pod it is injected into (as
 * kubernetes pkg/apis/core/validation/validation.go validateInitContainers:
 * "may not be set for init containers without restartPolicy=Always").
 */
function checkInitContainer(c: JsonObject, path: string): void {
  const policy = c.restartPolicy;
  if (policy === 'Always' || (typeof policy === 'string' && policy.includes('{{'))) return;
  const field = SIDECAR_ONLY_FIELDS.find((f) => c[f] !== undefined && c[f] !== null);
  if (field !== undefined) throw new ConfigError(`${field} may not be set for an init container without restartPolicy: Always (the API server refuses the Pod)`, `${path}.${field}`);
}

/**
 * Decodes and validates a `sidecar` configuration (strictly: unknown fields
 * are errors). Container names must be unique across `containers` and
 * `initContainers` (the API server requires it of a pod), and an init
 * container that is not a native sidecar sets no probe nor lifecycle
 * (checkInitContainer). Throws ConfigError
 * with a path relative to the config.
 */
export function decodeSidecarConfig(config: unknown): SidecarConfig {
  const c = decodeStruct(config, '', CONFIG_FIELDS);
  const injectByDefault = c.injectByDefault ?? true;
  if (typeof injectByDefault !== 'boolean') throw new ConfigError(`expected a bool, got ${typeName(injectByDefault)}`, 'injectByDefault');
  const out: SidecarConfig = {
    name: decodeName(c.name),
    containers: decodeKeyedList(c.containers, 'containers', 'name'),
    initContainers: decodeKeyedList(c.initContainers, 'initContainers', 'name'),
    volumes: decodeKeyedList(c.volumes, 'volumes', 'name'),
    imagePullSecrets: decodeKeyedList(c.imagePullSecrets, 'imagePullSecrets', 'name'),
    volumeMounts: decodeKeyedList(c.volumeMounts, 'volumeMounts', 'mountPath'),
    env: decodeKeyedList(c.env, 'env', 'name'),
    annotations: decodeStringMap(c.annotations, 'annotations'),
    labels: decodeStringMap(c.labels, 'labels'),
    position: decodeEnum(c.position, 'position', ['first', 'last'] as const, 'last'),
    injectByDefault,
    onConflict: decodeEnum(c.onConflict, 'onConflict', ['skip', 'replace', 'fail'] as const, 'skip'),
    initContainerOrder: decodeOrder(c.initContainerOrder, 'initContainerOrder'),
  };
  const names = new Set(out.containers.map((x) => x.name as string));
  out.initContainers.forEach((x, i) => {
    if (names.has(x.name as string)) throw new ConfigError(`container name ${JSON.stringify(x.name)} is also in containers`, `initContainers[${i}].name`);
    checkInitContainer(x, `initContainers[${i}]`);
  });
  if (out.containers.length + out.initContainers.length + out.volumes.length + out.imagePullSecrets.length
    + out.volumeMounts.length + out.env.length + Object.keys(out.annotations).length + Object.keys(out.labels).length === 0) {
    throw new ConfigError('nothing to inject: give at least one of containers, initContainers, volumes, imagePullSecrets, volumeMounts, env, annotations, labels');
  }
  return out;
}

/** The variables a template value may use (see sidecarTransformer). */
export const TEMPLATE_VARIABLES: readonly string[] = ['object', 'namespaceName', 'namespaceLabels', 'annotations', 'labels', 'overrides', 'name'];

/** The injection after template values are evaluated for one pod. */
type Rendered = Pick<SidecarConfig, 'containers' | 'initContainers' | 'volumes' | 'imagePullSecrets' | 'volumeMounts' | 'env' | 'annotations' | 'labels'>;

/**
 * A string JSON.stringify prints as it is between quotes: no `"`, no `\`, no
 * control character (below U+0020), no surrogate (a lone one is escaped).
 */
const JSON_PLAIN = /^[ !#-[\]-\ud7ff\ue000-\uffff]*$/;

/** JSON.stringify of a string, without its call for the common string that needs no escape. */
function quote(s: string): string {
  return JSON_PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** JSON with object keys sorted, for a stable hash and a stable annotation. */
export function stableStringify(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + (stableStringify(v[i]) ?? ''); // as join: nothing for undefined
    return `${out}]`;
  }
  if (typeof v === 'bigint') return v.toString();
  if (isObject(v)) return stableObject(v);
  return JSON.stringify(v);
}

/** `stableStringify` of a map: keys sorted (UTF-16 order), undefined values left out. */
function stableObject(v: JsonObject): string {
  return sortedObjectJson(Object.keys(v).sort(), (k) => jsonOf(v[k]));
}

/** stableStringify of a map's value; undefined for undefined (left out). */
const jsonOf = (v: unknown): string | undefined => (v === undefined ? undefined : stableStringify(v));

/**
 * The JSON of a map with `keys` (already in the order to print) and the JSON
 * text of their values, `textOf(key)`; keys whose text is undefined left out.
 */
function sortedObjectJson(keys: readonly string[], textOf: (key: string) => string | undefined): string {
  let out = '{';
  for (const k of keys) {
    const text = textOf(k);
    if (text !== undefined) out += `${out.length > 1 ? ',' : ''}${quote(k)}:${text}`;
  }
  return `${out}}`;
}

/** The fields of an InjectionRecord (the compiler checks the list is complete), in the order stableStringify sorts them. */
const RECORD_KEYS = Object.keys({
  hash: true, containers: true, initContainers: true, volumes: true, imagePullSecrets: true, env: true, volumeMounts: true,
} satisfies Record<keyof InjectionRecord, true>).sort() as (keyof InjectionRecord)[];

/**
 * The status annotation's value once `rec` is recorded under `name`:
 * `stableStringify({ ...status, [name]: rec })`, without the spread and the
 * sort of the record's keys (its fields are known; undefined ones left out).
 */
export function statusJson(status: SidecarStatus, name: string, rec: InjectionRecord): string {
  const record = recordJson(rec);
  const names = Object.keys(status);
  if (names.length === 0) return `{${quote(name)}:${record}}`; // the usual status: this injection alone
  if (!Object.prototype.hasOwnProperty.call(status, name)) names.push(name);
  return sortedObjectJson(names.sort(), (k) => (k === name ? record : jsonOf(status[k])));
}

/** Longest status text an injection keeps for its next pod (characters; statusText). */
export const MAX_STATUS_TEXT = 4096;

/** The status text an injection last wrote over an empty status, with the record it was made from (statusText). */
export interface StatusText {
  rec: InjectionRecord;
  text: string;
  /** What `rec`'s env and volumeMounts were made from, when made by appsStatusText (withApps). */
  apps?: AddedToApps;
}

/**
 * `statusJson(status, name, rec)`, reusing the text kept in `slot` when the
 * status is empty (the usual: this injection alone) and `rec` records the
 * same names as the kept record (sameRecord: Pods of one template get the
 * same record), so the text is made only for a record not seen last. One
 * text per injection (the slot), of at most MAX_STATUS_TEXT characters.
 */
export function statusText(status: SidecarStatus, name: string, rec: InjectionRecord, slot: { last?: StatusText }): string {
  if (hasOwnKeys(status)) return statusJson(status, name, rec);
  const last = slot.last;
  if (last !== undefined && sameRecord(last.rec, rec)) return last.text;
  const text = statusJson(status, name, rec);
  slot.last = text.length <= MAX_STATUS_TEXT ? { rec, text } : undefined;
  return text;
}

/**
 * True when two records print the same (recordJson): the same hash and the
 * same lists of strings in every field, or both without it; false for
 * anything else, including values that are not strings (then the text is
 * made again).
 */
function sameRecord(a: InjectionRecord, b: InjectionRecord): boolean {
  return sameLists(a, b) && sameNamesByKey(a.env, b.env) && sameNamesByKey(a.volumeMounts, b.volumeMounts);
}

/** sameRecord without `env` and `volumeMounts`: the same hash (a string) and the same lists of strings. */
function sameLists(a: InjectionRecord, b: InjectionRecord): boolean {
  return typeof a.hash === 'string' && a.hash === b.hash
    && sameNames(a.containers, b.containers) && sameNames(a.initContainers, b.initContainers)
    && sameNames(a.volumes, b.volumes) && sameNames(a.imagePullSecrets, b.imagePullSecrets);
}

/** A record without `env` and `volumeMounts` yet, and what injectIntoApps added (their pairs). */
export interface RecordDraft {
  rec: InjectionRecord;
  apps: AddedToApps;
}

/**
 * `statusText(status, name, withApps(draft), slot)`, without making the
 * record's env and volumeMounts maps when the kept text was made from a
 * record of the same lists (sameLists) and the same pairs (samePairs: names
 * in the same order, so withApps makes the same maps): Pods of one template.
 * Reference: statusText of the record withApps makes (test/transform/sidecar.test.ts).
 */
export function appsStatusText(status: SidecarStatus, name: string, draft: RecordDraft, slot: { last?: StatusText }): string {
  const last = slot.last;
  const { rec, apps } = draft;
  if (last?.apps !== undefined && !hasOwnKeys(status) && samePairs(last.apps.env, apps.env) && samePairs(last.apps.mounts, apps.mounts)
    && sameLists(last.rec, rec)) {
    return last.text;
  }
  const full = withApps(rec, apps);
  const text = statusText(status, name, full, slot);
  if (slot.last?.rec === full) slot.last.apps = apps;
  return text;
}

/**
 * `rec` with its `env` and `volumeMounts` maps made from `apps`' pairs, each
 * set by assignment in order (a later pair of the same container replaces an
 * earlier one), and left out when they hold no own key.
 */
export function withApps(rec: InjectionRecord, { env, mounts }: AddedToApps): InjectionRecord {
  const e = namesByContainer(env);
  if (e !== undefined) rec.env = e;
  const m = namesByContainer(mounts);
  if (m !== undefined) rec.volumeMounts = m;
  return rec;
}

function namesByContainer(pairs: readonly (readonly [string, string[]])[] | undefined): Record<string, string[]> | undefined {
  if (pairs === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const [n, list] of pairs) out[n] = list;
  return hasOwnKeys(out) ? out : undefined;
}

/** Both undefined, or the same container names with the same names (sameNames), pair by pair. */
function samePairs(a: readonly (readonly [string, string[]])[] | undefined, b: readonly (readonly [string, string[]])[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [n, x] = a[i] as readonly [string, string[]];
    const [m, y] = b[i] as readonly [string, string[]];
    if (n !== m || !sameNames(x, y)) return false;
  }
  return true;
}

/** Both undefined, or two lists of the same strings in the same order. */
function sameNames(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x: unknown = a[i];
    if (typeof x !== 'string' || x !== b[i]) return false;
  }
  return true;
}

/** A map whose prototype is Object.prototype. */
function plainMap(v: unknown): v is JsonObject {
  return isObject(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Both undefined, or two plain maps with the same own keys, each holding the same strings (sameNames). */
function sameNamesByKey(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (!plainMap(a) || !plainMap(b)) return false;
  // the same own keys in any order (the text sorts them), without listing them
  let n = 0;
  for (const k in a) {
    if (!hasOwn.call(a, k)) continue;
    if (!hasOwn.call(b, k) || !sameNames(a[k], b[k])) return false;
    n++;
  }
  return n === ownKeyCount(b);
}

/** Each field of an InjectionRecord (RECORD_KEYS' order) with its name's JSON and the colon after it, made once. */
const RECORD_FIELDS: readonly (readonly [keyof InjectionRecord, string])[] = RECORD_KEYS.map((k) => [k, `${JSON.stringify(k)}:`]);

/**
 * `stableStringify(rec)` for the record injectPod builds, without a callback
 * per key: its fields in RECORD_KEYS' order, lists of strings and maps of
 * them written directly; any other value (a record of another origin) by
 * stableStringify.
 */
function recordJson(rec: InjectionRecord): string {
  let out = '';
  for (const [k, key] of RECORD_FIELDS) {
    const v: unknown = rec[k];
    if (v === undefined) continue;
    out += (out === '' ? '{' : ',') + key + (typeof v === 'string' ? quote(v) : namesJson(v) ?? stableStringify(v));
  }
  return out === '' ? '{}' : `${out}}`;
}

/** The JSON of a list of strings, or of a map of such lists (keys sorted); undefined for any other value. */
function namesJson(v: unknown): string | undefined {
  if (Array.isArray(v)) return stringListJson(v);
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  let out = '';
  for (const k of keys.length > 1 ? keys.sort() : keys) {
    const list = stringListJson(v[k]);
    if (list === undefined) return undefined;
    out += (out === '' ? '{' : ',') + quote(k) + ':' + list;
  }
  return out === '' ? '{}' : `${out}}`;
}

/** The JSON of a list of strings; undefined when `v` is not one. */
function stringListJson(v: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  let out = '[';
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string') return undefined;
    out += i > 0 ? `,${quote(s)}` : quote(s);
  }
  return `${out}]`;
}

// ---------------------------------------------------------------------------
// Pod-level operations on a private copy of the pod template.

interface Pod {
  metadata: JsonObject;
  spec: JsonObject;
}

/** The pod (template) an injection starts from, with its string annotations (stringMap). */
interface PodInput extends Pod {
  annotations: Readonly<Record<string, string>>;
}

/** A copy of the maps in list `field` of `o` (items that are not maps left out); [] when it is not a list. */
function list(o: JsonObject, field: string): JsonObject[] {
  const v = o[field];
  if (!Array.isArray(v)) return [];
  // the usual list holds only maps: one pass to check, then a plain copy (filter's callback per item cost more)
  for (const x of v) if (typeof x !== 'object' || x === null || Array.isArray(x)) return v.filter(isObject) as JsonObject[];
  return v.slice() as JsonObject[];
}

/**
 * Sets `o[field]` to `items`; when there are none, deletes the field only
 * when it held items (a strip emptied it): an empty list or a null the pod
 * had (Helm charts render `imagePullSecrets: []`, `volumes:`) is left as it
 * is, so neither `run`'s output nor the webhook's patch (a `remove`) touches
 * a field the injection did not change. (A delete only of a key `o` has:
 * V8's delete is a runtime call even for a missing key.)
 */
function setList(o: JsonObject, field: string, items: JsonObject[]): void {
  if (items.length > 0) o[field] = items;
  else if (hasOwn.call(o, field) && !isEmptyListValue(o[field])) delete o[field];
}

/** An empty list or null: a list field's value that lists nothing, kept as the pod wrote it (setList). */
function isEmptyListValue(v: JsonValue | undefined): boolean {
  return v === null || (Array.isArray(v) && v.length === 0);
}

/** A copy of the string entries of the map `o[field]` ({} when it is not a map). */
export function stringMap(o: JsonObject, field: string): Record<string, string> {
  const m = o[field];
  const out: Record<string, string> = {};
  if (!isObject(m)) return out;
  // for-in over own keys: Object.entries' order, without its array of pairs
  for (const k in m) {
    const v = m[k];
    if (typeof v === 'string' && hasOwn.call(m, k)) setOwn(out, k, v);
  }
  return out;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `stringMap(o, field)` for reading only: the map itself when it is a plain
 * map (prototype Object.prototype) whose enumerable keys are all its own and
 * hold strings (annotations and labels as the API server stores them), so the
 * same keys, values and key order as the copy; else that copy. Callers never
 * write to it. Reference: stringMap (test/transform/sidecar.test.ts).
 */
export function stringMapView(o: JsonObject, field: string): Readonly<Record<string, string>> {
  const m = o[field];
  if (!isObject(m) || Object.getPrototypeOf(m) !== Object.prototype) return stringMap(o, field);
  for (const k in m) if (typeof m[k] !== 'string' || !hasOwn.call(m, k)) return stringMap(o, field);
  return m as Record<string, string>;
}

/**
 * Decodes the status annotation. Absent or empty: `{}`. Throws TransformError
 * when it is not a JSON map of records (a hand-edited status must not lead to
 * a second copy of everything).
 */
export function parseStatus(value: string | undefined): SidecarStatus {
  if (value === undefined || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new TransformError(`annotation ${SIDECAR_STATUS_ANNOTATION} is not JSON`, '/metadata/annotations');
  }
  if (!isObject(parsed) || Object.values(parsed).some((r) => !isObject(r) || typeof r.hash !== 'string')) {
    throw new TransformError(`annotation ${SIDECAR_STATUS_ANNOTATION} must map injection names to records with a hash`, '/metadata/annotations');
  }
  return parsed as unknown as SidecarStatus;
}

function names(items: JsonObject[], key = 'name'): string[] {
  return items.map((x) => String(x[key]));
}

/** True when everything the record says was added is still in the pod. */
function intact(rec: InjectionRecord, spec: JsonObject): boolean {
  const has = (field: string, want: string[] | undefined): boolean => {
    const present = new Set(names(list(spec, field)));
    return (want ?? []).every((n) => present.has(n));
  };
  return has('containers', rec.containers) && has('initContainers', rec.initContainers)
    && has('volumes', rec.volumes) && has('imagePullSecrets', rec.imagePullSecrets);
}

function removeKeyed(o: JsonObject, field: string, key: string, drop: string[] | undefined): void {
  if (!drop?.length) return;
  const gone = new Set(drop);
  if (!Array.isArray(o[field])) return;
  setList(o, field, list(o, field).filter((x) => !gone.has(String(x[key]))));
}

/** Removes what `rec` says an injection added (istio kube-inject's strip before re-injecting). */
function strip(spec: JsonObject, rec: InjectionRecord): void {
  removeKeyed(spec, 'containers', 'name', rec.containers);
  removeKeyed(spec, 'initContainers', 'name', rec.initContainers);
  removeKeyed(spec, 'volumes', 'name', rec.volumes);
  removeKeyed(spec, 'imagePullSecrets', 'name', rec.imagePullSecrets);
  const containers = spec.containers;
  if (!Array.isArray(containers)) return;
  // Copy-on-write: only the containers that lose env or mounts are copied.
  spec.containers = containers.map((c) => {
    if (!isObject(c)) return c;
    const n = String(c.name);
    const env = rec.env?.[n];
    const mounts = rec.volumeMounts?.[n];
    if (!env?.length && !mounts?.length) return c;
    const copy = { ...c };
    removeKeyed(copy, 'env', 'name', env);
    removeKeyed(copy, 'volumeMounts', 'mountPath', mounts);
    return copy;
  });
}

/** The outcome of adding one keyed item to a list. */
type AddResult = 'added' | 'same' | 'skipped';

/** How addKeyed adds: the list's key field, the conflict policy, the item's kind (and container) for messages, prepend or append. */
interface KeyedAdd {
  key: string;
  onConflict: ConflictPolicy;
  what: string;
  /** The container whose list it is, named in the message after `what` (built only for a conflict). */
  container?: string;
  first?: boolean;
  /** Place the (deep-frozen) item itself, not a copy (see `placed`). */
  share?: boolean;
  /** The index of the item keyed `id` in `items` (default indexOfKey by `key`): a scan of its own for one kind of list. */
  find?: (items: readonly JsonObject[], id: JsonValue | undefined) => number;
}

/**
 * The item an injection places in a pod: a private copy (a shared object
 * would print as a YAML alias where it occurs twice in one document, and
 * `run`'s objects are the user's), or, with `share`, the deep-frozen rendered
 * item itself. Only admission shares, and only items an injection places once
 * per pod (containers, init containers, volumes, image pull secrets; not the
 * env vars and mounts it adds to each app container): the object is diffed
 * and serialized, never printed as one YAML document holding the item twice,
 * and every reader leaves it unchanged (transformers never write to their
 * input: the laws' frozen inputs; revertImmutableFields copies first). A CEL
 * mutation's replayed result is shared the same way (src/expr/memo.ts).
 */
function placed(item: JsonObject, share: boolean | undefined): JsonObject {
  return share ? item : deepClone(item);
}

/**
 * Adds `item` to `items` (keyed by `how.key`): appended (or prepended with
 * `first`), identical item already present: `same`; a different one:
 * `how.onConflict`. Throws TransformError for `fail`.
 */
function addKeyed(items: JsonObject[], item: JsonObject, how: KeyedAdd): AddResult {
  const { key, onConflict, first = false, share } = how;
  const id = item[key];
  const i = how.find === undefined ? indexOfKey(items, key, id) : how.find(items, id);
  // A private copy per place: a shared object would print as a YAML alias.
  if (i === items.length) {
    if (first) items.unshift(placed(item, share));
    else items.push(placed(item, share));
    return 'added';
  }
  if (deepEqual(items[i], item)) return 'same';
  if (onConflict === 'fail') throw new TransformError(`${conflictLabel(how)} ${JSON.stringify(item[key])} already exists with different content (onConflict: fail)`);
  if (onConflict === 'skip') return 'skipped';
  items[i] = placed(item, share);
  return 'added';
}

/**
 * The index of the first item of `items` whose `key` is `id` (items.length:
 * none): findIndex without a callback per item, and the usual keys read by
 * name (a keyed read of a variable key is megamorphic over the lists' items).
 */
export function indexOfKey(items: readonly JsonObject[], key: string, id: JsonValue | undefined): number {
  let i = 0;
  if (key === 'name') while (i < items.length && (items[i] as JsonObject).name !== id) i++;
  else if (key === 'mountPath') while (i < items.length && (items[i] as JsonObject).mountPath !== id) i++;
  else while (i < items.length && (items[i] as JsonObject)[key] !== id) i++;
  return i;
}

/**
 * `indexOfKey(items, 'name', id)` for an app container's env vars, its own
 * load of `name`: env vars come in a few shapes (`value`, `valueFrom`), so
 * this site stays polymorphic where indexOfKey's, reading the items of every
 * list (containers, volumes, mounts), is megamorphic; an app's env is the
 * longest list an injection scans (tens of vars).
 */
export function indexOfEnvName(items: readonly JsonObject[], id: JsonValue | undefined): number {
  let i = 0;
  while (i < items.length && (items[i] as JsonObject).name !== id) i++;
  return i;
}

/**
 * The items of `add` that `addKeyed` added to `items` (in `add`'s order):
 * `add.filter((x) => addKeyed(items, x, how) === 'added')` without a callback per item.
 */
function addAllKeyed(items: JsonObject[], add: readonly JsonObject[], how: KeyedAdd): JsonObject[] {
  let added: JsonObject[] | undefined; // made at the first item added, of one place (most injections add one of each)
  for (let i = 0; i < add.length; i++) { // an index loop: `add` is frozen
    const x = add[i] as JsonObject;
    if (addKeyed(items, x, how) !== 'added') continue;
    if (added === undefined) added = [x];
    else added.push(x);
  }
  return added ?? [];
}

/** `what`, with `(container <name>)` for a container's list. */
function conflictLabel({ what, container }: KeyedAdd): string {
  return container === undefined ? what : `${what} (container ${container})`;
}

interface InjectArgs {
  cfg: SidecarConfig;
  rendered: Rendered;
  /** Containers added by other injections: not app containers. */
  injected: string[];
  /** Init containers added by other injections: not the pod's own (placeNativeFirst). */
  injectedInit: readonly string[];
  /** Place rendered containers, volumes and pull secrets themselves (admission; see `placed`). */
  share: boolean;
}

/**
 * Adds the container `c` to `target` (addKeyed by name), after resolving a
 * container of its name in `other` (containers and initContainers share
 * names: API validation, validateInitContainers) by `onConflict`, whatever
 * its content (a `fail` names `otherList`, the list it is in); true when it
 * was added.
 */
function addContainer(target: JsonObject[], other: JsonObject[], c: JsonObject, { onConflict, first, share, otherList }: { onConflict: ConflictPolicy; first: boolean; share: boolean; otherList: string }): boolean {
  const at = indexOfKey(other, 'name', c.name);
  if (at < other.length) {
    if (onConflict === 'fail') throw new TransformError(`container ${JSON.stringify(c.name)} already exists in ${otherList} (container names are unique across containers and initContainers; onConflict: fail)`);
    if (onConflict === 'skip') return false;
    other.splice(at, 1);
  }
  return addKeyed(target, c, { key: 'name', onConflict, what: 'container', first, share }) === 'added';
}

function injectContainers(spec: JsonObject, a: InjectArgs, rec: InjectionRecord): void {
  const containers = list(spec, 'containers');
  const inits = list(spec, 'initContainers');
  const first = a.cfg.position === 'first';
  const firsts = first ? [...a.rendered.containers].reverse() : a.rendered.containers;
  const added: string[] = [];
  // index loops: the rendered lists are frozen
  for (let i = 0; i < firsts.length; i++) {
    const c = firsts[i] as JsonObject;
    if (addContainer(containers, inits, c, { onConflict: a.cfg.onConflict, first, share: a.share, otherList: 'initContainers' })) added.push(String(c.name));
  }
  if (first) added.reverse();
  const addedInit = injectInits(inits, containers, a);
  setList(spec, 'containers', containers);
  setList(spec, 'initContainers', inits);
  if (added.length) rec.containers = added;
  if (addedInit.length) rec.initContainers = addedInit;
}

/** Adds the rendered init containers to `inits` (placed by placeBeforeOwn when one is a native sidecar); returns the names added. */
function injectInits(inits: JsonObject[], containers: JsonObject[], a: InjectArgs): string[] {
  const addedInit: string[] = [];
  for (let i = 0; i < a.rendered.initContainers.length; i++) { // an index loop: the rendered list is frozen
    const c = a.rendered.initContainers[i] as JsonObject;
    if (addContainer(inits, containers, c, { onConflict: a.cfg.onConflict, first: false, share: a.share, otherList: 'containers' })) addedInit.push(String(c.name));
  }
  if (addedInit.length > 0 && a.rendered.initContainers.some(isNativeSidecar)) placeBeforeOwn(inits, addedInit, a.injectedInit);
  return addedInit;
}

/** A native sidecar (KEP-753): an init container with `restartPolicy: Always`. */
function isNativeSidecar(c: JsonObject): boolean {
  return c.restartPolicy === 'Always';
}

/**
 * Moves the init containers named `ours` (this injection's, in their order)
 * before the first of `inits` that is the pod's own (not in `ours` nor in
 * `others`, the init containers of other injections), so the pod's own init
 * containers run with the native sidecar started: the kubelet starts init
 * containers one by one in list order, a sidecar once its turn comes
 * (KEP-753). As istio pkg/kube/inject inject.go `reorderPod`: with native
 * sidecars the proxy goes before the pod's init containers ("so init
 * containers are part of the mesh").
 */
function placeBeforeOwn(inits: JsonObject[], ours: readonly string[], others: readonly string[]): void {
  const mine = new Set(ours);
  const moved = inits.filter((x) => mine.has(String(x.name)));
  const rest = inits.filter((x) => !mine.has(String(x.name)));
  let at = 0;
  while (at < rest.length && others.includes(String((rest[at] as JsonObject).name))) at++;
  rest.splice(at, 0, ...moved);
  inits.splice(0, inits.length, ...rest);
}

function injectPodLists(spec: JsonObject, a: InjectArgs, rec: InjectionRecord): void {
  const volumes = list(spec, 'volumes');
  const addedVolumes = addAllKeyed(volumes, a.rendered.volumes, { key: 'name', onConflict: a.cfg.onConflict, what: 'volume', share: a.share });
  setList(spec, 'volumes', volumes);
  if (addedVolumes.length) rec.volumes = names(addedVolumes);
  const secrets = list(spec, 'imagePullSecrets');
  const addedSecrets = addAllKeyed(secrets, a.rendered.imagePullSecrets, { key: 'name', onConflict: 'skip', what: 'imagePullSecret', share: a.share });
  setList(spec, 'imagePullSecrets', secrets);
  if (addedSecrets.length) rec.imagePullSecrets = names(addedSecrets);
}

/**
 * Adds `env` and `volumeMounts` to every app container (not injected by any
 * injection); returns what it added (the record's `env` and `volumeMounts`:
 * withApps).
 */
function injectIntoApps(spec: JsonObject, a: InjectArgs): AddedToApps {
  const added: AddedToApps = { env: undefined, mounts: undefined };
  if (a.rendered.env.length === 0 && a.rendered.volumeMounts.length === 0) return added; // nothing to add: no container changes
  const containers = appsInjected(Array.isArray(spec.containers) ? spec.containers : [], a, added);
  if (containers) spec.containers = containers;
  return added;
}

/**
 * What injectIntoApps added, in container order: pairs of an app container's
 * name and the env var names (mount paths) added to it; undefined for none.
 * Pairs, not the record's maps: a map keyed by a container name (a string of
 * the request, not interned) costs a string-table lookup per key; the maps
 * are made (withApps) only when the status text is (appsStatusText).
 */
export interface AddedToApps {
  env: [string, string[]][] | undefined;
  mounts: [string, string[]][] | undefined;
}

/**
 * Most containers of other injections `appsInjected` looks up in their list;
 * past it, in a Set made once. The names come from the status annotation,
 * which the Pod's author can write: a list scanned once per app container
 * would make a Pod of many containers and a long status cost their product.
 */
export const INJECTED_SCAN_MAX = 16;

/** A copy of the container list `raw` with every app container injected (injectIntoApp), or undefined when none changed. */
function appsInjected(raw: readonly JsonValue[], a: InjectArgs, added: AddedToApps): JsonValue[] | undefined {
  let containers: JsonValue[] | undefined; // a copy once a container changes
  const many = a.injected.length > INJECTED_SCAN_MAX ? new Set(a.injected) : undefined;
  for (let i = 0; i < raw.length; i++) {
    const original = raw[i];
    if (!isObject(original)) continue;
    const n = String(original.name);
    if (many ? many.has(n) : a.injected.includes(n)) continue;
    const c = injectIntoApp(original, n, a, added);
    if (c !== original) (containers ??= raw.slice())[i] = c;
  }
  return containers;
}

/**
 * The app container `original` (named `n`) with the injection's env and
 * volume mounts added, copy-on-write (the pod's container objects are shared
 * with the input): `original` itself when nothing was added. What was added
 * is recorded under `n` in `added`.
 */
function injectIntoApp(original: JsonObject, n: string, a: InjectArgs, added: AddedToApps): JsonObject {
  let c = original;
  if (a.rendered.env.length > 0) {
    const cEnv = list(c, 'env');
    const e = addAllKeyed(cEnv, a.rendered.env, { key: 'name', onConflict: a.cfg.onConflict, what: 'env var', container: n, find: indexOfEnvName });
    if (e.length) {
      c = { ...c, env: cEnv };
      (added.env ??= []).push([n, names(e)]);
    }
  }
  if (a.rendered.volumeMounts.length > 0) {
    const cMounts = list(c, 'volumeMounts');
    const m = addAllKeyed(cMounts, a.rendered.volumeMounts, { key: 'mountPath', onConflict: a.cfg.onConflict, what: 'volumeMount', container: n });
    if (m.length) {
      if (c === original) c = { ...c, volumeMounts: cMounts };
      else c.volumeMounts = cMounts; // c is this function's copy
      (added.mounts ??= []).push([n, names(m, 'mountPath')]);
    }
  }
  return c;
}

/**
 * Moves this injection's init containers so that they run after every
 * present `after` container and before every present `before` container, when
 * the current order does not already hold (so re-invocation after another
 * injector added, e.g., `istio-init` fixes the order, and a correct order is
 * left alone). Unsatisfiable constraints: placed right after the last `after`,
 * with a warning.
 */
function orderInitContainers(spec: JsonObject, ours: string[] | undefined, cfg: SidecarConfig, ctx: TransformContext): void {
  const { after, before } = cfg.initContainerOrder;
  if (!ours?.length || (after.length === 0 && before.length === 0)) return;
  const inits = list(spec, 'initContainers');
  const mine = new Set(ours);
  const idx = (ns: string[], agg: 'max' | 'min', xs: JsonObject[]): number => {
    const is = xs.map((x, i) => (ns.includes(String(x.name)) ? i : -1)).filter((i) => i >= 0);
    return is.length === 0 ? (agg === 'max' ? -1 : xs.length) : agg === 'max' ? Math.max(...is) : Math.min(...is);
  };
  const ourIdx = inits.map((x, i) => (mine.has(String(x.name)) ? i : -1)).filter((i) => i >= 0);
  if (ourIdx.length === 0) return;
  if (Math.min(...ourIdx) > idx(after, 'max', inits) && Math.max(...ourIdx) < idx(before, 'min', inits)) return;
  const rest = inits.filter((x) => !mine.has(String(x.name)));
  const lo = idx(after, 'max', rest);
  const hi = idx(before, 'min', rest);
  if (lo >= hi) {
    ctx.report({ action: 'Warn', rule: cfg.name, message: `initContainerOrder cannot hold (an "after" container runs after a "before" one); placed after ${rest[lo].name}` });
  }
  const at = lo >= hi ? lo + 1 : hi;
  rest.splice(at, 0, ...inits.filter((x) => mine.has(String(x.name))));
  spec.initContainers = rest;
}

/**
 * Sets `entries` in the map `meta[field]` (a new map: `{ ...current, ...entries }`,
 * where `current` is {} when the field is not a map), or nothing when there
 * are none. The second spread of such a literal defines each key in the
 * runtime (DefineKeyedOwnPropertyInLiteral, ~0.5 µs measured for the status
 * annotation), so the map is copied (copyFor) and each entry set in order
 * (setOwn: a key already there keeps its place, a new one goes last), as the
 * spread does.
 */
export function setMeta(meta: JsonObject, field: 'annotations' | 'labels', entries: Readonly<Record<string, string>>): void {
  if (!hasOwnKeys(entries)) return;
  const out = metaCopy(meta, field, Object.keys(entries));
  for (const k in entries) if (hasOwn.call(entries, k)) setOwn(out, k, entries[k] as string);
  meta[field] = out;
}

const STATUS_KEYS: readonly string[] = [SIDECAR_STATUS_ANNOTATION];

/** `setMeta(meta, 'annotations', { [SIDECAR_STATUS_ANNOTATION]: text })` without the entries map. */
export function setStatus(meta: JsonObject, text: string): void {
  const out = metaCopy(meta, 'annotations', STATUS_KEYS);
  out[SIDECAR_STATUS_ANNOTATION] = text;
  meta.annotations = out;
}

/** A copy of the map `meta[field]` ({} when it is not a map) for `keys` to be set in (copyFor). */
function metaCopy(meta: JsonObject, field: string, keys: readonly string[]): JsonObject {
  const current = meta[field];
  return isObject(current) ? copyFor(current, keys) : {};
}

/** The string annotations and labels of a pod (template), read once per injection (stringMap). */
interface PodMaps {
  annotations: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
}

/** Istio's injectRequired, for our annotation and label: per-name pod setting, pod setting, namespace label, default. */
function injectionWanted({ annotations: ann, labels: lab }: PodMaps, c: Compiled, nsLabels: Readonly<Record<string, string>> | undefined): boolean {
  const { cfg } = c;
  const pod = ann[c.injectKey] ?? ann[SIDECAR_INJECT_ANNOTATION] ?? lab[SIDECAR_INJECT_ANNOTATION];
  if (pod === 'false') return false;
  const ns = nsLabels?.[SIDECAR_NAMESPACE_LABEL];
  if (ns === 'disabled') return false;
  if (pod === 'true' || ns === 'enabled') return true;
  return cfg.injectByDefault;
}

// ---------------------------------------------------------------------------

interface Compiled {
  cfg: SidecarConfig;
  template: Template;
  /** The template's expressions in render order (templateExpressions). */
  expressions: readonly TemplateExpression[];
  /** Renders (deep-frozen, shared) and their template hashes, by valuesKey of the template values (see render). */
  renders: Map<string, Render>;
  /** The per-injection opt-in/out annotation, `sidecar.postrender.io/<name>.inject`. */
  injectKey: string;
  /** The prefix of the per-injection override annotations, `sidecar.postrender.io/<name>.`. */
  overridePrefix: string;
  /** The status text last written over an empty status (statusText). */
  status: { last?: StatusText };
  /** The last render and its template values, when all are scalars (compared by Object.is before valuesKey). */
  lastRender?: { values: readonly JsonValue[]; render: Render };
}

/** The injection rendered for some template values, and its template hash. */
interface Render {
  rendered: Rendered;
  hash: string;
  /** The keys an injection of it sets in the pod's metadata and spec (addedKeys): their copies are made for them (copyFor). */
  adds: { metadata: readonly string[]; spec: readonly string[] };
}

/** The keys of a pod's metadata and spec an injection of `rendered` may set: the status annotation's map always, the rest when it has items for them. */
function addedKeys(rendered: Rendered): Render['adds'] {
  const spec = (['containers', 'initContainers', 'volumes', 'imagePullSecrets'] as const).filter((k) => rendered[k].length > 0);
  return { metadata: hasOwnKeys(rendered.labels) ? ['annotations', 'labels'] : ['annotations'], spec };
}

function templateVars(obj: KubeObject, { annotations, labels }: PodMaps, c: Compiled, ctx: TransformContext): Record<string, unknown> {
  const prefix = c.overridePrefix;
  const overrides: Record<string, string> = {};
  // for-in over own keys: Object.entries' order, without its array of pairs
  for (const k in annotations) if (k.startsWith(prefix) && hasOwn.call(annotations, k)) overrides[k.slice(prefix.length)] = annotations[k] as string;
  return {
    object: obj,
    namespaceName: ctx.namespace,
    namespaceLabels: ctx.namespaceLabels ?? {},
    annotations,
    labels,
    overrides,
    name: c.cfg.name,
    ...ctx.exprVars,
  };
}

/** Compiles the injection's template values over `variables`; a bad expression is a ConfigError at its config path. */
function compileInjection(parts: JsonObject, scope: TemplateScope): Template {
  try {
    return compileTemplate(parts, '', scope);
  } catch (e) {
    if (e instanceof TemplateError) throw Object.assign(new ConfigError(e.message, e.path), { cause: e });
    throw e;
  }
}

/** The template values for one pod, in render order; a failing template value is a TransformError (no path: the message names it). */
function injectionValues(expressions: readonly TemplateExpression[], vars: Record<string, unknown>): JsonValue[] {
  try {
    return evaluateTemplateExpressions(expressions, vars);
  } catch (e) {
    if (e instanceof TemplateError) throw new TransformError(e.message);
    throw e;
  }
}

/**
 * A key of a list of template values that tells apart any two lists that
 * render differently: strings are tagged, and the numbers JSON cannot spell
 * (NaN, Infinity, -0: JSON.stringify reads them as null and 0) are spelt out.
 * Template values hold no bigint (src/expr/template.ts toJson).
 */
function valuesKey(values: readonly JsonValue[]): string {
  // Strings only (the usual template values): each length-prefixed, after a `'`, which no JSON text starts with.
  let key = "'";
  for (const v of values) {
    if (typeof v !== 'string') return jsonValuesKey(values);
    key += `${v.length}:${v}`;
  }
  return key;
}

/** valuesKey of values that are not all strings: their JSON, strings tagged, the numbers JSON cannot spell spelt out. */
function jsonValuesKey(values: readonly JsonValue[]): string {
  return JSON.stringify(values, (_k, v: unknown) => {
    if (typeof v === 'string') return `s${v}`;
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return Object.is(v, -0) ? 'n-0' : `n${v}`;
    return v;
  });
}


/**
 * SHA-256 of `text`, hex. node:crypto loads on the first injection
 * (`process.getBuiltinModule`), not with this module: it is ~30 ms and
 * ~2.5 MiB at every CLI start, and a `run` without a sidecar never hashes.
 */
function sha256Hex(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

/** Distinct renders kept per injection (template values usually take a few values). */
const MAX_CACHED_RENDERS = 64;

/**
 * The rendered injection and its template hash. The template's expressions
 * are evaluated for every pod; the rest of the template is constant, so the
 * render and its hash (hashing was most of a render's cost) are kept by the
 * values (valuesKey) and shared, deep-frozen: everything injected from them
 * is copied first (addKeyed), so no pod shares them.
 */
function render(obj: KubeObject, maps: PodMaps, c: Compiled, ctx: TransformContext): Render {
  const values = c.expressions.length > 0 ? injectionValues(c.expressions, templateVars(obj, maps, c, ctx)) : [];
  const last = c.lastRender;
  if (last !== undefined && sameScalars(last.values, values)) return last.render; // the last pod's values (Pods of one template): no key to make and hash
  const key = valuesKey(values);
  let r = c.renders.get(key);
  if (r === undefined) {
    const rendered = deepFreeze(fillTemplate(c.template, values)) as unknown as Rendered;
    const hash = sha256Hex(stableStringify({ ...rendered, position: c.cfg.position, order: c.cfg.initContainerOrder })).slice(0, 16);
    r = { rendered, hash, adds: addedKeys(rendered) };
    if (c.renders.size >= MAX_CACHED_RENDERS) c.renders.clear();
    c.renders.set(key, r);
  }
  c.lastRender = values.every(isScalar) ? { values, render: r } : undefined;
  return r;
}

/** A template value compared by Object.is alone: a string, number, boolean or null. */
function isScalar(v: JsonValue): boolean {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * True when two lists of template values render alike by Object.is, item by
 * item (`kept` holds scalars only: lastRender): Object.is tells -0 from 0,
 * which render differently (valuesKey), and a string from a number.
 */
function sameScalars(kept: readonly JsonValue[], values: readonly JsonValue[]): boolean {
  if (kept.length !== values.length) return false;
  for (let i = 0; i < kept.length; i++) if (!Object.is(kept[i], values[i])) return false;
  return true;
}

/**
 * The containers the status records of injections other than `name` added
 * (their `containers`, a value that is not a list as it is): what
 * `Object.entries(status).filter(([n]) => n !== name).flatMap(([, r]) => r.containers ?? [])`
 * gives, without its lists of pairs.
 */
export function otherContainers(status: SidecarStatus, name: string): string[] {
  const out: string[] = [];
  for (const n in status) {
    if (n === name || !hasOwn.call(status, n)) continue;
    const cs = (status[n] as InjectionRecord).containers ?? [];
    if (Array.isArray(cs)) for (const x of cs) out.push(x);
    else out.push(cs);
  }
  return out;
}

/** The init containers the status records of injections other than `name` added (their `initContainers` lists). */
function otherInitContainers(status: SidecarStatus, name: string): string[] {
  const out: string[] = [];
  for (const n in status) {
    if (n === name || !hasOwn.call(status, n)) continue;
    const cs = (status[n] as InjectionRecord).initContainers;
    if (Array.isArray(cs)) for (const x of cs) out.push(String(x));
  }
  return out;
}

/**
 * Injects `a`'s rendered items into `pod` (a private shallow copy, nothing
 * of this injection in it) and sets its status annotation; returns the
 * status text. `a.injected`: the containers other injections added (a list,
 * not a Set: a few names, and no hash of each app container's name; a Set's
 * `has`; appsInjected makes one past INJECTED_SCAN_MAX).
 */
function injectInto(pod: Pod, a: InjectArgs, { hash, status, c, ctx }: { hash: string; status: SidecarStatus; c: Compiled; ctx: TransformContext }): string {
  const rec: InjectionRecord = { hash };
  injectContainers(pod.spec, a, rec);
  for (const n of rec.containers ?? []) a.injected.push(n);
  injectPodLists(pod.spec, a, rec);
  const apps = injectIntoApps(pod.spec, a);
  orderInitContainers(pod.spec, rec.initContainers, a.cfg, ctx);
  setMeta(pod.metadata, 'annotations', a.rendered.annotations);
  setMeta(pod.metadata, 'labels', a.rendered.labels);
  const text = appsStatusText(status, a.cfg.name, { rec, apps }, c.status);
  setStatus(pod.metadata, text);
  return text;
}

/**
 * Injects into one pod template, copy-on-write (the input is never mutated).
 * Returns the new pod, or the input when nothing changes.
 */
function injectPod(obj: KubeObject, original: PodInput, c: Compiled, ctx: TransformContext): Pod {
  const { cfg } = c;
  const { annotations } = original;
  const maps: PodMaps = { annotations, labels: stringMapView(original.metadata, 'labels') };
  if (!injectionWanted(maps, c, ctx.namespaceLabels)) return original;
  const status = parseStatus(annotations[SIDECAR_STATUS_ANNOTATION]);
  const { rendered, hash, adds } = render(obj, maps, c, ctx);
  // Shallow copies: every operation below replaces the lists and containers it
  // changes instead of mutating them, so unchanged parts stay shared with the
  // input (and the admission diff skips them by identity).
  const pod: Pod = { metadata: copyFor(original.metadata, adds.metadata), spec: copyFor(original.spec, adds.spec) };
  const prev = status[cfg.name];
  if (prev && prev.hash === hash && intact(prev, pod.spec)) {
    orderInitContainers(pod.spec, prev.initContainers, cfg, ctx);
  } else {
    if (prev) strip(pod.spec, prev);
    const args = { cfg, rendered, injected: otherContainers(status, cfg.name), injectedInit: otherInitContainers(status, cfg.name), share: ctx.frontDoor === 'admission' };
    const text = injectInto(pod, args, { hash, status, c, ctx });
    if (statusChanged(original.metadata, text)) return pod; // the usual: a status the pod did not carry, so no deepEqual of the whole pod
  }
  return deepEqual(pod.metadata, original.metadata) && deepEqual(pod.spec, original.spec) ? original : pod;
}

/**
 * True when the pod's own status annotation (`metadata.annotations`, read
 * raw) is not the string `text`: then the injected pod, whose annotations
 * hold `text` under that key, differs from it, and the comparison of the
 * whole pod (deepEqual, which would find the metadata different) is not
 * needed. Reference: that comparison (test/transform/sidecar.test.ts).
 */
export function statusChanged(metadata: JsonObject, text: string): boolean {
  const ann = metadata.annotations;
  return !isObject(ann) || !hasOwn.call(ann, SIDECAR_STATUS_ANNOTATION) || ann[SIDECAR_STATUS_ANNOTATION] !== text;
}

function getPath(obj: JsonObject, path: readonly string[]): JsonObject | undefined {
  let cur: JsonValue = obj;
  for (const seg of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return isObject(cur) ? cur : undefined;
}

function setPath(obj: JsonObject, path: readonly string[], value: JsonObject): JsonObject {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  return { ...obj, [head]: setPath(obj[head] as JsonObject, rest, value) };
}

/**
 * `sidecar` (`sidecarTransformer`): injects containers, init containers,
 * volumes, image pull secrets, app-container env and volume mounts, and pod
 * metadata into a Pod or the pod template of a workload (POD_TEMPLATE_LOCATIONS),
 * idempotently (status annotation, strip-and-reapply on template change; as
 * istio pkg/kube/inject). Other kinds pass through unchanged.
 *
 * Safety defaults: a Pod is only injected on CREATE (its container list is
 * immutable afterwards); mirror pods are skipped; opt-out/opt-in by the pod
 * annotation or label `sidecar.postrender.io/inject` (`"false"`/`"true"`) or
 * `sidecar.postrender.io/<name>.inject`, and the namespace label
 * `sidecar.postrender.io/inject` (`disabled`/`enabled`), then `injectByDefault`.
 *
 * Config: see SidecarConfig / docs/sidecar.md. String values may hold
 * `{{ <CEL> }}` template values over `object`, `namespaceName` (`namespace` is reserved in CEL), `namespaceLabels`,
 * `annotations`, `labels` (of the pod template), `overrides` (pod annotations
 * `sidecar.postrender.io/<name>.<key>`, by key) and `name`.
 *
 * Throws ConfigError (bad config or expression) at compile time; `apply` throws
 * TransformError for a conflict under `onConflict: fail`, a malformed status
 * annotation or a failing template value; reports a Warn finding when
 * `initContainerOrder` cannot hold.
 */
export const sidecarTransformer: TransformerFactory = (config, opts) => {
  const cfg = decodeSidecarConfig(config);
  const parts = {
    containers: cfg.containers, initContainers: cfg.initContainers, volumes: cfg.volumes,
    imagePullSecrets: cfg.imagePullSecrets, volumeMounts: cfg.volumeMounts, env: cfg.env,
    annotations: cfg.annotations, labels: cfg.labels,
  };
  const template = compileInjection(parts as unknown as JsonObject, { variables: TEMPLATE_VARIABLES, ...scopeOptions(opts.exprScope, TEMPLATE_VARIABLES) });
  const compiled: Compiled = {
    cfg, template, expressions: templateExpressions(template), renders: new Map(), status: {},
    injectKey: `sidecar.postrender.io/${cfg.name}.inject`, overridePrefix: `sidecar.postrender.io/${cfg.name}.`,
  };
  return {
    type: 'sidecar',
    name: opts.name,
    apply: (obj, ctx) => {
      const loc = podTemplateLocation(obj);
      if (!loc) return obj;
      const isPod = loc.path.length === 0;
      if (isPod && ctx.operation !== 'CREATE') return obj;
      const tpl = getPath(obj, loc.path);
      if (!tpl || !isObject(tpl.spec)) return obj;
      const metadata = isObject(tpl.metadata) ? tpl.metadata : {};
      const annotations = stringMapView(metadata, 'annotations');
      if (isPod && MIRROR_POD_ANNOTATION in annotations) return obj;
      const pod = { metadata, spec: tpl.spec, annotations };
      const next = injectPod(obj, pod, compiled, ctx);
      if (next === pod) return obj;
      return setPath(obj, loc.path, { ...tpl, metadata: next.metadata, spec: next.spec });
    },
  };
};
