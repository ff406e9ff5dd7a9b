/**
 * AdmissionReview wire types (`admission.k8s.io/v1`; `v1beta1` has the same
 * shape and is answered in kind). Only the fields this webhook reads or writes
 * are typed; everything else passes through untouched as JSON.
 *
 * Source: k8s.io/api/admission/v1/types.go and
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
 */
import type { JsonObject, KubeObject } from '../kube/object.js';
import type { Operation } from '../transform/types.js';

/** The two AdmissionReview versions the API server may send (`admissionReviewVersions`). */
export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

/** `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`. */
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

/** The four admission operations. */
export const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** metav1.GroupVersionKind as sent in `request.kind`. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The request part of an AdmissionReview (fields we use; the rest is kept in `raw`). */
export interface AdmissionRequest {
  /** Opaque request id; must be echoed in the response. */
  uid: string;
  kind?: GroupVersionKind;
  subResource?: string;
  name?: string;
  /** The effective namespace ('' or absent for cluster-scoped resources). */
  namespace?: string;
  operation: Operation;
  /** The new object; null for DELETE. */
  object?: KubeObject | null;
  /** The stored object; set for UPDATE and DELETE. */
  oldObject?: KubeObject | null;
  dryRun?: boolean;
}

/** A parsed AdmissionReview: its version, the typed request and the request exactly as received. */
export interface ParsedReview {
  apiVersion: AdmissionApiVersion;
  request: AdmissionRequest;
  /** `request` exactly as received (for CEL `request`). */
  raw: JsonObject;
}

/**
 * metav1.Status as carried in `response.status` (the API server shows `message`
 * to the client and uses `code` as the HTTP status of the refusal).
 */
export interface AdmissionStatus {
  status?: 'Success' | 'Failure';
  code?: number;
  reason?: string;
  message?: string;
}

/** The response part of an AdmissionReview. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** Always `JSONPatch` when `patch` is set (the only type the API server accepts). */
  patchType?: 'JSONPatch';
  /** Base64 (standard encoding, padded) of the RFC 6902 patch JSON. */
  patch?: string;
  /** Shown by kubectl as `Warning: ...`. */
  warnings?: string[];
}

/** A response AdmissionReview. */
export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** The body of a 400 answer: a stable code and a reason (no object content). */
export interface ReviewError {
  code: ReviewErrorCode;
  message: string;
}

/** Stable codes of the 400 answers of `review` (registered in `src/errors.ts`, documented in docs/errors.md). */
export type ReviewErrorCode =
  | 'ERR_NOT_OBJECT'
  | 'ERR_API_VERSION'
  | 'ERR_KIND'
  | 'ERR_NO_REQUEST'
  | 'ERR_NO_UID'
  | 'ERR_OPERATION'
  | 'ERR_OBJECT_NOT_MAP'
  | 'ERR_TOO_DEEP';

/** What `review` returns: HTTP status and body to send as JSON. */
export type ReviewResult =
  | { statusCode: 200; body: AdmissionReviewResponse }
  | { statusCode: 400; body: ReviewError };
