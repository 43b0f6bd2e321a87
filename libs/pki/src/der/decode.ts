import { malformed } from '../errors.js';
import { isPrintableString } from './encode.js';
import { MAX_LOW_TAG_NUMBER, TAG, describeTag, isConstructed } from './tags.js';

/**
 * A strict DER decoder. Elements are views into the source buffer (no copies); anything that is BER
 * but not DER (indefinite or non-minimal lengths, non-minimal integers, padded bits) is refused with
 * a MALFORMED PkiError.
 */
export interface DerElement {
  /** The identifier octet. */
  readonly tag: number;
  readonly source: Buffer;
  /** Offset of the identifier octet. */
  readonly start: number;
  readonly contentStart: number;
  /** Offset just past the contents. */
  readonly end: number;
}

export function contentOf(element: DerElement): Buffer {
  return element.source.subarray(element.contentStart, element.end);
}

/** The whole encoding of the element (identifier, length and contents). */
export function encodingOf(element: DerElement): Buffer {
  return element.source.subarray(element.start, element.end);
}

/** Reads one element at `offset`, which must end at or before `limit`. */
export function readElement(source: Buffer, offset: number, limit: number = source.length): DerElement {
  if (offset + 2 > limit) throw malformed('DER: truncated header');
  const tag = source[offset]!;
  if ((tag & 0x1f) > MAX_LOW_TAG_NUMBER) throw malformed('DER: high tag numbers are not supported');
  let length = source[offset + 1]!;
  let contentStart = offset + 2;
  if (length === 0x80) throw malformed('DER: indefinite length');
  if (length > 0x80) {
    const n = length & 0x7f;
    if (n > 4) throw malformed('DER: length too large');
    if (contentStart + n > limit) throw malformed('DER: truncated length');
    if (source[contentStart] === 0) throw malformed('DER: length has leading zero');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + source[contentStart + i]!;
    if (length < 0x80) throw malformed('DER: long form used for a short length');
    contentStart += n;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed(`DER: ${describeTag(tag)} runs past the end of its container`);
  return { tag, source, start: offset, contentStart, end };
}

/** Decodes a buffer that must hold exactly one element. */
export function decodeDer(input: Uint8Array): DerElement {
  const source = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
  const element = readElement(source, 0);
  if (element.end !== source.length) throw malformed('DER: trailing bytes after the outer element');
  return element;
}

/** Reads the children of a constructed element one by one, checking each tag. */
export class DerReader {
  private offset: number;

  constructor(
    readonly parent: DerElement,
    private readonly what: string,
  ) {
    if (!isConstructed(parent.tag)) throw malformed(`${what}: expected a constructed element`);
    this.offset = parent.contentStart;
  }

  static of(element: DerElement, tag: number, what: string): DerReader {
    expectTag(element, tag, what);
    return new DerReader(element, what);
  }

  get done(): boolean {
    return this.offset >= this.parent.end;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.parent.source[this.offset];
  }

  /** The next child; with `tag`, it must carry that identifier octet. */
  next(tag?: number, field = 'element'): DerElement {
    if (this.done) throw malformed(`${this.what}: missing ${field}`);
    const element = readElement(this.parent.source, this.offset, this.parent.end);
    if (tag !== undefined) expectTag(element, tag, `${this.what}.${field}`);
    this.offset = element.end;
    return element;
  }

  /** The next child if it carries `tag`, else nothing is consumed. */
  optional(tag: number): DerElement | undefined {
    return this.peekTag() === tag ? this.next() : undefined;
  }

  /** All remaining children. */
  rest(): DerElement[] {
    const out: DerElement[] = [];
    while (!this.done) out.push(this.next());
    return out;
  }

  end(): void {
    if (!this.done) {
      throw malformed(`${this.what}: unexpected ${describeTag(this.parent.source[this.offset]!)}`);
    }
  }
}

export function expectTag(element: DerElement, tag: number, what: string): void {
  if (element.tag !== tag) {
    throw malformed(`${what}: expected ${describeTag(tag)}, found ${describeTag(element.tag)}`);
  }
}

/** Children of a SEQUENCE/SET (or any constructed element). */
export function childrenOf(element: DerElement, what = 'DER'): DerElement[] {
  return new DerReader(element, what).rest();
}

/** INTEGER contents, checked to be minimal, as two's complement bytes. */
export function readIntegerBytes(element: DerElement, what = 'INTEGER'): Buffer {
  expectTag(element, TAG.INTEGER, what);
  return integerContent(element, what);
}

function integerContent(element: DerElement, what: string): Buffer {
  const bytes = contentOf(element);
  if (bytes.length === 0) throw malformed(`${what}: empty INTEGER`);
  if (bytes.length > 1) {
    const [a, b] = [bytes[0]!, bytes[1]!];
    if ((a === 0x00 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0)) {
      throw malformed(`${what}: INTEGER not minimally encoded`);
    }
  }
  return bytes;
}

function twosComplementToBigint(bytes: Buffer): bigint {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  if ((bytes[0]! & 0x80) !== 0) value -= 1n << BigInt(bytes.length * 8);
  return value;
}

export function readInteger(element: DerElement, what = 'INTEGER'): bigint {
  return twosComplementToBigint(readIntegerBytes(element, what));
}

/** An INTEGER that must fit a safe JavaScript number. */
export function readSmallInteger(element: DerElement, what = 'INTEGER'): number {
  const value = readInteger(element, what);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw malformed(`${what}: INTEGER too large`);
  }
  return Number(value);
}

