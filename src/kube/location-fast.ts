/**
 * The common Gatekeeper locations compiled at load into a direct walk: a
 * location of map fields (`spec.priorityClassName`,
 * `metadata.labels."team"`) and `[key: *]` globs not at its end
 * (`spec.containers[name: *].image`). For those, what
 * src/kube/location-mutate.ts `mutateAtLocation` (Gatekeeper's
 * core/mutation_function.go `mutateInternal`) does is computed without its
 * per-call bookkeeping: the path tests are read from two boolean tables made
 * at load, no step records or setter closures are allocated, a map on the
 * way is copied (spread, `__proto__` kept as data by setOwn) only when
 * something below it changes, and a setter may say "the value there is
 * already mine" (`same`) so that a constant is not copied just to be found
 * equal (Gatekeeper's convergence pass, pkg/mutation/system.go, re-runs every
 * mutator on the result of the first).
 *
 * Same rules as mutateAtLocation: a missing map on the way is created (`{}`,
 * or `[]` before a glob, which then walks nothing), path tests skip or stop,
 * a glob walks every element, `touched` (the setter ran, even without a
 * change) keeps created parents. Anything else declines (`undefined`): a
 * keyed selector `[key: value]`, a location ending in a list selector, a
 * type mismatch on the way (a list where a map is expected, a scalar...) or
 * a setter error; the caller then runs mutateAtLocation, whose result and
 * error messages stay the reference (test/kube/location-fast.test.ts checks
 * both agree).
 *
 * In place (fastMutateOwned): within one pass of a chain whose steps' objects
 * are not kept (src/policy/evaluate.ts, CompiledPolicy.passInPlace), a map or
 * list that an earlier write of the same pass made (a copy or a created
 * container, listed in PassOwned) is written in place rather than copied
 * again: each container on the changed paths is copied once per pass, not
 * once per mutator. Same content and key order as copying (an existing key is
 * set where it is, a new one appended, as `{...map}` and setOwn do).
 */
import { deepEqual, isObject, setOwn, type JsonObject, type JsonValue } from './object.js';
import { LocationMutateError } from './location-mutate.js';
import type { LocationNode, PathTester } from './location.js';

/** A location compiled for the direct walk (see compileFastLocation). */
export interface FastLocation {
  /** Map keys by depth; null at a `[key: *]` glob. */
  readonly keys: readonly (string | null)[];
  /** tester.existsOkay / missingOkay by depth, read once at load. */
  readonly existsOk: readonly boolean[];
  readonly missingOk: readonly boolean[];
  /**
   * By depth: the key names nothing of Object.prototype, so that `map[key]`
   * is the own value or undefined (a JSON map's prototype is Object.prototype
   * or null) and the walk reads it without an own-property test.
   */
  readonly plain: readonly boolean[];
}

/**
 * What a compiled mutator writes at the end of its location: LocationSetter
 * (location-mutate.ts) with the object and a context passed in rather than
 * captured, so one setter serves every call.
 */
export interface FastSetter<C> {
  /** As LocationSetter.test: false leaves the object untouched, parents on the way included. */
  readonly test?: (current: JsonValue | undefined) => boolean;
  /**
   * Optional shortcut: true only when `set(current)` would give a value
   * deepEqual to `current` (an existing value): the write is then known to
   * change nothing and `set` is not called. Must not throw.
   */
  readonly same?: (current: JsonValue, root: JsonObject, ctx: C) => boolean;
  /** As LocationSetter.set: the new value, or undefined to write nothing. Throws LocationMutateError to fail. */
  set(current: JsonValue | undefined, root: JsonObject, ctx: C): JsonValue | undefined;
  /**
   * Optional: false when `set` given a value it wrote would give a
   * different one (the write is not its own fixed point); in place
   * (fastMutateOwned) such a write sets PassOwned.unsettled. Absent: every
   * value it writes is its own fixed point. Must not throw.
   */
  readonly settles?: (written: JsonValue) => boolean;
}

/** The result of fastMutate when the setter never ran (mutateAtLocation's `touched: false`). */
export const UNTOUCHED: unique symbol = Symbol('untouched');

/**
 * Compiles a location for fastMutate, or undefined when it is not one the
 * direct walk decides: empty, ending in a list selector, or holding a keyed
 * `[key: value]` selector. `tester` must be a pure function of the depth
 * (createPathTester's is).
 */
export function compileFastLocation(nodes: readonly LocationNode[], tester: PathTester): FastLocation | undefined {
  if (nodes.length === 0 || nodes[nodes.length - 1]?.type !== 'object') return undefined;
  const keys: (string | null)[] = [];
  for (const n of nodes) {
    if (n.type === 'list' && !n.glob) return undefined;
    keys.push(n.type === 'object' ? n.key : null);
  }
  return {
    keys,
    existsOk: nodes.map((_, d) => tester.existsOkay(d)),
    missingOk: nodes.map((_, d) => tester.missingOkay(d)),
    plain: keys.map((k) => k !== null && !(k in Object.prototype)),
  };
}

