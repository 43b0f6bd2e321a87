import {
  DerReader,
  TAG,
  type DerElement,
  boolean,
  contentOf,
  contextTag,
  decodeDer,
  describeTag,
  encodingOf,
  enumerated,
  expectTag,
  implicit,
  integer,
  namedBitString,
  octetString,
  oid,
  readBoolean,
  readIntegerBytes,
  readNamedBits,
  readOctetString,
  readOid,
  readSmallInteger,
  readString,
  sequence,
} from './der/index.js';
import { PkiError, malformed } from './errors.js';
import { formatIp, parseIp } from './ip.js';
import { MAX_EXTENSIONS } from './limits.js';
import { OID } from './oids.js';

export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

const EKU_NAMES = new Map<string, string>([
  [OID.serverAuth, 'serverAuth'],
  [OID.clientAuth, 'clientAuth'],
  [OID.anyExtendedKeyUsage, 'anyExtendedKeyUsage'],
]);
export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen: number | undefined;
}

export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  readonly uri: readonly string[];
  readonly email: readonly string[];
}

export interface SanInput {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
}

export interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING contents (the DER of the extension's own value). */
  readonly value: Buffer;
}

/** The extensions this library understands, parsed; every extension stays available in `all`. */
export interface Extensions {
  readonly all: readonly RawExtension[];
  readonly basicConstraints: BasicConstraints | undefined;
  readonly keyUsage: readonly KeyUsage[] | undefined;
  /** "serverAuth", "clientAuth", "anyExtendedKeyUsage", or the dotted OID of any other purpose. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly subjectKeyIdentifier: Buffer | undefined;
  readonly authorityKeyIdentifier: Buffer | undefined;
  readonly subjectAltName: SubjectAltNames | undefined;
  /** Critical extensions not listed above: a validator must refuse the certificate. */
  readonly unknownCritical: readonly string[];
}

const UNDERSTOOD = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
]);

// ---- encoding ----

export function extension(extnId: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? sequence(oid(extnId), boolean(true), octetString(value))
    : sequence(oid(extnId), octetString(value));
}

export function basicConstraintsExtension(ca: boolean, pathLen?: number): Buffer {
  if (pathLen !== undefined && (!ca || !Number.isInteger(pathLen) || pathLen < 0)) {
    throw new PkiError('INVALID_ARGUMENT', 'pathLen must be a non-negative integer, on CA certificates only');
  }
  const parts = [...(ca ? [boolean(true)] : []), ...(pathLen !== undefined ? [integer(pathLen)] : [])];
  return extension(OID.basicConstraints, true, sequence(...parts));
}

export function keyUsageExtension(usages: readonly KeyUsage[]): Buffer {
  return extension(OID.keyUsage, true, namedBitString(usages.map((u) => KEY_USAGES.indexOf(u))));
}

export function extKeyUsageExtension(purposes: readonly ExtendedKeyUsage[]): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map((p) => oid(OID[p]))));
}

export function subjectKeyIdentifierExtension(keyId: Uint8Array): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifierExtension(keyId: Uint8Array): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyId, false)));
}

