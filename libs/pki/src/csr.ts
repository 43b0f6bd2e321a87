import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import {
  DerReader,
  TAG,
  type DerElement,
  bitString,
  contextTag,
  decodeDer,
  encodingOf,
  implicit,
  integer,
  readOctetAlignedBitString,
  readSmallInteger,
  sequence,
} from './der/index.js';
import { PkiError, malformed } from './errors.js';
import { type CertificateAuthority, type IssueOptions, type Issuer, createIssuer } from './issuer.js';
import type { Certificate } from './certificate.js';
import { assertP256, parseP256SpkiElement, publicKeyFromSpki, spkiOf } from './keys.js';
import { type DistinguishedName, type SubjectInput, encodeName, parseName } from './name.js';
import { MAX_CSR_BYTES, checkSize } from './limits.js';
import { PEM_LABEL, toDer, toPem } from './pem.js';
import {
  ECDSA_WITH_SHA256,
  readSignatureAlgorithm,
  signEcdsaSha256,
  verifyEcdsaSha256,
} from './signature.js';

/**
 * A PKCS#10 certification request whose self-signature has been verified: instances come only from
 * `createCsr` and `parseCsr`. Its public key was imported once, for that verification, and is reused
 * when a certificate is issued from it.
 */
export class CertificationRequest {
  private cachedPem: string | undefined;

  /** @internal */
  constructor(
    readonly der: Buffer,
    /** The signed CertificationRequestInfo, exactly as encoded. */
    readonly infoDer: Buffer,
    readonly subject: DistinguishedName,
    /** SubjectPublicKeyInfo DER. */
    readonly spki: Buffer,
    readonly publicKey: KeyObject,
    readonly signature: Buffer,
  ) {}

  get pem(): string {
    return (this.cachedPem ??= toPem(this.der, PEM_LABEL.certificateRequest));
  }
}

export interface CreateCsrOptions {
  readonly privateKey: KeyObject;
  /** Default: derived from the private key. */
  readonly publicKey?: KeyObject;
  readonly subject: SubjectInput;
}

/** A PKCS#10 request signed with ecdsa-with-SHA256, no attributes. */
export function createCsr(options: CreateCsrOptions): CertificationRequest {
  const privateKey = assertP256(options.privateKey, 'private key');
  if (privateKey.type !== 'private') {
    throw new PkiError('INVALID_ARGUMENT', 'createCsr needs the private key');
  }
  const publicKey = assertP256(options.publicKey ?? createPublicKey(privateKey), 'public key');
  const spki = spkiOf(publicKey);
  const info = sequence(integer(0), encodeName(options.subject), spki, implicit(0, Buffer.alloc(0), true));
  const der = sequence(info, ECDSA_WITH_SHA256, bitString(signEcdsaSha256(privateKey, info)));
  try {
    return decodeCsr(der, publicKey);
  } catch (error) {
    if (error instanceof PkiError && error.code === 'CSR_BAD_SIGNATURE') {
      throw new PkiError('KEY_MISMATCH', 'The public key does not belong to the private key');
    }
    throw error;
  }
}

/**
 * Parses a CSR (PEM or DER) and verifies its self-signature: MALFORMED, UNSUPPORTED_KEY (not P-256),
 * UNSUPPORTED_ALGORITHM (not ecdsa-with-SHA256) or CSR_BAD_SIGNATURE.
 */
export function parseCsr(input: string | Uint8Array | CertificationRequest): CertificationRequest {
  if (input instanceof CertificationRequest) return input;
  checkSize(input, MAX_CSR_BYTES, 'CSR');
  return decodeCsr(input, undefined);
}

