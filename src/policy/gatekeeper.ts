/**
 * Gatekeeper mutators as policies: `Assign`, `AssignMetadata`, `ModifySet`
 * and `AssignImage` of `mutations.gatekeeper.sh` (v1, v1beta1, v1alpha1;
 * AssignImage exists only as v1alpha1) are decoded, validated with
 * Gatekeeper's rules and reasons, and compiled into one `CompiledPolicy`
 * whose transformers are the mutators in Gatekeeper's order, run to
 * convergence by the one evaluation (the policy's `convergence`,
 * src/policy/evaluate.ts: the same loop serves every policy that asks for it).
 *
 * Semantics, from Gatekeeper's source:
 * - validation: pkg/mutation/mutators/{assign,assignmeta,modifyset,assignimage}
 *   (`MutatorFor*`), core/mutator.go (names, path tests, applyTo),
 *   apis/mutations/unversioned/value.go (`assign.value`/`fromMetadata`/`externalData`);
 * - matching: pkg/mutation/match (src/policy/gatekeeper-match.ts);
 * - mutation: core/mutation_function.go (src/kube/location-mutate.ts) with
 *   each mutator's setter (value, set merge/prune, image parts);
 * - schema conflicts: pkg/mutation/schema (src/policy/gatekeeper-schema.ts):
 *   mutators whose locations disagree on a GVK's schema are never applied;
 * - order and convergence: pkg/mutation/system.go: mutators sorted by
 *   (group, kind, namespace, name), every matching one applied in turn,
 *   repeated until an iteration changes nothing, at most (number of
 *   mutators + 1) iterations; running out of iterations is a "not
 *   converging" error (a cycle between states included).
 * `externalData` is refused: we never call out to providers at admission.
 */
import { deepClone, deepEqual, gvkOf, isNamespaceObject, isListObject, isObject, joinPath, metaString, type JsonObject, type JsonValue, type KubeObject } from '../kube/object.js';
import { createPathTester, type LocationNode, type PathTester } from '../kube/location.js';
import { checkKeyNotChanged, decodePathTests, parseLocationAt, validateObjectAssignedToList } from '../transform/assign.js';
import { LocationMutateError, mutateAtLocation, type LocationSetter, type MutateResult } from '../kube/location-mutate.js';
import { compileFastLocation, fastMutate, fastMutateOwned, locationsPart, PassOwned, UNTOUCHED, type FastLocation, type FastSetter } from '../kube/location-fast.js';
import { decodeStruct, typeName } from '../transform/decode.js';
import { ConfigError, TransformError, type Transformer, type TransformContext } from '../transform/types.js';
import { PolicyError, toPolicyError, type CompiledPolicy, type CompileOptions, type InPlacePass, type PolicySource } from './compile.js';
import { compileDefaultExclusions } from './match.js';
import { compileMutatorMatch, decodeApplyTo, decodeMatch, type ApplyTo } from './gatekeeper-match.js';
import { mutateImage, validateImageParts, type ImageParts } from './gatekeeper-image.js';
import { schemaConflicts, type SchemaMutator, type SchemaNodeType } from './gatekeeper-schema.js';
import { PolicyErrors } from './schema-errors.js';

/** The API group of Gatekeeper's mutators. */
export const GATEKEEPER_MUTATIONS_GROUP = 'mutations.gatekeeper.sh';

/** Mutator kinds and the versions that serve them. */
const KIND_VERSIONS: Record<string, readonly string[]> = {
  Assign: ['v1', 'v1beta1', 'v1alpha1'],
  AssignMetadata: ['v1', 'v1beta1', 'v1alpha1'],
  ModifySet: ['v1', 'v1beta1', 'v1alpha1'],
  AssignImage: ['v1alpha1'],
};

/** Gatekeeper mutator kinds. */
export type GatekeeperKind = 'Assign' | 'AssignMetadata' | 'ModifySet' | 'AssignImage';

/** True for a document of `mutations.gatekeeper.sh` (any version, any kind): the dispatch test of load.ts. */
export function isGatekeeperDocument(v: unknown): boolean {
  return isObject(v) && typeof v.apiVersion === 'string' && v.apiVersion.startsWith(`${GATEKEEPER_MUTATIONS_GROUP}/`);
}

