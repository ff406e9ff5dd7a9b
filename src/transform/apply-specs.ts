/**
 * Field-spec application for transformers (labels, annotations, namespace,
 * replicas, images): src/kube/fieldspecs.ts's `applyFieldSpecs` with its
 * FieldSpecError turned into a TransformError.
 */
import { applyFieldSpecs, FieldSpecError, type CreateKind, type FieldSetter, type FieldSpec } from '../kube/fieldspecs.js';
import type { KubeObject } from '../kube/object.js';
import { TransformError } from './types.js';

/**
 * Applies a set of field specs with a setter, turning FieldSpecError into a
 * TransformError (kustomize fails the build when a path crosses a scalar).
 */
export function applySpecs(obj: KubeObject, specs: readonly FieldSpec[], kind: CreateKind, set: FieldSetter): KubeObject {
  try {
    return applyFieldSpecs(obj, specs, kind, set);
  } catch (e) {
    if (e instanceof FieldSpecError) throw new TransformError(e.message, e.path);
    throw e;
  }
}
