/**
 * Stable error codes, in one module (as fastify's `lib/errors.js`): every code
 * the project answers, exits or throws with, its kind, its HTTP status or exit
 * code, and its message template (`%s` placeholders, filled in order by
 * `errorMessage`). docs/errors.md is generated from this table and checked by
 * test/errors.test.ts, which fails on a code used in `src/` but not registered,
 * on a registered code no longer used, and on a stale docs/errors.md
 * (`REFRESH_GOLDEN=true` regenerates it).
 *
 * Kinds:
 * - `http`: transport errors of the webhook (the body is `{code, message}`, never
 *   an AdmissionReview; STYLE.md item 5);
 * - `review`: a body that is not an AdmissionReview (HTTP 400, `review()`), and
 *   the AdmissionReview answer of an evaluation that failed unexpectedly;
 * - `cli`: process exit codes of the CLI contract (DESIGN.md);
 * - `policy`: why a policy document was refused at load (`PolicyError.code`).
 *
 * Codes are never renamed or reused once released. Other modules register
 * their codes here (one entry each) and refer to them by name.
 */

/** The kind of an error code (see the module comment). */
export type ErrorKind = 'http' | 'review' | 'cli' | 'policy';

/** One registered code. */
export interface ErrorCodeSpec {
  readonly kind: ErrorKind;
  /** HTTP status (`http`, `review`), when the code is answered over HTTP. */
  readonly status?: number;
  /** Process exit code (`cli`, and `policy`: the CLI exits 2 on a refused policy). */
  readonly exit?: number;
  /** Message template: `%s` placeholders, filled in order by `errorMessage`. Never quotes object values. */
  readonly message: string;
  /** One sentence for docs/errors.md: when it happens and what to do. */
  readonly description: string;
}

const http = (status: number, message: string, description: string): ErrorCodeSpec => ({ kind: 'http', status, message, description });
const reviewError = (status: number, message: string, description: string): ErrorCodeSpec => ({ kind: 'review', status, message, description });
const cli = (exit: number, message: string, description: string): ErrorCodeSpec => ({ kind: 'cli', exit, message, description });
const policy = (message: string, description: string): ErrorCodeSpec => ({ kind: 'policy', exit: 2, message, description });