/** One compiled mutator. */
export interface GatekeeperMutator {
  kind: GatekeeperKind;
  name: string;
  /** `Kind/name`: the transformer name in traces, metrics and errors. */
  id: string;
  /** applyTo (absent for AssignMetadata, which applies to every kind). */
  applyTo?: ApplyTo[];
  /** Kinds and namespaces named by `match` (default-exclusion opt-ins). */
  matchKinds: string[];
  matchNamespaces: string[];
  matches(obj: KubeObject, ctx: TransformContext): boolean;
  /** Applies the mutator once; throws TransformError. The general walk (mutateAtLocation): the reference for `apply`. */
  mutate(obj: KubeObject, ctx: TransformContext): MutateResult<KubeObject>;
  /**
   * `mutate(obj, ctx).value`, by the direct walk of src/kube/location-fast.ts
   * when the location compiles to one (map fields and `[key: *]` globs) and it
   * decides; else by `mutate`. Throws TransformError as `mutate` does.
   */
  apply(obj: KubeObject, ctx: TransformContext): KubeObject;
  /**
   * `apply` within a pass run in place (mutatorSetPolicy's `passInPlace`):
   * containers listed in `own` (made earlier in the pass) are written in
   * place, and `own.changed` tells whether it changed the object (what
   * `apply(obj) !== obj` tells). Undefined when the direct walk declined:
   * containers of `own` may then be partly written, and the pass must be run
   * again by `apply`. Throws TransformError as `apply` does.
   */
  applyOwned(obj: KubeObject, ctx: TransformContext, own: PassOwned): KubeObject | undefined;
  /** Its location compiled for the direct walk (location-fast.ts), when it compiles. */
  location?: FastLocation;
  /** Whether its `match` reads the object's labels (labelSelector, namespaceSelector). */
  readsLabels: boolean;
  /** Whether it writes labels (an AssignMetadata on `metadata.labels`). */
  writesLabels: boolean;
  /** The schema its location implies (absent for AssignMetadata, which has none: gatekeeper-schema.ts). */
  schema?: SchemaMutator;
}

const SPEC_FIELDS: Record<GatekeeperKind, readonly string[]> = {
  Assign: ['applyTo', 'match', 'location', 'parameters'],
  AssignMetadata: ['match', 'location', 'parameters'],
  ModifySet: ['applyTo', 'match', 'location', 'parameters'],
  AssignImage: ['applyTo', 'match', 'location', 'parameters'],
};

const PARAMETER_FIELDS: Record<GatekeeperKind, readonly string[]> = {
  Assign: ['pathTests', 'assign', 'assignIf'],
  AssignMetadata: ['assign'],
  ModifySet: ['pathTests', 'operation', 'values'],
  AssignImage: ['pathTests', 'assignDomain', 'assignPath', 'assignTag'],
};

/** A decoded document: kind, name and spec fields. */
interface Decoded {
  kind: GatekeeperKind;
  name: string;
  spec: Record<string, unknown>;
  params: Record<string, unknown>;
}

// eslint-disable-next-line complexity -- strict decoding of kind, version, name and spec, each a guard
function decodeDocument(doc: JsonObject): Decoded {
  const [, version] = String(doc.apiVersion).split('/');
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  const versions = KIND_VERSIONS[kind];
  if (!versions) throw new ConfigError(`unsupported kind ${JSON.stringify(kind)} of ${GATEKEEPER_MUTATIONS_GROUP} (supported: Assign, AssignMetadata, ModifySet, AssignImage)`, 'kind');
  if (!versions.includes(version ?? '')) throw new ConfigError(`${kind} is not served as ${GATEKEEPER_MUTATIONS_GROUP}/${version} (served: ${versions.join(', ')})`, 'apiVersion');
  const md = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof md.name === 'string' ? md.name : '';
  if (!name) throw new ConfigError('a mutator needs a name', 'metadata.name');
  // core/mutator.go ValidateName.
  if (name.length > 63) throw new ConfigError('maximum name length is 63 characters', 'metadata.name');
  const spec = decodeStruct(doc.spec ?? {}, 'spec', SPEC_FIELDS[kind as GatekeeperKind]);
  const params = decodeStruct(spec.parameters ?? {}, 'spec.parameters', PARAMETER_FIELDS[kind as GatekeeperKind]);
  return { kind: kind as GatekeeperKind, name, spec, params };
}

const metadataRoot = (nodes: readonly LocationNode[]): boolean => nodes[0]?.type === 'object' && nodes[0].key === 'metadata';

/** The value an Assign/AssignMetadata writes: a constant, or the object's name/namespace (value.go). */
type ValueFn = (obj: KubeObject, ctx: TransformContext) => JsonValue;

function decodeAssignField(v: unknown, what: string): { fn: ValueFn; constant?: JsonValue; fromMetadata: boolean } {
  const s = decodeStruct(v ?? {}, 'spec.parameters.assign', ['value', 'fromMetadata', 'externalData']);
  const set = (['value', 'fromMetadata', 'externalData'] as const).filter((k) => s[k] !== undefined && s[k] !== null);
  if (set.length === 0) throw new ConfigError('assign must set one of `externalData`, `value` or `fromMetadata`: invalid assign field', 'spec.parameters.assign');
  if (set.length > 1) throw new ConfigError('assign must only set one of `externalData`, `value` or `fromMetadata`: invalid assign field', 'spec.parameters.assign');
  if (set[0] === 'externalData') {
    throw new ConfigError(`externalData is not supported (${what}): kube-postrender never calls external data providers; use a constant value or fromMetadata`, 'spec.parameters.assign.externalData');
  }
  if (set[0] === 'value') {
    const constant = s.value as JsonValue;
    return { fn: () => deepClone(constant), constant, fromMetadata: false };
  }
  const fm = decodeStruct(s.fromMetadata, 'spec.parameters.assign.fromMetadata', ['field']);
  if (fm.field !== 'namespace' && fm.field !== 'name') {
    throw new ConfigError(`field ${String(fm.field ?? '')} is not recognized: invalid fromMetadata field`, 'spec.parameters.assign.fromMetadata.field');
  }
  const field = fm.field;
  const fn: ValueFn = (o, ctx) => (field === 'name' ? metaString(o, 'name') : objectNamespace(o, ctx));
  return { fn, fromMetadata: true };
}

