import { PkiError } from '../errors.js';
import { TAG, contextTag } from './tags.js';

/**
 * A small DER encoder: each function returns the complete encoding (identifier, length, contents)
 * of one value, so values nest by passing encodings to `sequence`, `set`, `explicit` and so on.
 */

function lengthOfLength(length: number): number {
  if (length < 0x80) return 1;
  if (length <= 0xff) return 2;
  if (length <= 0xffff) return 3;
  if (length <= 0xffffff) return 4;
  return 5;
}

function writeHeader(out: Buffer, tag: number, length: number): number {
  out[0] = tag;
  if (length < 0x80) {
    out[1] = length;
    return 2;
  }
  const n = lengthOfLength(length) - 1;
  out[1] = 0x80 | n;
  for (let i = 0; i < n; i++) out[2 + i] = (length >>> (8 * (n - 1 - i))) & 0xff;
  return 2 + n;
}

/** One TLV with primitive or pre-encoded contents. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const header = 1 + lengthOfLength(content.length);
  const out = Buffer.allocUnsafe(header + content.length);
  writeHeader(out, tag, content.length);
  out.set(content, header);
  return out;
}

/** A constructed value whose contents are the concatenation of `parts`, allocated once. */
export function constructed(tag: number, parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafe(1 + lengthOfLength(length) + length);
  let offset = writeHeader(out, tag, length);
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function sequence(...parts: readonly Uint8Array[]): Buffer {
  return constructed(TAG.SEQUENCE, parts);
}

/** SET OF: DER orders the elements by their encodings. */
export function setOf(parts: readonly Uint8Array[]): Buffer {
  const sorted = [...parts].sort((a, b) => Buffer.compare(a, b));
  return constructed(TAG.SET, sorted);
}

/** `[n] EXPLICIT inner`: a constructed context tag wrapping one complete encoding. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  return constructed(contextTag(tagNumber, true), [inner]);
}

/**
 * `[n] IMPLICIT`: the context tag replaces the inner type's tag, keeping its contents. Pass the inner
 * contents (not its full encoding) and whether the inner type is constructed (SEQUENCE, SET).
 */
export function implicit(tagNumber: number, content: Uint8Array, isConstructed: boolean): Buffer {
  return tlv(contextTag(tagNumber, isConstructed), content);
}

const TRUE = Buffer.from([TAG.BOOLEAN, 1, 0xff]);
const FALSE = Buffer.from([TAG.BOOLEAN, 1, 0x00]);
const NULL = Buffer.from([TAG.NULL, 0]);

export function boolean(value: boolean): Buffer {
  return value ? TRUE : FALSE;
}

export function nullValue(): Buffer {
  return NULL;
}

/** Minimal two's complement bytes of a bigint (at least one byte). */
export function bigintToTwosComplement(value: bigint): Buffer {
  if (value >= 0n) {
    let hex = value.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
    return Buffer.from(hex, 'hex');
  }
  let bytes = 1;
  while (value < -(1n << BigInt(8 * bytes - 1))) bytes++;
  const hex = ((1n << BigInt(8 * bytes)) + value).toString(16).padStart(bytes * 2, '0');
  return Buffer.from(hex, 'hex');
}

/** Minimal contents of a non-negative INTEGER given as an unsigned big-endian magnitude. */
export function unsignedToIntegerContent(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.buffer, magnitude.byteOffset + start, magnitude.length - start);
  if (trimmed.length === 0) return Buffer.from([0]);
  if ((trimmed[0]! & 0x80) !== 0) return Buffer.concat([Buffer.from([0]), trimmed]);
  return Buffer.from(trimmed);
}

/** INTEGER from a bigint or number (two's complement), or a Uint8Array read as an unsigned magnitude. */
export function integer(value: bigint | number | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return tlv(TAG.INTEGER, unsignedToIntegerContent(value));
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new PkiError('INVALID_ARGUMENT', `INTEGER ${value} is not a safe integer`);
  }
  return tlv(TAG.INTEGER, bigintToTwosComplement(BigInt(value)));
}

