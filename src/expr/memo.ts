/**
 * An expression's evaluation replayed when the values it read are the same:
 * a bounded memo per compiled expression (src/expr/cel.ts) of its results,
 * keyed by the reads each evaluation made of its variables.
 *
 * Why it is exact. An evaluation is a function of what it reads: the engine,
 * our libraries and the cost meter are deterministic (no clock but the
 * meter's, no randomness), and every value an expression sees comes from
 * its variables through src/expr/cel.ts `JsonMap` (a lazy map over a JSON
 * object: `get`, `has`, `size`, its keys and entries) or through a list
 * converted whole, one level at a time. So an evaluation that makes the same
 * first read and sees the same answer makes the same second read, and so on:
 * the same reads with the same answers, in order, give the same result and
 * the same charges. The recorder notes each read and its answer (a scalar's
 * value, whether a key is there, a map's size or keys, the first level of a
 * list); a later evaluation walks the recorded reads against its own
 * variables' JSON, answer by answer (a trie: evaluations that part at one
 * answer share the reads before it), and when every answer is the same
 * returns the kept result and charges the kept charges again
 * (src/expr/meter.ts `replayRecorded`: the same units, limits, budget and
 * clock reads at the same points as evaluating again; when they would exceed
 * a limit or the budget, the expression is evaluated instead, so the error
 * and what it charges are the evaluation's own).
 *
 * What is kept: only successful evaluations of expressions that read plain
 * JSON variables (not `variables` or `authorizer`) outside any other
 * expression, whose result is plain data (no map of the input, no bytes,
 * timestamps or optionals), that read no string over MAX_STRING_CHARS and no
 * list over MAX_LIST_ITEMS, that made at most MAX_STEPS reads and
 * MAX_CHARGES charges, and that never read the clock for a large input
 * (`beforeLargeCall`). Errors are never kept: a failing evaluation fails
 * again, with its own message.
 *
 * All the memos of a thread hold at most MAX_TOTAL_BYTES together
 * (estimated); past it, evaluations are not kept.
 *
 * Who it helps: a cluster's Pods come from a few templates (a ReplicaSet's
 * replicas, a Job's pods, a DaemonSet's), and rules read their specs, images
 * and security settings, not their names: the second Pod of a template
 * replays what the first one read. Bounded per expression (MAX_LEAVES kept
 * results, MAX_NODES reads, MAX_CHARS characters of strings; a full memo is
 * emptied and refilled); an
 * expression that reads what changes with each object (a name, a uid) misses
 * every time, and after a memo filled without a hit it is evaluated without
 * one for PAUSE evaluations before trying again (twice as long after each
 * fill without a hit in a row).
 */
import { type JsonValue } from '../kube/object.js';

/** A read's answer: the key is not there (or the variable is missing). */
const ABSENT: unique symbol = Symbol('absent');
/** A read's answer: a map (a JSON object, read lazily: its own reads are steps of their own). */
const MAP: unique symbol = Symbol('map');
/** The `answer` of an edge for a list's Shape or a map's keys (compared item by item, never by identity). */
const LIST: unique symbol = Symbol('list');

/** A JSON scalar as it was read (the raw value, before conversion to CEL). */
type Scalar = string | number | boolean | null | undefined | bigint;

/** A list's first level: its scalars, MAP for a map, a Shape for a list, in order. */
type Shape = readonly (Scalar | typeof MAP | Shape)[];

/** The kinds of read (JsonMap's methods; GET also reads a variable from the activation). */
const GET = 1;
const HAS = 2;
const SIZE = 3;
const FIRST_KEY = 4;
const KEYS = 5;

/** Most reads one kept evaluation may make. */
export const MAX_STEPS = 512;
/** Longest string read (a scalar, or a key of a map's keys) that a kept evaluation may have read. */
export const MAX_STRING_CHARS = 1024;
/** Most items (all levels) of a list, or keys of a map, that a kept evaluation may have read. */
export const MAX_LIST_ITEMS = 1024;
/** Most charges one kept evaluation may have made (replayed one by one past the first clock read). */
export const MAX_CHARGES = 1024;
/** Most results kept per expression. */
export const MAX_LEAVES = 64;
/** Most reads kept per expression, over all its results. */
export const MAX_NODES = 4096;
/** Most characters of strings (read, and in the results) kept per expression, counted per kept evaluation. */
export const MAX_CHARS = 32 * 1024;
/**
 * Most bytes all the memos of one thread (the event loop, or the evaluation
 * worker) hold together, estimated (memoBytes): without it, a policy set of a
 * few hundred expressions, each memo at its own bounds (~1.8 MiB measured at
 * MAX_NODES reads and MAX_LEAVES results of MAX_CHARGES charges), could
 * outgrow the chart's 384 MiB memory limit. Past it, new evaluations are
 * simply not kept (they are evaluated, as without a memo) until a memo is
 * emptied or a dropped policy set's memos are collected.
 */
