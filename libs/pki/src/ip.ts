import { PkiError } from './errors.js';

/** Pure IP address text <-> bytes, for iPAddress SANs (no node:net). */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseIpv4(text: string): Buffer | undefined {
  if (!IPV4.test(text)) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

function parseIpv6(text: string): Buffer | undefined {
  let head = text;
  let tailV4: Buffer | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): string[] | undefined => {
    if (part === '') return [];
    const items = part.split(':');
    return items.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? items : undefined;
  };
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tailV4) tailV4.copy(out, 12);
  return out;
}

/** 4 bytes for IPv4, 16 for IPv6; refuses anything else (no zone ids, no leading zeros in IPv4). */
export function parseIp(text: string): Buffer {
  const bytes = parseIpv4(text) ?? parseIpv6(text);
  if (!bytes) throw new PkiError('INVALID_ARGUMENT', `"${text}" is not an IP address`);
  return bytes;
}

/** Dotted quad or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new PkiError('MALFORMED', `IP address of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
