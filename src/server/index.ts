/** The webhook server: `buildApp` (routes, no listen), `startServer` (HTTPS, TLS reload, drain), metrics and TLS helpers. */
export { buildApp, DEFAULT_BODY_LIMIT, DEFAULT_MAX_EVALUATION_MS, HTTP_ERROR_CODES, parseTimeout, deadlineBudget, evaluationDeadline } from './app.js';
export type { AppOptions, BuildAppOptions } from './app.js';
export { startServer, writeSelfSignedCertificate, InsecureSelfSignedError, DEFAULT_GRACE_MS } from './start.js';
export type { StartOptions, RunningServer } from './start.js';
export { WebhookMetrics, METRIC_PREFIX, MAX_KINDS } from './metrics.js';
export type { AdmissionOutcome } from './metrics.js';
export { TLS_CIPHERS, TLS_BASE_OPTIONS, TlsReloader, isLoopbackHost, readTlsOptions } from './tls.js';
export type { TlsFiles, TlsReloaderOptions } from './tls.js';