const DNS_LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`);

/** SAN with dNSName and iPAddress entries; critical when the subject is empty (RFC 5280 4.2.1.6). */
export function subjectAltNameExtension(sans: SanInput, critical: boolean): Buffer {
  const names: Buffer[] = [];
  for (const dns of sans.dns ?? []) {
    if (dns.length > 253 || !DNS_NAME.test(dns)) {
      throw new PkiError('INVALID_ARGUMENT', `"${dns}" is not a DNS name`);
    }
    names.push(implicit(2, Buffer.from(dns, 'latin1'), false));
  }
  for (const ip of sans.ip ?? []) names.push(implicit(7, parseIp(ip), false));
  if (names.length === 0) throw new PkiError('INVALID_ARGUMENT', 'subjectAltName needs at least one name');
  return extension(OID.subjectAltName, critical, sequence(...names));
}

export function crlNumberExtension(crlNumber: bigint): Buffer {
  if (crlNumber < 0n || crlNumber >= 1n << 159n) {
    throw new PkiError('INVALID_ARGUMENT', 'CRL number must be 0..2^159-1');
  }
  return extension(OID.crlNumber, false, integer(crlNumber));
}

export function crlReasonExtension(reasonCode: number): Buffer {
  return extension(OID.crlReason, false, enumerated(reasonCode));
}

// ---- decoding ----

/** Parses an Extensions SEQUENCE (the contents of the certificate's [3] or the CRL's [0]). */
export function parseExtensionList(element: DerElement, what: string): RawExtension[] {
  const reader = DerReader.of(element, TAG.SEQUENCE, `${what} extensions`);
  if (reader.done) throw malformed(`${what}: empty extensions`);
  const seen = new Set<string>();
  const out: RawExtension[] = [];
  while (!reader.done) {
    if (out.length === MAX_EXTENSIONS) throw malformed(`${what}: more than ${MAX_EXTENSIONS} extensions`);
    const ext = DerReader.of(reader.next(), TAG.SEQUENCE, `${what} Extension`);
    const extnId = readOid(ext.next(TAG.OID, 'extnID'));
    const criticalElement = ext.optional(TAG.BOOLEAN);
    const critical = criticalElement ? readBoolean(criticalElement, `${what} ${extnId} critical`) : false;
    const value = readOctetString(ext.next(TAG.OCTET_STRING, 'extnValue'));
    ext.end();
    if (seen.has(extnId)) throw malformed(`${what}: extension ${extnId} appears twice`);
    seen.add(extnId);
    out.push({ oid: extnId, critical, value });
  }
  return out;
}

export function parseExtensions(element: DerElement | undefined, what: string): Extensions {
  const all = element ? parseExtensionList(element, what) : [];
  const find = (extnId: string): RawExtension | undefined => all.find((e) => e.oid === extnId);
  const parse = <T>(extnId: string, parser: (value: DerElement) => T): T | undefined => {
    const raw = find(extnId);
    return raw ? parser(decodeDer(raw.value)) : undefined;
  };
  return {
    all,
    basicConstraints: parse(OID.basicConstraints, parseBasicConstraints),
    keyUsage: parse(
      OID.keyUsage,
      (v) => readNamedBits(v, 'keyUsage').map((bit) => KEY_USAGES[bit] ?? `bit${bit}`) as KeyUsage[],
    ),
    extKeyUsage: parse(OID.extKeyUsage, parseExtKeyUsage),
    subjectKeyIdentifier: parse(OID.subjectKeyIdentifier, (v) =>
      Buffer.from(readOctetString(v, 'subjectKeyIdentifier')),
    ),
    authorityKeyIdentifier: parse(OID.authorityKeyIdentifier, parseAuthorityKeyIdentifier),
    subjectAltName: parse(OID.subjectAltName, parseSubjectAltName),
    unknownCritical: all.filter((e) => e.critical && !UNDERSTOOD.has(e.oid)).map((e) => e.oid),
  };
}

function parseBasicConstraints(value: DerElement): BasicConstraints {
  const reader = DerReader.of(value, TAG.SEQUENCE, 'basicConstraints');
  const caElement = reader.optional(TAG.BOOLEAN);
  const ca = caElement ? readBoolean(caElement, 'basicConstraints.cA') : false;
  const pathLenElement = reader.optional(TAG.INTEGER);
  const pathLen = pathLenElement ? readSmallInteger(pathLenElement, 'basicConstraints.pathLen') : undefined;
  reader.end();
  if (pathLen !== undefined && pathLen < 0) throw malformed('basicConstraints: negative pathLen');
  return { ca, pathLen };
}

function parseExtKeyUsage(value: DerElement): string[] {
  const reader = DerReader.of(value, TAG.SEQUENCE, 'extKeyUsage');
  const purposes = reader.rest().map((e) => readOid(e, 'extKeyUsage purpose'));
  if (purposes.length === 0) throw malformed('extKeyUsage: empty');
  return purposes.map((p) => EKU_NAMES.get(p) ?? p);
}

export function parseAuthorityKeyIdentifier(value: DerElement): Buffer | undefined {
  const reader = DerReader.of(value, TAG.SEQUENCE, 'authorityKeyIdentifier');
  const keyId = reader.optional(contextTag(0, false));
  const issuer = reader.optional(contextTag(1, true));
  if (issuer) generalNames(issuer, 'authorityKeyIdentifier.authorityCertIssuer');
  const serial = reader.optional(contextTag(2, false));
  if (serial) readIntegerBytes({ ...serial, tag: TAG.INTEGER }, 'authorityKeyIdentifier.serial');
  reader.end();
  return keyId ? Buffer.from(contentOf(keyId)) : undefined;
}

/** The GeneralName CHOICE tags (RFC 5280 4.2.1.6): [0]..[8], constructed where the type is. */
const GENERAL_NAME_TAGS = new Set([
  contextTag(0, true), // otherName
  contextTag(1, false), // rfc822Name
  contextTag(2, false), // dNSName
  contextTag(3, true), // x400Address
  contextTag(4, true), // directoryName
  contextTag(5, true), // ediPartyName
  contextTag(6, false), // uniformResourceIdentifier
  contextTag(7, false), // iPAddress
  contextTag(8, false), // registeredID
]);

/**
 * The entries of a GeneralNames value, each checked to be a GeneralName: anything else makes OpenSSL
 * fail to decode the extension (and then, for one, read cA as false), so it is refused here too.
 */
function generalNames(element: DerElement, what: string): DerElement[] {
  const entries = new DerReader(element, what).rest();
  for (const entry of entries) {
    if (!GENERAL_NAME_TAGS.has(entry.tag))
      throw malformed(`${what}: ${describeTag(entry.tag)} is not a GeneralName`);
  }
  return entries;
}

function parseSubjectAltName(value: DerElement): SubjectAltNames {
  expectTag(value, TAG.SEQUENCE, 'subjectAltName');
  const dns: string[] = [];
  const ip: string[] = [];
  const uri: string[] = [];
  const email: string[] = [];
  const ia5 = (e: DerElement): string => readString({ ...e, tag: TAG.IA5_STRING }, 'subjectAltName entry');
  for (const entry of generalNames(value, 'subjectAltName')) {
    switch (entry.tag) {
      case contextTag(1, false):
        email.push(ia5(entry));
        break;
      case contextTag(2, false):
        dns.push(ia5(entry));
        break;
      case contextTag(6, false):
        uri.push(ia5(entry));
        break;
      case contextTag(7, false):
        ip.push(formatIp(contentOf(entry)));
        break;
      default:
        break; // otherName, directoryName and the rest: kept in the raw extension only
    }
  }
  if (dns.length + ip.length + uri.length + email.length === 0 && encodingOf(value).length <= 2) {
    throw malformed('subjectAltName: empty');
  }
  return { dns, ip, uri, email };
}
