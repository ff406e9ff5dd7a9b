/**
 * Kubernetes' homogeneous aggregate literals (cel-go `HomogeneousAggregateLiterals`,
 * which k8s.io/apiserver/pkg/cel/environment/base.go enables): the elements
 * of a list literal, and the keys and the values of a map literal, must have
 * types that join. Checked here, after the engine typed every node (its
 * `checkedType`), with the engine's own check of this option left off: the
 * engine requires identical types, where cel-go's checker joins them
 * (checker/checker.go `joinTypes`):
 * - a type assignable to the types so far (checker/types.go
 *   `internalIsAssignable`: `dyn` is assignable to and from any type, a type
 *   parameter takes the type it meets, lists and maps by their parameters,
 *   anything else by its name) joins them, and the most general of the two
 *   (`mostGeneral`: `dyn` or a parameter over a concrete type) stands for the
 *   next comparison;
 * - else the literal is refused, in the engine's words:
 *   `List elements must have the same type, expected type 'int' but found 'string'`.
 * So `[1, dyn('a')]`, `{'team': 'a', 'name': object.metadata.name}` (a `dyn`
 * value) and `[1, ?optional.none()]` (an optional entry whose parameter
 * takes `int`) are accepted, as by the API server, and `[1, 'a']`,
 * `[1, 2.0]` and `{'a': 1, 'b': 'x'}` refused.
 *
 * `null` joins what cel-go's legacy nullability lets it join
 * (`internalIsAssignableNull`): messages (here also durations and
 * timestamps) and optionals (cel-go's opaque types). One difference kept:
 * type parameters are bound per literal (cel-go binds them across the whole
 * expression).
 */
import type { AstNode } from './cel.js';

/** The engine's type of a checked node (`@marcbachmann/cel-js` 8 registry.js TypeDeclaration): only what is read here. */
interface LiteralType {
  readonly kind: string;
  readonly name: string;
  readonly keyType?: LiteralType;
  readonly valueType?: LiteralType;
  readonly hasPlaceholderType: boolean;
}

/** A literal that does not type: the entry that does not join the ones before it, and the message. */
export interface LiteralTypeError {
  node: AstNode;
  message: string;
}

/** The engine's message prefixes (operators.js HOMOGENEOUS_PREFIX). */
const PREFIX = {
  list: 'List elements must have the same type,',
  key: 'Map key uses wrong type,',
  value: 'Map value uses wrong type,',
} as const;

/**
 * The first list or map literal of a type-checked AST (`nodes`: every node,
 * as `walk` visits them, parents first) whose entries do not join (see the
 * module's comment), or undefined. Entries the engine did not type (none
 * after a successful check) are taken as `dyn`. Never throws.
 */
export function literalTypeError(nodes: Iterable<AstNode>): LiteralTypeError | undefined {
  for (const node of nodes) {
    const error = node.op === 'list' ? listError(node) : node.op === 'map' ? mapError(node) : undefined;
    if (error) return error;
  }
  return undefined;
}

function listError(node: AstNode): LiteralTypeError | undefined {
  const items = node.args as AstNode[];
  return joinError(items, PREFIX.list);
}

function mapError(node: AstNode): LiteralTypeError | undefined {
  const entries = node.args as [AstNode, AstNode][];
  return joinError(entries.map((e) => e[0]), PREFIX.key) ?? joinError(entries.map((e) => e[1]), PREFIX.value);
}

/** The first of `nodes` whose type does not join the types before it (checker.go joinTypes), as an error with `prefix`. */
function joinError(nodes: readonly AstNode[], prefix: string): LiteralTypeError | undefined {
  const bound = new Map<string, LiteralType>();
  let joined: LiteralType | undefined;
  for (const node of nodes) {
    const type = typeOf(node);
    if (joined === undefined) joined = type;
    else if (assignable(joined, type, bound)) joined = lessSpecific(joined, type) ? joined : type;
    else return { node, message: `${prefix} expected type '${typeName(joined, bound)}' but found '${typeName(type, bound)}'` };
  }
  return undefined;
}

