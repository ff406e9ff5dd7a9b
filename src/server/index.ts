/** The webhook server: `buildApp` (routes, no listen) and `startServer` (HTTPS). */
export { buildApp, DEFAULT_BODY_LIMIT, HTTP_ERROR_CODES } from './app.js';
export type { AppOptions, BuildAppOptions } from './app.js';
export { startServer, writeSelfSignedCertificate } from './start.js';
export type { StartOptions, RunningServer } from './start.js';
