/**
 * The `assign` transformer: writes a value at a Gatekeeper location
 * (`spec.containers[name: *].imagePullPolicy`, src/kube/location.ts) with
 * Gatekeeper's Assign semantics (pkg/mutation/mutators/assign and
 * core/mutation_function.go): keyed lists and globs, missing fields and
 * keyed elements created on the way, `pathTests` (MustExist / MustNotExist,
 * e.g. add-if-absent), a location ending in `[key: value]` replacing or
 * appending a whole element. The value is a constant (`value`) or a CEL
 * `expression` evaluated per object with `object`, `oldObject`, `request` and
 * `namespaceObject`.
 *
 * Unlike Gatekeeper's Assign, `metadata` may be written (our policies have no
 * separate AssignMetadata). Also home of the location helpers the Gatekeeper
 * dialect (src/policy/gatekeeper.ts) shares.
 *
 * ```yaml
 * - assign:
 *     location: spec.containers[name: *].securityContext.runAsNonRoot
 *     value: true
 *     pathTests: [{subPath: "spec.containers[name: *].securityContext.runAsNonRoot", condition: MustNotExist}]
 * ```
 */
import type { CompiledExpression } from '../expr/cel.js';
import { compileExpression, ExprError } from '../expr/engine.js';
import { buildExprVars } from '../expr/vars.js';
import { createPathTester, LocationError, parseLocation, type LocationNode, type PathCondition, type PathTest, type PathTester } from '../kube/location.js';
import { LocationMutateError, mutateAtLocation, type LocationSetter } from '../kube/location-mutate.js';
import { deepClone, isObject, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { decodeStruct, joinPath, typeName } from './decode.js';
import { ConfigError, TransformError, type Transformer, type TransformContext, type TransformerFactory } from './types.js';

/**
 * Parses a location field. Throws ConfigError at `path` with `wrap(reason)`
 * (Gatekeeper wraps parser errors: "invalid location format `x` for Assign y: ...").
 */
export function parseLocationAt(text: unknown, path: string, wrap: (err: string) => string): LocationNode[] {
  if (text !== undefined && text !== null && typeof text !== 'string') throw new ConfigError(`expected a string, got ${typeName(text)}`, path);
  try {
    return parseLocation((text as string | null | undefined) ?? '');
  } catch (e) {
    if (e instanceof LocationError) throw new ConfigError(wrap(e.message), path);
    throw e;
  }
}

/**
 * core/mutator.go CheckKeyNotChanged: an empty location is refused, and
 * `foo[name: bar].name` would change the element's key. Throws ConfigError at `path`.
 */
export function checkKeyNotChanged(nodes: readonly LocationNode[], path: string): void {
  if (nodes.length === 0) throw new ConfigError('empty path', path);
  const last = nodes[nodes.length - 1] as LocationNode;
  const before = nodes[nodes.length - 2];
  if (before?.type !== 'list') return;
  if (last.type !== 'object') throw new ConfigError('invalid path format: child of a list can\'t be a list', path);
  if (last.key === before.keyField) throw new ConfigError('invalid path format: changing the item key is not allowed', path);
}

const CONDITIONS: readonly PathCondition[] = ['MustExist', 'MustNotExist'];

/**
 * Decodes `pathTests` and builds the tester (core/mutator.go NewTester +
 * tester.go New). `what` names the mutator in parse errors (`Assign foo`).
 * Throws ConfigError.
 */
export function decodePathTests(v: unknown, path: string, location: readonly LocationNode[], what: string): PathTester {
  if (v === undefined || v === null) return createPathTester(location, []);
  if (!Array.isArray(v)) throw new ConfigError(`expected a list, got ${typeName(v)}`, path);
  const tests: PathTest[] = v.map((e, i) => {
    const p = joinPath(path, i);
    const s = decodeStruct(e, p, ['subPath', 'condition']);
    const condition = s.condition as PathCondition;
    if (!CONDITIONS.includes(condition)) throw new ConfigError(`${String(s.condition)} is not a valid path test condition (expected MustExist or MustNotExist)`, `${p}.condition`);
    const subPath = parseLocationAt(s.subPath, `${p}.subPath`, (err) => `problem parsing sub path \`${String(s.subPath ?? '')}\` for ${what}: ${err}`);
    return { subPath, condition };
  });
  try {
    return createPathTester(location, tests);
  } catch (e) {
    throw new ConfigError((e as Error).message, path);
  }
}

/** Why `value` cannot be written at a location ending in a list selector ('' when it can: not a list end, or a map with the selector's key). */
function keyedValueProblem(nodes: readonly LocationNode[], value: JsonValue): string {
  const last = nodes[nodes.length - 1] as LocationNode;
  if (last.type !== 'list') return '';
  if (!isObject(value)) return `invalid value: only objects can be added to keyed lists (got ${typeName(value)})`;
  if (value[last.keyField] !== last.keyValue) return `adding object to list with different key ${last.keyField}: list key ${String(last.keyValue)}, object key ${String(value[last.keyField])}`;
  return '';
}

/**
 * assign_mutator.go validateObjectAssignedToList: a value written to
 * `[key: v]` must be a map whose `key` is `v`; a glob cannot be appended to.
 * Throws ConfigError at `locationPath` or `valuePath`.
 */
export function validateObjectAssignedToList(nodes: readonly LocationNode[], value: JsonValue, locationPath: string, valuePath: string): void {
  const last = nodes[nodes.length - 1];
  if (last?.type === 'list' && last.glob) throw new ConfigError("can't append to a globbed list", locationPath);
  const problem = nodes.length ? keyedValueProblem(nodes, value) : '';
  if (problem) throw new ConfigError(problem, valuePath);
}

/** An `assign` entry as written in a policy. */
export interface AssignConfig {
  location: string;
  /** The constant written (deep-copied for every object). */
  value?: JsonValue;
  /** CEL giving the value (evaluated per object); exclusive with `value`. */
  expression?: string;
  pathTests?: { subPath: string; condition: PathCondition }[];
}

/**
 * Factory of the `assign` transformer. Throws ConfigError (path relative to
 * the config). `apply` returns its input (same reference) when nothing
 * changes; it throws TransformError on a type mismatch on the way, a failing
 * expression, or an expression value that cannot be written at a keyed-list
 * location.
 */
// eslint-disable-next-line complexity -- config decoding: one guard per field, in the order of the messages
export const assignTransformer: TransformerFactory = (config, opts): Transformer => {
  const c = decodeStruct(config, '', ['location', 'value', 'expression', 'pathTests']);
  const nodes = parseLocationAt(c.location, 'location', (err) => `invalid location format: ${err}`);
  checkKeyNotChanged(nodes, 'location');
  const hasValue = c.value !== undefined;
  if (hasValue === (c.expression !== undefined)) throw new ConfigError('set exactly one of value and expression', hasValue ? 'expression' : '');
  if (hasValue) validateObjectAssignedToList(nodes, c.value as JsonValue, 'location', 'value');
  else if (nodes[nodes.length - 1]?.type === 'list' && (nodes[nodes.length - 1] as { glob: boolean }).glob) throw new ConfigError("can't append to a globbed list", 'location');
  const tester = decodePathTests(c.pathTests, 'pathTests', nodes, `assign ${opts.name}`);
  let program: CompiledExpression | undefined;
  if (!hasValue) {
    if (typeof c.expression !== 'string') throw new ConfigError(`expected a CEL expression, got ${typeName(c.expression)}`, 'expression');
    try {
      program = compileExpression(c.expression, { path: 'expression' });
    } catch (e) {
      throw Object.assign(new ConfigError(e instanceof Error ? e.message : String(e), 'expression'), { cause: e });
    }
  }
  const constant = c.value as JsonValue;
  const valueOf = (obj: KubeObject, ctx: TransformContext): JsonValue => {
    if (!program) return deepClone(constant);
    let v: unknown;
    try {
      v = program.evaluate(buildExprVars(obj, ctx));
    } catch (e) {
      throw new TransformError(`expression failed: ${e instanceof ExprError ? e.message : String(e)}`);
    }
    const problem = keyedValueProblem(nodes, v as JsonValue);
    if (problem) throw new TransformError(problem);
    return v as JsonValue;
  };
  return {
    type: 'assign',
    name: opts.name,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject {
      let value: JsonValue | undefined;
      const get = (): JsonValue => (value ??= valueOf(obj, ctx));
      const setter: LocationSetter = { set: get, keyedListValue: () => get() as JsonObject };
      try {
        return mutateAtLocation(obj, nodes, tester, setter).value;
      } catch (e) {
        if (e instanceof LocationMutateError) throw new TransformError(e.message);
        throw e;
      }
    },
  };
};