export const MAX_TOTAL_BYTES = 32 * 1024 * 1024;
/** Estimated bytes of one trie node with its edge and answer map (measured: ~200). */
export const NODE_BYTES = 256;
/** Estimated bytes of one kept result besides its charges and strings (the leaf, its value and frozen JSON). */
export const LEAF_BYTES = 256;

/** The bytes the live memos of this thread hold (estimated), and the bound in force (MAX_TOTAL_BYTES; tests lower it). */
const held = { total: 0, max: MAX_TOTAL_BYTES };

/** A dropped memo (its policy set replaced) gives its bytes back when it is collected. */
const released = new FinalizationRegistry<{ bytes: number }>((share) => {
  held.total -= share.bytes;
  share.bytes = 0;
});

/** The estimated bytes the live memos of this thread hold (tests). */
export function memoBytesHeld(): number {
  return held.total;
}

/** Sets the bound on all memos' bytes (MAX_TOTAL_BYTES by default) and returns the previous one (tests). */
export function setMemoBytesLimit(bytes: number): number {
  const previous = held.max;
  held.max = bytes;
  return previous;
}

/** What keeping `leaf` at the end of `steps` new reads may cost at most (bytes, estimated). */
function memoBytes(newNodes: number, leaf: Leaf): number {
  return newNodes * NODE_BYTES + LEAF_BYTES + 8 * leaf.charges.length + 2 * leaf.chars;
}

/** Evaluations without the memo after it filled without a single hit (doubled each time in a row, up to MAX_PAUSE). */
export const PAUSE = 1024;
/** The longest rest. */
export const MAX_PAUSE = 65536;

/** One read of a recorded evaluation. */
interface Step {
  readonly op: number;
  /** The container read: 0 the variables, else a map's id (in the order the evaluation first met them). */
  readonly cid: number;
  /** GET and HAS: the key. */
  readonly key: unknown;
  /** The answer: a scalar, ABSENT, MAP, a boolean (HAS), a number (SIZE), a key (FIRST_KEY); a list's answer is `list`. */
  readonly answer: unknown;
  /** A list's Shape (GET), or a map's keys (KEYS). */
  readonly list?: Shape | readonly string[];
  /** GET of a map: its id. */
  readonly id?: number;
  /** GET of a list: the ids of the maps in it, depth first. */
  readonly ids?: readonly number[];
}

/** A kept evaluation: the engine's value, its plain JSON (frozen), its charges in order and their sum. */
export interface Leaf {
  readonly value: unknown;
  readonly json: JsonValue;
  readonly charges: readonly number[];
  readonly total: number;
  /** Characters of the strings the evaluation's reads and result hold (what keeping it costs, MAX_CHARS). */
  readonly chars: number;
}

/** One read of the trie: what is read, and the answers seen so far. */
interface TrieNode {
  /** 0 until a recording passes here; then the read (GET...), or -1 where a result is kept (`leaf`). */
  op: number;
  cid: number;
  key: unknown;
  /** Answers compared by identity (scalars, ABSENT, MAP, booleans, sizes, keys). */
  answers: Map<unknown, Edge> | undefined;
  /** Answers compared item by item (a list's Shape, a map's keys). */
  lists: Edge[] | undefined;
  leaf: Leaf | undefined;
  /**
   * True when the read is of a map of the input (not the variables object:
   * a map's prototype is checked to be Object.prototype before it is read)
   * by a string key Object.prototype does not have: then `raw[key]`, when
   * not undefined, is the map's own value, without asking hasOwnProperty.
   */
  plain: boolean;
  /**
   * The edge last taken or made here: `lookup` compares the answer with it
   * before the maps (the Pods of one template give the same answers). One
   * of `answers`' or `lists`' edges, so the answer it accepts is theirs.
   */
  hot: Edge | undefined;
}

