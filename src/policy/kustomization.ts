/**
 * A kustomize `Kustomization` accepted as a policy: its transform fields become
 * one policy whose chain runs in kustomize's own fixed order (api/krusty
 * kusttarget.go, conformance finding 32):
 *
 *   patchesStrategicMerge -> patches -> namespace -> labels[] -> commonLabels
 *   -> commonAnnotations -> patchesJson6902 -> replicas -> images
 *
 * `resources` is ignored (stdin or the admitted object is the input).
 * Generators and cross-object transforms are a clear error naming the field.
 * Decoding is strict like kustomize's: unknown fields are errors (finding 40).
 */
import { isObject } from '../kube/object.js';
import { ConfigError, type FactoryOptions, type Transformer, type TransformerFactory } from '../transform/types.js';
import { patchTransformer, patchesJson6902Transformer, patchesStrategicMergeTransformer } from '../transform/patch.js';
import { imagesTransformer } from '../transform/images.js';
import { commonLabelsTransformer, labelsTransformer } from '../transform/labels.js';
import { annotationsTransformer } from '../transform/annotations.js';
import { replicasTransformer } from '../transform/replicas.js';
import { namespaceTransformer } from '../transform/namespace.js';
import { PolicyError, toPolicyError, type CompiledPolicy, type PolicySource } from './compile.js';

/** Kustomization fields that are accepted and ignored. */
const IGNORED = new Set(['apiVersion', 'kind', 'metadata', 'resources', 'bases', 'sortOptions', 'buildMetadata', 'openapi']);

/** Kustomization fields kustomize has but a one-object-at-a-time post-renderer cannot honour. */
const UNSUPPORTED: Record<string, string> = {
  namePrefix: 'renames objects (cross-object name references)',
  nameSuffix: 'renames objects (cross-object name references)',
  configMapGenerator: 'generates objects',
  secretGenerator: 'generates objects',
  generatorOptions: 'configures generators',
  generators: 'runs generator plugins',
  transformers: 'runs transformer plugins',
  validators: 'runs validator plugins',
  components: 'includes components',
  crds: 'loads CRD schemas',
  helmCharts: 'inflates Helm charts',
  helmGlobals: 'inflates Helm charts',
  helmChartInflationGenerator: 'inflates Helm charts',
  vars: 'substitutes cross-object variables',
  replacements: 'copies values across objects',
  configurations: 'changes transformer field specs',
  inventory: 'generates an inventory object',
};

/** The stages in kustomize's order: field name and how its value becomes transformers. */
const STAGES: { field: string; list: boolean; factory: TransformerFactory }[] = [
  { field: 'patchesStrategicMerge', list: true, factory: patchesStrategicMergeTransformer },
  { field: 'patches', list: true, factory: patchTransformer },
  { field: 'namespace', list: false, factory: namespaceTransformer },
  { field: 'labels', list: true, factory: labelsTransformer },
  { field: 'commonLabels', list: false, factory: commonLabelsTransformer },
  { field: 'commonAnnotations', list: false, factory: annotationsTransformer },
  { field: 'patchesJson6902', list: true, factory: patchesJson6902Transformer },
  { field: 'replicas', list: false, factory: replicasTransformer },
  { field: 'images', list: false, factory: imagesTransformer },
];

/** True when a parsed document is a Kustomization. */
export function isKustomization(doc: unknown): boolean {
  return isObject(doc) && doc.kind === 'Kustomization' && (doc.apiVersion === undefined || (typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('kustomize.config.k8s.io/')));
}

/**
 * Compiles a Kustomization document into one policy named `name`.
 * `baseDir` resolves `path:` references. Throws PolicyError naming the field.
 */
export function compileKustomization(
  doc: Record<string, unknown>,
  name: string,
  source: PolicySource,
  opts: { baseDir?: string; readFile?: (path: string) => string },
): CompiledPolicy {
  for (const key of Object.keys(doc)) {
    if (IGNORED.has(key) || STAGES.some((s) => s.field === key)) continue;
    if (UNSUPPORTED[key]) throw new PolicyError(source, key, `not supported: ${key} ${UNSUPPORTED[key]}, which a post-renderer seeing one object at a time cannot do`, 'ERR_POLICY_UNSUPPORTED');
    throw new PolicyError(source, key, `unknown Kustomization field "${key}"`, 'ERR_POLICY_UNSUPPORTED');
  }
  const transformers: Transformer[] = [];
  for (const stage of STAGES) {
    const value = doc[stage.field];
    if (value === undefined || value === null) continue;
    const fopts = (n: string): FactoryOptions => ({ name: n, baseDir: opts.baseDir, readFile: opts.readFile });
    try {
      if (stage.list) {
        if (!Array.isArray(value)) throw new ConfigError('must be a list');
        value.forEach((entry, i) => {
          try {
            transformers.push(stage.factory(entry, fopts(`${stage.field}[${i}]`)));
          } catch (e) {
            throw toPolicyError(e, source, `${stage.field}[${i}]`);
          }
        });
      } else {
        transformers.push(stage.factory(value, fopts(stage.field)));
      }
    } catch (e) {
      throw toPolicyError(e, source, stage.field);
    }
  }
  return {
    name,
    kind: 'Kustomization',
    order: 100,
    failurePolicy: 'Fail',
    mode: 'Enforce',
    hooks: 'include',
    transformers,
    applies: () => '',
    source,
  };
}
