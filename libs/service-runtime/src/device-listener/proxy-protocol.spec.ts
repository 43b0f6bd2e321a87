import { describe, expect, it } from 'vitest';
import {
  PROXY_V2_MAX_BYTES,
  PROXY_V2_SIGNATURE,
  ProxyProtocolError,
  encodeProxyV2,
  parseProxyV2,
  sourceKey,
} from './proxy-protocol';

const header = (versionCommand: number, family: number, body: Buffer) => {
  const fixed = Buffer.from([versionCommand, family, 0, 0]);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
};

describe('parseProxyV2', () => {
  it('reads an IPv4 and an IPv6 client address, and the header length (TLS bytes follow)', () => {
    const v4 = encodeProxyV2({ address: '203.0.113.7', port: 51_000 }, { address: '10.0.0.1', port: 443 });
    const tls = Buffer.from([0x16, 0x03, 0x01]);
    expect(parseProxyV2(Buffer.concat([v4, tls]))).toEqual({
      kind: 'proxy',
      length: 28,
      sourceAddress: '203.0.113.7',
      sourcePort: 51_000,
    });
    const v6 = encodeProxyV2({ address: '2001:db8::42', port: 40_000 });
    expect(parseProxyV2(v6)).toMatchObject({ sourceAddress: '2001:db8:0:0:0:0:0:42', sourcePort: 40_000 });
  });

  it('asks for more bytes until the whole header is there', () => {
    const v4 = encodeProxyV2({ address: '198.51.100.1', port: 1 });
    for (const cut of [0, 5, 12, 15, 27])
      expect(parseProxyV2(v4.subarray(0, cut))).toEqual({ kind: 'incomplete' });
  });

  it('takes LOCAL (the balancer’s own check) and an unspecified family as "use the socket address", skipping TLVs', () => {
    expect(parseProxyV2(header(0x20, 0x00, Buffer.alloc(0)))).toEqual({ kind: 'local', length: 16 });
    expect(parseProxyV2(header(0x21, 0x00, Buffer.alloc(7)))).toEqual({ kind: 'local', length: 23 });
    const withTlv = Buffer.concat([
      encodeProxyV2({ address: '192.0.2.9', port: 9 }).subarray(16),
      Buffer.alloc(40),
    ]);
    expect(parseProxyV2(header(0x21, 0x11, withTlv))).toMatchObject({
      length: 16 + 52,
      sourceAddress: '192.0.2.9',
    });
  });

  it('refuses what is not a well-formed v2 header', () => {
    const refusals: [string, Buffer][] = [
      ['no signature', Buffer.from('GET / HTTP/1.1\r\n')],
      ['PROXY v1 text', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
      ['TLS without a header', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])],
      ['version 1 in the binary form', header(0x11, 0x11, Buffer.alloc(12))],
      ['unknown command', header(0x22, 0x11, Buffer.alloc(12))],
      ['unknown family', header(0x21, 0x41, Buffer.alloc(12))],
      ['datagram', header(0x21, 0x12, Buffer.alloc(12))],
      ['IPv4 body too short', header(0x21, 0x11, Buffer.alloc(11))],
      ['IPv6 body too short', header(0x21, 0x21, Buffer.alloc(35))],
      ['longer than the bound', header(0x21, 0x11, Buffer.alloc(PROXY_V2_MAX_BYTES))],
    ];
    for (const [what, data] of refusals) expect(() => parseProxyV2(data), what).toThrow(ProxyProtocolError);
  });
});

describe('sourceKey', () => {
  it('counts IPv4 per address (mapped or not) and IPv6 per /64', () => {
    expect(sourceKey('203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(sourceKey('2001:db8:1:2::1'));
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });
});
