/**
 * `review`: one AdmissionReview in, one answer out. Pure: no I/O, no logging, no
 * clock; the server (or the `review` CLI command) only moves bytes.
 *
 * Two error layers (STYLE.md item 5): a body that is not an AdmissionReview is a
 * 400 with a reason; a decodable review always gets an AdmissionReview with its
 * `uid`, even when evaluation throws (then: denied with code 500, a
 * conservative default: an unknown state must not let an object through
 * unmodified when policies may have been meant to deny or change it).
 *
 * Protocol choices, from
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response :
 * - "the response must include the uid from the request" and the same
 *   AdmissionReview version as the request ("Webhooks respond with ... the same
 *   version of AdmissionReview they were sent");
 * - "patchType ... currently only JSONPatch is supported", and the patch is
 *   base64 encoded;
 * - a denial carries `status.code` and `status.message`, which the API server
 *   returns to the client.
 */
import { isObject, metaString } from '../kube/object.js';
import type { JsonObject, JsonValue, KubeObject } from '../kube/object.js';
import { createPatch, type Operation } from '../patch/create-patch.js';
import { appliedSteps, type Evaluation } from '../policy/evaluate.js';
import type { EvaluationInput, PolicySet } from '../policy/types.js';
import { immutableFieldDiffers, revertImmutableFields } from './immutable.js';
import { isParsedReview, parsedReview } from './parse.js';
import type { AdmissionResponse, ParsedReview, ReviewResult } from './types.js';
import { normalizeWarnings } from './warnings.js';
import { errorMessage } from '../errors.js';

/** Options of `review`. */
export interface ReviewOptions {
  /** `mutate` (mutations, then validate rules) or `validate` (validate rules only, never a patch). */
  route: 'mutate' | 'validate';
  /** Labels of a namespace (Namespace informer), or undefined when unknown. Called at most once per review. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  /**
   * Evaluation deadline in ms on the `now` clock (EvaluationInput.deadline):
   * the server derives it from the API server's `?timeout=`. Absent: no deadline.
   */
  deadline?: number;
  /** Clock for `deadline`, in ms (EvaluationInput.now; default `performance.now`). */
  now?: () => number;
  /**
   * An upper bound on the body's nesting depth proven from the JSON text it
   * was parsed from: `jsonNestingBound(bytes)` (the server passes it). At most
   * `MAX_NESTING_DEPTH` (1,000), the review skips walking the parsed object
   * for `ERR_TOO_DEEP` (see `parseReview`). Absent: the walk runs.
   */
  nestingBound?: number;
}

/** Maximum length (characters) of a denial message built from error text. */
const MAX_ERROR_MESSAGE = 512;

/**
 * Answers one AdmissionReview.
 *
 * Input: the JSON-decoded request body, the policy set and ReviewOptions.
 * Output: `{statusCode: 400, body: {code, message}}` when `body` is not an
 * AdmissionReview (see `parseReview`), else `{statusCode: 200, body}` with an
 * AdmissionReview of the request's apiVersion whose `response.uid` is the
 * request's. Never throws.
 *
 * DELETE and CONNECT run only the policies that evaluate without an object
 * to change (ValidatingAdmissionPolicies: `objectlessReview`): never a
 * patch. Otherwise `policies.evaluate` runs (which applies DESIGN.md's default exclusions per
 * policy, with explicit opt-ins, identically for `run`)
 * on the object without `metadata.managedFields` (left out of evaluation and
 * of the diff: it can be huge; Istio drops it too) with the namespace of
 * `request.namespace`. Denials give `allowed: false`, `status.code` 403 (a
 * ValidatingAdmissionPolicy's first: its validation's reason, see
 * denialStatus) and a message naming each policy and rule. On `/mutate`, a non-empty diff between
 * the object and the result is returned as a base64 JSON patch; on UPDATE,
 * changes to immutable fields are first reverted with a warning.
 */
