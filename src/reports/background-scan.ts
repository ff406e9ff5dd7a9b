/**
 * The background scan (`serve --cluster --reports`, leader only): every
 * existing object of a kind the policies name is evaluated as if created
 * now, and its results go to the `ReportStore`.
 *
 * Per scanned kind (see `planScan`): a paged list (`limit` objects per page,
 * following `continue`), then a watch from the list's `resourceVersion`
 * (ADDED/MODIFIED: evaluated again; DELETED: results removed), re-watched
 * when the server ends it and re-listed on `410 Gone`, as client-go's
 * reflector. Objects are evaluated one page or one event at a time and never
 * kept: memory is bounded by one page and the store. After each full list,
 * results of objects of that kind that the list no longer holds are removed.
 *
 * A policy change (`policiesChanged`) re-plans (kinds added or dropped) and
 * re-lists every kind, debounced (`debounceMs`), so every object is judged
 * by the new set. The event loop is yielded between pages and every 50
 * objects, so admission requests are not held up by a large scan.
 *
 * Evaluation input: front door `admission`, operation CREATE, the object's
 * namespace and that namespace's labels; `metadata.managedFields` dropped
 * (as at admission). Kyverno's background scan likewise has no request
 * (no userInfo): policies that match on it do not match here.
 */
import { withoutManagedFields } from '../admission/review.js';
import type { KubeObject } from '../kube/object.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { expectOk, KubeRestError, type KubeRest, type WatchHandle } from '../policy/sources/kube-rest.js';
import type { PolicySet } from '../policy/types.js';
import { discoverResources, planScan, resourcePath, type ServedResource } from './discovery.js';
import { ruleOutcomes } from './outcomes.js';
import { objectReference, reportResults, type ObjectReference } from './policy-report.js';
import type { ReportStore } from './report-store.js';

/** The policies to scan with: the evaluated set and its compiled policies (for the kinds they name). */
export interface ScanPolicies {
  set: PolicySet;
  policies: readonly CompiledPolicy[];
}

/** Options of `BackgroundScan`. */
export interface BackgroundScanOptions {
  rest: KubeRest;
  store: ReportStore;
  getPolicies: () => ScanPolicies | undefined;
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  /** Objects per list page (default 200). */
  pageSize?: number;
  /** Delay before a re-plan after a policy change, in ms (default 1000). */
  debounceMs?: number;
  /** First and most delay before a failed list or watch is retried, in ms (default 1000, 30000). */
  backoffMs?: { initial: number; max: number };
  /** Served resources (default: API discovery). */
  discover?: (rest: KubeRest) => Promise<ServedResource[]>;
  /** A scan pass finished (every kind listed once), with the objects evaluated. */
  onScanned?: (objects: number, kinds: number) => void;
  /** Failures (each retried): what failed and the error. */
  onError?: (what: string, err: unknown) => void;
  /** Policies that name no kind (reported from admission only). */
  onUnrestricted?: (policies: string[]) => void;
  /** Each object evaluated (metrics). */
  onObject?: () => void;
  /** Clock in ms (default `Date.now`), for result timestamps. */
  now?: () => number;
}

