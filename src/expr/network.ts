/**
 * Kubernetes' IP and CIDR libraries for CEL
 * (k8s.io/apiserver/pkg/cel/library/ip.go and cidr.go, Go net/netip semantics):
 * `ip(string)`, `isIP(string)`, `ip.isCanonical(string)`, `family()`,
 * `isUnspecified()`, `isLoopback()`, `isLinkLocalMulticast()`,
 * `isLinkLocalUnicast()`, `isGlobalUnicast()`, `string(ip)`; `cidr(string)`,
 * `isCIDR(string)`, `containsIP(ip|string)`, `containsCIDR(cidr|string)`,
 * `ip()`, `masked()`, `prefixLength()`, `string(cidr)`; `==` on both.
 * Zones and IPv4-mapped IPv6 addresses are refused, and leading zeros in
 * IPv4 octets, as Kubernetes does. Error messages carry no address.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './cel.js';

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export class IPAddr {
  constructor(readonly bytes: Uint8Array) {}

  get family(): number {
    return this.bytes.length === 4 ? 4 : 6;
  }

  /** Go netip.Addr.String(): dotted IPv4, RFC 5952 IPv6. */
  toString(): string {
    const b = this.bytes;
    if (b.length === 4) return b.join('.');
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
      if (groups[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best < 0) return hex.join(':');
    return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
  }
}

/** A prefix: an address and a prefix length. */
export class CIDR {
  constructor(
    readonly addr: IPAddr,
    readonly bits: number,
  ) {}

  toString(): string {
    return `${this.addr.toString()}/${this.bits}`;
  }

  masked(): CIDR {
    const b = Uint8Array.from(this.addr.bytes);
    for (let i = 0; i < b.length; i++) {
      const keep = Math.max(0, Math.min(8, this.bits - i * 8));
      b[i] &= (0xff << (8 - keep)) & 0xff;
    }
    return new CIDR(new IPAddr(b), this.bits);
  }

  contains(ip: IPAddr): boolean {
    if (ip.bytes.length !== this.addr.bytes.length) return false;
    return new CIDR(ip, this.bits).masked().addr.toString() === this.masked().addr.toString();
  }
}

