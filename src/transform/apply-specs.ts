/**
 * Field-spec application for transformers (labels, annotations, namespace,
 * replicas, images): src/kube/fieldspecs.ts's `applyFieldSpecs`, compiled
 * once per transformer (src/kube/fieldspec-program.ts), with its
 * FieldSpecError turned into a TransformError.
 */
import { compileFieldSpecs, type FieldSpecProgram } from '../kube/fieldspec-program.js';
import { applyFieldSpecs, FieldSpecError, type CreateKind, type FieldSetter, type FieldSpec } from '../kube/fieldspecs.js';
import type { KubeObject } from '../kube/object.js';
import { TransformError } from './types.js';

/**
 * Applies a set of field specs with a setter, turning FieldSpecError into a
 * TransformError (kustomize fails the build when a path crosses a scalar).
 * The reference of `specProgram`.
 */
export function applySpecs(obj: KubeObject, specs: readonly FieldSpec[], kind: CreateKind, set: FieldSetter): KubeObject {
  return asTransformError(() => applyFieldSpecs(obj, specs, kind, set));
}

/**
 * `applySpecs` compiled once: `specProgram(specs, kind, set)(obj)` returns
 * what `applySpecs(obj, specs, kind, set)` returns and throws what it throws.
 */
export function specProgram(specs: readonly FieldSpec[], kind: CreateKind, set: FieldSetter): (obj: KubeObject) => KubeObject {
  const program: FieldSpecProgram = compileFieldSpecs(specs, kind, set);
  return (obj) => {
    try {
      return program.apply(obj);
    } catch (e) {
      throw transformError(e);
    }
  };
}

function asTransformError(fn: () => KubeObject): KubeObject {
  try {
    return fn();
  } catch (e) {
    throw transformError(e);
  }
}

function transformError(e: unknown): unknown {
  return e instanceof FieldSpecError ? new TransformError(e.message, e.path) : e;
}