/**
 * The namespace `fromMetadata: {field: namespace}` reads: Gatekeeper's
 * webhook sets the object's namespace to the request's before mutating
 * (pkg/webhook/mutation.go mutateRequest: a Pod of a ReplicaSet has none of
 * its own), and clears the request's for a Namespace object, whose UPDATE
 * request names itself as its namespace: a Namespace reads ''.
 */
function objectNamespace(o: KubeObject, ctx: TransformContext): string {
  return isNamespaceObject(o) ? '' : metaString(o, 'namespace') || ctx.namespace;
}

/** Legacy v1alpha1 `assignIf: {in, notIn}`: tests on the current value before writing (older assign_mutator.go testValue). */
function decodeAssignIf(v: unknown): ((current: JsonValue | undefined) => boolean) | undefined {
  if (v === undefined || v === null) return undefined;
  const s = decodeStruct(v, 'spec.parameters.assignIf', ['in', 'notIn']);
  for (const k of ['in', 'notIn'] as const) if (s[k] !== undefined && !Array.isArray(s[k])) throw new ConfigError(`expected a list, got ${typeName(s[k])}`, `spec.parameters.assignIf.${k}`);
  const inList = (s.in ?? []) as JsonValue[];
  const notIn = (s.notIn ?? []) as JsonValue[];
  return (current) => {
    if (inList.length && (current === undefined || !inList.some((x) => deepEqual(x, current)))) return false;
    return current === undefined || !notIn.some((x) => deepEqual(x, current));
  };
}

/** Values that a setter reads per object. */
interface Built {
  nodes: LocationNode[];
  tester: PathTester;
  setter: (obj: KubeObject, ctx: TransformContext) => LocationSetter;
  /** The same setter for the direct walk (location-fast.ts), made once: reads the object and context it is passed. */
  fast: FastSetter<TransformContext>;
  applyTo?: ApplyTo[];
  /** The type of the location's last node (schema.go `TerminalType`); absent: no schema (AssignMetadata). */
  terminalType?: SchemaNodeType;
}

function buildAssign(d: Decoded): Built {
  const what = `Assign ${d.name}`;
  const nodes = parseLocationAt(d.spec.location, 'spec.location', (err) => `invalid location format \`${String(d.spec.location)}\` for Assign ${d.name}: ${err}`);
  if (metadataRoot(nodes)) throw new ConfigError(`assign ${d.name} can't change metadata`, 'spec.location');
  checkKeyNotChanged(nodes, 'spec.location');
  const field = decodeAssignField(d.params.assign, what);
  if (field.constant !== undefined) validateObjectAssignedToList(nodes, field.constant, 'spec.location', 'spec.parameters.assign.value');
  if (nodes[nodes.length - 1]?.type === 'list' && field.fromMetadata) throw new ConfigError('cannot assign a metadata field to a list', 'spec.parameters.assign.fromMetadata');
  const tester = decodePathTests(d.params.pathTests, 'spec.parameters.pathTests', nodes, what);
  const applyTo = decodeApplyTo(d.spec.applyTo, 'spec.applyTo', `Assign mutator ${d.name}`);
  const test = decodeAssignIf(d.params.assignIf);
  // a failed assignIf writes nothing, not even the parents on the way (older core.Mutate valueTest)
  const setter = (obj: KubeObject, ctx: TransformContext): LocationSetter => ({
    ...(test ? { test } : {}),
    set: () => field.fn(obj, ctx),
    keyedListValue: () => {
      const v = field.fn(obj, ctx);
      if (!isObject(v)) throw new LocationMutateError(`assign.value for keyed list mutator Assign/${d.name} is not an object`);
      return v;
    },
  });
  const fast: FastSetter<TransformContext> = { test, same: sameAsConstant(field.constant), set: (_current, o, ctx) => field.fn(o, ctx) };
  return { nodes, tester, setter, fast, applyTo, terminalType: 'Unknown' };
}

/** FastSetter.same of a constant value: the value there deepEqual to it (what `set` would copy); undefined for fromMetadata. */
function sameAsConstant(constant: JsonValue | undefined): FastSetter<TransformContext>['same'] {
  return constant === undefined ? undefined : (current) => deepEqual(constant, current);
}

