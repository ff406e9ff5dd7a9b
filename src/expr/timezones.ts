/**
 * Timestamp accessors (`getHours`, `getDayOfYear`, ... with or without a
 * time zone argument) as cel-go computes them (common/types/timestamp.go:
 * the fields of `t.In(zone)`, UTC without the argument; `getDayOfYear` is
 * `YearDay() - 1`), whatever the time zone of this process. The engine's read
 * the zone's wall clock through a Date parsed in the process's local time, so
 * on a machine whose zone has daylight saving time (`kube-postrender run` on a
 * laptop) `getDayOfYear()` was a day short half the year and `getHours(tz)`
 * an hour off around the changes.
 *
 * A zone is read as cel-go's timeZone() reads it: a string with a `:` is an
 * offset, hours and minutes as Go's strconv.Atoi reads them (`+02:00`,
 * `-1:30`, `05:00`); any other string is an IANA name (`UTC`, `Local`, the
 * process's zone as Go's, `Europe/Berlin`). An unknown zone is an evaluation
 * error that does not quote it.
 */
import { celError } from './cel.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Go's strconv.Atoi for the parts of an offset: an optional sign and decimal digits. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw celError('invalid time zone offset');
  return Number(s);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter of the wall clock of IANA zone `name` (cached); throws a CEL error for an unknown zone. */
function zoneFormatter(name: string): Intl.DateTimeFormat {
  let f = formatters.get(name);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: name === 'Local' ? undefined : name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short' });
    } catch {
      throw celError('unknown time zone');
    }
    if (formatters.size >= 256) formatters.clear();
    formatters.set(name, f);
  }
  return f;
}

/** The offset east of UTC (ms) of IANA zone `name` at instant `t`. */
function zoneOffset(t: Date, name: string): number {
  const parts: Record<string, string> = {};
  for (const p of zoneFormatter(name).formatToParts(t)) parts[p.type] = p.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  const wall = Date.UTC(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  // Date.UTC maps years 0-99 to 1900-1999
  const fixed = year >= 0 && year < 100 ? new Date(wall).setUTCFullYear(year) : wall;
  return fixed - (t.getTime() - t.getUTCMilliseconds());
}

/** The offset east of UTC (ms) of cel-go time zone `tz` at instant `t` (see the module comment). */
function offsetOf(t: Date, tz: string): number {
  const colon = tz.indexOf(':');
  if (colon < 0) return zoneOffset(t, tz);
  const hours = atoi(tz.slice(0, colon));
  const minutes = atoi(tz.slice(colon + 1));
  return (tz.startsWith('-') ? hours * 60 - minutes : hours * 60 + minutes) * MINUTE_MS;
}

/** A Date whose UTC fields are the wall clock of `t` in `tz` (UTC without a zone). */
function wallClock(t: Date, tz: unknown): Date {
  if (tz === undefined) return t;
  if (typeof tz !== 'string') throw celError('no such overload: the time zone must be a string');
  return new Date(t.getTime() + offsetOf(t, tz));
}

/** The first instant of the (UTC) year of `w`. */
function startOfYear(w: Date): number {
  const start = new Date(0);
  start.setUTCFullYear(w.getUTCFullYear(), 0, 1);
  return start.getTime();
}

/** cel-go's accessors of a wall clock (timestamp.go timestampGet*). */
const FIELDS: Readonly<Record<string, (w: Date) => number>> = {
  getFullYear: (w) => w.getUTCFullYear(),
  getMonth: (w) => w.getUTCMonth(),
  getDayOfYear: (w) => Math.floor((w.getTime() - startOfYear(w)) / DAY_MS),
  getDayOfMonth: (w) => w.getUTCDate() - 1,
  getDate: (w) => w.getUTCDate(),
  getDayOfWeek: (w) => w.getUTCDay(),
  getHours: (w) => w.getUTCHours(),
  getMinutes: (w) => w.getUTCMinutes(),
  getSeconds: (w) => w.getUTCSeconds(),
  getMilliseconds: (w) => w.getUTCMilliseconds(),
};

/**
 * The accessor `name` of a timestamp (`[receiver, tz?]` as a replaced
 * method's values, k8s-lib.ts replacedMethod), or undefined for another name.
 */
export function timestampAccessor(name: string): ((call: unknown[]) => unknown) | undefined {
  const field = Object.prototype.hasOwnProperty.call(FIELDS, name) ? FIELDS[name] : undefined;
  if (!field) return undefined;
  return (call) => BigInt(field(wallClock(call[0] as Date, call[1])));
}
