/**
 * `PolicyStore`: the one PolicySet the webhook answers with, built from every
 * source (files, cluster) and swapped atomically. Each source replaces its own
 * list of compiled policies; the store rebuilds the set with `createPolicySet`
 * over all of them (which sorts by order, scope and name) and publishes it by
 * a single reference assignment, so a request sees either the old or the new
 * set, never a mix. JavaScript runs one request's evaluation to completion
 * before the next event, so no lock is needed.
 */
import { createPolicySet, type CompiledPolicy } from '../compile.js';
import type { PolicySet } from '../types.js';

/** Name of a policy source. */
export type SourceName = 'file' | 'cluster' | 'admission';

/** Combines the policies of several sources into one PolicySet. */
export class PolicyStore {
  private readonly lists = new Map<SourceName, readonly CompiledPolicy[]>();
  private set: PolicySet | undefined;

  /** `required`: the sources that must have delivered once before `current()` returns a set. */
  constructor(private readonly required: readonly SourceName[]) {}

  /** Replaces the policies of one source and rebuilds the set. */
  update(source: SourceName, policies: readonly CompiledPolicy[]): void {
    this.lists.set(source, policies);
    if (this.required.every((s) => this.lists.has(s))) {
      this.set = createPolicySet(this.required.flatMap((s) => [...(this.lists.get(s) ?? [])]));
    }
  }

  /** The current set; undefined until every required source has delivered. */
  current(): PolicySet | undefined {
    return this.set;
  }

  /** The compiled policies of the current set (every required source), unsorted; empty until `current()` returns a set. */
  policies(): CompiledPolicy[] {
    if (!this.set) return [];
    return this.required.flatMap((s) => [...(this.lists.get(s) ?? [])]);
  }

  /** Number of policies per source (for the policies-loaded gauge). */
  counts(): Record<SourceName, number> {
    return { file: this.lists.get('file')?.length ?? 0, cluster: this.lists.get('cluster')?.length ?? 0, admission: this.lists.get('admission')?.length ?? 0 };
  }
}