/** An answer and the read that comes after it. */
interface Edge {
  /** The answer as `answers` keys it; LIST for an edge of `lists`. */
  readonly answer: unknown;
  readonly next: TrieNode;
  readonly id: number | undefined;
  readonly ids: readonly number[] | undefined;
  readonly list: Shape | readonly string[] | undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The recorder of the evaluation in progress, read by src/expr/cel.ts JsonMap (a live binding); undefined when none records. */
export let recording: ReadRecorder | undefined;

/**
 * Runs `fn` with `recorder` noting the reads of JsonMaps (and returns its
 * value); the previous recorder is restored after, also when `fn` throws.
 */
export function withRecorder<T>(recorder: ReadRecorder, fn: () => T): T {
  const previous = recording;
  recording = recorder;
  try {
    return fn();
  } finally {
    recording = previous;
  }
}

/**
 * The reads of one evaluation, in order. Containers are told apart by
 * identity (a JsonMap is made once per map of the input and kept by its
 * parent) and named by ids in the order they were first read; the variables
 * object is 0. A read it cannot describe (a value that is not JSON, a
 * container it never saw given out, too many reads) marks it `failed`: that
 * evaluation is not kept.
 */
export class ReadRecorder {
  readonly steps: Step[] = [];
  failed = false;
  /** Characters of the strings the reads hold (keys and answers). */
  chars = 0;
  private readonly ids = new Map<object, number>();
  private nextId = 1;
  /** The reads made so far (op, container, key). */
  private readonly seen = new Set<string>();

  /** `vars`: the variables object given to the evaluation (the container of the variables, id 0). */
  constructor(vars: object) {
    this.ids.set(vars, 0);
  }

  /**
   * `container.get(key)` (or the variable `key` of the variables object)
   * answered `value`: `raw` is the container's JSON; value the CEL value the
   * read gave (a JsonMap for a map, a converted list for a list).
   */
  get(container: object, raw: Record<string, unknown>, key: unknown, value: unknown): void {
    const cid = this.idOf(container);
    if (cid === undefined) return;
    if (typeof key !== 'string' || !hasOwn.call(raw, key)) return this.push({ op: GET, cid, key, answer: ABSENT });
    const v = raw[key];
    if (typeof v !== 'object' || v === null) return this.scalar(GET, cid, key, v);
    if (Array.isArray(v)) return this.list(cid, key, v, value);
    if (Object.getPrototypeOf(v) !== Object.prototype || typeof value !== 'object' || value === null) return this.fail();
    this.push({ op: GET, cid, key, answer: MAP, id: this.register(value) });
  }

  /** `container.has(key)` answered `present`. */
  has(container: object, key: unknown, present: boolean): void {
    const cid = this.idOf(container);
    if (cid !== undefined) this.push({ op: HAS, cid, key, answer: present });
  }

  /** `container.size` answered `n`. */
  size(container: object, n: number): void {
    const cid = this.idOf(container);
    if (cid !== undefined) this.push({ op: SIZE, cid, key: undefined, answer: n });
  }

  /** The first of `container`'s keys is `key` (undefined: none). */
  firstKey(container: object, key: string | undefined): void {
    const cid = this.idOf(container);
    if (cid !== undefined) this.scalar(FIRST_KEY, cid, undefined, key);
  }

  /** `container`'s keys, all of them in order, were read. */
  keys(container: object, keys: readonly string[]): void {
    const cid = this.idOf(container);
    if (cid === undefined) return;
    if (keys.length > MAX_LIST_ITEMS || keys.some((k) => k.length > MAX_STRING_CHARS)) return this.fail();
    for (const k of keys) this.chars += k.length;
    this.push({ op: KEYS, cid, key: undefined, answer: KEYS, list: keys });
  }

  private idOf(container: object): number | undefined {
    const cid = this.ids.get(container);
    if (cid === undefined) this.fail();
    return this.failed ? undefined : cid;
  }

