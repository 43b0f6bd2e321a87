import {
  DerReader,
  TAG,
  type DerElement,
  bitString,
  contextTag,
  decodeDer,
  encodingOf,
  explicit,
  integer,
  readEnumerated,
  readInteger,
  readOctetAlignedBitString,
  readSmallInteger,
  readTime,
  sequence,
  time,
} from './der/index.js';
import { PkiError, malformed } from './errors.js';
import {
  type RawExtension,
  authorityKeyIdentifierExtension,
  crlNumberExtension,
  crlReasonExtension,
  parseExtensionList,
  parseAuthorityKeyIdentifier,
} from './extensions.js';
import type { Certificate } from './certificate.js';
import { fingerprintSha256 } from './fingerprint.js';
import { type CertificateAuthority, type Issuer, createIssuer } from './issuer.js';
import { type DistinguishedName, parseName } from './name.js';
import { OID } from './oids.js';
import { PEM_LABEL, toDer, toPem } from './pem.js';
import {
  ECDSA_WITH_SHA256,
  readSignatureAlgorithm,
  signEcdsaSha256,
  verifyEcdsaSha256,
} from './signature.js';

/** RFC 5280 CRLReason values (removeFromCRL, for delta CRLs, is not supported). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

const REASON_NAMES = new Map<number, RevocationReason>(
  Object.entries(REVOCATION_REASONS).map(([name, code]) => [code, name as RevocationReason]),
);

export interface RevokedCertificate {
  readonly serial: bigint;
  readonly revokedAt: Date;
  readonly reason: RevocationReason | undefined;
}

export interface RevocationInput {
  readonly serial: bigint | Uint8Array;
  readonly revokedAt: Date;
  readonly reason?: RevocationReason;
}

/** A parsed X.509 v2 CRL. Entries are indexed by serial, so lookups are O(1). */
export class Crl {
  private cachedPem: string | undefined;

  /** @internal Use parseCrl or issueCrl. */
  constructor(
    readonly der: Buffer,
    readonly tbsDer: Buffer,
    readonly signature: Buffer,
    readonly issuer: DistinguishedName,
    readonly thisUpdate: Date,
    readonly nextUpdate: Date,
    readonly crlNumber: bigint | undefined,
    readonly authorityKeyIdentifier: Buffer | undefined,
    readonly entries: ReadonlyMap<bigint, RevokedCertificate>,
    readonly extensions: readonly RawExtension[],
  ) {}

  get pem(): string {
    return (this.cachedPem ??= toPem(this.der, PEM_LABEL.crl));
  }

  get fingerprintSha256(): string {
    return fingerprintSha256(this.der);
  }
}

function toSerial(serial: bigint | Uint8Array): bigint {
  const value =
    typeof serial === 'bigint' ? serial : BigInt(`0x${Buffer.from(serial).toString('hex') || '0'}`);
  if (value <= 0n) throw new PkiError('INVALID_ARGUMENT', 'Revoked serial must be positive');
  return value;
}

export interface IssueCrlOptions {
  readonly issuer: Issuer | CertificateAuthority;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Monotonically increasing per issuer. */
  readonly crlNumber: bigint | number;
  readonly revoked: readonly RevocationInput[];
}

/** An X.509 v2 CRL signed with ecdsa-with-SHA256, carrying CRL number and authority key identifier. */
export function issueCrl(options: IssueCrlOptions): Crl {
  const issuer = createIssuer(options.issuer);
  if (!issuer.certificate.extensions.keyUsage?.includes('cRLSign')) {
    throw new PkiError('KEY_USAGE', `${issuer.certificate.subject.toString()} lacks keyUsage cRLSign`);
  }
  if (!(options.thisUpdate.getTime() < options.nextUpdate.getTime())) {
    throw new PkiError('INVALID_ARGUMENT', 'thisUpdate must be before nextUpdate');
  }
  const seen = new Set<bigint>();
  const entries = options.revoked.map((entry) => {
    const serial = toSerial(entry.serial);
    if (seen.has(serial)) {
      throw new PkiError('INVALID_ARGUMENT', `Serial ${serial.toString(16)} listed twice`);
    }
    seen.add(serial);
    const reason = entry.reason === undefined ? undefined : REVOCATION_REASONS[entry.reason];
    if (reason === undefined && entry.reason !== undefined) {
      throw new PkiError('INVALID_ARGUMENT', `Unknown revocation reason ${entry.reason}`);
    }
    // RFC 5280 5.3.1: omit the reason code rather than encode "unspecified".
    const extensions = reason === undefined || reason === 0 ? [] : [sequence(crlReasonExtension(reason))];
    return sequence(integer(serial), time(entry.revokedAt), ...extensions);
  });
  const tbs = sequence(
    integer(1),
    ECDSA_WITH_SHA256,
    issuer.name,
    time(options.thisUpdate),
    time(options.nextUpdate),
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    explicit(
      0,
      sequence(
        authorityKeyIdentifierExtension(issuer.keyIdentifier),
        crlNumberExtension(BigInt(options.crlNumber)),
      ),
    ),
  );
  const signature = signEcdsaSha256(issuer.privateKey, tbs);
  return parseCrl(sequence(tbs, ECDSA_WITH_SHA256, bitString(signature)));
}

