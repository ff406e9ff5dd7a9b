/**
 * Decoding an AdmissionReview request body: the line between a transport error
 * (HTTP 400, no AdmissionReview: the API server could not use one without a
 * uid anyway) and a well-formed review (always HTTP 200 with an AdmissionReview).
 */
import { isObject } from '../kube/object.js';
import type { JsonObject } from '../kube/object.js';
import type { Operation } from '../transform/types.js';
import { ADMISSION_API_VERSIONS, OPERATIONS } from './types.js';
import type { AdmissionApiVersion, ParsedReview, ReviewError } from './types.js';

/**
 * Parses an already JSON-decoded body. Returns `{ok: true, review}` or
 * `{ok: false, error}` with a stable code and a reason naming the offending
 * field (never its content). Checks: a map; `apiVersion` one of
 * `admission.k8s.io/v1|v1beta1`; `kind: AdmissionReview`; `request` a map with a
 * non-empty string `uid` and a known `operation`; `request.object` and
 * `request.oldObject` absent, null or maps, and `object` a map for CREATE/UPDATE;
 * neither nesting deeper than `MAX_NESTING_DEPTH` (`ERR_TOO_DEEP`).
 *
 * `nestingBound`: an upper bound on the nesting depth of the whole body that
 * the caller proved from the text it parsed (`jsonNestingBound` of its bytes;
 * the server passes it). When it is at most `MAX_NESTING_DEPTH`, no field can
 * nest deeper and the walk of the parsed fields is skipped; otherwise (or
 * absent) they are walked. A bound that is not one lets a too-deep review
 * through to the policies: only pass what `jsonNestingBound` returned for the
 * bytes `body` was parsed from.
 */
export function parseReview(body: unknown, nestingBound = Infinity): { ok: true; review: ParsedReview } | { ok: false; error: ReviewError } {
  const r = parsedReview(body, nestingBound);
  return isParsedReview(r) ? { ok: true, review: r } : { ok: false, error: r };
}

/** True for `parsedReview`'s review, false for its error: a ParsedReview has an own `request`, a ReviewError none. */
export function isParsedReview(r: ParsedReview | ReviewError): r is ParsedReview {
  return Object.prototype.hasOwnProperty.call(r, 'request');
}

/** `parseReview`'s review or error itself, without the record around it (review's hot path); `isParsedReview` tells them apart. */
export function parsedReview(body: unknown, nestingBound = Infinity): ParsedReview | ReviewError {
  const error = isObject(body) ? envelopeError(body) ?? requestError(body.request, nestingBound <= MAX_NESTING_DEPTH) : reviewError('ERR_NOT_OBJECT', 'body is not a JSON object');
  if (error) return error;
  const req = (body as JsonObject).request as JsonObject;
  const op = req.operation as Operation;
  return { apiVersion: (body as JsonObject).apiVersion as AdmissionApiVersion, request: toRequest(req, op), raw: req };
}

function reviewError(code: ReviewError['code'], message: string): ReviewError {
  return { code, message };
}

/** The review's `apiVersion` and `kind`. */
function envelopeError(body: JsonObject): ReviewError | undefined {
  const apiVersion = body.apiVersion;
  if (typeof apiVersion !== 'string' || !isAdmissionApiVersion(apiVersion)) {
    return reviewError('ERR_API_VERSION', `apiVersion must be one of ${ADMISSION_API_VERSIONS.join(', ')}`);
  }
  if (body.kind !== 'AdmissionReview') return reviewError('ERR_KIND', 'kind must be AdmissionReview');
  return undefined;
}

