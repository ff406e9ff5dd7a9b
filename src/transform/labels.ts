/**
 * The `labels` and `commonLabels` transformers: kustomize `labels` entries and
 * `commonLabels` (api/filters/labels + builtin LabelTransformer, field specs
 * from api/konfig/builtinpluginconsts; conformance findings 23-26).
 *
 * Also home of the small strict-decoding helpers shared by the field-spec
 * transformers (kustomize decodes kustomization.yaml strictly: unknown keys
 * and wrong scalar types are errors, conformance 218, 230, 235).
 */
import {
  applyFieldSpecs, COMMON_LABELS_FIELD_SPECS, FieldSpecError, METADATA_LABELS_FIELD_SPECS, setEntries,
  TEMPLATE_LABELS_FIELD_SPECS, type CreateKind, type FieldSetter, type FieldSpec,
} from '../kube/fieldspecs.js';
import { isObject, setOwn, type KubeObject } from '../kube/object.js';
import { ConfigError, TransformError, type Transformer, type TransformerFactory } from './types.js';

/** Joins a config path: `[0]` + `newTag` -> `[0].newTag`; keys that are not identifiers are bracket-quoted. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** A JSON type name for messages, Go-json style (`number`, `string`, `object`, `array`, `bool`). */
export function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/**
 * Decodes a `map[string]string` strictly: null/undefined is an empty map; a
 * non-map, or a non-string value (`cost-center: 1234`), throws ConfigError at
 * `path` (as Go's json decoder in kustomize).
 */
export function decodeStringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new ConfigError(`expected a map of strings, got ${typeName(v)}`, path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ConfigError(`expected a string, got ${typeName(val)}`, joinPath(path, k));
    setOwn(out, k, val);
  }
  return out;
}

/** Decodes a map with only the `allowed` keys; throws ConfigError naming an unknown key (strict decoding). */
export function decodeStruct(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw new ConfigError(`expected a map, got ${typeName(v)}`, path);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new ConfigError(`unknown field ${JSON.stringify(k)} (expected one of ${allowed.join(', ')})`, joinPath(path, k));
  }
  return v;
}

/** An optional string field: undefined/null -> '' (Go zero value); other non-strings throw ConfigError. */
export function optString(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ConfigError(`expected a string, got ${typeName(v)}`, path);
  return v;
}

/** An optional boolean field: undefined/null -> false; other non-booleans throw ConfigError. */
export function optBool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`expected a boolean, got ${typeName(v)}`, path);
  return v;
}

/** A list field: undefined/null -> []; a non-list throws ConfigError. */
export function optList(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`expected a list, got ${typeName(v)}`, path);
  return v;
}

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

function labelTransformer(type: string, name: string, pairs: Record<string, string>, specs: readonly FieldSpec[]): Transformer {
  const set = setEntries(pairs);
  const empty = Object.keys(pairs).length === 0;
  return {
    type,
    name,
    apply: (obj) => (empty ? obj : applySpecs(obj, specs, 'map', set)),
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
