import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../test/fixtures.js';
import { PkiError } from '../errors.js';
import {
  DerReader,
  TAG,
  bitString,
  boolean,
  contentOf,
  contextTag,
  decodeDer,
  encodingOf,
  explicit,
  generalizedTime,
  ia5String,
  implicit,
  integer,
  namedBitString,
  nullValue,
  octetString,
  oid,
  printableString,
  readBitString,
  readBoolean,
  readInteger,
  readNamedBits,
  readNull,
  readOctetString,
  readOid,
  readString,
  readTime,
  sequence,
  setOf,
  time,
  utcTime,
  utf8String,
} from './index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const expectMalformed = (fn: () => unknown): void => {
  expect(errorCode(fn)).toBe('MALFORMED');
};

describe('DER INTEGER', () => {
  it.each([
    [0n, '020100'],
    [127n, '02017f'],
    [128n, '02020080'],
    [255n, '020200ff'],
    [256n, '02020100'],
    [-1n, '0201ff'],
    [-128n, '020180'],
    [-129n, '0202ff7f'],
    [65535n, '020300ffff'],
  ])('encodes %s as %s and decodes it back', (value, expected) => {
    expect(hex(integer(value))).toBe(expected);
    expect(readInteger(decodeDer(integer(value)))).toBe(value);
  });

  it('round-trips large and unsigned-magnitude integers', () => {
    const big = (1n << 159n) + 12345n;
    expect(readInteger(decodeDer(integer(big)))).toBe(big);
    expect(hex(integer(Buffer.from([0x00, 0x00, 0x80])))).toBe('02020080');
    expect(hex(integer(Buffer.from([0x00, 0x00])))).toBe('020100');
  });

  it('refuses non-minimal and empty encodings', () => {
    expectMalformed(() => readInteger(decodeDer(Buffer.from('0202007f', 'hex'))));
    expectMalformed(() => readInteger(decodeDer(Buffer.from('0202ff80', 'hex'))));
    expectMalformed(() => readInteger(decodeDer(Buffer.from('0200', 'hex'))));
  });
});