/** `knownKey` skips the import when the caller built the CSR from that very key (createCsr only). */
function decodeCsr(input: string | Uint8Array, knownKey: KeyObject | undefined): CertificationRequest {
  const der = Buffer.from(toDer(input, [PEM_LABEL.certificateRequest, 'NEW CERTIFICATE REQUEST']));
  checkSize(der, MAX_CSR_BYTES, 'CSR');
  const outer = DerReader.of(decodeDer(der), TAG.SEQUENCE, 'CertificationRequest');
  const info = outer.next(TAG.SEQUENCE, 'certificationRequestInfo');
  const algorithm = outer.next(TAG.SEQUENCE, 'signatureAlgorithm');
  const signature = readOctetAlignedBitString(outer.next(TAG.BIT_STRING, 'signature'), 'CSR signature');
  outer.end();

  const fields = new DerReader(info, 'CertificationRequestInfo');
  const version = readSmallInteger(fields.next(TAG.INTEGER, 'version'), 'CSR version');
  if (version !== 0) throw malformed(`CSR version ${version} is not v1 (0)`);
  const subject = parseName(fields.next(TAG.SEQUENCE, 'subject'), 'CSR subject');
  const spkiElement: DerElement = fields.next(TAG.SEQUENCE, 'subjectPKInfo');
  fields.next(contextTag(0, true), 'attributes');
  fields.end();

  const { spki } = parseP256SpkiElement(spkiElement, 'CSR public key');
  readSignatureAlgorithm(algorithm, 'CSR');
  const publicKey = knownKey ?? publicKeyFromSpki(spki, 'CSR public key');
  const infoDer = encodingOf(info);
  if (!verifyEcdsaSha256(publicKey, infoDer, signature)) {
    throw new PkiError(
      'CSR_BAD_SIGNATURE',
      `CSR for ${subject.toString()} does not verify under its own key`,
    );
  }
  return new CertificationRequest(der, infoDer, subject, Buffer.from(spki), publicKey, signature);
}

export interface IssueFromCsrOptions extends Omit<IssueOptions, 'subjectPublicKey' | 'subject'> {
  readonly issuer: Issuer | CertificateAuthority;
  readonly csr: CertificationRequest | string | Uint8Array;
  /**
   * The endpoint name the CSR's CN must equal (CSR_SUBJECT_MISMATCH otherwise). Required for the
   * device profiles: the CA, not the meter, decides which identity is certified.
   */
  readonly expectedCommonName?: string;
  /** Further subject attributes set by the CA (organization, …); the CN always comes from the CSR. */
  readonly subject?: Omit<SubjectInput, 'commonName'>;
}

/**
 * Issues a certificate for the key in a verified CSR. Only the CN is taken from the CSR's subject;
 * the rest of the request (other attributes, requested extensions) is ignored.
 */
export function issueFromCsr(options: IssueFromCsrOptions): Certificate {
  const csr = parseCsr(options.csr);
  const commonName = csr.subject.commonName;
  const deviceProfile = options.profile === 'factory-device' || options.profile === 'operational-device';
  if (deviceProfile && options.expectedCommonName === undefined) {
    throw new PkiError(
      'INVALID_ARGUMENT',
      `${options.profile} certificates from a CSR need expectedCommonName`,
    );
  }
  const commonNames = csr.subject.attributes.filter((a) => a.shortName === 'CN').length;
  if (commonNames > 1) {
    throw new PkiError('CSR_SUBJECT_MISMATCH', `CSR subject carries ${commonNames} CNs, one is expected`);
  }
  if (options.expectedCommonName !== undefined && commonName !== options.expectedCommonName) {
    throw new PkiError(
      'CSR_SUBJECT_MISMATCH',
      `CSR CN ${JSON.stringify(commonName ?? null)} is not the endpoint name ${JSON.stringify(options.expectedCommonName)}`,
    );
  }
  const { issuer, csr: _csr, expectedCommonName: _expected, subject, ...rest } = options;
  return createIssuer(issuer).issue({
    ...rest,
    subject: { ...subject, ...(commonName !== undefined && { commonName }) },
    subjectPublicKey: csr,
  });
}
