import { createECDH } from 'node:crypto';
import { der, fromPem } from '@meterkeep/pki';

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const {
  DerReader,
  TAG,
  contextTag,
  decodeDer,
  readOctetAlignedBitString,
  readOctetString,
  readOid,
  readSmallInteger,
} = der;

/**
 * The public point (uncompressed, 65 bytes) of an unencrypted PKCS#8 P-256 private key, computed
 * from its scalar. Reading the structure and one fixed-base multiplication is a tenth of the cost of
 * importing the key into OpenSSL and exporting its public half, which matters when a batch of a
 * million bundles is checked. Throws (a PkiError, or an Error from OpenSSL for a scalar out of
 * range) when the key is not a well-formed P-256 key, or when the public key it embeds is not its own.
 */
export function publicPointOfPrivateKey(pem: string): Buffer {
  const info = DerReader.of(decodeDer(fromPem(pem, 'PRIVATE KEY')), TAG.SEQUENCE, 'PrivateKeyInfo');
  const version = readSmallInteger(info.next(TAG.INTEGER, 'version'));
  if (version !== 0 && version !== 1) throw new Error(`PKCS#8 version ${version} is not 0 or 1`);
  const algorithm = DerReader.of(
    info.next(TAG.SEQUENCE, 'privateKeyAlgorithm'),
    TAG.SEQUENCE,
    'AlgorithmIdentifier',
  );
  if (readOid(algorithm.next(TAG.OID, 'algorithm')) !== OID_EC_PUBLIC_KEY) throw new Error('not an EC key');
  if (readOid(algorithm.next(TAG.OID, 'namedCurve')) !== OID_P256) throw new Error('not a P-256 key');
  algorithm.end();
  const ecKey = DerReader.of(
    decodeDer(readOctetString(info.next(TAG.OCTET_STRING, 'privateKey'))),
    TAG.SEQUENCE,
    'ECPrivateKey',
  );
  if (readSmallInteger(ecKey.next(TAG.INTEGER, 'version')) !== 1)
    throw new Error('ECPrivateKey version is not 1');
  const scalar = readOctetString(ecKey.next(TAG.OCTET_STRING, 'privateKey'));
  if (scalar.length !== 32) throw new Error(`P-256 scalar of ${scalar.length} bytes, 32 expected`);
  const parameters = ecKey.optional(contextTag(0, true));
  if (parameters) {
    const curve = new DerReader(parameters, 'parameters');
    if (readOid(curve.next(TAG.OID, 'namedCurve')) !== OID_P256)
      throw new Error('ECPrivateKey names another curve');
    curve.end();
  }
  const embedded = ecKey.optional(contextTag(1, true));
  ecKey.end();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(scalar); // refuses 0 and anything >= n
  const point = ecdh.getPublicKey();
  if (embedded) {
    const reader = new DerReader(embedded, 'publicKey');
    const embeddedPoint = readOctetAlignedBitString(reader.next(TAG.BIT_STRING, 'publicKey'));
    reader.end();
    if (!embeddedPoint.equals(point)) throw new Error('the public key it embeds is not its own');
  }
  return point;
}