export function enumerated(value: number): Buffer {
  if (!Number.isSafeInteger(value)) {
    throw new PkiError('INVALID_ARGUMENT', `ENUMERATED ${value} is not an integer`);
  }
  return tlv(TAG.ENUMERATED, bigintToTwosComplement(BigInt(value)));
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (
    !Number.isInteger(unusedBits) ||
    unusedBits < 0 ||
    unusedBits > 7 ||
    (bytes.length === 0 && unusedBits !== 0)
  ) {
    throw new PkiError('INVALID_ARGUMENT', `BIT STRING unused bits ${unusedBits} invalid`);
  }
  if (unusedBits > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new PkiError('INVALID_ARGUMENT', 'BIT STRING unused bits must be zero in DER');
  }
  const out = Buffer.allocUnsafe(bytes.length + 1);
  out[0] = unusedBits;
  out.set(bytes, 1);
  return tlv(TAG.BIT_STRING, out);
}

/**
 * A named-bit BIT STRING (KeyUsage and the like) from the numbers of the bits that are set: DER drops
 * trailing zero bits and counts the bits of the last byte left unused.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0) {
      throw new PkiError('INVALID_ARGUMENT', `Bit number ${bit} invalid`);
    }
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return bitString(bytes, 7 - (highest & 7));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

const oidCache = new Map<string, Buffer>();
const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** OBJECT IDENTIFIER from dotted form; encodings are cached since X.509 reuses a handful of them. */
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  if (!OID_PATTERN.test(dotted)) {
    throw new PkiError('INVALID_ARGUMENT', `OID ${dotted} is not dotted decimal`);
  }
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second] = arcs as [bigint, bigint];
  if (first < 2n && second > 39n) {
    throw new PkiError('INVALID_ARGUMENT', `OID ${dotted}: second arc must be < 40`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    bytes.push(...chunk);
  }
  const encoded = tlv(TAG.OID, Buffer.from(bytes));
  if (oidCache.size < 1024) oidCache.set(dotted, encoded);
  return encoded;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function isPrintableString(value: string): boolean {
  return PRINTABLE.test(value);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function utf8String(value: string): Buffer {
  if (LONE_SURROGATE.test(value)) throw new PkiError('INVALID_ARGUMENT', 'UTF8String holds a lone surrogate');
  return tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
}

export function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) {
    throw new PkiError('INVALID_ARGUMENT', `"${value}" has characters a PrintableString cannot hold`);
  }
  return tlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'latin1'));
}

export function ia5String(value: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(value)) throw new PkiError('INVALID_ARGUMENT', `"${value}" is not IA5 (ASCII)`);
  return tlv(TAG.IA5_STRING, Buffer.from(value, 'latin1'));
}

function pad(value: number, width: number): string {
  return value.toString().padStart(width, '0');
}

function wholeSeconds(date: Date): { year: number; rest: string } {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new PkiError('INVALID_ARGUMENT', 'Invalid Date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new PkiError('INVALID_ARGUMENT', `Year ${year} cannot be encoded`);
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2);
  return { year, rest };
}

/** UTCTime YYMMDDHHMMSSZ (years 1950..2049); fractions of a second are dropped. */
export function utcTime(date: Date): Buffer {
  const { year, rest } = wholeSeconds(date);
  if (year < 1950 || year > 2049) throw new PkiError('INVALID_ARGUMENT', `UTCTime cannot hold year ${year}`);
  return tlv(TAG.UTC_TIME, Buffer.from(`${pad(year % 100, 2)}${rest}Z`, 'latin1'));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ; fractions of a second are dropped. */
export function generalizedTime(date: Date): Buffer {
  const { year, rest } = wholeSeconds(date);
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(year, 4)}${rest}Z`, 'latin1'));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950). */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? utcTime(date) : generalizedTime(date);
}
