import { type KeyObject, KeyObject as KeyObjectClass, createPublicKey, randomBytes } from 'node:crypto';
import { Certificate } from './certificate.js';
import { bitString, explicit, integer, sequence, time } from './der/index.js';
import { PkiError } from './errors.js';
import {
  type ExtendedKeyUsage,
  type SanInput,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  extKeyUsageExtension,
  keyUsageExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './extensions.js';
import { assertP256, keyIdentifier, parseP256Spki, spkiOf } from './keys.js';
import { type SubjectInput, encodeName } from './name.js';
import { ECDSA_WITH_SHA256, signEcdsaSha256 } from './signature.js';

export type CertificateProfile =
  'factory-device' | 'operational-device' | 'server' | 'service' | 'intermediate-ca';

export const CERTIFICATE_PROFILES: readonly CertificateProfile[] = [
  'factory-device',
  'operational-device',
  'server',
  'service',
  'intermediate-ca',
];

/** A CA certificate with its private key (imported once, reused for every signature). */
export interface CertificateAuthority {
  readonly certificate: Certificate;
  readonly privateKey: KeyObject;
}

/** Anything that carries a P-256 SubjectPublicKeyInfo and its imported key: a parsed CSR or certificate. */
export interface PublicKeyHolder {
  readonly spki: Buffer;
  readonly publicKey: KeyObject;
}

export interface IssueOptions {
  /**
   * A P-256 public KeyObject (kept as the certificate's key, not re-imported), SPKI DER, or a parsed
   * CSR/certificate whose SPKI is copied verbatim.
   */
  readonly subjectPublicKey: KeyObject | Uint8Array | PublicKeyHolder;
  readonly subject: SubjectInput;
  readonly profile: CertificateProfile;
  /** Positive, at most 20 octets. Default: 16 random bytes (126 bits of entropy). */
  readonly serial?: bigint | Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Required for `server`, optional otherwise. */
  readonly sans?: SanInput;
  /** For `intermediate-ca`: how many CAs may follow it. Absent: unconstrained. */
  readonly pathLen?: number;
}

const V3 = explicit(0, integer(2));
const END_ENTITY = basicConstraintsExtension(false);
const KU_DEVICE = keyUsageExtension(['digitalSignature']);
const KU_CA = keyUsageExtension(['keyCertSign', 'cRLSign']);
const EKU: Record<ExtendedKeyUsage, Buffer> = {
  clientAuth: extKeyUsageExtension(['clientAuth']),
  serverAuth: extKeyUsageExtension(['serverAuth']),
};
// A platform service is both the server of its internal listener and a client of the others'.
const EKU_SERVICE = extKeyUsageExtension(['serverAuth', 'clientAuth']);
const MAX_SERIAL_BYTES = 20;

/** Everything a signature needs beyond the subject: what the issuing CA contributes. */
interface SigningContext {
  readonly issuerName: Buffer;
  readonly authorityKeyId: Buffer;
  /** The encoded authorityKeyIdentifier extension, built once. */
  readonly authorityKeyIdExtension: Buffer;
  readonly privateKey: KeyObject;
}

/** Certificates are minted in batches with the same window: keep the last encoding. */
class ValidityEncoder {
  private last: { from: number; to: number; der: Buffer } | undefined;

  encode(notBefore: Date, notAfter: Date): Buffer {
    const from = notBefore.getTime();
    const to = notAfter.getTime();
    if (!(from < to)) throw new PkiError('INVALID_ARGUMENT', 'notBefore must be before notAfter');
    if (this.last?.from !== from || this.last.to !== to) {
      this.last = { from, to, der: sequence(time(notBefore), time(notAfter)) };
    }
    return this.last.der;
  }
}

interface TbsInput {
  readonly serial: Buffer;
  /** The encoded Validity SEQUENCE. */
  readonly validity: Buffer;
  readonly subjectName: Buffer;
  readonly spki: Buffer;
  readonly extensions: readonly Buffer[];
}

// Random serials come from a pool refilled by the CSPRNG, one call per 256 certificates.
const SERIAL_BYTES = 16;
let serialPool = Buffer.alloc(0);
let serialOffset = 0;

function randomSerial(): Buffer {
  if (serialOffset + SERIAL_BYTES > serialPool.length) {
    serialPool = randomBytes(SERIAL_BYTES * 256);
    serialOffset = 0;
  }
  const out = Buffer.allocUnsafe(2 + SERIAL_BYTES);
  out[0] = 0x02;
  out[1] = SERIAL_BYTES;
  serialPool.copy(out, 2, serialOffset, serialOffset + SERIAL_BYTES);
  serialOffset += SERIAL_BYTES;
  out[2] = (out[2]! & 0x7f) | 0x40; // positive, no leading zero: always 16 octets
  return out;
}

function serialContent(serial: bigint | Uint8Array | undefined): Buffer {
  if (serial === undefined) return randomSerial();
  const encoded = integer(serial);
  const positive = typeof serial === 'bigint' ? serial > 0n : serial.some((b) => b !== 0);
  if (!positive || encoded.length - 2 > MAX_SERIAL_BYTES) {
    throw new PkiError('INVALID_ARGUMENT', 'Serial must be positive and at most 20 octets');
  }
  return encoded;
}

function signTbs(context: SigningContext, input: TbsInput, publicKey: KeyObject | undefined): Certificate {
  const tbs = sequence(
    V3,
    input.serial,
    ECDSA_WITH_SHA256,
    context.issuerName,
    input.validity,
    input.subjectName,
    input.spki,
    explicit(3, sequence(...input.extensions, context.authorityKeyIdExtension)),
  );
  const signature = signEcdsaSha256(context.privateKey, tbs);
  return new Certificate(sequence(tbs, ECDSA_WITH_SHA256, bitString(signature)), publicKey);
}

interface SubjectKey {
  readonly spki: Buffer;
  readonly point: Buffer;
  readonly keyObject: KeyObject | undefined;
}

function subjectKey(input: KeyObject | Uint8Array | PublicKeyHolder): SubjectKey {
  if (!(input instanceof KeyObjectClass) && !(input instanceof Uint8Array)) {
    const { spki, point } = parseP256Spki(input.spki, 'subject public key');
    return { spki: Buffer.from(spki), point, keyObject: input.publicKey };
  }
  if (input instanceof KeyObjectClass) {
    if (input.type !== 'public') {
      throw new PkiError('INVALID_ARGUMENT', 'subjectPublicKey must be a public key');
    }
    const spki = spkiOf(input);
    return { spki, point: spki.subarray(spki.length - 65), keyObject: input };
  }
  const { spki, point } = parseP256Spki(input, 'subject public key');
  return { spki: Buffer.from(spki), point, keyObject: undefined };
}

function profileExtensions(options: IssueOptions, issuerPathLen: number | undefined): Buffer[] {
  const { profile, subject, sans } = options;
  const hasSans = (sans?.dns?.length ?? 0) + (sans?.ip?.length ?? 0) > 0;
  const emptySubject = Object.values(subject).every((v) => v === undefined);
  const sanExtension = hasSans ? [subjectAltNameExtension(sans!, emptySubject)] : [];
  if (options.pathLen !== undefined && profile !== 'intermediate-ca') {
    throw new PkiError('INVALID_ARGUMENT', `pathLen applies to CA certificates, not ${profile}`);
  }
  switch (profile) {
    case 'factory-device':
    case 'operational-device':
      if (!subject.commonName) {
        throw new PkiError('INVALID_ARGUMENT', `${profile} certificate needs CN = endpoint name`);
      }
      return [END_ENTITY, KU_DEVICE, EKU.clientAuth, ...sanExtension];
    case 'server':
      if (!hasSans) {
        throw new PkiError('INVALID_ARGUMENT', 'server certificate needs at least one DNS or IP SAN');
      }
      return [END_ENTITY, KU_DEVICE, EKU.serverAuth, ...sanExtension];
    case 'service':
      if (!subject.commonName || !hasSans) {
        throw new PkiError('INVALID_ARGUMENT', 'service certificate needs CN = service name and a SAN');
      }
      return [END_ENTITY, KU_DEVICE, EKU_SERVICE, ...sanExtension];
    case 'intermediate-ca': {
      if (!subject.commonName) throw new PkiError('INVALID_ARGUMENT', 'CA certificate needs a CN');
      if (issuerPathLen === 0) {
        throw new PkiError('PATH_LENGTH_EXCEEDED', 'Issuer has pathLen 0 and cannot certify another CA');
      }
      if (issuerPathLen !== undefined && options.pathLen !== undefined && options.pathLen >= issuerPathLen) {
        throw new PkiError(
          'PATH_LENGTH_EXCEEDED',
          `pathLen ${options.pathLen} must be below the issuer's ${issuerPathLen}`,
        );
      }
      return [basicConstraintsExtension(true, options.pathLen), KU_CA, ...sanExtension];
    }
    default: {
      const unknown: never = profile;
      throw new PkiError('INVALID_ARGUMENT', `Unknown profile ${String(unknown)}`);
    }
  }
}

const CONSTRUCT = Symbol('Issuer');

/**
 * A CA ready to sign: its encoded Name, key identifier and private key are prepared once, so each
 * `issue` only encodes the subject's fields and signs (synchronous Node crypto, DER signature).
 */
export class Issuer implements CertificateAuthority {
  private readonly context: SigningContext;
  private readonly pathLen: number | undefined;
  private readonly validity = new ValidityEncoder();

  /** @internal Use createIssuer (or Issuer.from), which check the CA first. */
  constructor(
    readonly certificate: Certificate,
    readonly privateKey: KeyObject,
    token: symbol,
  ) {
    if (token !== CONSTRUCT) throw new TypeError('Use createIssuer() to build an Issuer');
    const authorityKeyId =
      certificate.extensions.subjectKeyIdentifier ?? keyIdentifier(certificate.publicKeyPoint);
    this.context = {
      issuerName: Buffer.from(certificate.subject.der),
      authorityKeyId,
      authorityKeyIdExtension: authorityKeyIdentifierExtension(authorityKeyId),
      privateKey,
    };
    this.pathLen = certificate.extensions.basicConstraints?.pathLen;
  }

  /** The issuer's encoded Name, as it appears in what it signs. */
  get name(): Buffer {
    return this.context.issuerName;
  }

  /** The key identifier its signatures carry as authorityKeyIdentifier. */
  get keyIdentifier(): Buffer {
    return this.context.authorityKeyId;
  }

  /** Checks the CA (basicConstraints CA, keyCertSign, P-256 key matching the certificate) and prepares it. */
  static from(ca: CertificateAuthority): Issuer {
    if (ca instanceof Issuer) return ca;
    const { certificate, privateKey } = ca;
    if (!certificate.isCa) {
      throw new PkiError('NOT_A_CA', `${certificate.subject.toString()} is not a CA certificate`);
    }
    if (!certificate.extensions.keyUsage?.includes('keyCertSign')) {
      throw new PkiError('KEY_USAGE', `${certificate.subject.toString()} lacks keyUsage keyCertSign`);
    }
    assertKeyMatches(certificate, privateKey);
    return new Issuer(certificate, privateKey, CONSTRUCT);
  }

  issue(options: IssueOptions): Certificate {
    if (options.notAfter.getTime() > this.certificate.notAfter.getTime()) {
      throw new PkiError('INVALID_ARGUMENT', "notAfter lies beyond the issuer's notAfter");
    }
    const key = subjectKey(options.subjectPublicKey);
    const extensions = profileExtensions(options, this.pathLen);
    extensions.push(subjectKeyIdentifierExtension(keyIdentifier(key.point)));
    return signTbs(
      this.context,
      {
        serial: serialContent(options.serial),
        validity: this.validity.encode(options.notBefore, options.notAfter),
        subjectName: encodeName(options.subject),
        spki: key.spki,
        extensions,
      },
      key.keyObject,
    );
  }
}

function assertKeyMatches(certificate: Certificate, privateKey: KeyObject): void {
  if (privateKey.type !== 'private') throw new PkiError('INVALID_ARGUMENT', 'CA key must be a private key');
  assertP256(privateKey, 'CA private key');
  const derived = spkiOf(createPublicKey(privateKey));
  if (!derived.equals(certificate.spki) && !parseP256Spki(derived).point.equals(certificate.publicKeyPoint)) {
    throw new PkiError('KEY_MISMATCH', `Private key does not belong to ${certificate.subject.toString()}`);
  }
}

/**
 * An Issuer built without any check, so tests can forge what a real CA would refuse to sign (a
 * "CA" without basicConstraints, for one). Deliberately not exported from the package index.
 */
export function uncheckedIssuer(ca: CertificateAuthority): Issuer {
  return new Issuer(ca.certificate, ca.privateKey, CONSTRUCT);
}

const issuers = new WeakMap<Certificate, Issuer>();

/** Issuer.from, remembered per certificate so repeated calls with a plain CA object stay fast. */
export function createIssuer(ca: CertificateAuthority): Issuer {
  if (ca instanceof Issuer) return ca;
  const known = issuers.get(ca.certificate);
  if (known && known.privateKey === ca.privateKey) return known;
  const issuer = Issuer.from(ca);
  issuers.set(ca.certificate, issuer);
  return issuer;
}

export function issueCertificate(
  options: IssueOptions & { readonly issuer: Issuer | CertificateAuthority },
): Certificate {
  return createIssuer(options.issuer).issue(options);
}

export interface SelfSignedOptions {
  readonly subject: SubjectInput;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly pathLen?: number;
  readonly serial?: bigint | Uint8Array;
}

/** A self-signed CA certificate (a root). */
export function selfSignCa(
  privateKey: KeyObject,
  publicKey: KeyObject,
  options: SelfSignedOptions,
): Certificate {
  assertP256(privateKey, 'CA private key');
  if (!options.subject.commonName) throw new PkiError('INVALID_ARGUMENT', 'CA certificate needs a CN');
  const key = subjectKey(publicKey);
  const subjectName = encodeName(options.subject);
  const keyId = keyIdentifier(key.point);
  const certificate = signTbs(
    {
      issuerName: subjectName,
      authorityKeyId: keyId,
      authorityKeyIdExtension: authorityKeyIdentifierExtension(keyId),
      privateKey,
    },
    {
      serial: serialContent(options.serial),
      validity: new ValidityEncoder().encode(options.notBefore, options.notAfter),
      subjectName,
      spki: key.spki,
      extensions: [
        basicConstraintsExtension(true, options.pathLen),
        KU_CA,
        subjectKeyIdentifierExtension(keyId),
      ],
    },
    key.keyObject,
  );
  assertKeyMatches(certificate, privateKey);
  return certificate;
}