export function review(body: unknown, policies: PolicySet, opts: ReviewOptions = { route: 'mutate' }): ReviewResult {
  return reviewWithEvaluation(body, policies, opts).result;
}

/** A review's answer and the evaluation it came from (absent: not evaluated: a 400, or evaluation threw). */
export interface ReviewOutcome {
  result: ReviewResult;
  evaluation?: Evaluation;
}

/**
 * `review`, also returning the Evaluation behind the answer, for the readers
 * of the record (the server's metrics and logs). Never throws.
 */
export function reviewWithEvaluation(body: unknown, policies: PolicySet, opts: ReviewOptions = { route: 'mutate' }): ReviewOutcome {
  const parsed = parsedReview(body, opts.nestingBound);
  if (!isParsedReview(parsed)) return { result: { statusCode: 400, body: parsed } };
  const { apiVersion, request } = parsed;
  const uid = request.uid;
  let evaluation: Evaluation | undefined;
  let response: AdmissionResponse;
  try {
    const input = evaluationInput(parsed, opts);
    if (request.operation === 'DELETE' || request.operation === 'CONNECT') {
      evaluation = policies.evaluate(objectlessTarget(parsed, input), input);
      response = withWarnings(evaluation.denials.length > 0 ? { uid, allowed: false, status: denialStatus(evaluation) } : { uid, allowed: true }, evaluation.warnings);
    } else {
      const object = withoutManagedFields(request.object as KubeObject);
      evaluation = policies.evaluate(object, input);
      response = decide(parsed, input, object, evaluation);
    }
  } catch (err) {
    response = errorResponse(uid, err);
  }
  return { result: { statusCode: 200, body: { apiVersion, kind: 'AdmissionReview', response } }, evaluation };
}

/**
 * The response for a review whose evaluation failed unexpectedly: denied,
 * `status.code` 500, the error's message (cut to 512 characters).
 */
export function errorResponse(uid: string, err: unknown): AdmissionResponse {
  const text = err instanceof Error ? err.message : String(err);
  const message = errorMessage('ERR_EVALUATION_FAILED', text).slice(0, MAX_ERROR_MESSAGE);
  return { uid, allowed: false, status: { status: 'Failure', code: 500, reason: 'InternalError', message } };
}

/** The response to an evaluated CREATE or UPDATE (`object`: the request's, without managedFields; `input`: its evaluation's). */
function decide(parsed: ParsedReview, input: EvaluationInput, object: KubeObject, result: Evaluation): AdmissionResponse {
  const uid = parsed.request.uid;
  // The evaluation's list itself while nothing is added (withWarnings copies what it keeps).
  let warnings: readonly string[] = result.warnings;
  if (result.denials.length > 0) return withWarnings({ uid, allowed: false, status: denialStatus(result) }, warnings);
  if (input.validateOnly === true) return withWarnings({ uid, allowed: true }, warnings);
  let mutated = object;
  if (result.object === null) {
    warnings = [...warnings, `${describe(parsed)}: deleting the object is not possible at admission; policies ignored (${policyList(result)})`];
  } else if (result.object !== object) {
    mutated = withoutManagedFields(result.object);
    if (parsed.request.operation === 'UPDATE') {
      const kind = parsed.request.kind ?? { group: '', kind: typeof object.kind === 'string' ? object.kind : '' };
      const r = revertImmutableFields(kind, object, mutated, input.oldObject);
      mutated = r.object;
      if (r.reverted.length > 0) warnings = [...warnings, ...r.reverted.map((f) => `${f.field}: immutable on UPDATE, change by ${changers(result, kind, f.field)} not applied`)];
    }
  }
  // equal content gives an empty patch (createPatch compares values)
  return withWarnings(patchResponse(uid, object, mutated), warnings);
}

/**
 * What a DELETE or CONNECT request is matched on (objectSelector, a
 * Namespace's own labels, the default kind index): on DELETE the stored
 * object (`oldObject`, which the API server sends since 1.15; the policies'
 * CEL sees `object` null: admission-policy.ts), on CONNECT the options object
 * (`object`, e.g. PodExecOptions), as object/matcher.go
 * `MatchObjectSelector` reads `object` or `oldObject`. When the request has
 * neither, an object of `request.kind` with the request's name.
 */