export function readEnumerated(element: DerElement, what = 'ENUMERATED'): number {
  expectTag(element, TAG.ENUMERATED, what);
  const value = twosComplementToBigint(integerContent(element, what));
  if (value > 0xffffn || value < 0n) throw malformed(`${what}: ENUMERATED out of range`);
  return Number(value);
}

export function readBoolean(element: DerElement, what = 'BOOLEAN'): boolean {
  expectTag(element, TAG.BOOLEAN, what);
  const bytes = contentOf(element);
  if (bytes.length !== 1 || (bytes[0] !== 0 && bytes[0] !== 0xff)) {
    throw malformed(`${what}: BOOLEAN not DER`);
  }
  return bytes[0] === 0xff;
}

export function readNull(element: DerElement, what = 'NULL'): null {
  expectTag(element, TAG.NULL, what);
  if (element.end !== element.contentStart) throw malformed(`${what}: NULL with contents`);
  return null;
}

/**
 * Bounds on an OID, checked before it is decoded: 64 octets hold every OID seen in X.509, and an arc
 * of 19 octets (133 bits) holds the 128-bit UUID arcs of 2.25.x.
 */
export const MAX_OID_BYTES = 64;
export const MAX_OID_ARC_BYTES = 19;

/** Linear in the OID's length: an arc is summed in a number while it fits one, else in one BigInt. */
export function readOid(element: DerElement, what = 'OBJECT IDENTIFIER'): string {
  expectTag(element, TAG.OID, what);
  const bytes = contentOf(element);
  if (bytes.length === 0) throw malformed(`${what}: empty OID`);
  if (bytes.length > MAX_OID_BYTES) throw malformed(`${what}: OID longer than ${MAX_OID_BYTES} octets`);
  const arcs: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i === start && bytes[i] === 0x80) throw malformed(`${what}: OID arc not minimally encoded`);
    if ((bytes[i]! & 0x80) !== 0) continue;
    const length = i + 1 - start;
    if (length > MAX_OID_ARC_BYTES)
      throw malformed(`${what}: OID arc longer than ${MAX_OID_ARC_BYTES} octets`);
    arcs.push(arcOf(bytes, start, i + 1, arcs.length === 0));
    start = i + 1;
  }
  if (start !== bytes.length) throw malformed(`${what}: OID ends inside an arc`);
  return arcs.join('.');
}