/** Objects evaluated between two yields of the event loop. */
const YIELD_EVERY = 50;

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lists, watches and evaluates the objects of the kinds the policies name. */
export class BackgroundScan {
  private readonly kinds = new Map<string, KindScan>();
  private debounce: NodeJS.Timeout | undefined;
  private stopped = true;
  private pass = 0;
  private planning: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BackgroundScanOptions) {}

  /** Starts: plans and lists at once. */
  start(): void {
    this.stopped = false;
    this.policiesChanged(0);
  }

  /** The policies changed: re-plan and re-list after the debounce delay. */
  policiesChanged(delayMs = this.opts.debounceMs ?? 1000): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.planning = this.planning.then(() => this.replan()).catch((e: unknown) => this.opts.onError?.('scan plan', e));
    }, delayMs);
    this.debounce.unref?.();
  }

  /** Stops every list and watch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = undefined;
    await this.planning;
    await Promise.all([...this.kinds.values()].map((k) => k.stop()));
    this.kinds.clear();
  }

  /** Group/kind keys being scanned. */
  scannedKinds(): string[] {
    return [...this.kinds.keys()];
  }

  /** Evaluates one object against the current policies and records its results (exported for admission-less tests). */
  evaluate(object: KubeObject, target: Pick<ServedResource, 'group' | 'version' | 'kind'>): void {
    const policies = this.opts.getPolicies();
    if (!policies) return;
    const obj = withoutManagedFields({ ...object, apiVersion: target.group ? `${target.group}/${target.version}` : target.version, kind: target.kind });
    const namespace = typeof (obj.metadata as { namespace?: unknown } | undefined)?.namespace === 'string' ? ((obj.metadata as { namespace: string }).namespace) : '';
    const ref = objectReference(obj, namespace);
    if (!ref) return;
    this.opts.onObject?.();
    const result = policies.set.evaluate(obj, { frontDoor: 'admission', operation: 'CREATE', namespace, namespaceLabels: namespace ? this.opts.namespaceLabels?.(namespace) : undefined });
    const outcomes = ruleOutcomes(result, { origin: 'scan' });
    this.opts.store.set(ref, reportResults(ref, outcomes, this.now() / 1000, 'scan'));
  }

  // eslint-disable-next-line complexity -- one re-plan: discover, diff kinds, relist
  private async replan(): Promise<void> {
    if (this.stopped) return;
    const policies = this.opts.getPolicies();
    if (!policies) return;
    const served = await (this.opts.discover ?? discoverResources)(this.opts.rest);
    const plan = planScan(policies.policies, served);
    if (plan.unrestricted.length > 0) this.opts.onUnrestricted?.(plan.unrestricted);
    const wanted = new Map(plan.targets.map((t) => [`${t.group}/${t.kind}`, t]));
    for (const [key, scan] of this.kinds) {
      if (wanted.has(key)) continue;
      await scan.stop();
      this.kinds.delete(key);
    }
    this.opts.store.retainKinds((k) => wanted.has(k) || !this.wasScanned(k));
    const pass = ++this.pass;
    const listed: Promise<number>[] = [];
    for (const [key, target] of wanted) {
      let scan = this.kinds.get(key);
      if (!scan) this.kinds.set(key, (scan = new KindScan(target, this)));
      listed.push(scan.relist());
    }
    const counts = await Promise.all(listed);
    if (pass === this.pass && !this.stopped) this.opts.onScanned?.(counts.reduce((a, b) => a + b, 0), wanted.size);
  }

  /** Kinds ever scanned by this instance (their results are dropped when no policy names the kind any more). */
  private readonly everScanned = new Set<string>();

  private wasScanned(kind: string): boolean {
    return this.everScanned.has(kind);
  }

  /** @internal */
  markScanned(kind: string): void {
    this.everScanned.add(kind);
  }

  /** @internal */
  get options(): BackgroundScanOptions {
    return this.opts;
  }

  /** @internal */
  get isStopped(): boolean {
    return this.stopped;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** The list-then-watch loop of one kind. */
class KindScan {
  private watch: WatchHandle | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly key: string;

  constructor(private readonly target: ServedResource, private readonly scan: BackgroundScan) {
    this.key = `${target.group}/${target.kind}`;
    scan.markScanned(this.key);
  }

  /** Lists every object again (ending the current watch), then watches. Resolves with the objects listed (0 when interrupted or failed). */
  async relist(): Promise<number> {
    const gen = ++this.generation;
    this.endWatch();
    try {
      const { count, resourceVersion } = await this.list(gen);
      if (gen !== this.generation || this.scan.isStopped) return 0;
      this.failures = 0;
      void this.startWatch(gen, resourceVersion);
      return count;
    } catch (e) {
      this.retry(gen, `list ${this.key}`, e, () => void this.relist());
      return 0;
    }
  }

  async stop(): Promise<void> {
    this.generation++;
    this.endWatch();
  }

  // eslint-disable-next-line complexity -- one paged list loop, as client-go's pager
  private async list(gen: number): Promise<{ count: number; resourceVersion: string }> {
    const { rest, store, pageSize } = this.scan.options;
    const seen = new Set<string>();
    let cont: string | undefined;
    let resourceVersion = '';
    let count = 0;
    do {
      const res = await rest.request('GET', resourcePath(this.target), { query: { limit: pageSize ?? 200, continue: cont } });
      if (gen !== this.generation) return { count: 0, resourceVersion: '' };
      const page = expectOk(`list ${this.key}`, res) as { metadata?: { continue?: string; resourceVersion?: string }; items?: KubeObject[] };
      for (const item of page.items ?? []) {
        this.scan.evaluate(item, this.target);
        seen.add(refKey(item));
        if (++count % YIELD_EVERY === 0) await yieldLoop();
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      await yieldLoop();
    } while (cont);
    store.retainKind(this.key, (ref) => seen.has(`${ref.namespace ?? ''}/${ref.name}`));
    return { count, resourceVersion };
  }

  private async startWatch(gen: number, resourceVersion: string): Promise<void> {
    const { rest, store } = this.scan.options;
    let last = resourceVersion;
    let gone = false;
    const onEvent = (type: string, object: Record<string, unknown>): void => {
      if (gen !== this.generation) return;
      const rv = (object.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (type === 'ERROR') {
        gone = (object as { code?: unknown }).code === 410;
        return;
      }
      if (typeof rv === 'string') last = rv;
      if (type === 'ADDED' || type === 'MODIFIED') this.scan.evaluate(object as KubeObject, this.target);
      else if (type === 'DELETED') {
        const ref = refOf(object, this.target);
        if (ref) store.delete(ref);
      }
    };
    const done = (err: unknown): void => {
      if (gen !== this.generation || this.scan.isStopped) return;
      this.watch = undefined;
      if (gone || (err instanceof KubeRestError && err.status === 410) || (err as { statusCode?: unknown } | null)?.statusCode === 410) {
        void this.relist();
        return;
      }
      if (err) this.retry(gen, `watch ${this.key}`, err, () => void this.startWatch(gen, last));
      else void this.startWatch(gen, last);
    };
    try {
      const handle = await rest.watch(resourcePath(this.target), { resourceVersion: last, allowWatchBookmarks: true }, onEvent, done);
      // Stopped or re-listed while connecting: this watch is not wanted any more.
      if (gen !== this.generation || this.scan.isStopped) handle.abort();
      else this.watch = handle;
    } catch (e) {
      this.retry(gen, `watch ${this.key}`, e, () => void this.startWatch(gen, last));
    }
  }

  private retry(gen: number, what: string, err: unknown, again: () => void): void {
    if (gen !== this.generation || this.scan.isStopped) return;
    this.scan.options.onError?.(what, err);
    const { initial, max } = this.scan.options.backoffMs ?? { initial: 1000, max: 30_000 };
    const delay = Math.min(initial * 2 ** this.failures++, max);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (gen === this.generation && !this.scan.isStopped) again();
    }, delay);
    this.timer.unref?.();
  }

  private endWatch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watch?.abort();
    this.watch = undefined;
  }
}

function refKey(item: KubeObject): string {
  const md = (item.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return `${typeof md.namespace === 'string' ? md.namespace : ''}/${typeof md.name === 'string' ? md.name : ''}`;
}

function refOf(object: Record<string, unknown>, target: ServedResource): ObjectReference | undefined {
  const md = (object.metadata ?? {}) as { namespace?: unknown };
  const ns = typeof md.namespace === 'string' ? md.namespace : '';
  return objectReference({ ...object, apiVersion: target.group ? `${target.group}/${target.version}` : target.version, kind: target.kind }, ns);
}

