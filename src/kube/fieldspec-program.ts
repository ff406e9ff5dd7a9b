/**
 * Field specs compiled for the hot path: `compileFieldSpecs(specs, createKind,
 * set)` gives the same results as `applyFieldSpecs(obj, specs, createKind,
 * set)` (src/kube/fieldspecs.ts, the reference: kustomize
 * api/filters/fieldspec + fsslice), for less work per object:
 * - the specs that select an apiVersion and kind (fieldSpecSelects) are found
 *   once per pair and kept (a bounded table: kinds come from requests), so an
 *   object meets only its own kind's walks (a Pod meets 1 of the 9 annotation
 *   specs);
 * - a walk keeps the keys it went through on a stack and builds the path
 *   string (`/spec/containers/0/image`) only when a setter or an error reads
 *   it, where the reference builds one string per step.
 * When a spec's setter changes the object's apiVersion or kind (a custom
 * field spec could), the remaining specs take the reference path, which
 * selects each against the object as it is then.
 */
import {
  applyFieldSpecs, fieldSpecSelects, FieldSpecError, segmentsOf,
  type CreateKind, type FieldSetter, type FieldSpec, type FieldWhere, type Seg,
} from './fieldspecs.js';
import { extensibleCopy, isObject, setOwn, type JsonObject, type JsonValue } from './object.js';
import { PairCache } from './pair-cache.js';

/** Field specs compiled with their create kind and setter (see the module comment). */
export interface FieldSpecProgram {
  /**
   * `applyFieldSpecs(obj, specs, createKind, set)`: the same result (the same
   * reference when nothing changed) and the same errors (FieldSpecError with
   * the same message and path; the setter's own).
   */
  apply(obj: JsonObject): JsonObject;
}

/** A spec that selects a kind: its index in the list, segments and create flag. */
interface Plan {
  readonly index: number;
  readonly segs: readonly Seg[];
  readonly path: string;
  readonly create: boolean;
}

/** Most apiVersion/kind pairs a program keeps plans for (cleared past it). */
const PLAN_LIMIT = 256;

/** The longest apiVersion and kind together (characters) that a program keeps as its last pair (plansFor). */
export const LAST_PAIR_MAX_CHARS = 256;

/**
 * Compiles field specs (see the module comment). `specs` is read now and
 * must not change afterwards. Never throws; `apply` throws as
 * `applyFieldSpecs` does.
 */
export function compileFieldSpecs(specs: readonly FieldSpec[], createKind: CreateKind, set: FieldSetter): FieldSpecProgram {
  return new Program([...specs], createKind, set);
}

class Program implements FieldSpecProgram, FieldWhere {
  /** Plans by apiVersion and kind. */
  private readonly plans = new PairCache<readonly Plan[]>(PLAN_LIMIT);
  /** Keys from the root to the node being walked (valid during `apply`). */
  private readonly stack: (string | number)[] = [];
  private plan: Plan = { index: -1, segs: [], path: '', create: false };
  /** The pair plansFor answered last and its plans (one entry; texts of at most LAST_PAIR_MAX_CHARS characters together). */
  private last: { readonly apiVersion: string; readonly kind: string; readonly plans: readonly Plan[] } | undefined;

  constructor(private readonly specs: readonly FieldSpec[], private readonly createKind: CreateKind, private readonly set: FieldSetter) {}

  /** The path of the node being walked, as the reference walk spells it (`/a/0/b`; '' at the root). */
  get path(): string {
    let p = '';
    for (const k of this.stack) p += `/${k}`;
    return p;
  }

  apply(obj: JsonObject): JsonObject {
    const apiVersion = obj.apiVersion;
    const kind = obj.kind;
    const plans = this.plansFor(typeof apiVersion === 'string' ? apiVersion : '', typeof kind === 'string' ? kind : '', obj);
    let out = obj;
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i] as Plan;
      this.plan = plan;
      if (this.stack.length !== 0) this.stack.length = 0; // setting an array's length is a runtime call, and the walks leave it empty
      const next = this.node(out, 0) as JsonObject;
      if (next !== out && (next.apiVersion !== apiVersion || next.kind !== kind)) {
        return applyFieldSpecs(next, this.specs.slice(plan.index + 1), this.createKind, this.set);
      }
      out = next;
    }
    return out;
  }

  /**
   * The plans of an apiVersion and kind: the last pair's without a lookup
   * (the objects of a review stream or a cluster's Pods come in runs of one
   * kind; two Map lookups a transformer otherwise), else from the table.
   * Plans are a function of the pair alone (fieldSpecSelects reads only the
   * object's apiVersion and kind), so the last pair's are the table's.
   */
  private plansFor(apiVersion: string, kind: string, obj: JsonObject): readonly Plan[] {
    const last = this.last;
    if (last !== undefined && last.apiVersion === apiVersion && last.kind === kind) return last.plans;
    let plans = this.plans.get(apiVersion, kind);
    if (plans === undefined) {
      const made: Plan[] = [];
      this.specs.forEach((spec, index) => {
        if (fieldSpecSelects(spec, obj)) made.push({ index, segs: segmentsOf(spec.path), path: spec.path, create: spec.create === true });
      });
      this.plans.set(apiVersion, kind, made);
      plans = made;
    }
    this.last = apiVersion.length + kind.length <= LAST_PAIR_MAX_CHARS ? { apiVersion, kind, plans } : undefined;
    return plans;
  }

  private node(node: JsonValue, i: number): JsonValue {
    if (i === this.plan.segs.length) return this.set(node, this);
    if (Array.isArray(node)) return this.seq(node, i);
    if (isObject(node)) return this.field(node, i);
    const where = this.path;
    throw new FieldSpecError(`expected sequence or mapping node at ${where || '/'} (field spec path ${this.plan.path})`, where);
  }

  /** A list: the remaining path on each element (the reference's `walkSeq`, holes skipped as forEach does). */
  private seq(list: JsonValue[], i: number): JsonValue[] {
    let out: JsonValue[] | undefined;
    for (let j = 0; j < list.length; j++) {
      const el = list[j] as JsonValue;
      if (el === undefined && !(j in list)) continue;
      this.stack.push(j);
      const next = this.node(el, i);
      this.stack.pop();
      if (next !== el) {
        out ??= list.slice();
        out[j] = next;
      }
    }
    return out ?? list;
  }

  /** A map: the field of the next segment, created when missing where the spec creates (the reference's `walkField`). */
  private field(obj: JsonObject, i: number): JsonObject {
    const { segs, create } = this.plan;
    const { name, isSeq } = segs[i] as Seg;
    const cur = obj[name];
    let next: JsonValue;
    this.stack.push(name);
    if (cur === undefined || cur === null) {
      if (!create || this.createKind === 'none' || isSeq) {
        this.stack.pop();
        return obj;
      }
      next = i === segs.length - 1 ? this.set(this.createKind === 'map' ? {} : undefined, this) : this.node({}, i + 1);
    } else {
      next = this.node(cur, i + 1);
    }
    this.stack.pop();
    if (next === cur) return obj;
    // The reference's `{ ...obj, [name]: next }` (same keys in the same order), about 3x cheaper; built
    // from {} when `name` is new to it (a key added to a spread copy takes V8's slow store: extensibleCopy).
    const copy = Object.prototype.hasOwnProperty.call(obj, name) ? { ...obj } : extensibleCopy(obj);
    setOwn(copy, name, next);
    return copy;
  }
}
