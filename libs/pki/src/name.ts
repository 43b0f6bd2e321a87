import {
  DerReader,
  TAG,
  type DerElement,
  decodeDer,
  encodingOf,
  oid,
  printableString,
  readOid,
  readString,
  sequence,
  setOf,
  utf8String,
} from './der/index.js';
import { PkiError, malformed } from './errors.js';
import { MAX_NAME_ATTRIBUTES } from './limits.js';
import { OID } from './oids.js';

/** The subject attributes this library issues, in the order they are encoded (most general first). */
export interface SubjectInput {
  readonly country?: string;
  readonly state?: string;
  readonly locality?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly commonName?: string;
  readonly serialNumber?: string;
}

interface AttributeSpec {
  readonly key: keyof SubjectInput;
  readonly oid: string;
  readonly short: string;
  readonly maxLength: number;
  readonly printable: boolean;
}

// Upper bounds from RFC 5280 Appendix A.
const ATTRIBUTES: readonly AttributeSpec[] = [
  { key: 'country', oid: OID.countryName, short: 'C', maxLength: 2, printable: true },
  { key: 'state', oid: OID.stateOrProvinceName, short: 'ST', maxLength: 128, printable: false },
  { key: 'locality', oid: OID.localityName, short: 'L', maxLength: 128, printable: false },
  { key: 'organization', oid: OID.organizationName, short: 'O', maxLength: 64, printable: false },
  {
    key: 'organizationalUnit',
    oid: OID.organizationalUnitName,
    short: 'OU',
    maxLength: 64,
    printable: false,
  },
  { key: 'commonName', oid: OID.commonName, short: 'CN', maxLength: 64, printable: false },
  { key: 'serialNumber', oid: OID.serialNumber, short: 'serialNumber', maxLength: 64, printable: true },
];

const SHORT_NAMES = new Map<string, string>([
  ...ATTRIBUTES.map((a) => [a.oid, a.short] as const),
  [OID.emailAddress, 'emailAddress'],
  [OID.domainComponent, 'DC'],
]);

export interface NameAttribute {
  /** Attribute type OID. */
  readonly type: string;
  /** CN, O, … when known. */
  readonly shortName: string | undefined;
  readonly value: string;
}

/** A parsed X.501 Name. Names chain by exact DER equality (`equals`). */
export class DistinguishedName {
  constructor(
    /** The complete Name encoding (an RDNSequence). */
    readonly der: Buffer,
    /** Attributes in encoded order, multi-valued RDNs flattened. */
    readonly attributes: readonly NameAttribute[],
  ) {}

  get(type: string): string | undefined {
    return this.attributes.find((a) => a.type === type || a.shortName === type)?.value;
  }

  get commonName(): string | undefined {
    return this.get(OID.commonName);
  }

  get isEmpty(): boolean {
    return this.attributes.length === 0;
  }

  equals(other: DistinguishedName): boolean {
    return this.der.equals(other.der);
  }

  /** "C=GB, O=Acme, CN=meter-1" in encoded order, values escaped as in RFC 4514. */
  toString(): string {
    return this.attributes.map((a) => `${a.shortName ?? a.type}=${escapeValue(a.value)}`).join(', ');
  }
}

function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Encodes a Name with one attribute per RDN. Country and serialNumber are PrintableString, the rest UTF8String. */
export function encodeName(subject: SubjectInput): Buffer {
  const rdns: Buffer[] = [];
  for (const spec of ATTRIBUTES) {
    const value = subject[spec.key];
    if (value === undefined) continue;
    if (value.length === 0 || value.length > spec.maxLength) {
      throw new PkiError('INVALID_ARGUMENT', `Subject ${spec.short} must be 1..${spec.maxLength} characters`);
    }
    if (spec.key === 'country' && !/^[A-Z]{2}$/.test(value)) {
      throw new PkiError(
        'INVALID_ARGUMENT',
        `Subject C must be two capital letters (ISO 3166), got "${value}"`,
      );
    }
    const encoded = spec.printable ? printableString(value) : utf8String(value);
    rdns.push(setOf([sequence(oid(spec.oid), encoded)]));
  }
  return sequence(...rdns);
}

export function nameFromSubject(subject: SubjectInput): DistinguishedName {
  return parseName(decodeDer(encodeName(subject)));
}

/** Parses a Name element (RDNSequence). */
export function parseName(element: DerElement, what = 'Name'): DistinguishedName {
  const rdns = DerReader.of(element, TAG.SEQUENCE, what);
  const attributes: NameAttribute[] = [];
  while (!rdns.done) {
    const rdn = DerReader.of(rdns.next(), TAG.SET, `${what} RDN`);
    if (rdn.done) throw malformed(`${what}: empty RDN`);
    while (!rdn.done) {
      if (attributes.length === MAX_NAME_ATTRIBUTES) {
        throw malformed(`${what}: more than ${MAX_NAME_ATTRIBUTES} attributes`);
      }
      const atv = DerReader.of(rdn.next(), TAG.SEQUENCE, `${what} AttributeTypeAndValue`);
      const type = readOid(atv.next(TAG.OID, 'type'));
      const value = readString(atv.next(undefined, 'value'), `${what} ${SHORT_NAMES.get(type) ?? type}`);
      atv.end();
      attributes.push({ type, shortName: SHORT_NAMES.get(type), value });
    }
  }
  return new DistinguishedName(Buffer.from(encodingOf(element)), attributes);
}