const UNDERSTOOD_CRL_EXTENSIONS = new Set<string>([OID.crlNumber, OID.authorityKeyIdentifier]);

function parseEntry(element: DerElement): RevokedCertificate {
  const reader = DerReader.of(element, TAG.SEQUENCE, 'revokedCertificate');
  const serial = readInteger(reader.next(TAG.INTEGER, 'userCertificate'), 'revoked serial');
  const revokedAt = readTime(reader.next(undefined, 'revocationDate'), 'revocationDate');
  const extensionsElement = reader.optional(TAG.SEQUENCE);
  reader.end();
  let reason: RevocationReason | undefined;
  for (const ext of extensionsElement ? parseExtensionList(extensionsElement, 'CRL entry') : []) {
    if (ext.oid === OID.crlReason) {
      const code = readEnumerated(decodeDer(ext.value), 'reasonCode');
      reason = REASON_NAMES.get(code);
      if (reason === undefined) throw malformed(`CRL entry: unknown reason code ${code}`);
    } else if (ext.critical) {
      throw new PkiError(
        'UNKNOWN_CRITICAL_EXTENSION',
        `CRL entry extension ${ext.oid} is critical and not supported`,
      );
    }
  }
  return { serial, revokedAt, reason };
}

/** Parses a CRL (PEM or DER). Its signature is checked by verifyCrl against the issuer's certificate. */
export function parseCrl(input: string | Uint8Array | Crl): Crl {
  if (input instanceof Crl) return input;
  const der = Buffer.from(toDer(input, PEM_LABEL.crl));
  const outer = DerReader.of(decodeDer(der), TAG.SEQUENCE, 'CertificateList');
  const tbs = outer.next(TAG.SEQUENCE, 'tbsCertList');
  const algorithm = outer.next(TAG.SEQUENCE, 'signatureAlgorithm');
  const signature = readOctetAlignedBitString(outer.next(TAG.BIT_STRING, 'signatureValue'), 'CRL signature');
  outer.end();

  const fields = new DerReader(tbs, 'TBSCertList');
  const versionElement = fields.optional(TAG.INTEGER);
  const version = versionElement ? readSmallInteger(versionElement, 'CRL version') : 0;
  if (versionElement && version !== 1) throw malformed(`CRL version ${version} invalid (DER omits v1)`);
  const innerAlgorithm = fields.next(TAG.SEQUENCE, 'signature');
  const issuer = parseName(fields.next(TAG.SEQUENCE, 'issuer'), 'CRL issuer');
  const thisUpdate = readTime(fields.next(undefined, 'thisUpdate'), 'thisUpdate');
  const tag = fields.peekTag();
  if (tag !== TAG.UTC_TIME && tag !== TAG.GENERALIZED_TIME) {
    throw malformed('CRL: nextUpdate is required (RFC 5280 5.1.2.5)');
  }
  const nextUpdate = readTime(fields.next(), 'nextUpdate');
  const revokedElement = fields.optional(TAG.SEQUENCE);
  const extensionsElement = fields.optional(contextTag(0, true));
  fields.end();

  readSignatureAlgorithm(innerAlgorithm, 'CRL');
  readSignatureAlgorithm(algorithm, 'CRL');
  if (!encodingOf(innerAlgorithm).equals(encodingOf(algorithm))) {
    throw malformed('CRL: signature algorithm differs inside and outside the signed part');
  }
  if (extensionsElement && version !== 1) throw malformed('CRL: extensions require v2');

  const entries = new Map<bigint, RevokedCertificate>();
  for (const element of revokedElement ? new DerReader(revokedElement, 'revokedCertificates').rest() : []) {
    const entry = parseEntry(element);
    if (entries.has(entry.serial)) throw malformed(`CRL lists serial ${entry.serial.toString(16)} twice`);
    entries.set(entry.serial, entry);
  }

  let extensions: RawExtension[] = [];
  if (extensionsElement) {
    const reader = new DerReader(extensionsElement, 'crlExtensions');
    extensions = parseExtensionList(reader.next(TAG.SEQUENCE, 'Extensions'), 'CRL');
    reader.end();
  }
  const unknown = extensions.find((e) => e.critical && !UNDERSTOOD_CRL_EXTENSIONS.has(e.oid));
  if (unknown) {
    throw new PkiError(
      'UNKNOWN_CRITICAL_EXTENSION',
      `CRL extension ${unknown.oid} is critical and not supported`,
    );
  }
  const crlNumberExtension = extensions.find((e) => e.oid === OID.crlNumber);
  const crlNumber = crlNumberExtension
    ? readInteger(decodeDer(crlNumberExtension.value), 'cRLNumber')
    : undefined;
  const akiExtension = extensions.find((e) => e.oid === OID.authorityKeyIdentifier);
  const authorityKeyIdentifier = akiExtension
    ? parseAuthorityKeyIdentifier(decodeDer(akiExtension.value))
    : undefined;

  return new Crl(
    der,
    Buffer.from(encodingOf(tbs)),
    Buffer.from(signature),
    issuer,
    thisUpdate,
    nextUpdate,
    crlNumber,
    authorityKeyIdentifier,
    entries,
    extensions,
  );
}

