/**
 * Schema conflicts between Gatekeeper mutators, from Gatekeeper
 * pkg/mutation/schema (schema.go `DB.Upsert`, node.go `Add`/`conflicts`):
 * a mutator's location implies part of the schema of every GVK it is bound
 * to (`applyTo`): `spec.containers[name: foo].image` says `spec` is an
 * object, `containers` a list keyed by `name`. Two mutators that disagree
 * for one GVK (`spec.containers.image` says `containers` is an object; a
 * keyed list with two key fields; a ModifySet's set or an AssignImage's
 * string where another mutator goes deeper) are in conflict, and
 * Gatekeeper's mutation system (system.go `Mutate`: `HasConflicts`) applies
 * neither of them. AssignMetadata has no schema (it is not a
 * `MutatorWithSchema`) and never conflicts.
 *
 * Node types as Gatekeeper names them: `Object`, `List`, and for the last
 * node the mutator's terminal type: `Unknown` (Assign: conflicts with
 * nothing), `Set` (ModifySet), `String` (AssignImage, which must also
 * terminate: no other location may extend past it).
 */
import type { LocationNode } from '../kube/location.js';

/** The type a path implies for one of its nodes. */
export type SchemaNodeType = 'Object' | 'List' | 'Unknown' | 'Set' | 'String';

/** What the schema check needs of a mutator. */
export interface SchemaMutator {
  /** `Kind/name`. */
  id: string;
  /** `group/version/kind` of each applyTo binding (Flatten). */
  bindings: readonly string[];
  nodes: readonly LocationNode[];
  terminalType: SchemaNodeType;
  mustTerminate: boolean;
}

interface SchemaNode {
  referencedBy: Set<string>;
  mustTerminate: Set<string>;
  children: Map<string, Map<SchemaNodeType, SchemaNode>>;
}

const newNode = (): SchemaNode => ({ referencedBy: new Set(), mustTerminate: new Set(), children: new Map() });

/** node.go `key`: an object node by its field, a list node by its key field. */
const keyOf = (n: LocationNode): string => (n.type === 'object' ? n.key : n.keyField);

/** node.go `headType`: the type of the second node (what the first one holds), or the terminal type at the end. */
function headType(path: readonly LocationNode[], terminal: SchemaNodeType): SchemaNodeType {
  const next = path[1];
  if (!next) return terminal;
  return next.type === 'object' ? 'Object' : 'List';
}

function addAll(into: Set<string>, from: Iterable<string>): void {
  for (const x of from) into.add(x);
}

/** node.go `conflicts`: the ids in conflict under `childKey` of `n`. */
function conflictsAt(n: SchemaNode, childKey: string): Set<string> {
  const types = n.children.get(childKey) ?? new Map<SchemaNodeType, SchemaNode>();
  const out = typeConflicts(types);
  const children = [...types.values()];
  const mustTerminate = children.some((c) => c.mustTerminate.size > 0);
  if (!mustTerminate || !children.some((c) => c.children.size > 0)) return out;
  // a node that must terminate, and paths that go past it: all of them conflict
  for (const child of children) {
    addAll(out, child.mustTerminate);
    for (const byType of child.children.values()) for (const g of byType.values()) addAll(out, g.referencedBy);
  }
  return out;
}

/** More than one known type for one child, or a list keyed by more than one field (`Unknown` conflicts with nothing). */
function typeConflicts(types: ReadonlyMap<SchemaNodeType, SchemaNode>): Set<string> {
  const out = new Set<string>();
  const known = [...types.keys()].filter((t) => t !== 'Unknown').length;
  for (const [type, child] of types) {
    if (type !== 'Unknown' && (known > 1 || (type === 'List' && child.children.size > 1))) addAll(out, child.referencedBy);
  }
  return out;
}

/** node.go `Add`: inserts `path` for `id`; returns the conflicts found on the way. */
function add(n: SchemaNode, m: SchemaMutator, path: readonly LocationNode[]): Set<string> {
  n.referencedBy.add(m.id);
  if (path.length === 0) {
    if (m.mustTerminate) n.mustTerminate.add(m.id);
    return new Set();
  }
  const key = keyOf(path[0] as LocationNode);
  let types = n.children.get(key);
  if (!types) n.children.set(key, (types = new Map()));
  const type = headType(path, m.terminalType);
  let child = types.get(type);
  if (!child) types.set(type, (child = newNode()));
  const out = add(child, m, path.slice(1));
  addAll(out, conflictsAt(n, key));
  return out;
}

/**
 * The ids of the mutators whose implied schemas conflict (schema.go: one
 * implied schema per bound GVK, conflicts collected as each mutator is
 * added). Order-independent: a conflict names every mutator in it.
 */
export function schemaConflicts(mutators: readonly SchemaMutator[]): Map<string, string[]> {
  const schemas = new Map<string, SchemaNode>();
  const conflicted = new Set<string>();
  for (const m of mutators) {
    for (const gvk of new Set(m.bindings)) {
      let root = schemas.get(gvk);
      if (!root) schemas.set(gvk, (root = newNode()));
      addAll(conflicted, add(root, m, m.nodes));
    }
  }
  // for each conflicted mutator, the others it conflicts with (for the message)
  const out = new Map<string, string[]>();
  for (const id of conflicted) out.set(id, [...conflicted].filter((o) => o !== id && shareBinding(mutators, id, o)).sort());
  return out;
}

function shareBinding(ms: readonly SchemaMutator[], a: string, b: string): boolean {
  const ba = new Set(ms.find((m) => m.id === a)?.bindings ?? []);
  return (ms.find((m) => m.id === b)?.bindings ?? []).some((g) => ba.has(g));
}
