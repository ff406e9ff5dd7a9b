/**
 * Test helpers for the admission front door: the AdmissionReview the API
 * server would send, and the object it would store after applying our patch
 * (fast-json-patch with validation, as strict as evanphx/json-patch).
 */
import fjp from 'fast-json-patch';
import { gvkOf, isObject, type JsonObject } from '../../src/kube/object.js';

/** Options of `createReview`. */
export interface ReviewRequestOptions {
  namespace?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  oldObject?: JsonObject;
  userInfo?: JsonObject;
}

/** An AdmissionReview v1 request for `obj` (namespace default: the object's own). */
export function createReview(obj: JsonObject, uid: string, opts: ReviewRequestOptions = {}): JsonObject {
  const g = gvkOf(obj);
  const md = isObject(obj.metadata) ? obj.metadata : {};
  const request: JsonObject = {
    uid,
    kind: { group: g.group, version: g.version, kind: g.kind },
    resource: { group: g.group, version: g.version, resource: `${g.kind.toLowerCase()}s` },
    name: typeof md.name === 'string' ? md.name : '',
    namespace: opts.namespace ?? (typeof md.namespace === 'string' ? md.namespace : ''),
    operation: opts.operation ?? 'CREATE',
    userInfo: opts.userInfo ?? { username: 'alice', groups: ['system:authenticated'] },
    object: obj,
    dryRun: false,
  };
  if (opts.oldObject) request.oldObject = opts.oldObject;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** The response of a review body, and the object after applying its patch as the API server does. Throws on a bad patchType or a patch that does not apply. */
export function admit(obj: JsonObject, body: unknown): { response: JsonObject; admitted: JsonObject } {
  const response = (body as JsonObject).response as JsonObject;
  if (!response.patch) return { response, admitted: obj };
  if (response.patchType !== 'JSONPatch') throw new Error(`patchType ${String(response.patchType)}`);
  const ops = JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8'));
  return { response, admitted: fjp.applyPatch(structuredClone(obj), ops, true, false).newDocument as JsonObject };
}

/** A copy without an empty or null top-level `metadata.annotations`, which `run` drops (kustomize's output rule). */
export function withoutEmptyAnnotations(o: JsonObject): JsonObject {
  const c = structuredClone(o);
  const m = c.metadata;
  if (isObject(m) && (m.annotations === null || (isObject(m.annotations) && Object.keys(m.annotations).length === 0))) delete m.annotations;
  return c;
}
