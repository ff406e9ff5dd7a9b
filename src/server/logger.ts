/**
 * The webhook's logger: a pino instance of our own, not fastify's.
 *
 * fastify given a logger adds two listeners (`finish`, `error`) and two clock
 * readings to every response (fastify 5 lib/route.js: `hasLogger` ->
 * `setupResponseListeners`), even with request logging off, and calls a child
 * logger factory per request. The app's lines are all its own (admission debug
 * lines, warnings, the error handler's and the client error handler's lines,
 * `serve`'s), so fastify gets no logger and `buildApp` writes them here.
 * fastify's own lines with `disableRequestLogging` (lib/log-controller.js: every
 * per-request line is gated by it, except the 503-on-closing line, and
 * `return503OnClosing` is off) are reply misuse warnings that the app's
 * handlers cannot trigger, and instance lines (`Server listening at ...`,
 * onListen hook errors), which fastify writes through `app.log`: `buildApp`
 * sets `app.log` to this logger.
 *
 * Same lines as fastify's pino would write: pino's defaults (level `info`),
 * the caller's options, and the `err` serializer fastify adds (the app logs
 * neither `req` nor `res` objects).
 */
import { pino, type DestinationStream, type LevelWithSilentOrString, type Logger } from 'pino';

/** `AppOptions.logger`: false or absent for none, true for info to stdout, or a level and a destination (default stdout). */
export type WebhookLoggerOptions = boolean | { level?: LevelWithSilentOrString; stream?: DestinationStream };

/**
 * The logger for `options` (pino, level `info` unless given, lines to
 * `options.stream` or stdout), or undefined for none (false or absent).
 */
export function createWebhookLogger(options: WebhookLoggerOptions | undefined): Logger | undefined {
  if (options === undefined || options === false) return undefined;
  const { level = 'info', stream } = options === true ? {} : options;
  return pino({ level, serializers: { err: pino.stdSerializers.err } }, stream);
}
