/**
 * Kubernetes' URL library for CEL (k8s.io/apiserver/pkg/cel/library/urls.go,
 * Go net/url ParseRequestURI then Parse): `url(string)`, `isURL(string)`,
 * `getScheme()`, `getHost()`, `getHostname()`, `getPort()`,
 * `getEscapedPath()`, `getQuery()`. A URL must be an absolute URI or an
 * absolute path. Errors carry no part of the URL.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './cel.js';

/** A parsed URL (Go url.URL fields read by the library). */
export class CelURL {
  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly rawPath: string,
    readonly rawQuery: string,
  ) {}

  get hostname(): string {
    if (this.host.startsWith('[')) return this.host.slice(1, this.host.indexOf(']'));
    const colon = this.host.lastIndexOf(':');
    return colon >= 0 ? this.host.slice(0, colon) : this.host;
  }

  get port(): string {
    const close = this.host.lastIndexOf(']');
    const colon = this.host.lastIndexOf(':');
    return colon > close ? this.host.slice(colon + 1) : '';
  }
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

function fail(): never {
  throw celError('URL parse error during conversion from string');
}

/** Go's `url.ParseRequestURI` acceptance plus `url.Parse`'s fields (fragment dropped). */
// eslint-disable-next-line complexity -- the steps of Go net/url.Parse, in its order
export function parseURL(s: string): CelURL {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) fail();
  const m = SCHEME.exec(s);
  let rest = m ? s.slice(m[0].length) : s;
  if (!m && !rest.startsWith('/')) fail();
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const rawQuery = q >= 0 ? rest.slice(q + 1) : '';
  rest = q >= 0 ? rest.slice(0, q) : rest;
  let host = '';
  if (rest.startsWith('//') && (m || true)) {
    const slash = rest.indexOf('/', 2);
    const authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    rest = slash >= 0 ? rest.slice(slash) : '';
    const at = authority.lastIndexOf('@');
    host = at >= 0 ? authority.slice(at + 1) : authority;
    validateHost(host);
  } else if (m && !rest.startsWith('/') && rest !== '') {
    // opaque URL (mailto:x): accepted by ParseRequestURI
    return new CelURL(m[1].toLowerCase(), '', '', rawQuery);
  }
  return new CelURL(m ? m[1].toLowerCase() : '', host, rest, rawQuery);
}

function validateHost(host: string): void {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) fail();
    const after = host.slice(close + 1);
    if (after !== '' && !/^:\d*$/.test(after)) fail();
    return;
  }
  const colon = host.indexOf(':');
  if (colon >= 0 && !/^\d*$/.test(host.slice(colon + 1))) fail();
  if (/[\s<>"{}|\\^`]/.test(host)) fail();
}

function unescape(s: string, plus: boolean): string {
  const t = plus ? s.replaceAll('+', ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

/** Go url.EscapedPath for the usual cases: the raw path when it needs no escaping, else escaped. */
function escapedPath(raw: string): string {
  return unescape(raw, false).replace(/[^A-Za-z0-9\-._~$&+,/:;=@!'()*]/gu, (c) => encodeURIComponent(c));
}

/** Registers the URL library. */
export function registerUrls(env: Environment): void {
  env.registerType('kubernetes.URL', CelURL as never);
  const parse = (s: string): CelURL => parseURL(s);
  env.registerFunction('url(string): kubernetes.URL', parse);
  env.registerFunction('isURL(string): bool', (s: string) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  });
  env.registerFunction('kubernetes.URL.getScheme(): string', (u: CelURL) => u.scheme);
  env.registerFunction('kubernetes.URL.getHost(): string', (u: CelURL) => u.host);
  env.registerFunction('kubernetes.URL.getHostname(): string', (u: CelURL) => u.hostname);
  env.registerFunction('kubernetes.URL.getPort(): string', (u: CelURL) => u.port);
  env.registerFunction('kubernetes.URL.getEscapedPath(): string', (u: CelURL) => escapedPath(u.rawPath));
  env.registerFunction('kubernetes.URL.getQuery(): map<string, list<string>>', (u: CelURL) => {
    const out = new Map<string, string[]>();
    if (u.rawQuery === '') return out;
    for (const pair of u.rawQuery.split('&')) {
      if (pair === '' || pair.includes(';')) continue;
      const eq = pair.indexOf('=');
      const k = unescape(eq >= 0 ? pair.slice(0, eq) : pair, true);
      const v = eq >= 0 ? unescape(pair.slice(eq + 1), true) : '';
      const list = out.get(k) ?? [];
      list.push(v);
      out.set(k, list);
    }
    return out;
  });
}