/**
 * Checks that `issuerCertificate` signed the CRL: WRONG_ISSUER when names or key identifiers differ,
 * KEY_USAGE without cRLSign, CRL_BAD_SIGNATURE when the signature does not verify.
 */
export function verifyCrl(crl: Crl, issuerCertificate: Certificate): void {
  if (!crl.issuer.equals(issuerCertificate.subject)) {
    throw new PkiError(
      'WRONG_ISSUER',
      `CRL issued by ${crl.issuer.toString()}, not ${issuerCertificate.subject.toString()}`,
    );
  }
  const ski = issuerCertificate.extensions.subjectKeyIdentifier;
  if (crl.authorityKeyIdentifier && ski && !crl.authorityKeyIdentifier.equals(ski)) {
    throw new PkiError(
      'WRONG_ISSUER',
      `CRL names key ${crl.authorityKeyIdentifier.toString('hex')}, not ${ski.toString('hex')}`,
    );
  }
  if (!issuerCertificate.extensions.keyUsage?.includes('cRLSign')) {
    throw new PkiError('KEY_USAGE', `${issuerCertificate.subject.toString()} lacks keyUsage cRLSign`);
  }
  if (!verifyEcdsaSha256(issuerCertificate.publicKey, crl.tbsDer, crl.signature)) {
    throw new PkiError(
      'CRL_BAD_SIGNATURE',
      `CRL signature does not verify under ${issuerCertificate.subject.toString()}`,
    );
  }
}

/** CRL_NOT_YET_VALID before thisUpdate, CRL_EXPIRED after nextUpdate. */
export function checkCrlCurrent(crl: Crl, at: Date): void {
  const now = Math.floor(at.getTime() / 1000) * 1000;
  if (now < crl.thisUpdate.getTime()) {
    throw new PkiError(
      'CRL_NOT_YET_VALID',
      `CRL thisUpdate ${crl.thisUpdate.toISOString()} is after ${at.toISOString()}`,
    );
  }
  if (now > crl.nextUpdate.getTime()) {
    throw new PkiError(
      'CRL_EXPIRED',
      `CRL nextUpdate ${crl.nextUpdate.toISOString()} is before ${at.toISOString()}`,
    );
  }
}

/** The CRL entry for a serial (or for a certificate from the CRL's issuer), if revoked. */
export function revocationOf(crl: Crl, subject: bigint | Certificate): RevokedCertificate | undefined {
  if (typeof subject === 'bigint') return crl.entries.get(subject);
  return subject.issuer.equals(crl.issuer) ? crl.entries.get(subject.serial) : undefined;
}

export function isRevoked(crl: Crl, subject: bigint | Certificate): boolean {
  return revocationOf(crl, subject) !== undefined;
}