function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseGroups(s: string): number[] | undefined {
  if (s === '') return [];
  const out: number[] = [];
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (!v4) return undefined;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
    out.push(parseInt(p, 16));
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses an address as ip.go parseIPAddr; throws a value-free EvaluationError. */
function parseIP(s: string): IPAddr {
  if (s.includes('%')) throw celError('IP address with zone value is not allowed');
  const bytes = s.includes(':') ? parseIPv6(s) : parseIPv4(s);
  if (!bytes) throw celError('IP Address parse error during conversion from string');
  if (bytes.length === 16 && bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    throw celError('IPv4-mapped IPv6 address is not allowed');
  }
  return new IPAddr(bytes);
}

function parseCIDR(s: string): CIDR {
  const slash = s.lastIndexOf('/');
  const bitsText = s.slice(slash + 1);
  if (slash < 0 || !/^\d{1,3}$/.test(bitsText) || (bitsText.length > 1 && bitsText[0] === '0')) {
    throw celError('network address parse error during conversion from string');
  }
  let addr: IPAddr;
  try {
    addr = parseIP(s.slice(0, slash));
  } catch (e) {
    if ((e as Error).message.includes('IPv4-mapped')) throw e;
    throw celError('network address parse error during conversion from string');
  }
  const bits = Number(bitsText);
  if (bits > addr.bytes.length * 8) throw celError('network address parse error during conversion from string');
  return new CIDR(addr, bits);
}

const ok = <T>(f: () => T): boolean => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

// eslint-disable-next-line complexity -- the address-class checks of Go net.IP.IsGlobalUnicast
function isGlobalUnicast(ip: IPAddr): boolean {
  const b = ip.bytes;
  if (b.length === 4) {
    return !(b.every((x) => x === 0) || b.every((x) => x === 255) || b[0] === 127 || b[0] >= 224 && b[0] <= 239 || (b[0] === 169 && b[1] === 254));
  }
  const s = ip.toString();
  return !(s === '::' || s === '::1' || b[0] === 0xff || (b[0] === 0xfe && (b[1] & 0xc0) === 0x80));
}

/** Registers the IP and CIDR libraries. */
export function registerNetwork(env: Environment): void {
  env.registerType('net.IP', IPAddr as never);
  env.registerType('net.CIDR', CIDR as never);
  const parse = (s: string): IPAddr => parseIP(s);
  env.registerFunction('ip(string): net.IP', parse);
  env.registerFunction('isIP(string): bool', (s: string) => ok(() => parse(s)));
  env.registerFunction('string(net.IP): string', (ip: IPAddr) => ip.toString());
  env.registerFunction('net.IP.family(): int', (ip: IPAddr) => BigInt(ip.family));
  env.registerFunction('net.IP.isUnspecified(): bool', (ip: IPAddr) => ip.bytes.every((x) => x === 0));
  env.registerFunction('net.IP.isLoopback(): bool', (ip: IPAddr) => (ip.family === 4 ? ip.bytes[0] === 127 : ip.toString() === '::1'));
  env.registerFunction('net.IP.isLinkLocalMulticast(): bool', (ip: IPAddr) =>
    ip.family === 4 ? ip.bytes[0] === 224 && ip.bytes[1] === 0 && ip.bytes[2] === 0 : ip.bytes[0] === 0xff && (ip.bytes[1] & 0x0f) === 0x02,
  );
  env.registerFunction('net.IP.isLinkLocalUnicast(): bool', (ip: IPAddr) =>
    ip.family === 4 ? ip.bytes[0] === 169 && ip.bytes[1] === 254 : ip.bytes[0] === 0xfe && (ip.bytes[1] & 0xc0) === 0x80,
  );
  env.registerFunction('net.IP.isGlobalUnicast(): bool', (ip: IPAddr) => isGlobalUnicast(ip));
  env.registerOperator('net.IP == net.IP', (a: IPAddr, b: IPAddr) => a.toString() === b.toString());

  // ip.isCanonical(string): the engine reads `ip.isCanonical(...)` as a method of the identifier
  // `ip`, so `ip` is also a namespace constant (calls `ip(...)` resolve to the function).
  class IPNamespace {}
  env.registerType('IPNamespace', IPNamespace as never);
  env.registerConstant('ip', 'IPNamespace', new IPNamespace());
  env.registerFunction('IPNamespace.isCanonical(string): bool', (_ns: unknown, s: string) => ipIsCanonical(s));
  const cidrOf = (s: string): CIDR => parseCIDR(s);
  env.registerFunction('cidr(string): net.CIDR', cidrOf);
  env.registerFunction('isCIDR(string): bool', (s: string) => ok(() => cidrOf(s)));
  env.registerFunction('string(net.CIDR): string', (c: CIDR) => c.toString());
  env.registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CIDR, ip: IPAddr) => c.contains(ip));
  env.registerFunction('net.CIDR.containsIP(string): bool', (c: CIDR, s: string) => c.contains(parse(s)));
  env.registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CIDR, o: CIDR) => c.bits <= o.bits && c.contains(o.addr));
  env.registerFunction('net.CIDR.containsCIDR(string): bool', (c: CIDR, s: string) => {
    const o = cidrOf(s);
    return c.bits <= o.bits && c.contains(o.addr);
  });
  env.registerFunction('net.CIDR.ip(): net.IP', (c: CIDR) => c.addr);
  env.registerFunction('net.CIDR.masked(): net.CIDR', (c: CIDR) => c.masked());
  env.registerFunction('net.CIDR.prefixLength(): int', (c: CIDR) => BigInt(c.bits));
  env.registerOperator('net.CIDR == net.CIDR', (a: CIDR, b: CIDR) => a.toString() === b.toString());
}

/** `ip.isCanonical(string)`: the address parses and is written as Go writes it. */
export function ipIsCanonical(s: string): boolean {
  return parseIP(s).toString() === s;
}