const DYN: LiteralType = { kind: 'dyn', name: 'dyn', hasPlaceholderType: false };

function typeOf(node: AstNode): LiteralType {
  return ((node as unknown as { checkedType?: LiteralType }).checkedType) ?? DYN;
}

/**
 * cel-go checker/types.go `internalIsAssignable` over the engine's types: a
 * parameter (bound in `bound` by name on its first use) takes the other
 * type, `dyn` joins anything, `null` what is nullable, containers by their
 * parameters, others by name.
 */
function assignable(t1: LiteralType, t2: LiteralType, bound: Map<string, LiteralType>): boolean {
  if (t2.kind === 'param') return bindParam(t2, t1, bound);
  if (t1.kind === 'param') return bindParam(t1, t2, bound);
  if (t1.kind === 'dyn' || t2.kind === 'dyn') return true;
  if (isNull(t1) || isNull(t2)) return nullable(isNull(t1) ? t2 : t1);
  if (t1.kind !== t2.kind) return false;
  return CONTAINERS.has(t1.kind) ? parametersAgree(t1, t2, (a, b) => assignable(a, b, bound)) : t1.name === t2.name;
}

/** cel-go checker/types.go `isEqualOrLessSpecific`: `dyn` and parameters are less specific than any type; containers by their parameters. */
function lessSpecific(t1: LiteralType, t2: LiteralType): boolean {
  if (t1.kind === 'dyn' || t1.kind === 'param') return true;
  if (t2.kind === 'dyn' || t2.kind === 'param' || t1.kind !== t2.kind) return false;
  return CONTAINERS.has(t1.kind) ? parametersAgree(t1, t2, lessSpecific) : t1.name === t2.name;
}

/** Kinds whose types have parameters: a list's and an optional's value type, a map's key and value types. */
const CONTAINERS: ReadonlySet<string> = new Set(['list', 'optional', 'map']);

/** For two containers of one kind: `agree` holds for their key types (maps) and for their value types. */
function parametersAgree(t1: LiteralType, t2: LiteralType, agree: (a: LiteralType, b: LiteralType) => boolean): boolean {
  if (t1.kind === 'map' && !agree(t1.keyType ?? DYN, t2.keyType ?? DYN)) return false;
  return agree(t1.valueType ?? DYN, t2.valueType ?? DYN);
}

function isNull(t: LiteralType): boolean {
  return t.kind === 'primitive' && t.name === 'null';
}

/** cel-go `internalIsAssignableNull`: `null` itself, messages (durations and timestamps are messages here) and opaque types (optionals). */
function nullable(t: LiteralType): boolean {
  return isNull(t) || t.kind === 'message' || t.kind === 'optional';
}

/** True when parameter `param` is (or now is, bound in `bound`) a type `other` is assignable with. */
function bindParam(param: LiteralType, other: LiteralType, bound: Map<string, LiteralType>): boolean {
  if (other.kind === 'param' && other.name === param.name) return true;
  const known = bound.get(param.name);
  if (known !== undefined) return assignable(known, other, bound);
  bound.set(param.name, other);
  return true;
}

/** A type's name as the engine prints it (type-checker.js formatType): its parameters as bound here, unbound ones as `dyn`. */
function typeName(t: LiteralType, bound: ReadonlyMap<string, LiteralType>, depth = 0): string {
  if (!t.hasPlaceholderType || depth > 32) return t.name;
  const name = (x: LiteralType | undefined): string => typeName(x ?? DYN, bound, depth + 1);
  switch (t.kind) {
    case 'param': {
      const b = bound.get(t.name);
      return b === undefined || b === t ? 'dyn' : name(b);
    }
    case 'list':
      return `list<${name(t.valueType)}>`;
    case 'optional':
      return `optional<${name(t.valueType)}>`;
    case 'map':
      return `map<${name(t.keyType)}, ${name(t.valueType)}>`;
    default:
      return t.name;
  }
}
