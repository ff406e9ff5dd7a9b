/**
 * `EvaluationWorker`: the event loop's side of the evaluation worker
 * (evaluation-worker.ts). It mirrors the webhook's state into the worker
 * (the sources' recipes, Namespace labels, params), hands it reviews, and cuts
 * it off when an answer is late: the worker is terminated (whatever it is
 * running: a regular expression over MiB, a `JSON.parse` of 7 MiB), every
 * review it held is answered as cut off, and a fresh worker starts from the
 * same state. The event loop, and with it `/healthz`, never waits for it.
 *
 * The worker answers only while it is in step with the event loop: it has
 * compiled the latest recipe of every source and its policy names equal the
 * set's (`usable`). Until then reviews stay on the event loop, as without a
 * worker (a file edited between the two reads converges on the next reload).
 *
 * Why a thread and not only deadlines: deadlines are checked between policies,
 * transformers and inside CEL, but not inside one library call, and a review
 * on the event loop delays every request behind it. Kubernetes' API server
 * runs each admission call on its own goroutine with a context deadline
 * (staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/...); this is
 * Node's nearest equivalent.
 */
import { Worker } from 'node:worker_threads';
import type { Evaluation } from '../policy/evaluate.js';
import type { ParamChange } from '../policy/sources/cluster-admission.js';
import type { SourceRecipe } from '../policy/sources/recipe.js';
import type { SourceName } from '../policy/sources/store.js';
import type { EvaluationSummary, RequestInfo } from './admission-record.js';
import type { AdmissionOutcome } from './metrics.js';
import type { FromWorker, ToWorker, WorkerAnswer, WorkerReviewRequest } from './worker-protocol.js';

/** What the event loop gets back for one review handed to the worker. */
export type WorkerOutcome =
  | { answered: true; statusCode: number; body: string; info: RequestInfo; outcome: AdmissionOutcome; summary?: EvaluationSummary; evaluation?: Evaluation; request?: Record<string, unknown> }
  /** The worker did not answer by `cutoffAt` (it was terminated and replaced), or it exited. */
  | { answered: false; reason: 'cutoff' | 'exited' };

/** One review for the worker (WorkerReviewRequest without the id, plus when to give up). */
export interface WorkerReview extends Omit<WorkerReviewRequest, 'type' | 'id'> {
  /** Epoch ms after which the worker is cut off if it has not answered. */
  cutoffAt: number;
}

/** Options of EvaluationWorker. */
export interface EvaluationWorkerOptions {
  /** A worker was replaced: cut off (late answer) or exited (crash, out of memory). */
  onRestart?: (reason: 'cutoff' | 'exited') => void;
  /** A recipe did not compile in the worker (the reason names file, document and path; never object contents). */
  onSyncFailed?: (source: SourceName, reason: string) => void;
  /**
   * The Namespace labels and params a fresh worker starts from (the sources'
   * own caches: NamespaceLabelCache `entries()`, InformerParamStore
   * `changes()`); later changes arrive through `namespace` and `param`.
   */
  state?: () => { namespaces: Iterable<[string, Record<string, string>]>; params: ParamChange[] };
  /** V8 old-space limit of the worker in MiB (default DEFAULT_WORKER_HEAP_MB): a review that needs more ends the worker, not the process. */
  maxOldGenerationSizeMb?: number;
}

/**
 * Default old-space limit of the worker's V8 heap, in MiB. A 7 MiB review (the
 * body limit) needs about 80 MiB there; the chart's container limit is
 * 256 MiB, of which the event loop uses about 110 MiB: past this the worker,
 * not the process, runs out of memory (its reviews are answered cut off).
 */
export const DEFAULT_WORKER_HEAP_MB = 128;

/** Least time between two starts of a worker that keeps exiting at start, in ms. */
const RESPAWN_BACKOFF_MS = 1000;

interface Pending {
  resolve: (o: WorkerOutcome) => void;
  timer: NodeJS.Timeout;
}

/** The worker's module: `.ts` next to this file under the TypeScript loader (tests), `.js` in `dist/`. */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './evaluation-worker.ts' : './evaluation-worker.js', import.meta.url);
}