/** Every error code of the project. */
export const ERROR_CODES = {
  // HTTP layer (src/server/app.ts)
  ERR_UNSUPPORTED_MEDIA_TYPE: http(415, 'content type must be application/json', 'The request body is not JSON (Content-Type). The API server always sends application/json.'),
  ERR_INVALID_JSON: http(400, 'body is not valid JSON', 'The body (or its Content-Length) could not be read as JSON.'),
  ERR_BODY_TOO_LARGE: http(413, 'request body exceeds the limit', 'The body is larger than the server\'s body limit (default 7 MiB, as controller-runtime\'s webhook server; serve --body-limit).'),
  ERR_NOT_READY: http(503, 'policies not loaded yet', 'No policy set is loaded yet: the API server applies the webhook\'s failurePolicy. /readyz says the same.'),
  ERR_TOO_MANY_REQUESTS: http(429, 'too many admission requests in flight; retry later', 'More admission requests (count or declared body bytes) are in flight than serve --max-in-flight / --max-in-flight-bytes allow; the answer carries Retry-After. The API server applies the webhook\'s failurePolicy.'),
  ERR_CLIENT: http(400, '%s', 'A malformed HTTP request (request line, headers, header overflow 431, timeout 408) rejected by node before fastify; logged with node\'s error code only, never the request bytes.'),
  ERR_CLIENT_CERTIFICATE: http(403, 'a client certificate signed by the configured CA is required', 'serve --client-ca is set and the connection presented no verified client certificate.'),
  ERR_BAD_REQUEST: http(400, 'bad request', 'Any other client error fastify reports (mapped here so that no framework code leaks).'),
  ERR_INTERNAL: http(500, 'internal error', 'An unexpected server error outside evaluation (evaluation errors are AdmissionReview answers).'),
  ERR_EVALUATION_CUT_OFF: http(500, 'evaluation did not finish in time and was cut off', 'The evaluation worker had not answered by the review\'s bound (the API server\'s timeout, or --max-evaluation-ms plus 1 s to parse and answer; one library call no deadline interrupts, or the worker exited): it was stopped and replaced. The API server applies the webhook\'s failurePolicy, as when a webhook times out.'),
  // AdmissionReview decoding (src/admission/parse.ts) and answers (src/admission/review.ts)
  ERR_NOT_OBJECT: reviewError(400, 'body is not a JSON object', 'The body is JSON but not an object.'),
  ERR_API_VERSION: reviewError(400, 'apiVersion must be one of %s', 'apiVersion is not admission.k8s.io/v1 or v1beta1.'),
  ERR_KIND: reviewError(400, 'kind must be AdmissionReview', 'kind is not AdmissionReview.'),
  ERR_NO_REQUEST: reviewError(400, 'request is missing or not an object', 'The review has no request.'),
  ERR_NO_UID: reviewError(400, 'request.uid is missing or not a non-empty string', 'The request has no uid to echo.'),
  ERR_OPERATION: reviewError(400, 'request.operation must be one of %s', 'request.operation is not CREATE, UPDATE, DELETE or CONNECT.'),
  ERR_OBJECT_NOT_MAP: reviewError(400, '%s', 'request.object or request.oldObject is not an object, or object is missing on CREATE/UPDATE.'),
  ERR_TOO_DEEP: reviewError(400, 'request.%s nests deeper than %s levels', 'An object (or oldObject, options, userInfo) nests maps and lists deeper than 1,000 levels; refused before any policy runs.'),
  ERR_EVALUATION_FAILED: reviewError(500, 'kube-postrender: policy evaluation failed: %s', 'Evaluation threw unexpectedly: the review is answered (HTTP 200) with allowed: false and status.code 500, the conservative default.'),
  // CLI exit codes (src/cli/io.ts)
  EXIT_OK: cli(0, 'ok', 'Success (explain and review: printed, denials included).'),
  EXIT_FAILED: cli(1, '%s', 'run: denied or a transformer error; nothing printed on stdout, every reason on stderr.'),
  EXIT_USAGE: cli(2, '%s', 'Usage error, unreadable input or a refused policy (one line on stderr: file, document, path, reason).'),
  // Policy load (src/policy/load.ts, compile.ts, kustomization.ts): PolicyError.code
  ERR_POLICY_NOT_FOUND: policy('no such file or directory', 'A -c path does not exist.'),
  ERR_POLICY_READ: policy('%s', 'A policy file could not be read.'),
  ERR_POLICY_YAML: policy('invalid YAML: line %s, column %s: %s', 'A policy file is not valid YAML (read as kustomize reads it: duplicate keys and alias bombs are errors).'),
  ERR_POLICY_NOT_A_POLICY: policy('not a policy (%s): expected apiVersion postrender.io/v1alpha1, a Kustomization, a Gatekeeper mutator (mutations.gatekeeper.sh), an admissionregistration.k8s.io admission policy or binding, or a params object a policy names', 'A document is neither a policy of a known dialect, a Kustomization, nor the params object of a policy\'s paramKind.'),
  ERR_POLICY_SCHEMA: policy('%s', 'A policy document does not match its JSON Schema (the path names the field).'),
  ERR_POLICY_UNKNOWN_TRANSFORMER: policy('unknown transformer type "%s"', 'A transformer entry names a type that is not registered.'),
  ERR_POLICY_TRANSFORMER_CONFIG: policy('%s', 'A transformer\'s configuration is invalid (the path names the field).'),
  ERR_POLICY_EXPRESSION: policy('%s', 'A CEL expression does not compile (the path names the expression).'),
  ERR_POLICY_EXPRESSION_COST: policy('%s', 'A CEL expression\'s estimated worst-case cost is over Kubernetes\' per-expression limit (1,000,000 units) for inputs of up to 256 KiB each (docs/cel.md, "Cost model"): a comprehension inside a comprehension over the same data, `split(\'\')` or a join of a large list. The message gives the estimate; simplify the expression.'),
  ERR_POLICY_NAMESPACE: policy('a PostRenderPolicy needs a namespace', 'A namespaced policy has no metadata.namespace.'),
  ERR_POLICY_TENANT: policy('a PostRenderPolicy cannot move objects between namespaces', 'A namespaced PostRenderPolicy (a tenant\'s) uses a transformer that would move objects out of its namespace.'),
  ERR_POLICY_EMPTY: policy('kube-postrender: no policies found in %s (pass --allow-empty to accept an empty set)', 'run and check found no policy in their -c paths (a typo, or a directory of another shape); --allow-empty accepts an empty set.'),
  ERR_POLICY_DUPLICATE_NAME: policy('duplicate policy name "%s"', 'Two policies of the set have the same name.'),
  ERR_POLICY_UNSUPPORTED: policy('%s', 'A Kustomization field a post-renderer cannot honour (generators, cross-object transforms) or that kustomize does not know.'),
  ERR_POLICY_KUSTOMIZE_TREE: policy('%s', 'A Kustomization\'s bases or components cannot be composed: a directory without (or with several) kustomization files, a Component listed as a resource or a Kustomization as a component, a Component loaded on its own, components without a file to resolve them from, or two sibling bases that both carry transforms (the input cannot be split between them).'),
  ERR_POLICY_KUSTOMIZE_CYCLE: policy('%s', 'A Kustomization includes itself through its resources or components; the message names the chain of directories.'),
  ERR_POLICY_KUSTOMIZE_REMOTE: policy('%s', 'A Kustomization names a remote resource or component (git, URL): kube-postrender loads none; vendor it into a local directory.'),
  ERR_POLICY_CROSS_OBJECT: policy('at admission the webhook sees one object at a time, so a replacement may only copy within the admitted object: %s (load it for run only)', 'A kustomize replacement that could copy from another object was loaded for admission (run, which sees the whole stream, accepts it).'),
  ERR_POLICY_ADMISSION: policy('%s', 'A MutatingAdmissionPolicy, ValidatingAdmissionPolicy or binding breaks a rule of the API server\'s validation (validation.go): a missing or unknown field, an unsupported value, Deny with Warn, duplicates.'),
  ERR_POLICY_BINDING: policy('no %s named "%s" was loaded', 'An admission policy binding names a policy that is not among the loaded files (load its policy with it: same -c set).'),
  ERR_POLICY_PARAMS: policy('%s', 'spec.paramKind/spec.paramRef of a policy are incomplete, or a PostRenderPolicy names params outside its namespace.'),
  ERR_POLICY_INVALID: policy('%s', 'Any other reason a policy is refused at load.'),
} as const satisfies Record<string, ErrorCodeSpec>;