function buildAssignMetadata(d: Decoded): Built {
  const nodes = parseLocationAt(d.spec.location, 'spec.location', (err) => `invalid location format for AssignMetadata ${d.name}: ${String(d.spec.location)}: ${err}`);
  const valid = nodes.length === 3 && nodes.every((n) => n.type === 'object')
    && (nodes[0] as { key: string }).key === 'metadata' && ['labels', 'annotations'].includes((nodes[1] as { key: string }).key);
  if (!valid) throw new ConfigError(`invalid location for assignmetadata ${d.name}: ${String(d.spec.location ?? '')}`, 'spec.location');
  const field = decodeAssignField(d.params.assign, `AssignMetadata ${d.name}`);
  if (field.constant !== undefined && typeof field.constant !== 'string') {
    throw new ConfigError(`spec.parameters.assign.value field must be a string for AssignMetadata ${JSON.stringify(d.name)}`, 'spec.parameters.assign.value');
  }
  // Only ever adds: the key must not exist (assignmeta_mutator.go: MustNotExist on the whole location).
  const tester = createPathTester(nodes, [{ subPath: nodes, condition: 'MustNotExist' }]);
  // no `same`: the setter only runs where the key is missing
  const fast: FastSetter<TransformContext> = { set: (_current, o, ctx) => field.fn(o, ctx) };
  return { nodes, tester, setter: (obj, ctx) => ({ set: () => field.fn(obj, ctx) }), fast };
}

// eslint-disable-next-line complexity -- MutatorForModifySet's checks in Gatekeeper's order
function buildModifySet(d: Decoded): Built {
  const what = `ModifySet ${d.name}`;
  const nodes = parseLocationAt(d.spec.location, 'spec.location', (err) => `invalid location format \`${String(d.spec.location)}\` for ModifySet ${d.name}: ${err}`);
  if (metadataRoot(nodes)) throw new ConfigError(`modifyset ${d.name} can't change metadata`, 'spec.location');
  if (nodes[nodes.length - 1]?.type === 'list') throw new ConfigError('final node in a modifyset location cannot be a keyed list', 'spec.location');
  const op = d.params.operation ?? 'merge';
  if (op !== 'merge' && op !== 'prune') throw new ConfigError(`unrecognized operation for modifyset: ${String(op)} (expected merge or prune)`, 'spec.parameters.operation');
  const values = decodeStruct(d.params.values ?? {}, 'spec.parameters.values', ['fromList']);
  if (values.fromList !== undefined && values.fromList !== null && !Array.isArray(values.fromList)) throw new ConfigError(`expected a list, got ${typeName(values.fromList)}`, 'spec.parameters.values.fromList');
  const fromList = (values.fromList ?? []) as JsonValue[];
  const tester = decodePathTests(d.params.pathTests, 'spec.parameters.pathTests', nodes, what);
  const applyTo = decodeApplyTo(d.spec.applyTo, 'spec.applyTo', `ModifySet mutator ${d.name}`);
  if (nodes.length === 0) throw new ConfigError('attempting to mutate an empty target location', 'spec.location');
  const set = (current: JsonValue | undefined): JsonValue | undefined => modifySet(op, fromList, current);
  return { nodes, tester, setter: () => ({ set }), fast: { set }, applyTo, terminalType: 'Set' };
}

/** modify_set_mutator.go setValueMerge / setValuePrune: the list as a set, order kept, values compared deeply. */
function modifySet(op: 'merge' | 'prune', values: readonly JsonValue[], current: JsonValue | undefined): JsonValue | undefined {
  if (current === undefined) return op === 'merge' ? deepClone(values as JsonValue[]) : undefined;
  if (!Array.isArray(current)) throw new LocationMutateError(`the value at the location is a ${typeName(current)}, not a list of values: cannot treat it as a set`);
  if (op === 'prune') return current.filter((x) => !values.some((v) => deepEqual(v, x)));
  const out = current.slice();
  for (const v of values) if (!out.some((x) => deepEqual(v, x))) out.push(deepClone(v));
  return out;
}

function buildAssignImage(d: Decoded): Built {
  const what = `AssignImage ${d.name}`;
  const nodes = parseLocationAt(d.spec.location, 'spec.location', (err) => `invalid location format \`${String(d.spec.location)}\` for assignImage ${d.name}: ${err}`);
  if (metadataRoot(nodes)) throw new ConfigError(`assignImage ${d.name} can't change metadata`, 'spec.location');
  if (nodes[nodes.length - 1]?.type === 'list') throw new ConfigError(`assignImage ${d.name} cannot mutate list-type fields`, 'spec.location');
  checkKeyNotChanged(nodes, 'spec.location');
  const str = (k: string): string => {
    const v = d.params[k];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new ConfigError(`expected a string, got ${typeName(v)}`, `spec.parameters.${k}`);
    return (v as string | undefined) ?? '';
  };
  const parts = { domain: str('assignDomain'), path: str('assignPath'), tag: str('assignTag') };
  const invalid = validateImageParts(parts);
  if (invalid) throw new ConfigError(`assignImage ${d.name} has invalid parameters: ${invalid}`, 'spec.parameters');
  const tester = decodePathTests(d.params.pathTests, 'spec.parameters.pathTests', nodes, what);
  const applyTo = decodeApplyTo(d.spec.applyTo, 'spec.applyTo', `AssignImage mutator ${d.name}`);
  const imageAt = (current: JsonValue | undefined): string => {
    if (current !== undefined && typeof current !== 'string') throw new LocationMutateError(`expected value at AssignImage location to be a string, got a ${typeName(current)}`);
    return current ?? '';
  };
  const set = (current: JsonValue | undefined): JsonValue => mutateImage(imageAt(current), parts);
  // the direct walk remembers answers (the general walk, the reference, computes each)
  const images = new ImageMemo(parts);
  // an image whose parts do not parse back (`a@b/c` with assignPath `x.y` gives `x.y@b/c`, whose domain is `x.y@b`) changes again
  const fast: FastSetter<TransformContext> = { set: (current) => images.mutate(imageAt(current)), settles: (image) => images.settles(image as string) };
  return { nodes, tester, setter: () => ({ set }), fast, applyTo, terminalType: 'String' };
}

