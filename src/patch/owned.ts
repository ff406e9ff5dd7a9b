/**
 * The containers (maps and lists) one pass of mutations made itself, each
 * referenced once and seen by nobody outside the pass: the fast appliers
 * (./apply-configuration-fast.ts applyConfigMerge, ./scalar-sets.ts
 * applyScalarSets) change those in place instead of copying them again
 * (src/policy/admission-mutation.ts applyMutation says when a pass may).
 * A `Set<object>` is one; OwnedList is the cheaper one for a pass.
 */

/** What the appliers use of a set of owned containers. */
export interface Owned {
  has(container: object): boolean;
  add(container: object): unknown;
  clear(): void;
}

/**
 * Owned containers in a list: a pass makes a few of them (one per map on a
 * changed path), and for a few a scan by identity is cheaper than a Set,
 * which gives every object it holds an identity hash (for a map with fast
 * properties, a write into its header or a new property array).
 */
export class OwnedList implements Owned {
  private items: object[] = [];

  /** True when `container` was added since the last clear. */
  has(container: object): boolean {
    return this.items.includes(container);
  }

  /** Adds a container the pass made. */
  add(container: object): this {
    this.items.push(container);
    return this;
  }

  /** Forgets every container (after an applier that may share one in two places). */
  clear(): void {
    this.items = [];
  }
}