function objectlessTarget(parsed: ParsedReview, input: EvaluationInput): KubeObject {
  const { request } = parsed;
  const given = request.operation === 'DELETE' ? input.oldObject : request.object ?? undefined;
  if (given) return given;
  const k = request.kind ?? { group: '', version: '', kind: '' };
  const apiVersion = k.group ? `${k.group}/${k.version}` : k.version;
  return { apiVersion, kind: k.kind, metadata: { name: request.name ?? '', ...(request.namespace ? { namespace: request.namespace } : {}) } };
}

/** The evaluation input of an admission request (old object without managedFields). */
function evaluationInput(parsed: ParsedReview, opts: ReviewOptions): EvaluationInput {
  const { request } = parsed;
  const namespace = request.namespace ?? '';
  return {
    frontDoor: 'admission',
    operation: request.operation,
    namespace,
    oldObject: request.oldObject ? withoutManagedFields(request.oldObject) : undefined,
    subResource: request.subResource ?? '',
    namespaceLabels: namespace && opts.namespaceLabels ? opts.namespaceLabels(namespace) : undefined,
    request: parsed.raw,
    validateOnly: opts.route === 'validate',
    deadline: opts.deadline,
    now: opts.now,
  };
}

/** An allowing response, with the JSON patch from `object` to `mutated` when they differ. */
function patchResponse(uid: string, object: KubeObject, mutated: KubeObject): AdmissionResponse {
  const ops = mutated === object ? [] : createPatch(object, mutated);
  const response: AdmissionResponse = { uid, allowed: true };
  if (ops.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = lastPatch = patchBase64(ops);
  }
  return response;
}

/**
 * `base64Utf8(JSON.stringify(ops))`, the answer's `patch`. The last
 * operations and their text are remembered: the Pods of one template get the
 * same patch (the same labels, annotations, images and fields), and comparing
 * the operations costs less than writing them (~0.4 against ~1.4 µs for
 * chain10's 8). One entry, of at most `PATCH_MEMO_MAX_CHARS` characters of
 * base64 (a larger patch empties it). The comparison is exact (`sameJson`:
 * values, types, and keys in order), so the text is what JSON.stringify writes.
 */
export function patchBase64(ops: readonly Operation[]): string {
  if (memoOps !== undefined && sameOperations(ops, memoOps)) return memoText;
  const text = base64Utf8(JSON.stringify(ops));
  const keep = text.length <= PATCH_MEMO_MAX_CHARS;
  memoOps = keep ? ops : undefined;
  memoText = keep ? text : '';
  return text;
}

/** The operations of the last patch `patchBase64` wrote, and their text (see there). */
let memoOps: readonly Operation[] | undefined;
let memoText = '';
/** The largest patch text `patchBase64` remembers (characters of base64; 64 KiB: ~48 KiB of JSON). */
export const PATCH_MEMO_MAX_CHARS = 64 * 1024;

/** The length of the patch text `patchBase64` remembers (0: none), for the tests of its bound. */
export function patchMemoChars(): number {
  return memoText.length;
}

/** True when `a` and `b` are the same operations: op, path and value (`sameJson`), in order. */
function sameOperations(a: readonly Operation[], b: readonly Operation[]): boolean {
  if (a.length !== b.length) return false;
  entryTop = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Operation;
    const y = b[i] as Operation;
    if (x.op !== y.op || x.path !== y.path) return false;
    if (x.op !== 'remove' && !sameJson(x.value, (y as { value: JsonValue }).value)) return false;
  }
  return true;
}

/**
 * True when `JSON.stringify` writes `a` and `b` the same way, for JSON values
 * as `createPatch` copies them (plain maps and lists, no `undefined`): equal
 * primitives (0 and -0 both write `0`), lists of such items, maps with the
 * same keys in the same order and such values.
 */
