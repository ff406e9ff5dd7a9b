/**
 * Field-spec application for transformers (labels, annotations, namespace,
 * replicas, images): src/kube/fieldspecs.ts's `applyFieldSpecs`, compiled
 * once per transformer (src/kube/fieldspec-program.ts, whose reference it
 * is), with its FieldSpecError turned into a TransformError.
 */
import { compileFieldSpecs, type FieldSpecProgram } from '../kube/fieldspec-program.js';
import { FieldSpecError, type CreateKind, type FieldSetter, type FieldSpec } from '../kube/fieldspecs.js';
import type { KubeObject } from '../kube/object.js';
import { TransformError } from './types.js';

/**
 * The field specs compiled once: `specProgram(specs, kind, set)(obj)` returns
 * what `applyFieldSpecs(obj, specs, kind, set)` returns, and throws its
 * FieldSpecError as a TransformError (kustomize fails the build when a path
 * crosses a scalar).
 */
export function specProgram(specs: readonly FieldSpec[], kind: CreateKind, set: FieldSetter): (obj: KubeObject) => KubeObject {
  const program: FieldSpecProgram = compileFieldSpecs(specs, kind, set);
  return (obj) => {
    try {
      return program.apply(obj);
    } catch (e) {
      throw e instanceof FieldSpecError ? new TransformError(e.message, e.path) : e;
    }
  };
}