/** The review's `request`: a map, its uid, operation, objects and nesting (not walked when `shallow`: the body's text proved it). */
function requestError(req: unknown, shallow: boolean): ReviewError | undefined {
  if (!isObject(req)) return reviewError('ERR_NO_REQUEST', 'request is missing or not an object');
  if (typeof req.uid !== 'string' || req.uid === '') return reviewError('ERR_NO_UID', 'request.uid is missing or not a non-empty string');
  const op = req.operation;
  if (typeof op !== 'string' || !isOperation(op)) {
    return reviewError('ERR_OPERATION', `request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const objErr = checkObjects(req, op as Operation);
  if (objErr) return reviewError('ERR_OBJECT_NOT_MAP', objErr);
  if (shallow) return undefined;
  for (const f of DEPTH_FIELDS) {
    if (nestingDepth(req[f], MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH) return reviewError('ERR_TOO_DEEP', `request.${f} nests deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  return undefined;
}

/** The request fields whose nesting `requestError` bounds, in the order it walks them. */
/**
 * True when `v` is one of ADMISSION_API_VERSIONS: the same answer as
 * `ADMISSION_API_VERSIONS.includes(v)`, by comparisons with the constants
 * (the list's `includes` is a generic builtin call on every review).
 */
export function isAdmissionApiVersion(v: string): boolean {
  return v === 'admission.k8s.io/v1' || v === 'admission.k8s.io/v1beta1';
}

/** True when `v` is one of OPERATIONS (as `OPERATIONS.includes(v)`; see isAdmissionApiVersion). */
export function isOperation(v: string): boolean {
  return v === 'CREATE' || v === 'UPDATE' || v === 'DELETE' || v === 'CONNECT';
}

const DEPTH_FIELDS = ['object', 'oldObject', 'options', 'userInfo'] as const;

/**
 * Most levels of maps and lists an object may nest (the object itself is level
 * 1). Real objects nest a few dozen levels (a CRD's openAPIV3Schema ~40);
 * past this a review is refused with `ERR_TOO_DEEP` before any policy runs, so
 * a recursive transformer or CEL walk can never run out of stack and blame a
 * rule. (The API server caps JSON nesting at 10,000 when decoding; we cap lower
 * since no legitimate object comes near.)
 */
export const MAX_NESTING_DEPTH = 1000;

/**
 * Nesting depth of a JSON value (scalars 0, `{}` 1, `{a: {}}` 2); stops once
 * past `limit` (then returns `limit + 1`). It runs on every review, over
 * object and oldObject, so it has two walks with the same answer: a plain
 * recursive walk for small objects (cheapest per node: a Pod review's walk
 * takes about half the time), given up after RECURSIVE_BUDGET containers or
 * RECURSIVE_LEVELS levels, and then a walk without recursion (two parallel
 * stacks, no record per node; faster on large objects such as a 1 MiB CRD,
 * and safe for the stack at any depth and limit).
 */
export function nestingDepth(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  const d = depthOf(value, 1, { limit, left: RECURSIVE_BUDGET });
  return d >= 0 ? d : stackDepth(value, limit);
}

/** Containers the recursive walk visits before it hands over to `stackDepth`. */
const RECURSIVE_BUDGET = 512;

/** Levels the recursive walk descends before it hands over (a few dozen frames: safe under coverage too). */
const RECURSIVE_LEVELS = 64;

/** The recursive walk's bound (`limit`) and the containers it may still visit (`left`). */
interface DepthWalk {
  readonly limit: number;
  left: number;
}

/** Depth of the container `v` found at depth `d`, stopping past `w.limit`; -1 when the budget or the levels ran out. */
function depthOf(v: object, d: number, w: DepthWalk): number {
  if (d > w.limit) return d;
  if (d >= RECURSIVE_LEVELS || --w.left < 0) return -1;
  let max = d;
  const children = Array.isArray(v) ? (v as unknown[]) : undefined;
  if (children) {
    for (let i = 0; i < children.length && !settled(max, w.limit); i++) max = deeper(max, children[i], d, w);
    return max;
  }
  for (const k in v) {
    max = deeper(max, (v as Record<string, unknown>)[k], d, w);
    if (settled(max, w.limit)) break;
  }
  return max;
}

/** The recursive walk gave up (-1) or found a depth past `limit`: nothing more to visit. */
function settled(max: number, limit: number): boolean {
  return max < 0 || max > limit;
}

/** `max` updated with the depth under the child `c` of a container at depth `d` (-1: the recursive walk gave up). */
function deeper(max: number, c: unknown, d: number, w: DepthWalk): number {
  if (typeof c !== 'object' || c === null) return max;
  const m = depthOf(c, d + 1, w);
  return m < 0 || m > max ? m : max;
}

/** `nestingDepth` without recursion: two parallel stacks of containers and their depths. */
function stackDepth(value: object, limit: number): number {
  const values: object[] = [value];
  const depths: number[] = [1];
  let max = 0;
  while (values.length > 0) {
    const v = values.pop() as object;
    const d = depths.pop() as number;
    if (d > max) max = d;
    if (max > limit) return max;
    pushChildren(v, d + 1, values, depths);
  }
  return max;
}

/** Pushes the maps and lists directly under `v` with depth `d`. */
function pushChildren(v: object, d: number, values: object[], depths: number[]): void {
  if (Array.isArray(v)) {
    for (const c of v as unknown[]) {
      if (typeof c === 'object' && c !== null) values.push(c), depths.push(d);
    }
    return;
  }
  for (const k in v) {
    const c = (v as Record<string, unknown>)[k];
    if (typeof c === 'object' && c !== null) values.push(c), depths.push(d);
  }
}

function checkObjects(req: JsonObject, op: Operation): string | undefined {
  if (!objectOrNone(req.object)) return 'request.object is not an object';
  if (!objectOrNone(req.oldObject)) return 'request.oldObject is not an object';
  if ((op === 'CREATE' || op === 'UPDATE') && !isObject(req.object)) return `request.object must be an object for ${op}`;
  return undefined;
}

/** True for a map, null or undefined (an absent object). */
function objectOrNone(v: unknown): boolean {
  return v === undefined || v === null || isObject(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function toRequest(req: JsonObject, operation: Operation): ParsedReview['request'] {
  const kind = isObject(req.kind)
    ? { group: str(req.kind.group) ?? '', version: str(req.kind.version) ?? '', kind: str(req.kind.kind) ?? '' }
    : undefined;
  return {
    uid: req.uid as string,
    kind,
    subResource: str(req.subResource),
    name: str(req.name),
    namespace: str(req.namespace),
    operation,
    object: isObject(req.object) ? req.object : null,
    oldObject: isObject(req.oldObject) ? req.oldObject : null,
    dryRun: req.dryRun === true,
  };
}
