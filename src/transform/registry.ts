/**
 * Transformer types by name: the built-ins, plus any a team registers through
 * the SDK. A registry is a plain value passed to the policy compiler (no
 * module-level singleton), so tests and embedders can build their own.
 */
import type { TransformerFactory } from './types.js';
import { patchTransformer } from './patch.js';
import { imagesTransformer } from './images.js';
import { labelsTransformer, commonLabelsTransformer } from './labels.js';
import { annotationsTransformer } from './annotations.js';
import { replicasTransformer } from './replicas.js';
import { namespaceTransformer } from './namespace.js';
import { sidecarTransformer } from './sidecar.js';
import { validateTransformer } from './validate.js';
import { assignTransformer } from './assign.js';

/** A map from transformer type (the key in a policy's `transformers` entry) to its factory. */
export class TransformerRegistry {
  private readonly factories = new Map<string, TransformerFactory>();

  /** Registers (or replaces) a transformer type. Returns this registry. */
  register(type: string, factory: TransformerFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  /** The factory for `type`, or undefined. */
  get(type: string): TransformerFactory | undefined {
    return this.factories.get(type);
  }

  /** Registered type names, in registration order. */
  types(): string[] {
    return [...this.factories.keys()];
  }
}

/** A new registry holding every built-in transformer type. */
export function builtinRegistry(): TransformerRegistry {
  return new TransformerRegistry()
    .register('patch', patchTransformer)
    .register('images', imagesTransformer)
    .register('labels', labelsTransformer)
    .register('commonLabels', commonLabelsTransformer)
    .register('annotations', annotationsTransformer)
    .register('replicas', replicasTransformer)
    .register('namespace', namespaceTransformer)
    .register('sidecar', sidecarTransformer)
    .register('validate', validateTransformer)
    .register('assign', assignTransformer);
}
