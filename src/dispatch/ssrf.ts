// The SSRF guard: an outbound request may only connect to a public unicast address, unless the
// address is inside a CIDR of the configured allow-list (tests and standalone examples allow
// 127.0.0.0/8 explicitly). It runs as the connector's DNS lookup, so the address checked is the
// address connected to (no DNS-rebinding gap), and every redirect hop would pass it again.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

export class DestinationBlockedError extends Error {
  readonly code = 'ERR_DESTINATION_BLOCKED';
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseAllowList(cidrs: readonly string[]): Cidr[] {
  return cidrs.map((c) => {
    try {
      return ipaddr.parseCIDR(c);
    } catch {
      throw new Error(`allowedDestinations: "${c}" is not a CIDR (e.g. 127.0.0.0/8)`);
    }
  });
}

export function isAllowedAddress(address: string, allow: readonly Cidr[]): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (allow.some(([net, bits]) => net.kind() === ip.kind() && ip.match([net, bits] as never))) return true;
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated) hides IPv4 addresses from range(): refuse it.
  if (ip.kind() === 'ipv6' && ip.match(ipaddr.parseCIDR('::/96'))) return false;
  return ip.range() === 'unicast';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that refuses blocked addresses. */
export function guardedLookup(allow: readonly Cidr[]) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const ok = addresses.filter((a) => isAllowedAddress(a.address, allow));
      if (ok.length === 0) {
        return callback(new DestinationBlockedError(`destination ${hostname} resolves only to blocked addresses`), '');
      }
      if ((options as { all?: boolean }).all) return callback(null, ok);
      const first = ok[0]!;
      callback(null, first.address, first.family);
    });
  };
}