/** The event loop's handle on the evaluation worker (see the module comment). */
export class EvaluationWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private required: SourceName[] = [];
  private readonly recipes = new Map<SourceName, SourceRecipe>();
  private generation = 0;
  /** The set's names at `generation` (the event loop's), and the worker's at its last `synced`. */
  private expectedNames: string | undefined;
  private workerGeneration = -1;
  private workerNames: string | undefined;
  private stopped = false;
  private restarts = 0;
  private spawnedAt = 0;
  private respawnTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: EvaluationWorkerOptions = {}) {
    this.spawn();
  }

  /** True when the worker has the event loop's current policies (see the module comment). */
  get usable(): boolean {
    return !this.stopped && this.workerGeneration === this.generation && this.expectedNames !== undefined && this.workerNames === this.expectedNames;
  }

  /** Workers replaced so far. */
  get restartCount(): number {
    return this.restarts;
  }

  /** The sources the set needs (PolicyStore's `required`). */
  setRequired(sources: SourceName[]): void {
    this.required = [...sources];
    this.send({ type: 'required', sources: this.required });
  }

  /** A source's running policies changed: its recipe, and the event loop's set names after the change (undefined: no set yet). */
  updateRecipe(recipe: SourceRecipe, names: readonly string[] | undefined): void {
    this.recipes.set(recipe.source, recipe);
    this.generation++;
    this.expectedNames = names ? JSON.stringify(names) : undefined;
    this.send({ type: 'recipe', generation: this.generation, recipe });
  }

  /** A Namespace's labels changed (undefined: deleted). */
  namespace(name: string, labels: Record<string, string> | undefined): void {
    this.send({ type: 'namespace', name, labels });
  }

  /** A params change (InformerParamStore `onChange`). */
  param(change: ParamChange): void {
    this.send({ type: 'param', change });
  }

  /**
   * Hands one review to the worker; resolves with its answer, or unanswered at
   * `cutoffAt` (the worker is then replaced). Never rejects. A body given as
   * bytes is transferred, not copied: the caller's bytes are detached.
   */
  review(r: WorkerReview): Promise<WorkerOutcome> {
    const id = this.nextId++;
    const { cutoffAt, ...fields } = r;
    const body = typeof fields.body === 'string' ? fields.body : ownBuffer(fields.body);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.cutOff(), Math.max(0, cutoffAt - (performance.timeOrigin + performance.now())));
      this.pending.set(id, { resolve, timer });
      this.send({ type: 'review', id, ...fields, body }, typeof body === 'string' ? [] : [body.buffer as ArrayBuffer]);
    });
  }

  /** Terminates the worker (reviews it held are answered unanswered: `exited`). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.respawnTimer);
    const w = this.worker;
    this.worker = undefined;
    this.settleAll('exited');
    await w?.terminate();
  }

  private send(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(m, transfer);
  }

  private spawn(): void {
    const worker = new Worker(workerUrl(), { resourceLimits: { maxOldGenerationSizeMb: this.opts.maxOldGenerationSizeMb ?? DEFAULT_WORKER_HEAP_MB } });
    this.worker = worker;
    this.spawnedAt = performance.now();
    this.workerGeneration = -1;
    this.workerNames = undefined;
    worker.on('message', (m: FromWorker) => this.receive(m));
    // A crash or an out-of-memory ends only this worker; `exit` follows `error`.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (this.worker !== worker || this.stopped) return;
      this.replace('exited');
    });
    worker.unref();
    this.replay();
  }

  /** The state a fresh worker needs: required sources, every recipe (at the current generation), Namespaces, params. */
  private replay(): void {
    if (this.required.length > 0) this.send({ type: 'required', sources: this.required });
    const state = this.opts.state?.();
    for (const [name, labels] of state?.namespaces ?? []) this.send({ type: 'namespace', name, labels });
    for (const change of state?.params ?? []) this.send({ type: 'param', change });
    const recipes = [...this.recipes.values()];
    // Only the last recipe's `synced` carries the generation the event loop expects.
    recipes.forEach((recipe, i) => this.send({ type: 'recipe', generation: i === recipes.length - 1 ? this.generation : -2, recipe }));
  }

  private receive(m: FromWorker): void {
    if (m.type === 'answer') return this.answer(m);
    if (m.type === 'synced') {
      if (m.generation !== -2) {
        this.workerGeneration = m.generation;
        this.workerNames = m.names ? JSON.stringify(m.names) : undefined;
      }
      return;
    }
    this.opts.onSyncFailed?.(m.source, m.reason);
  }

  private answer(m: WorkerAnswer): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    const { statusCode, body, info, outcome, summary, evaluation, request } = m;
    p.resolve({ answered: true, statusCode, body, info, outcome, summary, evaluation, request });
  }

  /** A review is late: the worker is terminated and replaced; every review it held is answered `cutoff`. */
  private cutOff(): void {
    if (this.stopped) return;
    this.replace('cutoff');
  }

  private replace(reason: 'cutoff' | 'exited'): void {
    const old = this.worker;
    this.worker = undefined;
    this.workerGeneration = -1;
    this.settleAll(reason);
    this.restarts++;
    this.opts.onRestart?.(reason);
    void old?.terminate();
    // A worker that ends within a second of its start (it cannot start) is not restarted in a loop: once a second at most.
    if (reason === 'exited' && performance.now() - this.spawnedAt < RESPAWN_BACKOFF_MS) {
      this.respawnTimer = setTimeout(() => this.stopped || this.spawn(), RESPAWN_BACKOFF_MS);
      this.respawnTimer.unref();
      return;
    }
    this.spawn();
  }

  private settleAll(reason: 'cutoff' | 'exited'): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve({ answered: false, reason });
    }
    this.pending.clear();
  }
}

/**
 * `bytes` as a view of an ArrayBuffer of its own, so that it can be
 * transferred: a Buffer that shares its ArrayBuffer (node's pool for small
 * buffers, a slice) is copied first; one that owns it (fastify's body of
 * more than one chunk: `Buffer.concat`) is used as it is.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