/** Most images an AssignImage remembers (then it forgets them all); longer references are never kept. */
const IMAGE_MEMO_ENTRIES = 256;
const IMAGE_MEMO_MAX_LENGTH = 512;

/**
 * mutateImage(ref, parts) of one AssignImage, its answers kept by reference
 * text (a pure function of it): a cluster runs a few images, each seen on
 * every admission and again by the convergence pass (where the reference
 * is the mutator's own answer).
 */
class ImageMemo {
  private readonly seen = new Map<string, string>();
  /** The last reference asked of `mutate` and its answer, compared before the map is asked (no hash of a string just parsed). */
  private lastRef = '';
  private lastOut: string | undefined;

  constructor(private readonly parts: ImageParts) {}

  mutate(ref: string): string {
    if (ref === this.lastRef && this.lastOut !== undefined) return this.lastOut;
    const out = this.lookup(ref);
    this.lastRef = ref;
    this.lastOut = out;
    return out;
  }

  /** True when `image` (an answer) is its own answer: the mutator leaves it as it is on the next pass. */
  settles(image: string): boolean {
    return this.lookup(image) === image;
  }

  private lookup(ref: string): string {
    let out = this.seen.get(ref);
    if (out !== undefined) return out;
    out = mutateImage(ref, this.parts);
    if (ref.length <= IMAGE_MEMO_MAX_LENGTH) {
      if (this.seen.size >= IMAGE_MEMO_ENTRIES) this.seen.clear();
      this.seen.set(ref, out);
    }
    return out;
  }
}

const BUILDERS: Record<GatekeeperKind, (d: Decoded) => Built> = {
  Assign: buildAssign,
  AssignMetadata: buildAssignMetadata,
  ModifySet: buildModifySet,
  AssignImage: buildAssignImage,
};

/** Where an error names the object: `Pod default/web` (never values). */
function objectRef(o: KubeObject, namespace: string): string {
  const g = gvkOf(o);
  const ns = metaString(o, 'namespace') || namespace;
  const name = metaString(o, 'name') || metaString(o, 'generateName');
  return `${g.group ? `${g.group} ` : ''}${g.kind} ${ns ? `${ns}/` : ''}${name}`;
}

/**
 * Decodes, validates and compiles one mutator document. Throws ConfigError
 * (path inside the document, Gatekeeper's reason).
 */
export function compileMutator(doc: JsonObject): GatekeeperMutator {
  const d = decodeDocument(doc);
  const b = BUILDERS[d.kind](d);
  const match = decodeMatch(d.spec.match, 'spec.match');
  const id = `${d.kind}/${d.name}`;
  const applyTo = b.applyTo;
  // AssignImage must terminate (no location may go past its string); Assign would only with externalData, refused here
  const schema: SchemaMutator | undefined = b.terminalType && applyTo
    ? { id, bindings: applyTo.flatMap(flattenApplyTo), nodes: b.nodes, terminalType: b.terminalType, mustTerminate: d.kind === 'AssignImage' }
    : undefined;
  const loc = compileFastLocation(b.nodes, b.tester);
  const mutate = (o: KubeObject, ctx: TransformContext): MutateResult<KubeObject> => {
    try {
      // `run` reads objects before the API server drops their nulls (what Gatekeeper sees at admission): a null is missing there
      const setter = b.setter(o, ctx);
      return mutateAtLocation(o, b.nodes, b.tester, ctx.frontDoor === 'render' ? { ...setter, nullIsMissing: true } : setter);
    } catch (e) {
      if (e instanceof LocationMutateError) throw new TransformError(`mutator ${id} failed for ${objectRef(o, ctx.namespace)}: ${e.message}`);
      throw e;
    }
  };
  return {
    kind: d.kind,
    name: d.name,
    id,
    applyTo,
    schema,
    matchKinds: match.kinds,
    matchNamespaces: match.namespaces,
    matches: compileMutatorMatch(applyTo, match),
    mutate,
    apply: fastApply(loc, b.fast, mutate),
    applyOwned: fastApplyOwned(loc, b.fast, mutate),
    location: loc,
    readsLabels: match.readsLabels,
    writesLabels: d.kind === 'AssignMetadata' && b.nodes[1]?.type === 'object' && b.nodes[1].key === 'labels',
  };
}