/**
 * The containers one pass has made (copies and created maps or lists): only
 * these are written in place by fastMutateOwned, and only by the pass that
 * made them (they are reachable from its working object alone). `changed`
 * says whether the last call wrote anything.
 */
export class PassOwned {
  private readonly made: object[] = [];
  /** True once the current call wrote a value, copied or in place (reset by fastMutateOwned). */
  changed = false;
  /** True once a value written in this pass is not its setter's fixed point (FastSetter.settles). */
  unsettled = false;

  /** True for a container this pass made. */
  owns(o: object): boolean {
    return this.made.includes(o);
  }

  /** Records `o` as made by this pass; returns it. */
  add<T extends object>(o: T): T {
    this.made.push(o);
    return o;
  }
}

/**
 * True when no write along either location can change what the other one
 * reads, whatever the object: the two part at a depth where both name map
 * keys and the keys differ (so neither is a prefix of the other, and neither
 * has a glob where the other has a key), and down to that depth neither has
 * a path test (a container that one creates on the shared part cannot flip
 * a test of the other). Below the parting each writes only under its own
 * key. Used to prove a pass of a mutator set settles (gatekeeper.ts).
 */
export function locationsPart(a: FastLocation, b: FastLocation): boolean {
  const n = Math.min(a.keys.length, b.keys.length);
  for (let d = 0; d < n; d++) {
    const ka = a.keys[d];
    const kb = b.keys[d];
    if (ka !== null && kb !== null && ka !== kb) return true;
    if (ka !== kb) return false;
    if (!a.existsOk[d] || !a.missingOk[d] || !b.existsOk[d] || !b.missingOk[d]) return false;
  }
  return false;
}

/** One call's constants, passed down the walk. */
interface Call<C> {
  readonly loc: FastLocation;
  readonly setter: FastSetter<C>;
  readonly root: JsonObject;
  readonly ctx: C;
  /** In place: the pass's own containers (fastMutateOwned); undefined: copy on every write (fastMutate). */
  readonly own: PassOwned | undefined;
}

/** Below this: go back to mutateAtLocation (its result or error is the answer). */
const DECLINE: unique symbol = Symbol('decline');

type Walked = JsonValue | typeof UNTOUCHED | typeof DECLINE;

/**
 * mutateAtLocation(obj, nodes, tester, setter) for a compiled location:
 * UNTOUCHED when the setter never ran (the object is unchanged), else the
 * resulting object (`obj` itself when nothing changed), or undefined when the
 * direct walk declines (the caller runs mutateAtLocation). `obj` is never
 * mutated; the result shares every subtree off the changed path.
 */
export function fastMutate<C>(obj: JsonObject, loc: FastLocation, setter: FastSetter<C>, ctx: C): JsonObject | typeof UNTOUCHED | undefined {
  return run({ loc, setter, root: obj, ctx, own: undefined }, obj);
}

/**
 * fastMutate, writing in place into the containers `own` lists (made earlier
 * in the same pass) and listing each container it copies or creates:
 * `own.changed` tells whether it wrote anything (what `result !== obj` tells
 * of fastMutate). The same content and key order as fastMutate. On
 * `undefined` (declined), containers of `own` may be partly written: the
 * caller must drop the pass (the pass's input is never written).
 */
export function fastMutateOwned<C>(obj: JsonObject, at: { loc: FastLocation; setter: FastSetter<C> }, ctx: C, own: PassOwned): JsonObject | typeof UNTOUCHED | undefined {
  own.changed = false;
  return run({ loc: at.loc, setter: at.setter, root: obj, ctx, own }, obj);
}

function run<C>(c: Call<C>, obj: JsonObject): JsonObject | typeof UNTOUCHED | undefined {
  let r: Walked;
  try {
    r = walk(c, obj, 0);
  } catch (e) {
    if (e instanceof LocationMutateError) return undefined;
    throw e;
  }
  if (r === DECLINE) return undefined;
  return r as JsonObject | typeof UNTOUCHED;
}

function walk<C>(c: Call<C>, current: JsonValue, depth: number): Walked {
  const key = c.loc.keys[depth] as string | null;
  if (key === null) return walkGlob(c, current, depth);
  if (!isObject(current)) return DECLINE;
  return walkMap(c, current, key, depth);
}

