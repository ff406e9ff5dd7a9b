/**
 * The `annotations` transformer: kustomize `commonAnnotations`
 * (api/filters/annotations, field specs from
 * api/konfig/builtinpluginconsts/commonannotations.go; conformance finding 27).
 */
import { COMMON_ANNOTATIONS_FIELD_SPECS, setEntries } from '../kube/fieldspecs.js';
import { specProgram } from './apply-specs.js';
import { decodeStringMap } from './decode.js';
import type { TransformerFactory } from './types.js';

/**
 * `annotations` (`annotationsTransformer`): a `{key: value}` map of strings.
 * Sets `metadata.annotations` on every kind, and the pod template annotations
 * of Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController and
 * Job, and both `jobTemplate.metadata` and the pod template of a CronJob
 * (conformance 118); values stay strings (119). Existing values are
 * overwritten. Throws ConfigError when the config is not a map of strings
 * (path relative to the config, e.g. `count` for `count: 3`).
 */
export const annotationsTransformer: TransformerFactory = (config, opts) => {
  const pairs = decodeStringMap(config, '');
  const apply = specProgram(COMMON_ANNOTATIONS_FIELD_SPECS, 'map', setEntries(pairs));
  const empty = Object.keys(pairs).length === 0;
  return {
    type: 'annotations',
    name: opts.name,
    apply: (obj) => (empty ? obj : apply(obj)),
  };
};