/** GatekeeperMutator.applyOwned: the direct walk in place when the location compiled, else the general `mutate` (which copies). */
function fastApplyOwned(loc: FastLocation | undefined, setter: FastSetter<TransformContext>, mutate: GatekeeperMutator['mutate']): GatekeeperMutator['applyOwned'] {
  if (loc === undefined) {
    return (o, ctx, own) => {
      const r = mutate(o, ctx).value;
      own.changed = r !== o;
      return r;
    };
  }
  const at = { loc, setter };
  return (o, ctx, own) => {
    const r = fastMutateOwned(o, at, ctx, own);
    if (r === undefined) return undefined;
    return r === UNTOUCHED ? o : (r as KubeObject);
  };
}

/** GatekeeperMutator.apply: the direct walk when the location compiled and it decides, else the general `mutate`. */
function fastApply(loc: FastLocation | undefined, setter: FastSetter<TransformContext>, mutate: GatekeeperMutator['mutate']): GatekeeperMutator['apply'] {
  if (loc === undefined) return (o, ctx) => mutate(o, ctx).value;
  return (o, ctx) => {
    const r = fastMutate(o, loc, setter, ctx);
    if (r === undefined) return mutate(o, ctx).value;
    return r === UNTOUCHED ? o : (r as KubeObject);
  };
}

/** Gatekeeper's order (system.go greaterOrEqual): by kind, then name (group and namespace are the same for all). */
export function sortMutators(ms: readonly GatekeeperMutator[]): GatekeeperMutator[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...ms].sort((a, b) => cmp(a.kind, b.kind) || cmp(a.name, b.name));
}

/**
 * The transformers of a mutator set: one per mutator (`Kind/name`), in
 * Gatekeeper's order. The evaluation runs the chain again until a pass
 * changes nothing (the policy's `convergence`, evaluate.ts): that loop is
 * system.go's. A mutator in a schema conflict is never applied (system.go
 * skips mutators with `HasConflicts`); where it would have matched, the
 * evaluation gets a warning naming the conflict, once.
 */
function setTransformers(ms: readonly GatekeeperMutator[], conflicts: ReadonlyMap<string, string[]>): Transformer[] {
  return ms.map((m) => {
    const others = conflicts.get(m.id);
    if (others) return conflictedTransformer(m, others);
    return {
      type: m.kind,
      name: m.id,
      apply: (obj: KubeObject, ctx: TransformContext): KubeObject => (m.matches(obj, ctx) ? m.apply(obj, ctx) : obj),
    };
  });
}

/** CompiledPolicy.passInPlace of a set without conflicts: passInPlace, with setParts decided once. */
function inPlace(ms: readonly GatekeeperMutator[]): NonNullable<CompiledPolicy['passInPlace']> {
  const set = { ms, parted: setParts(ms) };
  return (o, ctx, pastDeadline) => passInPlace(set, o, ctx, pastDeadline);
}

/**
 * True when a pass of the set over the result of a pass is known to change
 * nothing (Gatekeeper's convergence pass, system.go, which then stops) once
 * every value the pass wrote is its setter's own fixed point (passInPlace
 * reads PassOwned.unsettled: AssignImage checks each image it writes; the
 * others' writes always are: a constant, the object's name or namespace, a
 * label only where it is missing, a set merged or pruned).
 *
 * The proof: a mutator `m` of the next pass sees the object its own write
 * left, changed since only by the mutators after it. Every mutator here
 * has a compiled location and any two locations part (locationsPart): what
 * one writes (its values, the containers it creates or copies on the
 * shared part) is nothing the other reads (a key under its own path, a path
 * test's existence). What `matches` reads is written by none: kind and
 * apiVersion (no location starts there), name and namespace (no mutator
 * writes them), labels (not when one reads them and another writes them).
 * So `m` meets its own result again: where it stopped it stops (the same
 * tests on the same existence), where it wrote it finds its value, which
 * its setter leaves as it is. test/policy/gatekeeper-pass.test.ts compares
 * the evaluation with and without it, with sets that must not settle.
 */
function setParts(ms: readonly GatekeeperMutator[]): boolean {
  const locs = ms.map((m) => m.location);
  if (!locs.every((l): l is FastLocation => l !== undefined && l.keys[0] !== 'apiVersion' && l.keys[0] !== 'kind')) return false;
  if (ms.some((m) => m.readsLabels) && ms.some((m) => m.writesLabels)) return false;
  for (let i = 0; i < locs.length; i++) {
    for (let j = i + 1; j < locs.length; j++) if (!locationsPart(locs[i] as FastLocation, locs[j] as FastLocation)) return false;
  }
  return true;
}