/** A map field on the way or at the end (mutateInternal's object branch). */
function walkMap<C>(c: Call<C>, current: JsonObject, key: string, depth: number): Walked {
  const next = field(c.loc, current, key, depth);
  // a null: mutateAtLocation decides (a type mismatch on the way, or missing with LocationSetter.nullIsMissing)
  if (next === null) return DECLINE;
  const exists = next !== undefined;
  if (!(exists ? c.loc.existsOk[depth] : c.loc.missingOk[depth])) return UNTOUCHED;
  if (depth === c.loc.keys.length - 1) return setAt(c, current, key, next);
  const r = walk(c, exists ? next : created(c, depth), depth + 1);
  if (r === UNTOUCHED || r === DECLINE) return r;
  return exists && r === next ? current : withKey(c, writable(c, current, depth), key, r);
}

/** The own value of `key` in `map` at `depth`, or undefined (FastLocation.plain: without an own-property test). */
function field(loc: FastLocation, map: JsonObject, key: string, depth: number): JsonValue | undefined {
  return loc.plain[depth] || Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

/** The container created for a missing field at `depth` (createMissing): a list before a glob, else a map. */
function created<C>(c: Call<C>, depth: number): JsonValue {
  const made = c.loc.keys[depth + 1] === null ? [] : {};
  return c.own === undefined ? made : c.own.add(made);
}

/** A `[key: *]` glob before the end: every element walked (mutateInternal's glob branch). */
function walkGlob<C>(c: Call<C>, current: JsonValue, depth: number): Walked {
  if (!Array.isArray(current)) return DECLINE;
  if (!c.loc.existsOk[depth]) return UNTOUCHED;
  let out = ownList(c, current);
  let touched = false;
  for (let i = 0; i < current.length; i++) {
    const el = current[i] as JsonValue;
    const r = walk(c, el, depth + 1);
    if (r === DECLINE) return DECLINE;
    if (r === UNTOUCHED) continue;
    touched = true;
    if (r !== el) setElement(c, (out ??= copied(c, current.slice())), i, r);
  }
  return touched ? (out ?? current) : UNTOUCHED;
}

/** The last node: the setter's value written at `key` when it differs. */
function setAt<C>(c: Call<C>, current: JsonObject, key: string, next: JsonValue | undefined): Walked {
  const s = c.setter;
  if (s.test !== undefined && !s.test(next)) return UNTOUCHED;
  const exists = next !== undefined;
  if (exists && s.same !== undefined && s.same(next, c.root, c.ctx)) return current;
  const value = s.set(next, c.root, c.ctx);
  if (value === undefined || (exists && deepEqual(value, next))) return current;
  if (c.own !== undefined) noteSettles(c.own, s, value);
  return withKey(c, writable(c, current, c.loc.keys.length - 1), key, value);
}

/** Sets `own.unsettled` when the setter says the value it writes is not its own fixed point. */
function noteSettles<C>(own: PassOwned, s: FastSetter<C>, value: JsonValue): void {
  if (s.settles !== undefined && !s.settles(value)) own.unsettled = true;
}

/** `out` (a copy, or a map the pass made: writable) with `key` set: in place when it exists, appended when not. */
function withKey<C>(c: Call<C>, out: JsonObject, key: string, value: JsonValue): JsonObject {
  setOwn(out, key, value);
  if (c.own !== undefined) c.own.changed = true;
  return out;
}

/**
 * One spread site per depth (the last for depths 3 and below): a clone site
 * that has seen a few map shapes copies them by their shape, while one
 * site that every depth's maps went through had seen too many and copied
 * property by property (V8's CloneObjectIC slow path).
 */
const COPIES: readonly ((o: JsonObject) => JsonObject)[] = [(o) => ({ ...o }), (o) => ({ ...o }), (o) => ({ ...o }), (o) => ({ ...o })];

/** The map at `depth` to write into: `obj` itself when the pass made it (fastMutateOwned), else a copy (then the pass's own). */
function writable<C>(c: Call<C>, obj: JsonObject, depth: number): JsonObject {
  if (c.own !== undefined && c.own.owns(obj)) return obj;
  const out = (COPIES[depth] ?? (COPIES[3] as (o: JsonObject) => JsonObject))(obj);
  return c.own === undefined ? out : c.own.add(out);
}

/** `list` itself when the pass made it (fastMutateOwned: written in place), else undefined (copied on the first write). */
function ownList<C>(c: Call<C>, list: JsonValue[]): JsonValue[] | undefined {
  return c.own !== undefined && c.own.owns(list) ? list : undefined;
}

/** Sets element `i` of a list this call may write (a copy, or the pass's own). */
function setElement<C>(c: Call<C>, list: JsonValue[], i: number, value: JsonValue): void {
  list[i] = value;
  if (c.own !== undefined) c.own.changed = true;
}

/** A copy just made, listed as the pass's own when writing in place. */
function copied<C, T extends object>(c: Call<C>, o: T): T {
  return c.own === undefined ? o : c.own.add(o);
}
