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
 * `request.oldObject` absent, null or maps, and `object` a map for CREATE/UPDATE.
 */
export function parseReview(body: unknown): { ok: true; review: ParsedReview } | { ok: false; error: ReviewError } {
  const fail = (code: ReviewError['code'], message: string): { ok: false; error: ReviewError } => ({ ok: false, error: { code, message } });
  if (!isObject(body)) return fail('ERR_NOT_OBJECT', 'body is not a JSON object');
  const apiVersion = body.apiVersion;
  if (typeof apiVersion !== 'string' || !(ADMISSION_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    return fail('ERR_API_VERSION', `apiVersion must be one of ${ADMISSION_API_VERSIONS.join(', ')}`);
  }
  if (body.kind !== 'AdmissionReview') return fail('ERR_KIND', 'kind must be AdmissionReview');
  const req = body.request;
  if (!isObject(req)) return fail('ERR_NO_REQUEST', 'request is missing or not an object');
  if (typeof req.uid !== 'string' || req.uid === '') return fail('ERR_NO_UID', 'request.uid is missing or not a non-empty string');
  const op = req.operation;
  if (typeof op !== 'string' || !(OPERATIONS as readonly string[]).includes(op)) {
    return fail('ERR_OPERATION', `request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const objErr = checkObjects(req, op as Operation);
  if (objErr) return fail('ERR_OBJECT_NOT_MAP', objErr);
  return { ok: true, review: { apiVersion: apiVersion as AdmissionApiVersion, request: toRequest(req, op as Operation), raw: req } };
}

function checkObjects(req: JsonObject, op: Operation): string | undefined {
  for (const field of ['object', 'oldObject'] as const) {
    const v = req[field];
    if (v !== undefined && v !== null && !isObject(v)) return `request.${field} is not an object`;
  }
  if ((op === 'CREATE' || op === 'UPDATE') && !isObject(req.object)) return `request.object must be an object for ${op}`;
  return undefined;
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
