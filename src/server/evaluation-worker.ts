/**
 * The evaluation worker's entry point (a `worker_threads` Worker started by
 * evaluation-pool.ts). It holds its own copy of the webhook's policies,
 * compiled from the sources' recipes (src/policy/sources/recipe.ts), of the
 * Namespace labels and of the admission policies' params, and answers the
 * reviews the event loop hands it: large bodies (parsed here, off the event
 * loop) and reviews whose evaluation outgrew the event loop's slice. The main
 * thread can cut it off (`Worker.terminate`) whatever it is running, even one
 * regular-expression call or one `JSON.parse` no deadline can interrupt, and
 * start a fresh one from the same state.
 *
 * The answer is the one `review` gives on the event loop: same evaluation,
 * same deadline rule (EvaluationInput.deadline: the earlier of the API
 * server's and `maxEvaluationMs` from when evaluation starts).
 */
import { parentPort } from 'node:worker_threads';
import { reviewWithEvaluation } from '../admission/review.js';
import { errorMessage } from '../errors.js';
import { conditionCompiler } from '../expr/vars.js';
import { isObject, type JsonObject } from '../kube/object.js';
import { createPolicySet, PolicyError, type CompiledPolicy } from '../policy/compile.js';
import type { PolicySet } from '../policy/types.js';
import { InformerParamStore } from '../policy/sources/cluster-admission.js';
import { compileRecipe } from '../policy/sources/recipe.js';
import type { SourceName } from '../policy/sources/store.js';
import { outcomeOf, portableEvaluation, requestInfo, summarize } from './admission-record.js';
import { epochNow, type FromWorker, type ToWorker, type WorkerAnswer, type WorkerReviewRequest } from './worker-protocol.js';

/** The worker's copy of the webhook's state. */
class WorkerState {
  private required: SourceName[] = [];
  private readonly lists = new Map<SourceName, CompiledPolicy[]>();
  private set: PolicySet | undefined;
  readonly namespaces = new Map<string, Record<string, string>>();
  readonly params = new InformerParamStore();

  constructor(private readonly post: (m: FromWorker) => void) {}

  handle(m: ToWorker): void {
    switch (m.type) {
      case 'required':
        this.required = m.sources;
        return this.rebuild();
      case 'recipe':
        return this.recipe(m.generation, m.recipe);
      case 'namespace':
        if (m.labels) this.namespaces.set(m.name, m.labels);
        else this.namespaces.delete(m.name);
        return;
      case 'param':
        return this.params.apply(m.change);
      case 'review':
        return this.post(this.review(m));
    }
  }

  private recipe(generation: number, recipe: Extract<ToWorker, { type: 'recipe' }>['recipe']): void {
    try {
      this.lists.set(recipe.source, compileRecipe(recipe, { compileCondition: conditionCompiler, params: this.params }));
    } catch (e) {
      const reason = e instanceof PolicyError ? e.message : 'recipe did not compile';
      this.post({ type: 'sync-failed', generation, source: recipe.source, reason });
      return;
    }
    this.rebuild();
    this.post({ type: 'synced', generation, names: this.set ? [...this.set.names] : undefined });
  }

  private rebuild(): void {
    if (this.required.length > 0 && this.required.every((s) => this.lists.has(s))) this.set = createPolicySet(this.required.flatMap((s) => this.lists.get(s) ?? []));
  }

  private review(m: WorkerReviewRequest): WorkerAnswer {
    let body: unknown;
    try {
      body = JSON.parse(typeof m.body === 'string' ? m.body : Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('utf8'));
    } catch {
      return invalidJson(m.id);
    }
    const info = requestInfo(body);
    if (!this.set) return { type: 'answer', id: m.id, statusCode: 503, body: JSON.stringify({ code: 'ERR_NOT_READY', message: errorMessage('ERR_NOT_READY') }), info, outcome: 'error' };
    const deadline = evaluationDeadline(m);
    const { result, evaluation } = reviewWithEvaluation(body, this.set, {
      route: m.route,
      namespaceLabels: (ns) => this.namespaces.get(ns),
      deadline,
    });
    const answer: WorkerAnswer = { type: 'answer', id: m.id, statusCode: result.statusCode, body: JSON.stringify(result.body), info, outcome: outcomeOf(result) };
    if (evaluation) {
      answer.summary = summarize(evaluation);
      if (m.withEvaluation) {
        answer.evaluation = portableEvaluation(evaluation);
        answer.request = requestMetadata(body);
      }
    }
    return answer;
  }
}

/** The evaluation deadline on this thread's `performance.now()` clock: the earlier of the API server's and `maxEvaluationMs` from now. */
function evaluationDeadline(m: WorkerReviewRequest): number | undefined {
  const now = performance.now();
  const api = m.apiDeadline === undefined ? Infinity : now + (m.apiDeadline - epochNow());
  const own = m.maxEvaluationMs > 0 ? now + m.maxEvaluationMs : Infinity;
  const deadline = Math.min(api, own);
  return deadline === Infinity ? undefined : deadline;
}

function invalidJson(id: number): WorkerAnswer {
  const body = JSON.stringify({ code: 'ERR_INVALID_JSON', message: errorMessage('ERR_INVALID_JSON') });
  return { type: 'answer', id, statusCode: 400, body, info: requestInfo(undefined), outcome: 'error' };
}

/** What the reports read of a request besides the evaluation: its identity fields and its objects' identity (apiVersion, kind, metadata names and uid). */
function requestMetadata(body: unknown): Record<string, unknown> | undefined {
  const req = isObject(body) && isObject(body.request) ? body.request : undefined;
  if (!req) return undefined;
  const { uid, kind, name, namespace, operation, dryRun } = req;
  return { uid, kind, name, namespace, operation, dryRun, object: objectIdentity(req.object), oldObject: objectIdentity(req.oldObject) };
}

function objectIdentity(o: unknown): JsonObject | undefined {
  if (!isObject(o)) return undefined;
  const md = isObject(o.metadata) ? o.metadata : {};
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: md.name, generateName: md.generateName, namespace: md.namespace, uid: md.uid } } as JsonObject;
}

const port = parentPort;
if (port) {
  const state = new WorkerState((m) => port.postMessage(m));
  port.on('message', (m: ToWorker) => state.handle(m));
}
