import { isIPv4, isIPv6 } from 'node:net';

/**
 * PROXY protocol version 2 (haproxy.org/download/2.9/doc/proxy-protocol.txt), as a passthrough load
 * balancer puts it before the TLS bytes: the real client address. Binary only (no v1 text), bounded:
 * a header longer than PROXY_V2_MAX_BYTES is refused, TLVs are skipped unread.
 */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const FIXED_BYTES = 16;
/** Addresses (36 bytes for IPv6) and room for a balancer's usual TLVs. */
export const PROXY_V2_MAX_BYTES = FIXED_BYTES + 512;

export type ProxyHeader =
  /** LOCAL (the balancer's own health check) or an unspecified family: use the socket's address. */
  | { kind: 'local'; length: number }
  | { kind: 'proxy'; length: number; sourceAddress: string; sourcePort: number };

export type ProxyParse = { kind: 'incomplete' } | ProxyHeader;

export class ProxyProtocolError extends Error {
  override readonly name = 'ProxyProtocolError';
}

/**
 * Reads a PROXY v2 header at the start of `data`: 'incomplete' while more bytes are needed, else the
 * header and its length in bytes. Throws ProxyProtocolError on anything else (no signature, another
 * version or command, a length out of bounds or too short for its address family).
 */
export function parseProxyV2(data: Buffer): ProxyParse {
  const signature = Math.min(data.length, PROXY_V2_SIGNATURE.length);
  if (!data.subarray(0, signature).equals(PROXY_V2_SIGNATURE.subarray(0, signature)))
    throw new ProxyProtocolError('no PROXY protocol v2 signature');
  if (data.length < FIXED_BYTES) return { kind: 'incomplete' };
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) throw new ProxyProtocolError('not PROXY protocol version 2');
  const command = versionCommand & 0x0f;
  if (command > 1) throw new ProxyProtocolError(`unknown PROXY command ${command}`);
  const family = data[13]! >> 4;
  const transport = data[13]! & 0x0f;
  const length = FIXED_BYTES + data.readUInt16BE(14);
  if (length > PROXY_V2_MAX_BYTES) throw new ProxyProtocolError(`PROXY header of ${length} bytes`);
  if (data.length < length) return { kind: 'incomplete' };
  if (command === 0) return { kind: 'local', length };
  if (family > 3 || transport > 2) throw new ProxyProtocolError('unknown PROXY address family');
  if (family === 0 || family === 3) return { kind: 'local', length };
  if (transport !== 1) throw new ProxyProtocolError('PROXY header for a datagram');
  const addresses = family === 1 ? 12 : 36;
  if (length - FIXED_BYTES < addresses)
    throw new ProxyProtocolError('PROXY header too short for its addresses');
  const body = data.subarray(FIXED_BYTES, FIXED_BYTES + addresses);
  const sourceAddress = family === 1 ? ipv4(body.subarray(0, 4)) : ipv6(body.subarray(0, 16));
  const sourcePort = body.readUInt16BE(family === 1 ? 8 : 32);
  return { kind: 'proxy', length, sourceAddress, sourcePort };
}

/** A PROXY v2 header (tests, and what a balancer sends). */
export function encodeProxyV2(source: { address: string; port: number }, destination = source): Buffer {
  const v4 = isIPv4(source.address);
  if (!v4 && !isIPv6(source.address)) throw new Error(`not an IP address: ${source.address}`);
  const encode = (address: string) => (v4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(source.port, 0);
  ports.writeUInt16BE(destination.port, 2);
  const body = Buffer.concat([encode(source.address), encode(destination.address), ports]);
  const fixed = Buffer.from([0x21, v4 ? 0x11 : 0x21, 0, 0]);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}

function ipv4(bytes: Buffer): string {
  return [...bytes].join('.');
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** The 16 bytes of an IPv6 address (with `::`, or an IPv4 tail). */
export function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const part = (text: string | undefined) => (text ? text.split(':') : []);
  const expand = (groups: string[]) =>
    groups.flatMap((group) => {
      if (!isIPv4(group)) return [parseInt(group, 16)];
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  const left = expand(part(head));
  const right = expand(part(tail));
  const groups =
    tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}

/**
 * What limits per source count by: an IPv4 address as it is (also one mapped into IPv6), an IPv6
 * address by its /64 (one subscriber's prefix; the low 64 bits are the host's to pick).
 */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const bytes = ipv6Bytes(address);
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return `${groups.join(':')}::/64`;
}
