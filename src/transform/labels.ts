/**
 * The `labels` and `commonLabels` transformers: kustomize `labels` entries and
 * `commonLabels` (api/filters/labels + builtin LabelTransformer, field specs
 * from api/konfig/builtinpluginconsts; conformance findings 23-26).
 */
import {
  COMMON_LABELS_FIELD_SPECS, METADATA_LABELS_FIELD_SPECS, setEntries, TEMPLATE_LABELS_FIELD_SPECS, type FieldSpec,
} from '../kube/fieldspecs.js';
import { joinPath } from '../kube/object.js';
import { specProgram } from './apply-specs.js';
import { decodeStringMap, decodeStruct, optBool, optList, optString } from './decode.js';
import { ConfigError, type Transformer, type TransformerFactory } from './types.js';

const FIELD_SPEC_KEYS = ['group', 'version', 'kind', 'path', 'create'] as const;

/** Decodes kustomize `fields` (a `labels` entry's custom FieldSpecs): `[{path, group?, version?, kind?, create?}]`. */
function decodeFieldSpecs(v: unknown, path: string): FieldSpec[] {
  return optList(v, path).map((e, i) => {
    const p = joinPath(path, i);
    const m = decodeStruct(e, p, FIELD_SPEC_KEYS);
    const fsPath = optString(m.path, joinPath(p, 'path'));
    if (fsPath === '') throw new ConfigError('a field spec needs a path', joinPath(p, 'path'));
    return {
      path: fsPath,
      group: optString(m.group, joinPath(p, 'group')) || undefined,
      version: optString(m.version, joinPath(p, 'version')) || undefined,
      kind: optString(m.kind, joinPath(p, 'kind')) || undefined,
      create: optBool(m.create, joinPath(p, 'create')),
    };
  });
}

function labelTransformer(type: string, name: string, pairs: Record<string, string>, specs: readonly FieldSpec[]): Transformer {
  const apply = specProgram(specs, 'map', setEntries(pairs));
  const empty = Object.keys(pairs).length === 0;
  return {
    type,
    name,
    apply: (obj) => (empty ? obj : apply(obj)),
  };
}

/**
 * `labels` (`labelsTransformer`): one kustomize `labels` entry,
 * `{pairs: {k: v}, includeSelectors?: bool, includeTemplates?: bool, fields?: FieldSpec[]}`.
 * As kusttarget_configplugin.go: includeSelectors uses the commonLabels field
 * specs (selectors are created and overwritten, conformance 112, 23);
 * otherwise includeTemplates adds template labels (116, 126); otherwise only
 * `metadata.labels` (111). Custom `fields` are added in every mode. Values are
 * not validated (127). Throws ConfigError on wrong types or unknown keys.
 */
export const labelsTransformer: TransformerFactory = (config, opts) => {
  const c = decodeStruct(config, '', ['pairs', 'includeSelectors', 'includeTemplates', 'fields']);
  const pairs = decodeStringMap(c.pairs, 'pairs');
  const includeSelectors = optBool(c.includeSelectors, 'includeSelectors');
  const includeTemplates = optBool(c.includeTemplates, 'includeTemplates');
  const fields = decodeFieldSpecs(c.fields, 'fields');
  const base = includeSelectors ? COMMON_LABELS_FIELD_SPECS : includeTemplates ? TEMPLATE_LABELS_FIELD_SPECS : METADATA_LABELS_FIELD_SPECS;
  return labelTransformer('labels', opts.name, pairs, [...fields, ...base]);
};

/**
 * `commonLabels` (`commonLabelsTransformer`): a `{key: value}` map, kustomize
 * `commonLabels`: metadata, templates and selectors, created where kustomize
 * creates them (Service/RC/Deployment/ReplicaSet/DaemonSet/StatefulSet
 * selectors, conformance 125), and the existing NetworkPolicy peers,
 * PDB/Job/CronJob selectors and Deployment/StatefulSet affinity and
 * topology-spread selectors (120, 128). Throws ConfigError on non-string values.
 */
export const commonLabelsTransformer: TransformerFactory = (config, opts) =>
  labelTransformer('commonLabels', opts.name, decodeStringMap(config, ''), COMMON_LABELS_FIELD_SPECS);