  private register(value: object): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(value, id);
    }
    return id;
  }

  private scalar(op: number, cid: number, key: unknown, v: unknown): void {
    if (typeof v === 'string' && v.length > MAX_STRING_CHARS) return this.fail();
    if (typeof v === 'string') this.chars += v.length;
    this.push({ op, cid, key, answer: v });
  }

  /** A list read whole: its Shape, and ids for the maps in it (its converted items, in the same places). */
  private list(cid: number, key: string, raw: readonly unknown[], value: unknown): void {
    const ids: number[] = [];
    const budget = { items: MAX_LIST_ITEMS };
    const shape = Array.isArray(value) ? this.shapeOf(raw, value, ids, budget) : undefined;
    if (shape === undefined) return this.fail();
    this.push({ op: GET, cid, key, answer: shape, list: shape, ids });
  }

  private shapeOf(raw: readonly unknown[], cel: readonly unknown[], ids: number[], budget: { items: number }): Shape | undefined {
    budget.items -= raw.length;
    if (budget.items < 0 || cel.length !== raw.length) return undefined;
    const out: (Scalar | typeof MAP | Shape)[] = [];
    for (let i = 0; i < raw.length; i++) {
      const item = this.shapeItem(raw[i], cel[i], ids, budget);
      if (item === undefined && raw[i] !== undefined) return undefined;
      out.push(item);
    }
    return out;
  }

  /** One item of a list's Shape (undefined for an item that is not JSON, unless the item is undefined itself). */
  private shapeItem(raw: unknown, cel: unknown, ids: number[], budget: { items: number }): Scalar | typeof MAP | Shape {
    if (typeof raw === 'string') return raw.length > MAX_STRING_CHARS ? undefined : ((this.chars += raw.length), raw);
    if (typeof raw !== 'object' || raw === null) return raw as Scalar;
    if (Array.isArray(raw)) return Array.isArray(cel) ? this.shapeOf(raw, cel, ids, budget) : undefined;
    if (Object.getPrototypeOf(raw) !== Object.prototype || typeof cel !== 'object' || cel === null) return undefined;
    ids.push(this.register(cel));
    return MAP;
  }

  /**
   * Appends a read, unless the evaluation made it before: the same read of
   * the same container has the same answer (the JSON does not change while
   * it is evaluated), and a replay need not ask again.
   */
  private push(step: Step): void {
    if (this.failed) return;
    const seen = `${step.op}:${step.cid}:${typeof step.key}:${String(step.key)}`;
    if (this.seen.has(seen)) return;
    if (this.steps.length >= MAX_STEPS || (typeof step.key === 'string' && step.key.length > MAX_STRING_CHARS)) return this.fail();
    if (typeof step.key === 'string') this.chars += step.key.length;
    this.seen.add(seen);
    this.steps.push(step);
  }

  private fail(): void {
    this.failed = true;
  }
}

/**
 * The memo of one expression: a trie of recorded reads whose ends hold the
 * kept results (see the module's comment). Not re-entrant: a lookup calls
 * nothing that evaluates.
 */
export class EvaluationMemo {
  private root: TrieNode | undefined;
  private leaves = 0;
  private nodes = 0;
  private chars = 0;
  /** One more than the largest container id of the kept reads (the size of lookup's table). */
  private ids = 1;
  private hitsSinceClear = 0;
  private paused = 0;
  /** The next rest (evaluations). */
  private rest = PAUSE;
  /** This memo's share of `held.total` (a separate object: the finalizer must not hold the memo). */
  private readonly share = { bytes: 0 };

  constructor() {
    released.register(this, this.share);
  }

  /** False while the memo rests (PAUSE evaluations after it filled without a hit): evaluate without it. */
  active(): boolean {
    if (this.paused === 0) return true;
    this.paused--;
    return false;
  }

  /** The kept evaluation whose reads give the same answers over `vars`, or undefined. */
  lookup(vars: object): Leaf | undefined {
    const table: unknown[] = new Array(this.ids);
    table[0] = vars;
    let node = this.root;
    while (node !== undefined && node.op > 0) {
      const raw = table[node.cid];
      if (raw === undefined) return undefined;
      const edge = answerOf(node, raw as Record<string, unknown>, table);
      if (edge === undefined) return undefined;
      node = edge.next;
    }
    if (node?.leaf !== undefined) this.hitsSinceClear++;
    return node?.leaf;
  }

  /**
   * Keeps `leaf` at the end of `steps` (a successful evaluation's reads).
   * A trie over its bounds is emptied first. Returns false, keeping nothing,
   * when the steps part from the trie's reads where the answers agree (an
   * evaluation that is not a function of its reads: never, but never trusted).
   */
  insert(steps: readonly Step[], leaf: Leaf): boolean {
    if (leaf.chars > MAX_CHARS) return false;
    if (this.full(steps.length, leaf.chars)) this.clear();
    // The whole thread's bound, at the most these reads could add: past it, nothing is kept.
    if (held.total + memoBytes(steps.length + 1, leaf) > held.max) return false;
    const nodesBefore = this.nodes;
    const node = this.walk(steps);
    if (node === undefined) {
      this.hold((this.nodes - nodesBefore) * NODE_BYTES);
      return false;
    }
    this.hold(memoBytes(this.nodes - nodesBefore, leaf));
    this.chars += leaf.chars;
    if (node.leaf === undefined) this.leaves++;
    node.op = -1;
    node.leaf = leaf;
    return true;
  }