describe('DER lengths and framing', () => {
  it.each([0, 1, 127, 128, 255, 256, 65535, 70000])('round-trips an OCTET STRING of %i bytes', (n) => {
    const payload = Buffer.alloc(n, 0xab);
    const encoded = octetString(payload);
    expect(readOctetString(decodeDer(encoded)).equals(payload)).toBe(true);
  });

  it('uses the short form below 128 and minimal long forms above', () => {
    expect(hex(octetString(Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(octetString(Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(octetString(Buffer.alloc(256))).slice(0, 8)).toBe('04820100');
  });

  it('refuses indefinite, non-minimal, truncated and overlong input, and trailing bytes', () => {
    expectMalformed(() => decodeDer(Buffer.from('30800000', 'hex')));
    expectMalformed(() => decodeDer(Buffer.from('04810100', 'hex'))); // long form for length 1
    expectMalformed(() => decodeDer(Buffer.from('0482000100', 'hex'))); // leading zero in length
    expectMalformed(() => decodeDer(Buffer.from('040301', 'hex')));
    expectMalformed(() => decodeDer(Buffer.from('0401', 'hex')));
    expectMalformed(() => decodeDer(Buffer.from('05000500', 'hex')));
    expectMalformed(() => decodeDer(Buffer.from('1f2200', 'hex'))); // high tag number
    // A child running past its parent's end.
    expectMalformed(() => new DerReader(decodeDer(Buffer.from('3003040301', 'hex')), 'x').next());
  });
});

describe('DER primitives', () => {
  it('encodes BOOLEAN and NULL in DER form and refuses BER booleans', () => {
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(boolean(false))).toBe('010100');
    expect(readBoolean(decodeDer(boolean(true)))).toBe(true);
    expect(hex(nullValue())).toBe('0500');
    expect(readNull(decodeDer(nullValue()))).toBeNull();
    expectMalformed(() => readBoolean(decodeDer(Buffer.from('010101', 'hex'))));
  });

  it.each([
    ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'],
    ['1.2.840.10045.3.1.7', '06082a8648ce3d030107'],
    ['2.5.29.19', '0603551d13'],
    ['2.999.3', '0603883703'],
    ['0.9.2342.19200300.100.1.25', '060a0992268993f22c640119'],
  ])('encodes OID %s', (dotted, expected) => {
    expect(hex(oid(dotted))).toBe(expected);
    expect(readOid(decodeDer(oid(dotted)))).toBe(dotted);
  });

  it('refuses invalid OIDs', () => {
    expect(() => oid('1.40')).toThrow(PkiError);
    expect(() => oid('3.1')).toThrow(PkiError);
    expect(() => oid('1.2.03')).toThrow(PkiError);
    expectMalformed(() => readOid(decodeDer(Buffer.from('0602802a', 'hex')))); // padded arc
    expectMalformed(() => readOid(decodeDer(Buffer.from('06022a86', 'hex')))); // unterminated arc
  });

  it('encodes named-bit BIT STRINGs as DER keyUsage values', () => {
    expect(hex(namedBitString([0]))).toBe('03020780'); // digitalSignature
    expect(hex(namedBitString([5, 6]))).toBe('03020106'); // keyCertSign, cRLSign
    expect(hex(namedBitString([0, 8]))).toBe('0303078080'); // digitalSignature, decipherOnly
    expect(readNamedBits(decodeDer(namedBitString([5, 6])))).toEqual([5, 6]);
    const { bytes, unusedBits } = readBitString(decodeDer(bitString(Buffer.from([1, 2, 3]))));
    expect([hex(bytes), unusedBits]).toEqual(['010203', 0]);
    expectMalformed(() => readBitString(decodeDer(Buffer.from('03020781', 'hex')))); // unused bit set
  });

  it('round-trips strings and checks their character sets', () => {
    expect(readString(decodeDer(utf8String('Zähler № 7')))).toBe('Zähler № 7');
    expect(readString(decodeDer(printableString('GB')))).toBe('GB');
    expect(readString(decodeDer(ia5String('a.example')))).toBe('a.example');
    expect(() => printableString('a_b')).toThrow(PkiError);
    expect(() => ia5String('é')).toThrow(PkiError);
    expect(() => utf8String('\ud800')).toThrow(PkiError);
    expectMalformed(() => readString(decodeDer(Buffer.from('0c01ff', 'hex'))));
    expectMalformed(() => readString(decodeDer(Buffer.from('13015f', 'hex')))); // '_' is not printable
  });

  it('uses UTCTime through 2049 and GeneralizedTime from 2050', () => {
    const y2049 = new Date('2049-12-31T23:59:59Z');
    const y2050 = new Date('2050-01-01T00:00:00Z');
    const y1949 = new Date('1949-06-01T00:00:00Z');
    expect(time(y2049)[0]).toBe(TAG.UTC_TIME);
    expect(contentOf(decodeDer(time(y2049))).toString()).toBe('491231235959Z');
    expect(time(y2050)[0]).toBe(TAG.GENERALIZED_TIME);
    expect(contentOf(decodeDer(time(y2050))).toString()).toBe('20500101000000Z');
    expect(time(y1949)[0]).toBe(TAG.GENERALIZED_TIME);
    for (const date of [
      y2049,
      y2050,
      y1949,
      new Date('1950-01-01T00:00:00Z'),
      new Date('9999-12-31T23:59:59Z'),
    ]) {
      expect(readTime(decodeDer(time(date))).toISOString()).toBe(date.toISOString());
    }
    expect(readTime(decodeDer(utcTime(new Date('2001-02-03T04:05:06.789Z')))).toISOString()).toBe(
      '2001-02-03T04:05:06.000Z',
    );
    expect(() => utcTime(y2050)).toThrow(PkiError);
    expect(readTime(decodeDer(generalizedTime(y2049))).getTime()).toBe(y2049.getTime());
  });

  it('refuses times outside the RFC 5280 profile', () => {
    const t = (tag: number, text: string): Buffer =>
      Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text)]);
    expectMalformed(() => readTime(decodeDer(t(TAG.UTC_TIME, '2502301200Z')))); // no seconds
    expectMalformed(() => readTime(decodeDer(t(TAG.UTC_TIME, '250230120000Z')))); // 30 February
    expectMalformed(() => readTime(decodeDer(t(TAG.UTC_TIME, '250101120000+0100'))));
    expectMalformed(() => readTime(decodeDer(t(TAG.GENERALIZED_TIME, '20500101000000.5Z'))));
    expectMalformed(() => readTime(decodeDer(octetString(Buffer.from('250101120000Z')))));
  });
});

describe('DER constructed values', () => {
  it('builds SEQUENCE, sorted SET OF and context tags', () => {
    const s = sequence(integer(1), boolean(true));
    expect(hex(s)).toBe('3006020101' + '0101ff');
    expect(hex(setOf([integer(2), integer(1)]))).toBe('3106020101020102');
    expect(hex(explicit(0, integer(2)))).toBe('a003020102');
    expect(hex(implicit(0, Buffer.from([1, 2]), false))).toBe('80020102');
    expect(hex(implicit(1, Buffer.alloc(0), true))).toBe('a100');
    const reader = DerReader.of(
      decodeDer(sequence(explicit(3, nullValue()), integer(7))),
      TAG.SEQUENCE,
      'test',
    );
    const tagged = reader.optional(contextTag(3, true));
    expect(tagged && hex(encodingOf(tagged))).toBe('a3020500');
    expect(reader.optional(contextTag(0, true))).toBeUndefined();
    expect(readInteger(reader.next(TAG.INTEGER))).toBe(7n);
    reader.end();
  });

  it('re-encodes a Node-generated SubjectPublicKeyInfo byte for byte', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const reader = DerReader.of(decodeDer(spki), TAG.SEQUENCE, 'spki');
    const algorithm = DerReader.of(reader.next(TAG.SEQUENCE), TAG.SEQUENCE, 'alg');
    const algorithmOid = readOid(algorithm.next(TAG.OID));
    const curveOid = readOid(algorithm.next(TAG.OID));
    const point = readBitString(reader.next(TAG.BIT_STRING)).bytes;
    reader.end();
    const rebuilt = sequence(sequence(oid(algorithmOid), oid(curveOid)), bitString(point));
    expect(rebuilt.equals(spki)).toBe(true);
  });
});
