import type { KeyObject } from 'node:crypto';
import {
  DerReader,
  TAG,
  type DerElement,
  contentOf,
  contextTag,
  decodeDer,
  encodingOf,
  readBitString,
  readIntegerBytes,
  readOctetAlignedBitString,
  readSmallInteger,
  readTime,
} from './der/index.js';
import { PkiError, malformed } from './errors.js';
import { type Extensions, parseExtensions } from './extensions.js';
import { fingerprintSha256 } from './fingerprint.js';
import { parseP256SpkiElement, publicKeyFromSpki } from './keys.js';
import { type DistinguishedName, parseName } from './name.js';
import { PEM_LABEL, parsePemBlocks, toDer, toPem } from './pem.js';
import { MAX_CERTIFICATE_BYTES, MAX_CHAIN_BYTES, MAX_CHAIN_CERTIFICATES, checkSize } from './limits.js';
import { readSignatureAlgorithm } from './signature.js';

interface Layout {
  readonly tbs: DerElement;
  readonly signatureAlgorithm: DerElement;
  readonly signatureValue: DerElement;
  readonly version: DerElement | undefined;
  readonly serial: DerElement;
  readonly tbsSignatureAlgorithm: DerElement;
  readonly issuer: DerElement;
  readonly validity: DerElement;
  readonly subject: DerElement;
  readonly spki: DerElement;
  readonly uniqueIds: readonly DerElement[];
  readonly extensions: DerElement | undefined;
}

