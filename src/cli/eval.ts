/**
 * `kube-postrender eval -e EXPR [-f OBJECT] [--old-object FILE] [--operation OP]
 * [-n NS] [--namespace-labels k=v,...]`: evaluates one CEL expression in the
 * policy environment (the variables `object`, `oldObject`, `request`,
 * `namespaceObject` and the library of `match.conditions` and `validate`
 * rules: src/expr/) and prints the result as JSON, like `cel-eval` tools and
 * Kyverno's `kyverno json`/CEL playgrounds let authors try an expression.
 *
 * Exit codes: 0 evaluated; 1 an evaluation error (no such key, cost bound,
 * type error); 2 a compile error (with its line and column) or unreadable
 * input. Nothing is printed on stdout on error.
 */
import { compileExpression, ExprError } from '../expr/cel.js';
import { buildExprVars } from '../expr/vars.js';
import { CLUSTER_SCOPED_KINDS, gvkOf, isObject, metaString, type JsonObject } from '../kube/object.js';
import { parseManifests } from '../kube/yaml-stream.js';
import { EXIT, oneLine, readInput } from './io.js';

/** Options of `eval`. */
export interface EvalOptions {
  expression: string;
  /** YAML or JSON file holding `object` (`-` for stdin); absent: `object` is null. */
  file?: string;
  oldObject?: string;
  operation?: string;
  namespace?: string;
  /** `k=v,k2=v2`: labels of the namespace (`namespaceObject.metadata.labels`). */
  namespaceLabels?: string;
}

/** The first document of a YAML/JSON file (or stdin). Throws on unreadable or non-map input. */
async function readObject(file: string): Promise<JsonObject> {
  const docs = parseManifests(await readInput(file)).map((d) => d.value).filter((v) => v !== null && v !== undefined);
  if (docs.length === 0 || !isObject(docs[0])) throw new Error(`${file}: expected an object (a YAML or JSON map)`);
  return docs[0];
}

function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (s ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--namespace-labels: expected key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** JSON text of a CEL result (a CEL int beyond 2^53 arrives as bigint: printed as a string, as JSON cannot hold it exactly). */
export function resultJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? (Number.isSafeInteger(Number(x)) ? Number(x) : x.toString()) : x), 2) ?? 'null';
}

async function variables(opts: EvalOptions): Promise<Record<string, unknown>> {
  const object = opts.file !== undefined ? await readObject(opts.file) : null;
  const oldObject = opts.oldObject !== undefined ? await readObject(opts.oldObject) : undefined;
  const fromObject = object && !CLUSTER_SCOPED_KINDS.has(gvkOf(object).kind) ? metaString(object, 'namespace') : '';
  const namespace = opts.namespace ?? fromObject;
  const operation = opts.operation ?? (oldObject ? 'UPDATE' : 'CREATE');
  return buildExprVars(object, { operation, namespace, oldObject, namespaceLabels: parseLabels(opts.namespaceLabels) });
}

/** Runs `eval`; returns the exit code (0 evaluated, 1 evaluation error, 2 compile error or bad input). */
export async function evalCommand(opts: EvalOptions): Promise<number> {
  let program;
  try {
    program = compileExpression(opts.expression);
  } catch (e) {
    // A compile error's message carries line:column; say the column in words when it does not.
    const column = e instanceof ExprError && e.position && !/\d+:\d+/.test(e.message) ? ` (line ${e.position.line}, column ${e.position.column})` : '';
    process.stderr.write(`${oneLine(e)}${column}\n`);
    return EXIT.usage;
  }
  let vars;
  try {
    vars = await variables(opts);
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  try {
    process.stdout.write(`${resultJson(program.evaluate(vars))}\n`);
    return EXIT.ok;
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.failed;
  }
}