  /** The node at the end of `steps` (made as needed), or undefined when they part from the trie's reads or end where reads go on. */
  private walk(steps: readonly Step[]): TrieNode | undefined {
    let node: TrieNode | undefined = (this.root ??= this.newNode());
    for (let i = 0; i < steps.length && node !== undefined; i++) node = this.follow(node, steps[i]);
    return node === undefined || (node.op !== 0 && node.op !== -1) ? undefined : node;
  }

  /** Adds `bytes` to this memo's share and the thread's total. */
  private hold(bytes: number): void {
    this.share.bytes += bytes;
    held.total += bytes;
  }

  /** True when `steps` more reads and `chars` more characters would take the trie over a bound. */
  private full(steps: number, chars: number): boolean {
    return this.leaves >= MAX_LEAVES || this.nodes + steps > MAX_NODES || this.chars + chars > MAX_CHARS;
  }

  /** The node after `s` from `node` (made when new); undefined when `node` reads something else or names other ids. */
  private follow(node: TrieNode, s: Step): TrieNode | undefined {
    if (node.op === 0) Object.assign(node, { op: s.op, cid: s.cid, key: s.key, plain: plainRead(s) });
    else if (node.op !== s.op || node.cid !== s.cid || node.key !== s.key) return undefined;
    const edge = this.edgeFor(node, s);
    if (edge.id !== s.id || !sameIds(edge.ids, s.ids)) return undefined;
    node.hot = edge;
    this.ids = Math.max(this.ids, (s.id ?? 0) + 1, ...(s.ids ?? []).map((id) => id + 1));
    return edge.next;
  }

  /** Empties the trie; one filled without a hit rests the memo, twice as long as the last time it rested in a row (at most MAX_PAUSE). */
  private clear(): void {
    if (this.hitsSinceClear > 0) this.rest = PAUSE;
    else if (this.root !== undefined) {
      this.paused = this.rest;
      this.rest = Math.min(2 * this.rest, MAX_PAUSE);
    }
    this.root = undefined;
    held.total -= this.share.bytes;
    this.share.bytes = 0;
    this.leaves = 0;
    this.nodes = 0;
    this.chars = 0;
    this.ids = 1;
    this.hitsSinceClear = 0;
  }

  private newNode(): TrieNode {
    this.nodes++;
    return { op: 0, cid: 0, key: undefined, answers: undefined, lists: undefined, leaf: undefined, plain: false, hot: undefined };
  }

  /** The edge of `s`'s answer from `node`, made when new. */
  private edgeFor(node: TrieNode, s: Step): Edge {
    if (s.list !== undefined) {
      const lists = (node.lists ??= []);
      const found = lists.find((e) => sameList(e.list as Shape, s.list as Shape));
      if (found !== undefined) return found;
      const edge: Edge = { answer: LIST, next: this.newNode(), id: undefined, ids: s.ids, list: s.list };
      lists.push(edge);
      return edge;
    }
    const answers = (node.answers ??= new Map());
    let edge = answers.get(s.answer);
    if (edge === undefined) {
      edge = { answer: s.answer, next: this.newNode(), id: s.id, ids: undefined, list: undefined };
      answers.set(s.answer, edge);
    }
    return edge;
  }
}

/** TrieNode.plain of a step's read. */
function plainRead(s: Step): boolean {
  return s.cid !== 0 && typeof s.key === 'string' && !(s.key in Object.prototype);
}

/**
 * The edge of `node`'s read answered over the JSON `raw` (the container the
 * node reads), with the ids of the maps the answer names set in `table`;
 * undefined when no recorded evaluation saw that answer.
 */
function answerOf(node: TrieNode, raw: Record<string, unknown>, table: unknown[]): Edge | undefined {
  switch (node.op) {
    case GET:
      return getAnswer(node, raw, table);
    case HAS:
      return edgeOf(node, typeof node.key === 'string' && hasOwn.call(raw, node.key));
    case SIZE:
      return edgeOf(node, Object.keys(raw).length);
    case FIRST_KEY:
      return edgeOf(node, firstOwnKey(raw));
    default:
      return keysAnswer(node, Object.keys(raw));
  }
}

/**
 * The edge of an answer compared by identity: the hot edge when it has that
 * answer (`===` implies the map's SameValueZero), else the map's.
 */
