/**
 * The file policy source (`serve -c`): loads the policy files once, then
 * reloads them whenever their directories change (see `watchFiles`), and
 * publishes the compiled policies only when the whole load succeeded. A broken
 * edit never replaces a working set: the previous policies keep answering and
 * the PolicyError (file, document, JSON path, reason) is reported (DESIGN.md
 * "Policy documents": "never replaces a loaded config"; Istio does the same
 * with a bad mesh config).
 */
import { loadPolicies, type LoadOptions } from '../load.js';
import type { CompiledPolicy } from '../compile.js';
import { watchFiles, type FileWatch } from './watch.js';

/** The outcome of one (re)load, for logs and metrics. */
export interface ReloadEvent {
  /** `file` or `cluster`. */
  source: 'file' | 'cluster';
  ok: boolean;
  /** Policies now in use from this source (the old count on failure). */
  policies: number;
  /** The error (a PolicyError for config errors) when `ok` is false. */
  error?: Error;
  /** Time the load took, in ms. */
  durationMs: number;
}

/** Options of `FilePolicySource`. */
export interface FilePolicySourceOptions {
  /** The `-c` paths (files or directories). */
  paths: string[];
  /** Passed to `loadPolicies` (CEL compiler, own namespace). */
  load: LoadOptions;
  /** Receives every successful load's policies (the initial one included). */
  onPolicies: (policies: CompiledPolicy[]) => void;
  /** Receives every load's outcome (the initial one included). */
  onReload?: (event: ReloadEvent) => void;
  /** Debounce of file events, in ms (default 300). */
  debounceMs?: number;
  /** Watcher errors (the watch keeps running). */
  onWatchError?: (err: Error) => void;
}

/** Loads `-c` policies and keeps them current. */
export class FilePolicySource {
  private watch: FileWatch | undefined;
  private current: CompiledPolicy[] | undefined;

  constructor(private readonly opts: FilePolicySourceOptions) {}

  /** The policies of the last successful load (undefined before the first). */
  get policies(): readonly CompiledPolicy[] | undefined {
    return this.current;
  }

  /**
   * Loads synchronously; returns the outcome. On failure the previous
   * policies stay (and none are published).
   */
  reload(): ReloadEvent {
    const start = performance.now();
    let event: ReloadEvent;
    try {
      const loaded = loadPolicies(this.opts.paths, this.opts.load);
      this.current = loaded.policies;
      event = { source: 'file', ok: true, policies: loaded.policies.length, durationMs: performance.now() - start };
      this.opts.onPolicies(loaded.policies);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      event = { source: 'file', ok: false, policies: this.current?.length ?? 0, error, durationMs: performance.now() - start };
    }
    this.opts.onReload?.(event);
    return event;
  }

  /**
   * Starts watching (call after a first `reload()`); resolves once the watch
   * is armed. Idempotent.
   */
  async start(): Promise<void> {
    if (!this.watch) {
      this.watch = watchFiles(this.opts.paths, {
        debounceMs: this.opts.debounceMs,
        onChange: () => {
          this.reload();
        },
        onError: this.opts.onWatchError,
      });
    }
    await this.watch.ready;
  }

  /** Stops watching. Idempotent. */
  async stop(): Promise<void> {
    const w = this.watch;
    this.watch = undefined;
    await w?.close();
  }
}