/** A registered code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The policy-load codes (`PolicyError.code`): the `ERR_POLICY_*` entries. */
export type PolicyErrorCode = Extract<ErrorCode, `ERR_POLICY_${string}`>;

/** The registered entry of a code. */
export function errorSpec(code: ErrorCode): ErrorCodeSpec {
  return ERROR_CODES[code];
}

/**
 * Fills a code's message template: each `%s` takes the next argument (missing
 * ones read as ''). Throws nothing.
 */
export function errorMessage(code: ErrorCode, ...args: (string | number)[]): string {
  let i = 0;
  return ERROR_CODES[code].message.replace(/%s/g, () => String(args[i++] ?? ''));
}

/**
 * fastify's own error codes (fastify v5 lib/errors.js) that reach our error
 * handler, mapped explicitly to ours; any other fastify code maps to
 * ERR_BAD_REQUEST (4xx) or ERR_INTERNAL (5xx), never passed through.
 */
export const FASTIFY_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ERR_INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ERR_INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ERR_INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
};

/** Our code for a fastify error: the explicit map, else by status (4xx ERR_BAD_REQUEST, else ERR_INTERNAL). */
export function fromFastifyError(err: { code?: string; statusCode?: number }): ErrorCode {
  const mapped = err.code === undefined ? undefined : FASTIFY_ERROR_CODES[err.code];
  if (mapped) return mapped;
  const status = err.statusCode ?? 500;
  return status >= 400 && status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_INTERNAL';
}

/** docs/errors.md, generated from ERROR_CODES (test/errors.test.ts checks the file is current). */
export function errorsMarkdown(): string {
  const header = ['# Error codes', '', '<!-- Generated from src/errors.ts by test/errors.test.ts (REFRESH_GOLDEN=true). Do not edit by hand. -->', ''];
  const sections: [ErrorKind, string, string][] = [
    ['http', 'HTTP errors of the webhook', 'Body `{code, message}`; never an AdmissionReview, never quoting the request.'],
    ['review', 'AdmissionReview errors', 'A body that is not an AdmissionReview: HTTP 400 `{code, message}`. A decodable review always gets HTTP 200 and an AdmissionReview.'],
    ['cli', 'CLI exit codes', 'Every command: one line on stderr per reason, nothing partial on stdout.'],
    ['policy', 'Policy load errors', '`PolicyError.code`; the message names file, document, JSON path and reason. The CLI exits 2; a server keeps its previous policies.'],
  ];
  const out = [...header];
  for (const [kind, title, intro] of sections) {
    out.push(`## ${title}`, '', intro, '', '| code | status / exit | message | when |', '|---|---|---|---|');
    for (const [code, spec] of Object.entries(ERROR_CODES) as [ErrorCode, ErrorCodeSpec][]) {
      if (spec.kind !== kind) continue;
      const num = spec.status ?? spec.exit ?? '';
      out.push(`| \`${code}\` | ${num} | \`${spec.message.replace(/\|/g, '\\|')}\` | ${spec.description.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  out.push('## fastify codes', '', 'fastify\'s own codes are never answered; the error handler maps them:', '', '| fastify code | our code |', '|---|---|');
  for (const [f, ours] of Object.entries(FASTIFY_ERROR_CODES)) out.push(`| \`${f}\` | \`${ours}\` |`);
  out.push('| any other, 4xx | `ERR_BAD_REQUEST` |', '| any other, 5xx | `ERR_INTERNAL` |', '');
  return out.join('\n');
}