function scan(der: Buffer): Layout {
  const outer = DerReader.of(decodeDer(der), TAG.SEQUENCE, 'Certificate');
  const tbs = outer.next(TAG.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = outer.next(TAG.SEQUENCE, 'signatureAlgorithm');
  const signatureValue = outer.next(TAG.BIT_STRING, 'signatureValue');
  outer.end();
  const fields = new DerReader(tbs, 'TBSCertificate');
  const version = fields.optional(contextTag(0, true));
  const serial = fields.next(TAG.INTEGER, 'serialNumber');
  const tbsSignatureAlgorithm = fields.next(TAG.SEQUENCE, 'signature');
  const issuer = fields.next(TAG.SEQUENCE, 'issuer');
  const validity = fields.next(TAG.SEQUENCE, 'validity');
  const subject = fields.next(TAG.SEQUENCE, 'subject');
  const spki = fields.next(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const uniqueIds = [fields.optional(contextTag(1, false)), fields.optional(contextTag(2, false))].filter(
    (e) => e !== undefined,
  );
  const extensions = fields.optional(contextTag(3, true));
  fields.end();
  return {
    tbs,
    signatureAlgorithm,
    signatureValue,
    version,
    serial,
    tbsSignatureAlgorithm,
    issuer,
    validity,
    subject,
    spki,
    uniqueIds,
    extensions,
  };
}

/**
 * An X.509 v3 certificate with an ECDSA P-256 key, signed with ecdsa-with-SHA256. Fields are decoded
 * on first use and kept; `parseCertificate` touches all of them so a malformed certificate is refused
 * at once. The public key is imported at most once.
 */
export class Certificate {
  readonly der: Buffer;
  private readonly layout: Layout;
  private cache: {
    serial?: bigint;
    issuer?: DistinguishedName;
    subject?: DistinguishedName;
    validity?: { notBefore: Date; notAfter: Date };
    extensions?: Extensions;
    publicKey?: KeyObject;
    pem?: string;
    fingerprint?: string;
  } = {};

  /** @internal Use parseCertificate, or the issuing functions. */
  constructor(der: Buffer, publicKey?: KeyObject) {
    this.der = der;
    this.layout = scan(der);
    if (publicKey) this.cache.publicKey = publicKey;
  }

  /** The signed part, exactly as encoded. */
  get tbsDer(): Buffer {
    return encodingOf(this.layout.tbs);
  }

  /** The DER Ecdsa-Sig-Value. */
  get signature(): Buffer {
    return readOctetAlignedBitString(this.layout.signatureValue, 'signatureValue');
  }

  /** 1 for v1, 3 for v3. */
  get version(): number {
    if (!this.layout.version) return 1;
    const reader = new DerReader(this.layout.version, 'version');
    const value = readSmallInteger(reader.next(TAG.INTEGER, 'version'), 'version');
    reader.end();
    if (value !== 1 && value !== 2) throw malformed(`Certificate version ${value} invalid (DER omits v1)`);
    return value + 1;
  }

  get serial(): bigint {
    if (this.cache.serial === undefined) {
      const hex = readIntegerBytes(this.layout.serial, 'serialNumber').toString('hex');
      let value = BigInt(`0x${hex}`);
      if (parseInt(hex.slice(0, 2), 16) & 0x80) value -= 1n << BigInt(hex.length * 4);
      this.cache.serial = value;
    }
    return this.cache.serial;
  }

  /** The serial's INTEGER contents in lowercase hex (as OpenSSL prints it, without colons). */
  get serialHex(): string {
    return contentOf(this.layout.serial).toString('hex');
  }

  get issuer(): DistinguishedName {
    return (this.cache.issuer ??= parseName(this.layout.issuer, 'issuer'));
  }

  get subject(): DistinguishedName {
    return (this.cache.subject ??= parseName(this.layout.subject, 'subject'));
  }

  private get validity(): { notBefore: Date; notAfter: Date } {
    if (!this.cache.validity) {
      const reader = new DerReader(this.layout.validity, 'validity');
      const notBefore = readTime(reader.next(undefined, 'notBefore'), 'notBefore');
      const notAfter = readTime(reader.next(undefined, 'notAfter'), 'notAfter');
      reader.end();
      this.cache.validity = { notBefore, notAfter };
    }
    return this.cache.validity;
  }

  get notBefore(): Date {
    return this.validity.notBefore;
  }

  get notAfter(): Date {
    return this.validity.notAfter;
  }

  /** SubjectPublicKeyInfo DER. */
  get spki(): Buffer {
    return encodingOf(this.layout.spki);
  }

  /** The EC point of the subject key (the BIT STRING contents of the SPKI). */
  get publicKeyPoint(): Buffer {
    return parseP256SpkiElement(this.layout.spki, 'subject public key').point;
  }

  /** Imported once, on first use. */
  get publicKey(): KeyObject {
    return (this.cache.publicKey ??= publicKeyFromSpki(this.spki, 'subject public key'));
  }

  get extensions(): Extensions {
    return (this.cache.extensions ??= parseExtensions(
      this.layout.extensions && firstChild(this.layout.extensions),
      'Certificate',
    ));
  }

  get isCa(): boolean {
    return this.extensions.basicConstraints?.ca === true;
  }

  /** Issuer and subject are the same name (a root, or a CA's re-key). */
  get isSelfIssued(): boolean {
    return this.issuer.equals(this.subject);
  }

  get pem(): string {
    return (this.cache.pem ??= toPem(this.der, PEM_LABEL.certificate));
  }

  /** SHA-256 of the DER, lowercase hex. */
  get fingerprintSha256(): string {
    return (this.cache.fingerprint ??= fingerprintSha256(this.der));
  }

  /** Decodes every field, refusing what this library does not accept. Called by parseCertificate. */
  checkWellFormed(): this {
    const version = this.version;
    if (this.layout.extensions && version !== 3) throw malformed('Certificate: extensions require v3');
    // issuerUniqueID / subjectUniqueID ([1], [2] IMPLICIT BIT STRING): RFC 5280 4.1.2.8 forbids CAs to
    // issue them but asks that they parse. Refused in v1 (X.509: v2 or v3 only) and when not a DER
    // BIT STRING; otherwise ignored, as no decision here rests on them.
    for (const uniqueId of this.layout.uniqueIds) {
      if (version === 1) throw malformed('Certificate: unique identifiers require v2 or v3');
      readBitString({ ...uniqueId, tag: TAG.BIT_STRING }, 'Certificate unique identifier');
    }
    void this.serial;
    parseP256SpkiElement(this.layout.spki, 'subject public key');
    readSignatureAlgorithm(this.layout.tbsSignatureAlgorithm, 'Certificate');
    readSignatureAlgorithm(this.layout.signatureAlgorithm, 'Certificate');
    if (!encodingOf(this.layout.tbsSignatureAlgorithm).equals(encodingOf(this.layout.signatureAlgorithm))) {
      throw malformed('Certificate: signature algorithm differs inside and outside the signed part');
    }
    void this.issuer;
    void this.subject;
    void this.validity;
    void this.extensions;
    void this.signature;
    return this;
  }
}

function firstChild(explicitTag: DerElement): DerElement {
  const reader = new DerReader(explicitTag, 'extensions');
  const inner = reader.next(TAG.SEQUENCE, 'Extensions');
  reader.end();
  return inner;
}

/** Parses one certificate, PEM or DER, and checks it is well-formed P-256/ecdsa-with-SHA256 X.509. */
export function parseCertificate(input: string | Uint8Array | Certificate): Certificate {
  if (input instanceof Certificate) return input;
  checkSize(input, MAX_CERTIFICATE_BYTES, 'Certificate');
  const der = Buffer.from(toDer(input, PEM_LABEL.certificate));
  checkSize(der, MAX_CERTIFICATE_BYTES, 'Certificate');
  try {
    return new Certificate(der).checkWellFormed();
  } catch (error) {
    if (error instanceof PkiError) throw error;
    throw malformed(`Certificate: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A chain a peer presented (leaf first, DER), parsed after its size is bounded: at most
 * MAX_CHAIN_CERTIFICATES certificates and MAX_CHAIN_BYTES in all, each within MAX_CERTIFICATE_BYTES.
 */
export function parseCertificateChain(ders: readonly Uint8Array[]): Certificate[] {
  if (ders.length > MAX_CHAIN_CERTIFICATES) {
    throw malformed(`Chain of ${ders.length} certificates; at most ${MAX_CHAIN_CERTIFICATES} are accepted`);
  }
  const total = ders.reduce((sum, der) => sum + der.length, 0);
  if (total > MAX_CHAIN_BYTES) throw malformed(`Chain is larger than ${MAX_CHAIN_BYTES} bytes`);
  return ders.map((der) => parseCertificate(der));
}

/** Every certificate in a PEM bundle, in order. */
export function parseCertificates(pem: string): Certificate[] {
  return parsePemBlocks(pem).map((block) => {
    if (block.label !== PEM_LABEL.certificate) throw malformed(`PEM bundle holds a ${block.label}`);
    return parseCertificate(block.der);
  });
}