function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const list = Array.isArray(a);
  if (list !== Array.isArray(b)) return false;
  return list ? sameItems(a, b as JsonValue[]) : sameEntries(a as JsonObject, b as JsonObject);
}

function sameItems(a: readonly JsonValue[], b: readonly JsonValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameJson(a[i] as JsonValue, b[i] as JsonValue)) return false;
  return true;
}

/**
 * True when `a` and `b` have the same own keys in the same order and
 * `sameJson` values: `Object.keys` of both compared, without making the
 * lists. `b`'s keys are put on `entryKeys` above the maps being compared
 * around it (a stack: a nested map's keys go above and are gone when it is
 * done), then `a`'s are walked against them. `for...in` visits own keys first,
 * in `Object.keys` order, then inherited ones, which the own-key test leaves out.
 */
function sameEntries(a: JsonObject, b: JsonObject): boolean {
  const base = entryTop;
  for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k)) entryKeys[entryTop++] = k;
  const nb = entryTop - base;
  let i = 0;
  let same = true;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    if (i >= nb || k !== entryKeys[base + i] || !sameJson(a[k] as JsonValue, b[k] as JsonValue)) {
      same = false;
      break;
    }
    i++;
  }
  entryTop = base;
  return same && i === nb;
}

/**
 * The key stack of `sameEntries`, and its height. It holds keys of the
 * remembered patch's maps (at most PATCH_MEMO_MAX_CHARS of text: bounded),
 * key strings only; `sameOperations` starts it empty.
 */
const entryKeys: string[] = [];
let entryTop = 0;

/**
 * The `patch` of the last answer built here: base64 text, so a string equal to
 * it needs no JSON escapes (`answerJson`). Only ever compared, never trusted
 * for anything else; a later review replaces it.
 */
let lastPatch: string | undefined;

/**
 * `JSON.stringify(body)`, written directly for the common answer: an
 * AdmissionReview whose response has exactly `uid`, `allowed` and, optionally,
 * `patchType: 'JSONPatch'` and a `patch` equal to the last one `review` built
 * (base64: no character to escape). Saves JSON.stringify's escape scan of
 * the patch (~1 µs for chain10's 1,068 characters). Any other value, or an
 * answer changed after `review` returned it, goes through `JSON.stringify`,
 * so the text is the same byte for byte. The server's reply serializer.
 */
export function answerJson(body: unknown): string {
  const text = isObject(body) ? commonAnswerJson(body) : undefined;
  return text ?? JSON.stringify(body);
}

/** Keys of the answers `answerJson` writes itself, in `JSON.stringify`'s (insertion) order. */
const REVIEW_KEYS = ['apiVersion', 'kind', 'response'] as const;

/**
 * The text of a common answer up to its uid's JSON, per apiVersion: constant
 * strings, so an answer is four pieces or six (a rope of three or five
 * concatenations, against nine when each member was joined on its own).
 */
const ANSWER_HEADS: Readonly<Record<string, string>> = {
  'admission.k8s.io/v1': '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":',
  'admission.k8s.io/v1beta1': '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"uid":',
};

function commonAnswerJson(body: JsonObject): string | undefined {
  if (!sameKeys(body, REVIEW_KEYS) || body.kind !== 'AdmissionReview') return undefined;
  const { apiVersion, response } = body;
  if (apiVersion !== 'admission.k8s.io/v1' && apiVersion !== 'admission.k8s.io/v1beta1') return undefined;
  return isObject(response) ? responseJson(ANSWER_HEADS[apiVersion] as string, response) : undefined;
}

