import { type KeyObject, sign } from 'node:crypto';
import { authorityKeyIdentifierExtension, subjectKeyIdentifierExtension } from '../src/extensions.js';
import {
  type Certificate,
  type CertificateAuthority,
  type KeyPair,
  PkiError,
  type SubjectInput,
  createIntermediateCa,
  createRootCa,
  der,
  encodeName,
  generateKeyPair,
  issueCertificate,
  keyIdentifier,
  parseCertificate,
  spkiOf,
} from '../src/index.js';

/** A fixed clock: nothing in these tests depends on the real date. */
export const T0 = new Date('2025-01-01T00:00:00Z');
export const AT = new Date('2026-06-01T12:00:00Z');
export const years = (from: Date, n: number): Date => {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + n);
  return d;
};

export interface TestPki {
  readonly root: CertificateAuthority;
  readonly intermediate: CertificateAuthority;
  readonly leaf: Certificate;
  readonly leafKey: KeyObject;
  readonly server: Certificate;
}

/** root (pathLen 1) -> intermediate (pathLen 0) -> factory-device leaf, plus a server certificate. */
export function buildPki(endpointName = 'meter-0001'): TestPki {
  const root = createRootCa({
    subject: { country: 'GB', organization: 'Meterkeep Test', commonName: 'Meterkeep Test Root' },
    validity: { notBefore: T0, notAfter: years(T0, 20) },
    pathLen: 1,
  });
  const intermediate = createIntermediateCa(root, {
    subject: { country: 'GB', organization: 'Meterkeep Test', commonName: 'Meterkeep Test Factory CA' },
    validity: { notBefore: T0, notAfter: years(T0, 15) },
    pathLen: 0,
  });
  const device = generateKeyPair();
  const leaf = issueCertificate({
    issuer: intermediate,
    profile: 'factory-device',
    subject: { commonName: endpointName },
    subjectPublicKey: device.publicKey,
    notBefore: T0,
    notAfter: years(T0, 10),
  });
  const server = issueCertificate({
    issuer: intermediate,
    profile: 'server',
    subject: { commonName: 'bootstrap.meterkeep.test' },
    subjectPublicKey: generateKeyPair().publicKey,
    notBefore: T0,
    notAfter: years(T0, 2),
    sans: { dns: ['bootstrap.meterkeep.test', '*.meterkeep.test'], ip: ['127.0.0.1', '::1'] },
  });
  return { root, intermediate, leaf, leafKey: device.privateKey, server };
}

/** A copy of the DER with one byte XOR-ed. */
export function flipByte(der: Buffer, index: number): Buffer {
  const copy = Buffer.from(der);
  const i = index < 0 ? copy.length + index : index;
  copy[i] = copy[i]! ^ 0x01;
  return copy;
}

/** The PkiError code `fn` throws; fails the test when it returns or throws anything else. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PkiError) return error.code;
    throw error;
  }
  throw new Error('Expected a PkiError, but nothing was thrown');
}

let forgedSerial = 0x7000n;

export interface ForgeOptions {
  readonly issuer: CertificateAuthority;
  readonly subject: SubjectInput;
  readonly publicKey: KeyObject;
  /** Overrides the SPKI built from publicKey (to forge a certificate for a key spkiOf refuses). */
  readonly spki?: Buffer;
  /** Encoded Extension values; SKI and AKI are appended. */
  readonly extensions: readonly Buffer[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/**
 * Builds and signs a certificate by hand with the DER encoder, for shapes the issuing API refuses to
 * produce (a CA without keyCertSign, an unknown critical extension…).
 */
export function forgeCertificate(options: ForgeOptions): Certificate {
  const algorithm = der.sequence(der.oid('1.2.840.10045.4.3.2'));
  const spki = options.spki ?? spkiOf(options.publicKey);
  const issuerKeyId = options.issuer.certificate.extensions.subjectKeyIdentifier!;
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(++forgedSerial),
    algorithm,
    options.issuer.certificate.subject.der,
    der.sequence(der.time(options.notBefore ?? T0), der.time(options.notAfter ?? years(T0, 5))),
    encodeName(options.subject),
    spki,
    der.explicit(
      3,
      der.sequence(
        ...options.extensions,
        subjectKeyIdentifierExtension(keyIdentifier(spki.subarray(-65))),
        authorityKeyIdentifierExtension(issuerKeyId),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: options.issuer.privateKey, dsaEncoding: 'der' });
  return parseCertificate(der.sequence(tbs, algorithm, der.bitString(signature)));
}

export interface SelfSignedOptions {
  /** Encoded Name; default CN=meter-0001. */
  readonly subject?: Buffer;
  /** Encoded Extension values (none: a v3 certificate without extensions). */
  readonly extensions?: readonly Buffer[];
  readonly key?: KeyPair;
}

/** A self-signed certificate built by hand, as a hostile client could send: no field is checked. */
export function selfSignedDer(options: SelfSignedOptions = {}): Buffer {
  const { privateKey, publicKey } = options.key ?? generateKeyPair();
  const algorithm = der.sequence(der.oid('1.2.840.10045.4.3.2'));
  const name = options.subject ?? encodeName({ commonName: 'meter-0001' });
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(1),
    algorithm,
    name,
    der.sequence(der.time(T0), der.time(years(T0, 5))),
    name,
    spkiOf(publicKey),
    ...(options.extensions?.length ? [der.explicit(3, der.sequence(...options.extensions))] : []),
  );
  return der.sequence(tbs, algorithm, der.bitString(sign('sha256', tbs, privateKey)));
}

/** An OID whose second arc takes `octets` bytes (0xff… 0x7f), as in the slow-decoding attack. */
export function longArcOid(octets: number): Buffer {
  const arc = Buffer.alloc(octets, 0xff);
  arc[octets - 1] = 0x7f;
  return der.tlv(der.TAG.OID, Buffer.concat([Buffer.from([0x2a]), arc]));
}
