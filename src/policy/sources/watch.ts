/**
 * `watchFiles`: one debounced "something changed" signal for a set of files and
 * directories, shared by the policy file source and the TLS reloader.
 *
 * Why parent directories and not the files: Kubernetes mounts ConfigMaps and
 * Secrets as `name -> ..data/name` symlinks and updates them by writing a new
 * timestamped directory and atomically renaming a `..data` symlink over the old
 * one (kubelet's AtomicWriter), so the watched file itself is never written and
 * an inotify watch on it goes stale. controller-runtime's certwatcher watches
 * the files and re-adds them on remove; watching the directory (plus the
 * directory of the symlink's target) sees every variant: in-place writes,
 * rename-over, and the `..data` swap. Any event restarts a debounce timer; the
 * callback runs once the directory has been quiet for `debounceMs`, and the
 * caller re-reads everything (reads are cheap; missing an update is not).
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

/** Options of `watchFiles`. */
export interface WatchFilesOptions {
  /** Quiet time after the last event before `onChange` runs, in ms (default 300). */
  debounceMs?: number;
  /** Called once per burst of events (never concurrently with itself: see `FileWatch`). */
  onChange: () => void | Promise<void>;
  /** Called with watcher errors (e.g. inotify limits); the watch keeps running. */
  onError?: (err: Error) => void;
}

/** A running watch. */
export interface FileWatch {
  /** Resolves once the initial scan is done: changes after this are seen. */
  ready: Promise<void>;
  /** Stops watching and cancels a pending callback. Idempotent. */
  close: () => Promise<void>;
}

/** Longest wait for the initial scan when closing, in ms. */
const CLOSE_SCAN_WAIT_MS = 2000;

/** Default debounce of reloads, in ms (ConfigMap updates arrive as 3-5 events within a few ms). */
export const DEFAULT_DEBOUNCE_MS = 300;

/**
 * The directories to watch for `paths`: a directory itself, a file's parent
 * directory, and for a symlink also the directory of its resolved target.
 * Paths that do not exist contribute their parent directory.
 */
export function watchedDirectories(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // missing: watch its parent so that its creation is seen
    }
    dirs.add(isDir ? abs : dirname(abs));
    try {
      const real = realpathSync(abs);
      if (real !== abs) dirs.add(isDir ? real : dirname(real));
    } catch {
      // dangling or missing
    }
  }
  return [...dirs].sort();
}

/**
 * Watches the directories of `paths` (see `watchedDirectories`; their own
 * entries only, symlinks not followed: a ConfigMap's `..data` swap is a rename
 * in the watched directory itself, and recursing into the timestamped
 * directories the kubelet creates only added watchers that could outlive
 * `close()`) and calls `onChange` after each burst of
 * events. A callback that is still running when the next burst ends is
 * followed by exactly one more run (no overlap, no lost update).
 */
export function watchFiles(paths: string[], opts: WatchFilesOptions): FileWatch {
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const watcher: FSWatcher = watch(watchedDirectories(paths), { ignoreInitial: true, followSymlinks: false, depth: 0 });
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;
  const run = async (): Promise<void> => {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await opts.onChange();
    } catch (e) {
      opts.onError?.(e instanceof Error ? e : new Error(String(e)));
    } finally {
      running = false;
    }
    if (again && !closed) {
      again = false;
      void run();
    }
  };
  watcher.on('all', () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void run(), debounceMs);
  });
  watcher.on('error', (e: unknown) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
  const ready = new Promise<void>((resolveReady) => {
    watcher.once('ready', () => resolveReady());
  });
  return {
    ready,
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      // Closing while the initial scan is still adding watchers can leave some
      // open behind the close (they then keep the process alive): let the scan
      // finish first, bounded so a stuck scan cannot block shutdown.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([ready, new Promise<void>((r) => (bound = setTimeout(r, CLOSE_SCAN_WAIT_MS)))]);
      clearTimeout(bound);
      await watcher.close();
    },
  };
}
