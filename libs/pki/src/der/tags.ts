/** Identifier octets (class, constructed bit and tag number in one byte) of the types X.509 uses. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;
/** Tag numbers up to 30 fit in one identifier octet; X.509 never needs more. */
export const MAX_LOW_TAG_NUMBER = 30;

/** The identifier octet of a context-specific tag `[n]`. */
export function contextTag(tagNumber: number, constructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw new RangeError(`Context tag number ${tagNumber} out of range 0..${MAX_LOW_TAG_NUMBER}`);
  }
  return CONTEXT | (constructed ? CONSTRUCTED : 0) | tagNumber;
}

export function isConstructed(tag: number): boolean {
  return (tag & CONSTRUCTED) !== 0;
}

export function describeTag(tag: number): string {
  const universal = Object.entries(TAG).find(([, value]) => value === tag);
  if (universal) return universal[0];
  const cls = ['UNIVERSAL', 'APPLICATION', 'CONTEXT', 'PRIVATE'][tag >> 6] ?? '?';
  return `${cls} [${tag & 0x1f}]${isConstructed(tag) ? ' constructed' : ''}`;
}