/** One arc in decimal; the first encoded arc yields the first two (X.690 8.19.4). */
function arcOf(bytes: Buffer, start: number, end: number, first: boolean): string {
  if (end - start <= 7) {
    let value = 0; // 7 octets are 49 bits: exact in a double
    for (let i = start; i < end; i++) value = value * 128 + (bytes[i]! & 0x7f);
    if (!first) return String(value);
    return value < 80 ? `${Math.floor(value / 40)}.${value % 40}` : `2.${value - 80}`;
  }
  let value = 0n;
  for (let i = start; i < end; i++) value = (value << 7n) | BigInt(bytes[i]! & 0x7f);
  return first ? `2.${value - 80n}` : value.toString();
}

export interface BitString {
  readonly bytes: Buffer;
  readonly unusedBits: number;
}

export function readBitString(element: DerElement, what = 'BIT STRING'): BitString {
  expectTag(element, TAG.BIT_STRING, what);
  const content = contentOf(element);
  if (content.length === 0) throw malformed(`${what}: BIT STRING without unused-bits octet`);
  const unusedBits = content[0]!;
  const bytes = content.subarray(1);
  if (unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) throw malformed(`${what}: bad unused bits`);
  if (unusedBits > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw malformed(`${what}: unused bits not zero`);
  }
  return { bytes, unusedBits };
}

/** A BIT STRING holding whole octets (keys, signatures). */
export function readOctetAlignedBitString(element: DerElement, what = 'BIT STRING'): Buffer {
  const { bytes, unusedBits } = readBitString(element, what);
  if (unusedBits !== 0) throw malformed(`${what}: expected whole octets`);
  return bytes;
}

/** The numbers of the bits set in a named-bit BIT STRING. */
export function readNamedBits(element: DerElement, what = 'BIT STRING'): number[] {
  const { bytes } = readBitString(element, what);
  const bits: number[] = [];
  for (let i = 0; i < bytes.length * 8; i++) if ((bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0) bits.push(i);
  return bits;
}

export function readOctetString(element: DerElement, what = 'OCTET STRING'): Buffer {
  expectTag(element, TAG.OCTET_STRING, what);
  return contentOf(element);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Any of the string types found in names; each is checked against its character set. */
export function readString(element: DerElement, what = 'string'): string {
  const bytes = contentOf(element);
  switch (element.tag) {
    case TAG.UTF8_STRING:
      try {
        return utf8.decode(bytes);
      } catch {
        throw malformed(`${what}: invalid UTF-8`);
      }
    case TAG.PRINTABLE_STRING: {
      const value = bytes.toString('latin1');
      if (!isPrintableString(value)) throw malformed(`${what}: invalid PrintableString`);
      return value;
    }
    case TAG.IA5_STRING:
      if (bytes.some((b) => b > 0x7f)) throw malformed(`${what}: invalid IA5String`);
      return bytes.toString('latin1');
    case TAG.T61_STRING:
      return bytes.toString('latin1');
    case TAG.BMP_STRING: {
      if (bytes.length % 2 !== 0) throw malformed(`${what}: odd-length BMPString`);
      const swapped = Buffer.from(bytes).swap16();
      return swapped.toString('utf16le');
    }
    default:
      throw malformed(`${what}: ${describeTag(element.tag)} is not a supported string type`);
  }
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** UTCTime or GeneralizedTime in the RFC 5280 profile: UTC ("Z"), whole seconds. */
export function readTime(element: DerElement, what = 'Time'): Date {
  const text = contentOf(element).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (element.tag === TAG.UTC_TIME) {
    match = UTC_TIME.exec(text);
    if (!match) throw malformed(`${what}: UTCTime "${text}" not YYMMDDHHMMSSZ`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (element.tag === TAG.GENERALIZED_TIME) {
    match = GENERALIZED_TIME.exec(text);
    if (!match) throw malformed(`${what}: GeneralizedTime "${text}" not YYYYMMDDHHMMSSZ`);
    year = Number(match[1]);
  } else {
    throw malformed(`${what}: expected UTCTime or GeneralizedTime, found ${describeTag(element.tag)}`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC maps years 0..99 to 1900..1999
  if (
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw malformed(`${what}: "${text}" is not a real date`);
  }
  return date;
}