function edgeOf(node: TrieNode, answer: unknown): Edge | undefined {
  const hot = node.hot;
  if (hot !== undefined && hot.answer === answer) return hot;
  const edge = node.answers?.get(answer);
  if (edge !== undefined) node.hot = edge;
  return edge;
}

function getAnswer(node: TrieNode, raw: Record<string, unknown>, table: unknown[]): Edge | undefined {
  const key = node.key;
  if (typeof key !== 'string') return edgeOf(node, ABSENT);
  if (node.plain) {
    const v = raw[key];
    if (v !== undefined) return valueAnswer(node, v, table); // the map's own (TrieNode.plain)
  }
  return hasOwn.call(raw, key) ? valueAnswer(node, raw[key], table) : edgeOf(node, ABSENT);
}

/** The edge of GET's answer `v`, the value of a key the map has. */
function valueAnswer(node: TrieNode, v: unknown, table: unknown[]): Edge | undefined {
  if (typeof v !== 'object' || v === null) return edgeOf(node, v);
  return Array.isArray(v) ? listAnswer(node, v, table) : mapAnswer(node, v, table);
}

function mapAnswer(node: TrieNode, v: object, table: unknown[]): Edge | undefined {
  if (Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  const edge = edgeOf(node, MAP);
  if (edge !== undefined) table[edge.id as number] = v;
  return edge;
}

/** The edge of the Shape `v` has (at most one matches: two Shapes differ at some item, which `v` can match in one only), the ids of its maps set in `table`. */
function listAnswer(node: TrieNode, v: readonly unknown[], table: unknown[]): Edge | undefined {
  const hot = node.hot;
  let edge = hot !== undefined && hot.answer === LIST && matchesShape(v, hot.list as Shape) ? hot : undefined;
  if (edge === undefined) {
    edge = node.lists?.find((e) => matchesShape(v, e.list as Shape));
    if (edge === undefined) return undefined;
    node.hot = edge;
  }
  setIds(v, edge.list as Shape, { ids: edge.ids as readonly number[], table }, 0);
  return edge;
}

function keysAnswer(node: TrieNode, keys: readonly string[]): Edge | undefined {
  const hot = node.hot;
  if (hot !== undefined && hot.answer === LIST && sameList(hot.list as readonly string[], keys)) return hot;
  const edge = node.lists?.find((e) => sameList(e.list as readonly string[], keys));
  if (edge !== undefined) node.hot = edge;
  return edge;
}

/** True when the JSON list `v` has the Shape `shape`: the same length, scalars and kinds in the same places. */
function matchesShape(v: readonly unknown[], shape: Shape): boolean {
  if (v.length !== shape.length) return false;
  for (let i = 0; i < v.length; i++) if (!matchesItem(v[i], shape[i])) return false;
  return true;
}

function matchesItem(item: unknown, s: Scalar | typeof MAP | Shape): boolean {
  if (s === MAP) return typeof item === 'object' && item !== null && Object.getPrototypeOf(item) === Object.prototype;
  if (Array.isArray(s)) return Array.isArray(item) && matchesShape(item, s);
  return item === s;
}

/**
 * Sets the ids of the maps of `v` (which has `shape`) in `table`, depth first
 * as the recorder gave them, from `ids[at]` on; returns the index after the
 * last id used.
 */
function setIds(v: readonly unknown[], shape: Shape, { ids, table }: { ids: readonly number[]; table: unknown[] }, at: number): number {
  for (let i = 0; i < v.length; i++) {
    const s = shape[i];
    if (s === MAP) table[ids[at++] as number] = v[i];
    else if (Array.isArray(s)) at = setIds(v[i] as unknown[], s, { ids, table }, at);
  }
  return at;
}

/** The same ids in the same order (or both none). */
function sameIds(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Two Shapes (or key lists) alike, item by item. */
function sameList(a: Shape | readonly string[], b: Shape | readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y && !(Array.isArray(x) && Array.isArray(y) && sameList(x, y))) return false;
  }
  return true;
}

/** The first key of `Object.keys(o)`, without listing them all (for-in visits own keys first, in the same order). */
export function firstOwnKey(o: Record<string, unknown>): string | undefined {
  for (const k in o) if (hasOwn.call(o, k)) return k;
  return undefined;
}

/** Characters of the strings in a JSON value (keys and values). */
export function stringChars(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) for (const x of v) n += stringChars(x);
  else for (const [k, x] of Object.entries(v)) n += k.length + stringChars(x);
  return n;
}