/**
 * One pass of the set's transformers (setTransformers, none in a conflict)
 * over `object`, each container on the changed paths copied once for the
 * pass and then written in place (GatekeeperMutator.applyOwned): the
 * object the pass leaves and which mutators changed it, the same as
 * applying the transformers one at a time (test/policy/gatekeeper-pass.test.ts),
 * and whether the next pass is known to change nothing (setParts).
 * `pastDeadline` is asked before each mutator, as the evaluation's step by
 * step chain asks it; past it, the pass stops there (`stoppedAt`).
 * Undefined when a mutator declined or threw: the caller runs the pass step
 * by step from `object` (never written), which gives the error.
 */
function passInPlace({ ms, parted }: { ms: readonly GatekeeperMutator[]; parted: boolean }, object: KubeObject, ctx: TransformContext, pastDeadline: () => boolean): InPlacePass | undefined {
  const own = new PassOwned();
  const changed = new Uint8Array(ms.length);
  let current = object;
  try {
    for (let i = 0; i < ms.length; i++) {
      if (pastDeadline()) return { object: current, changed, stoppedAt: i, settled: false };
      const m = ms[i] as GatekeeperMutator;
      if (!m.matches(current, ctx)) continue;
      const r = m.applyOwned(current, ctx, own);
      if (r === undefined) return undefined;
      if (own.changed) changed[i] = 1;
      current = r;
    }
  } catch {
    return undefined;
  }
  return { object: current, changed, stoppedAt: -1, settled: parted && current !== object && !own.unsettled };
}

function conflictedTransformer(m: GatekeeperMutator, others: readonly string[]): Transformer {
  const warned = new WeakSet<TransformContext>();
  const message = `not applied: its location's implied schema conflicts with ${others.join(', ')} (Gatekeeper applies none of them)`;
  return {
    type: m.kind,
    name: m.id,
    apply(obj: KubeObject, ctx: TransformContext): KubeObject {
      if (!warned.has(ctx) && m.matches(obj, ctx)) {
        warned.add(ctx);
        ctx.report({ action: 'Warn', rule: m.id, message });
      }
      return obj;
    },
  };
}

/** `group/version/kind` of every GVK an applyTo entry names (match.go `ApplyTo.Flatten`). */
function flattenApplyTo(a: ApplyTo): string[] {
  return a.groups.flatMap((g) => a.versions.flatMap((v) => a.kinds.map((k) => `${g}/${v}/${k}`)));
}

/**
 * system.go's loop bounds and error: at most (number of mutators + 1)
 * iterations; still changing after the last one is "not converging" (a
 * cycle between two states included: Gatekeeper's older "oscillating
 * mutation" branch, only reachable by mutators that are not functions of
 * the object, is gone from its current system.go).
 */
function convergence(n: number): NonNullable<CompiledPolicy['convergence']> {
  return {
    maxIterations: n + 1,
    notConverging: (o, ns) => `mutation not converging for ${objectRef(o, ns)} after ${n + 1} iterations of ${n} mutator(s)`,
  };
}

/**
 * API groups of Gatekeeper's own resources (templates, constraints, mutators,
 * config, external data providers, expansion templates, status): its
 * mutation webhook never mutates them (pkg/webhook/common.go
 * `isGatekeeperResource`, asked by pkg/webhook/mutation.go `Handle` before
 * any mutator runs), whatever a mutator's applyTo or match names.
 */
const GATEKEEPER_RESOURCE_GROUPS: ReadonlySet<string> = new Set([
  'templates.gatekeeper.sh', 'constraints.gatekeeper.sh', GATEKEEPER_MUTATIONS_GROUP, 'config.gatekeeper.sh',
  'externaldata.gatekeeper.sh', 'expansion.gatekeeper.sh', 'status.gatekeeper.sh',
]);

/** Why a Gatekeeper mutator set never applies to `o` because it is one of Gatekeeper's own resources, or ''. */
function gatekeeperResource(o: KubeObject): string {
  const { group } = gvkOf(o);
  return GATEKEEPER_RESOURCE_GROUPS.has(group) ? `Gatekeeper resource (${group}): Gatekeeper's mutation webhook never mutates its own resources` : '';
}

/** Compiled policies that are Gatekeeper mutator sets, with their mutators. */
const SETS = new WeakMap<CompiledPolicy, { mutators: GatekeeperMutator[]; ownNamespace?: string }>();

/** The name of the policy holding the Gatekeeper mutators. */
export const GATEKEEPER_POLICY_NAME = 'gatekeeper-mutators';

/**
 * One policy over a set of mutators: Gatekeeper's order and convergence,
 * failurePolicy Fail (a non-converging set is an error), the default
 * exclusions of DESIGN.md (opted into by the kinds and namespaces the
 * mutators name), no subresource requests. `order: 0`: the mutators run
 * before PostRenderPolicies of the default order.
 */
