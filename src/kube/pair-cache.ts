/**
 * A bounded cache keyed by two strings (an apiVersion or API group, and a
 * kind): looked up through two maps, so a lookup builds no key string, and
 * emptied whole once it holds `limit` entries (the keys come from requests,
 * so their number is not ours to bound).
 */
export class PairCache<V> {
  private readonly outer = new Map<string, Map<string, V>>();
  private size = 0;

  /** `limit`: most entries kept (emptied when a new one would exceed it). */
  constructor(private readonly limit: number) {}

  /** The value kept for (`a`, `b`), or undefined. */
  get(a: string, b: string): V | undefined {
    return this.outer.get(a)?.get(b);
  }

  /** Keeps `value` for (`a`, `b`); empties the cache first when it is full. */
  set(a: string, b: string, value: V): void {
    if (this.size >= this.limit) {
      this.outer.clear();
      this.size = 0;
    }
    let inner = this.outer.get(a);
    if (inner === undefined) this.outer.set(a, (inner = new Map()));
    if (!inner.has(b)) this.size++;
    inner.set(b, value);
  }
}
