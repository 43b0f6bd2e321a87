import { type KeyObject, createPublicKey, randomBytes, verify } from 'node:crypto';
import {
  type Certificate,
  assertP256,
  der,
  encodeName,
  keyIdentifier,
  parseCertificate,
  spkiOf,
  toPem,
} from '@meterkeep/pki';
import { keyIdOf, signEs256 } from './signature';

/**
 * Key rotation (spec §4.1 THREAT.KEY.EXPOSURE, §4.2 tuf.root-rotation): the update authority's root
 * key, the one the factory puts in every bundle, stays offline and certifies a short-lived signing key.
 * The certificate is plain X.509 (ES256), an end entity for code signing: basicConstraints cA=false
 * and keyUsage digitalSignature (both critical), extKeyUsage codeSigning. The root has no certificate
 * of its own (the bundle holds a bare public key), so the issuer is named after the root's key id.
 */

const OIDS = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  codeSigning: '1.3.6.1.5.5.7.3.3',
} as const;

/** The longest delegation the signing tool writes: "short-lived" means weeks, a year at most. */
export const MAX_DELEGATION_DAYS = 366;

const extension = (oid: string, critical: boolean, value: Uint8Array) =>
  critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));

const pointOf = (key: KeyObject) => {
  const spki = spkiOf(key);
  return spki.subarray(spki.length - 65);
};

export interface DelegationOptions {
  readonly rootPrivateKey: KeyObject;
  readonly signingPublicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Issues the signing key's certificate, signed by the root key; returns it as PEM. */
export function issueSigningKeyCertificate(options: DelegationOptions): string {
  const { rootPrivateKey, signingPublicKey, notBefore, notAfter } = options;
  assertP256(rootPrivateKey, 'root key');
  if (rootPrivateKey.type !== 'private') throw new TypeError('The root key must be a private key');
  const subjectKey =
    signingPublicKey.type === 'private' ? createPublicKey(signingPublicKey) : signingPublicKey;
  assertP256(subjectKey, 'signing key');
  if (!(notAfter.getTime() > notBefore.getTime())) throw new RangeError('notAfter must follow notBefore');
  const rootKeyId = keyIdOf(rootPrivateKey);
  const signingKeyId = keyIdOf(subjectKey);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, always 16 octets
  const algorithm = der.sequence(der.oid(OIDS.ecdsaWithSha256));
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(serial),
    algorithm,
    encodeName({ organization: 'Meterkeep update authority', commonName: `root ${rootKeyId.slice(0, 32)}` }),
    der.sequence(der.time(notBefore), der.time(notAfter)),
    encodeName({
      organization: 'Meterkeep update authority',
      commonName: `signing ${signingKeyId.slice(0, 32)}`,
    }),
    spkiOf(subjectKey),
    der.explicit(
      3,
      der.sequence(
        extension(OIDS.basicConstraints, true, der.sequence()),
        extension(OIDS.keyUsage, true, der.namedBitString([0])), // digitalSignature
        extension(OIDS.extKeyUsage, false, der.sequence(der.oid(OIDS.codeSigning))),
        extension(OIDS.subjectKeyIdentifier, false, der.octetString(keyIdentifier(pointOf(subjectKey)))),
        extension(
          OIDS.authorityKeyIdentifier,
          false,
          der.sequence(der.implicit(0, keyIdentifier(pointOf(rootPrivateKey)), false)),
        ),
      ),
    ),
  );
  const signature = signEs256(rootPrivateKey, tbs);
  return toPem(der.sequence(tbs, algorithm, der.bitString(signature)), 'CERTIFICATE');
}

export type SigningKeyCertificateCheck =
  | {
      readonly ok: true;
      readonly publicKey: KeyObject;
      readonly keyId: string;
      readonly certificate: Certificate;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a signing-key certificate (DER or PEM, size-bounded by @meterkeep/pki before it is decoded):
 * well-formed P-256 X.509, an end entity for code signing, no unknown critical extension, valid at
 * `now`, signed by one of the root keys. Revocation is the caller's (it holds the list).
 */
export function verifySigningKeyCertificate(
  input: Uint8Array | string,
  rootPublicKeys: readonly KeyObject[],
  now: Date,
): SigningKeyCertificateCheck {
  let certificate: Certificate;
  try {
    certificate = parseCertificate(input);
    const { extensions } = certificate;
    if (certificate.isCa) return { ok: false, reason: 'the signing-key certificate is a CA certificate' };
    if (!extensions.keyUsage?.includes('digitalSignature')) {
      return { ok: false, reason: 'the signing-key certificate lacks keyUsage digitalSignature' };
    }
    if (!extensions.extKeyUsage?.includes(OIDS.codeSigning)) {
      return { ok: false, reason: 'the signing-key certificate lacks extKeyUsage codeSigning' };
    }
    if (extensions.unknownCritical.length > 0) {
      return { ok: false, reason: 'the signing-key certificate has an unknown critical extension' };
    }
    if (now.getTime() < certificate.notBefore.getTime()) {
      return { ok: false, reason: 'the signing-key certificate is not yet valid' };
    }
    if (now.getTime() > certificate.notAfter.getTime()) {
      return { ok: false, reason: 'the signing-key certificate has expired' };
    }
    const tbs = certificate.tbsDer;
    const signature = certificate.signature;
    const signedByRoot = rootPublicKeys.some((root) => {
      try {
        return verify('sha256', tbs, { key: root, dsaEncoding: 'der' }, signature);
      } catch {
        return false;
      }
    });
    if (!signedByRoot)
      return { ok: false, reason: 'the signing-key certificate is not signed by a root key' };
    const publicKey = certificate.publicKey;
    return { ok: true, publicKey, keyId: keyIdOf(publicKey), certificate };
  } catch (error) {
    return {
      ok: false,
      reason: `the signing-key certificate is malformed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