export function mutatorSetPolicy(mutators: readonly GatekeeperMutator[], source: PolicySource, ownNamespace?: string): CompiledPolicy {
  const ms = sortMutators(mutators);
  const conflicts = schemaConflicts(ms.flatMap((m) => (m.schema ? [m.schema] : [])));
  const kinds = [...new Set(ms.flatMap((m) => [...(m.applyTo ?? []).flatMap((a) => a.kinds), ...m.matchKinds]))];
  const namespaces = [...new Set(ms.flatMap((m) => m.matchNamespaces.filter((n) => !n.includes('*'))))];
  const defaults = compileDefaultExclusions({ resources: [{ kinds }], namespaces }, ownNamespace);
  const everyKind = ms.some((m) => !m.applyTo);
  const policy: CompiledPolicy = {
    name: GATEKEEPER_POLICY_NAME,
    kind: 'Gatekeeper',
    order: 0,
    failurePolicy: 'Fail',
    mode: 'Enforce',
    hooks: 'include',
    transformers: setTransformers(ms, conflicts),
    convergence: convergence(ms.length),
    // a mutator in a conflict warns (a finding per step): such a set runs step by step
    passInPlace: conflicts.size === 0 ? inPlace(ms) : undefined,
    applies: (o, input) => {
      if (input.subResource) return `subresource ${input.subResource} (Gatekeeper mutators do not mutate subresources)`;
      const gk = gatekeeperResource(o);
      if (gk) return gk;
      const d = defaults(o, input);
      return d ? `default exclusion: ${d}` : '';
    },
    mayMatchKind: everyKind ? undefined : (group, kind) => ms.some((m) => (m.applyTo ?? []).some((a) => a.groups.includes(group) && a.kinds.includes(kind))),
    // Webhook rules (webhook-rules.ts): the applyTo groups and kinds; versions,
    // match.scope/namespaces/selectors only narrow, so they are left out (wider is safe).
    matchInfo: everyKind ? undefined : { resources: ms.flatMap((m) => (m.applyTo ?? []).flatMap((a) => a.groups.map((group) => ({ group, kinds: a.kinds })))) },
    source,
  };
  SETS.set(policy, { mutators: [...ms], ownNamespace });
  return policy;
}

/**
 * Compiles one Gatekeeper document (file or cluster) into a one-mutator set
 * policy; `mergeGatekeeperPolicies` joins the sets of a load. Throws
 * PolicyError (file, document, path, Gatekeeper's reason).
 */
export function compileGatekeeperDocument(doc: unknown, source: PolicySource, opts: Pick<CompileOptions, 'ownNamespace'>): CompiledPolicy {
  try {
    return mutatorSetPolicy([compileMutator(doc as JsonObject)], source, opts.ownNamespace);
  } catch (e) {
    if (e instanceof ConfigError) throw new PolicyError(source, e.path, e.message);
    throw toPolicyError(e, source, '');
  }
}

/**
 * True for a `*List` document whose items are all Gatekeeper mutators: what
 * `kubectl get assign,assignmetadata,modifyset,assignimage -o yaml` prints
 * (`apiVersion: v1`, `kind: List`), the usual export of a cluster's
 * mutators. load.ts reads it as its items, as kubectl does.
 */
export function isGatekeeperList(v: unknown): v is JsonObject {
  return isObject(v) && isListObject(v) && (v.items as unknown[]).length > 0 && (v.items as unknown[]).every(isGatekeeperDocument);
}

/**
 * compileGatekeeperDocument of every item of a list (isGatekeeperList), in
 * order; every item is checked and an error names it (`items[2].spec.location`).
 * Throws PolicyError, or PolicyErrors when several items are refused.
 */
export function compileGatekeeperList(list: JsonObject, source: PolicySource, opts: Pick<CompileOptions, 'ownNamespace'>): CompiledPolicy[] {
  const out: CompiledPolicy[] = [];
  const errors: PolicyError[] = [];
  (list.items as unknown[]).forEach((item, i) => {
    try {
      out.push(compileGatekeeperDocument(item, source, opts));
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      const at = joinPath('items', i);
      errors.push(new PolicyError(source, e.path ? `${at}.${e.path}` : at, e.reason, e.code));
    }
  });
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new PolicyErrors(errors);
  return out;
}

/** The mutators of a Gatekeeper set policy, or undefined for any other policy. */
export function mutatorsOf(p: CompiledPolicy): readonly GatekeeperMutator[] | undefined {
  return SETS.get(p)?.mutators;
}

/**
 * Replaces every Gatekeeper set policy of `policies` by one set holding all
 * their mutators (Gatekeeper applies all mutators of a cluster as one system).
 * Throws PolicyError for two mutators of the same kind and name.
 */
export function mergeGatekeeperPolicies(policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  const sets = policies.filter((p) => SETS.has(p));
  if (sets.length <= 1) return [...policies];
  const seen = new Map<string, PolicySource>();
  const all: GatekeeperMutator[] = [];
  for (const p of sets) {
    for (const m of SETS.get(p)!.mutators) {
      if (seen.has(m.id)) throw new PolicyError(p.source, 'metadata.name', `duplicate ${m.kind} ${JSON.stringify(m.name)} (also in ${seen.get(m.id)!.file})`);
      seen.set(m.id, p.source);
      all.push(m);
    }
  }
  const first = sets[0] as CompiledPolicy;
  return [...policies.filter((p) => !SETS.has(p)), mutatorSetPolicy(all, first.source, SETS.get(first)!.ownNamespace)];
}
