import { describe, expect, it } from 'vitest';
import { errorCode, longArcOid, selfSignedDer } from '../test/fixtures.js';
import { der } from './index.js';
import {
  MAX_CERTIFICATE_BYTES,
  MAX_CHAIN_CERTIFICATES,
  MAX_EXTENSIONS,
  MAX_NAME_ATTRIBUTES,
  createCsr,
  generateKeyPair,
  parseCertificate,
  parseCertificateChain,
  parseCsr,
} from './index.js';

const opaqueExtension = (id: Buffer): Buffer => der.sequence(id, der.octetString(der.nullValue()));
const nameWith = (attributeType: Buffer): Buffer =>
  der.sequence(der.setOf([der.sequence(attributeType, der.utf8String('x'))]));

describe('bounds before decoding untrusted certificates', () => {
  // Before the fix: ~466 ms per certificate (an arc shifted into a BigInt once per byte). The time it
  // takes now is measured by test/bench/pki-limits; here, that the refusal comes before any arc is read.
  it.each([
    ['an extension', () => selfSignedDer({ extensions: [opaqueExtension(longArcOid(60_000))] })],
    ['a name attribute', () => selfSignedDer({ subject: nameWith(longArcOid(60_000)) })],
  ])('refuses a certificate with a 60 KB OID in %s by its size, before decoding it', (_, build) => {
    const certificate = build();
    expect(certificate.length).toBeGreaterThan(60_000);
    expect(errorCode(() => parseCertificate(certificate))).toBe('MALFORMED');
    expect(() => parseCertificate(certificate)).toThrow(/larger than 16384 bytes/);
  });

  it('refuses a 60 KB OID by its length, before any arc, where the certificate size is not checked', () => {
    expect(() => der.readOid(der.decodeDer(longArcOid(60_000)))).toThrow(/OID longer than 64 octets/);
    // A valid first arc and a 65-octet OID: refused by length, not by the arc bound or the end check.
    const justOver = der.oid(`1.3.6.1.4.1.${Array.from({ length: 60 }, () => '1').join('.')}`);
    expect(justOver.length).toBe(2 + 65);
    expect(() => der.readOid(der.decodeDer(justOver))).toThrow(/OID longer than 64 octets/);
    expect(
      der.readOid(der.decodeDer(der.oid(`1.3.6.1.4.1.${Array.from({ length: 59 }, () => '1').join('.')}`))),
    ).toMatch(/^1\.3\.6\.1\.4\.1(\.1){59}$/);
  });

  it('bounds an OID arc, and still reads a 128-bit UUID arc (2.25.x)', () => {
    const uuid = BigInt('0x' + 'f'.repeat(32));
    expect(der.readOid(der.decodeDer(der.oid(`2.25.${uuid}`)))).toBe(`2.25.${uuid}`);
    expect(der.readOid(der.decodeDer(der.oid('2.999.3')))).toBe('2.999.3');
    expect(() => der.readOid(der.decodeDer(longArcOid(20)))).toThrow(/arc longer than 19 octets/);
  });

  it('refuses a certificate larger than MAX_CERTIFICATE_BYTES before decoding it', () => {
    const big = selfSignedDer({
      extensions: [opaqueExtension(der.oid('1.3.6.1.4.1.99999.1'))].concat(
        der.sequence(der.oid('1.3.6.1.4.1.99999.2'), der.octetString(Buffer.alloc(MAX_CERTIFICATE_BYTES))),
      ),
    });
    expect(() => parseCertificate(big)).toThrow(/larger than 16384 bytes/);
    expect(() =>
      parseCertificate(`-----BEGIN CERTIFICATE-----\n${big.toString('base64')}\n-----END CERTIFICATE-----\n`),
    ).toThrow(/larger than 16384 bytes/);
  });

  it('refuses more than MAX_EXTENSIONS extensions and MAX_NAME_ATTRIBUTES name attributes', () => {
    const extensions = Array.from({ length: MAX_EXTENSIONS + 1 }, (_, i) =>
      opaqueExtension(der.oid(`1.3.6.1.4.1.99999.${i}`)),
    );
    expect(() => parseCertificate(selfSignedDer({ extensions }))).toThrow(/more than 32 extensions/);
    expect(parseCertificate(selfSignedDer({ extensions: extensions.slice(1) })).extensions.all).toHaveLength(
      MAX_EXTENSIONS,
    );
    const rdns = Array.from({ length: MAX_NAME_ATTRIBUTES + 1 }, () =>
      der.setOf([der.sequence(der.oid('2.5.4.11'), der.utf8String('u'))]),
    );
    expect(() => parseCertificate(selfSignedDer({ subject: der.sequence(...rdns) }))).toThrow(
      /more than 32 attributes/,
    );
  });

  it('spends no work on nesting it does not understand: 2,000 nested SEQUENCEs in an extension', () => {
    let nested = der.nullValue();
    for (let i = 0; i < 2_000; i++) nested = der.sequence(nested);
    const certificate = selfSignedDer({
      extensions: [der.sequence(der.oid('1.3.6.1.4.1.99999.1'), der.octetString(nested))],
    });
    // Kept as the opaque bytes it arrived as: nothing walks the nesting (timed in test/bench/pki-limits).
    const [kept] = parseCertificate(certificate).extensions.all;
    expect(kept).toMatchObject({ oid: '1.3.6.1.4.1.99999.1', critical: false });
    expect(Buffer.compare(kept!.value, nested)).toBe(0);
  });

  it('bounds a presented chain by count and total size', () => {
    const one = selfSignedDer();
    expect(parseCertificateChain([one, one])).toHaveLength(2);
    expect(() =>
      parseCertificateChain(Array.from({ length: MAX_CHAIN_CERTIFICATES + 1 }, () => one)),
    ).toThrow(/at most 8 are accepted/);
    const large = Buffer.alloc(15 * 1024);
    expect(() => parseCertificateChain([large, large, large, large, large])).toThrow(
      /larger than 65536 bytes/,
    );
  });

  it('refuses a CSR larger than MAX_CSR_BYTES', () => {
    const csr = createCsr({ privateKey: generateKeyPair().privateKey, subject: { commonName: 'meter-1' } });
    expect(parseCsr(csr.der).subject.commonName).toBe('meter-1');
    expect(() => parseCsr(Buffer.concat([csr.der, Buffer.alloc(16 * 1024)]))).toThrow(/CSR is larger/);
  });
});
