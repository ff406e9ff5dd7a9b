/**
 * Strict decoding of transformer configurations, shared by every transformer:
 * kustomize decodes kustomization.yaml strictly (sigs.k8s.io/yaml with
 * `DisallowUnknownFields`): unknown keys and wrong scalar types are errors
 * (conformance 218, 230, 235). Every helper throws ConfigError with the config
 * path of the offending value (`joinPath`, re-exported from src/kube/object.ts).
 */
import { isObject, joinPath, setOwn } from '../kube/object.js';
import { ConfigError } from './types.js';

export { joinPath };

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