/** `head` followed by the response's members and the closing braces, for a response of one of the two common shapes; undefined for any other. */
function responseJson(head: string, response: JsonObject): string | undefined {
  const { uid, allowed, patch } = response;
  if (typeof uid !== 'string' || typeof allowed !== 'boolean') return undefined;
  if (patch === undefined) {
    if (!sameKeys(response, ALLOWED_KEYS)) return undefined;
    return head + JSON.stringify(uid) + (allowed ? ',"allowed":true}}' : ',"allowed":false}}');
  }
  if (patch !== lastPatch || response.patchType !== 'JSONPatch' || !sameKeys(response, PATCH_KEYS)) return undefined;
  return head + JSON.stringify(uid) + (allowed ? ',"allowed":true,"patchType":"JSONPatch","patch":"' : ',"allowed":false,"patchType":"JSONPatch","patch":"') + patch + '"}}';
}

/** Keys of a response without a patch, and with one. */
const ALLOWED_KEYS = ['uid', 'allowed'] as const;
const PATCH_KEYS = ['uid', 'allowed', 'patchType', 'patch'] as const;

/**
 * True when `obj`'s own enumerable keys are `keys`, in order: `Object.keys(obj)`
 * compared without making the list. `for...in` visits own keys first, in
 * `Object.keys`'s order, then inherited enumerable ones, which the own-key
 * test leaves out.
 */
function sameKeys(obj: JsonObject, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    if (n >= keys.length || k !== keys[n]) return false;
    n++;
  }
  return n === keys.length;
}

/**
 * Base64 of the UTF-8 bytes of `text`, as `Buffer.from(text, 'utf8').toString('base64')`.
 * An ASCII text (its UTF-8 length is its length: every other character takes
 * 2 or more bytes for one UTF-16 unit) is its own Latin-1 bytes, which `btoa`
 * encodes without a buffer: about 4x cheaper on a patch of a few hundred bytes.
 */
export function base64Utf8(text: string): string {
  return Buffer.byteLength(text, 'utf8') === text.length ? btoa(text) : Buffer.from(text, 'utf8').toString('base64');
}

/**
 * `policy/transformer` of the transformers whose own step changed `field`
 * (DESIGN.md: the warning names policy, transformer and field), read from the
 * evaluation's trace; the matched policies when no step can be named (an
 * evaluation without a trace).
 */
function changers(result: Evaluation, kind: { group: string; kind: string }, field: string): string {
  const names = appliedSteps(result)
    .filter(({ step }) => step.after !== null && immutableFieldDiffers(kind, field, step.before, step.after))
    .map((s) => s.name);
  return names.length > 0 ? [...new Set(names)].join(', ') : policyList(result);
}

function policyList(result: Evaluation): string {
  return result.matchedPolicies.length > 0 ? `policy ${result.matchedPolicies.join(', ')}` : 'policies';
}

function describe(parsed: ParsedReview): string {
  const kind = parsed.request.kind?.kind ?? '';
  const name = parsed.request.name || (parsed.request.object ? metaString(parsed.request.object, 'name') : '');
  return `${kind} ${parsed.request.namespace ? `${parsed.request.namespace}/` : ''}${name}`.trim();
}

/**
 * The refusal's status: every denial's message; the code and reason of the
 * first denial (Denial.status: a ValidatingAdmissionPolicy's validation
 * `reason`, as the API server answers with its first denied decision's),
 * else 403 Forbidden.
 */
function denialStatus(result: Evaluation): AdmissionResponse['status'] {
  const message = result.denials.map((d) => `policy ${d.policy} rule ${d.rule}: ${d.message}`).join('; ');
  const first = result.denials[0]?.status;
  return { status: 'Failure', code: first?.code ?? 403, reason: first?.reason ?? 'Forbidden', message };
}

function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  if (warnings.length === 0) return response;
  const w = normalizeWarnings(warnings);
  if (w.length > 0) response.warnings = w;
  return response;
}

/**
 * A shallow copy of `obj` without `metadata.managedFields` (the object itself
 * when it has none). Nested values are shared, not copied.
 */
export function withoutManagedFields(obj: KubeObject): KubeObject {
  const md = obj.metadata;
  if (!isObject(md) || !('managedFields' in md)) return obj;
  const { managedFields: _dropped, ...rest } = md as JsonObject;
  void _dropped;
  return { ...obj, metadata: rest };
}
