import {
  type JsonWebKey,
  KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import { DerReader, decodeDer, encodingOf, readOctetAlignedBitString, readOid, TAG } from './der/index.js';
import { PkiError, isPkiError } from './errors.js';
import { OID } from './oids.js';
import { PEM_LABEL, toDer, toPem } from './pem.js';

/**
 * P-256 keys only. Importing a key is costly on OpenSSL 3, so every function here returns a KeyObject
 * meant to be kept and reused, and the SPKI of a fresh key is built from its point, not re-encoded.
 */
export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** Refuses anything but an EC key on prime256v1 (P-256). */
export function assertP256(key: KeyObject, what = 'key'): KeyObject {
  if (key.type === 'secret') {
    throw new PkiError('UNSUPPORTED_KEY', `${what} is a secret key, not a P-256 key`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${curve ?? 'unknown curve'}` : key.asymmetricKeyType;
    throw new PkiError('UNSUPPORTED_KEY', `${what} is ${kind ?? 'unknown'}, only ECDSA P-256 is accepted`);
  }
  return key;
}

function importFailure(what: string, error: unknown): PkiError {
  if (isPkiError(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PkiError('MALFORMED', `${what} could not be imported: ${reason}`);
}

/** PKCS#8 or SEC1 ("EC PRIVATE KEY"), PEM or DER, imported once. */
export function importPrivateKey(input: string | Uint8Array | KeyObject): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw new PkiError('INVALID_ARGUMENT', 'Expected a private key');
    return assertP256(input, 'private key');
  }
  let key: KeyObject;
  try {
    if (typeof input === 'string') {
      key = createPrivateKey(input);
    } else {
      const der = toDer(input, [PEM_LABEL.privateKey, PEM_LABEL.ecPrivateKey]);
      try {
        key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch {
        key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
      }
    }
  } catch (error) {
    throw importFailure('Private key', error);
  }
  return assertP256(key, 'private key');
}

/** SubjectPublicKeyInfo (PEM or DER) or a KeyObject, imported once. */
export function importPublicKey(input: string | Uint8Array | KeyObject): KeyObject {
  if (input instanceof KeyObject) {
    return assertP256(input.type === 'private' ? createPublicKey(input) : input, 'public key');
  }
  return publicKeyFromSpki(toDer(input, PEM_LABEL.publicKey));
}

export function exportPrivateKey(key: KeyObject, format: 'pem' | 'der' = 'pem'): string | Buffer {
  return format === 'pem'
    ? key.export({ type: 'pkcs8', format: 'pem' })
    : key.export({ type: 'pkcs8', format: 'der' });
}

export function publicKeyToPem(spkiDer: Uint8Array): string {
  return toPem(spkiDer, PEM_LABEL.publicKey);
}

export interface P256PublicKeyInfo {
  /** The whole SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** The EC point (the BIT STRING contents), uncompressed (65 bytes) or compressed (33 bytes). */
  readonly point: Buffer;
}

/** The 27 bytes every uncompressed P-256 SPKI starts with: SEQUENCE, AlgorithmIdentifier, BIT STRING header. */
const P256_SPKI_PREFIX = Buffer.from(
  '3059301306072a8648ce3d020106082a8648ce3d03010703420004',
  'hex',
).subarray(0, 26);

/** Checks that a SubjectPublicKeyInfo is a P-256 key, without importing it. */
export function parseP256Spki(spki: Uint8Array, what = 'public key'): P256PublicKeyInfo {
  const info = readP256Spki(spki, what);
  checkP256Point(info.point, what);
  return info;
}

/** The SPKI's shape only: the caller imports the key, and OpenSSL's import checks the point. */
function readP256Spki(spki: Uint8Array, what: string): P256PublicKeyInfo {
  const bytes = Buffer.isBuffer(spki) ? spki : Buffer.from(spki.buffer, spki.byteOffset, spki.length);
  // Fast path for the one shape OpenSSL (and spkiOf) produce; anything else takes the full parse.
  if (bytes.length === 91 && bytes[26] === 0x04 && P256_SPKI_PREFIX.equals(bytes.subarray(0, 26))) {
    return { spki: bytes, point: bytes.subarray(26) };
  }
  return readP256SpkiElement(decodeDer(bytes), what);
}

/** Checks a SubjectPublicKeyInfo element is a P-256 key whose point is on the curve. */
export function parseP256SpkiElement(
  element: ReturnType<typeof decodeDer>,
  what = 'public key',
): P256PublicKeyInfo {
  const info = readP256SpkiElement(element, what);
  checkP256Point(info.point, what);
  return info;
}

function readP256SpkiElement(element: ReturnType<typeof decodeDer>, what: string): P256PublicKeyInfo {
  const reader = DerReader.of(element, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const algorithm = DerReader.of(reader.next(TAG.SEQUENCE, 'algorithm'), TAG.SEQUENCE, 'AlgorithmIdentifier');
  const algorithmOid = readOid(algorithm.next(TAG.OID, 'algorithm'));
  if (algorithmOid !== OID.ecPublicKey) {
    throw new PkiError(
      'UNSUPPORTED_KEY',
      `${what} has algorithm ${algorithmOid}, only ECDSA P-256 is accepted`,
    );
  }
  const params = algorithm.next(undefined, 'parameters');
  const curve = params.tag === TAG.OID ? readOid(params) : 'explicit parameters';
  if (curve !== OID.prime256v1) {
    throw new PkiError('UNSUPPORTED_KEY', `${what} is on curve ${curve}, only P-256 is accepted`);
  }
  algorithm.end();
  const point = readOctetAlignedBitString(reader.next(TAG.BIT_STRING, 'subjectPublicKey'));
  reader.end();
  const valid =
    (point.length === 65 && point[0] === 0x04) ||
    (point.length === 33 && (point[0] === 0x02 || point[0] === 0x03));
  if (!valid) throw new PkiError('UNSUPPORTED_KEY', `${what} is not an encoded P-256 point`);
  return { spki: encodingOf(element), point };
}

// P-256 (FIPS 186-4 D.1.2.3): y² = x³ - 3x + b over GF(p).
const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const COMPRESSED_SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Refuses an uncompressed point that is not on P-256 (coordinates below p, the equation holds), so a
 * certificate's key is checked when it is parsed, not only when it is imported (a leaf's key may
 * never be). The point at infinity has no 65-byte encoding. A compressed point is checked by
 * OpenSSL's import, which decompresses it (rare, and too slow to do here in BigInt).
 */
function checkP256Point(point: Buffer, what: string): void {
  if (point[0] !== 0x04) {
    try {
      createPublicKey({ key: Buffer.concat([COMPRESSED_SPKI_PREFIX, point]), format: 'der', type: 'spki' });
    } catch {
      throw new PkiError('UNSUPPORTED_KEY', `${what} is not a point on P-256`);
    }
    return;
  }
  const x = BigInt(`0x${point.toString('hex', 1, 33)}`);
  const y = BigInt(`0x${point.toString('hex', 33, 65)}`);
  if (x >= P || y >= P || (y * y - (x * x * x - 3n * x + B)) % P !== 0n) {
    throw new PkiError('UNSUPPORTED_KEY', `${what} is not a point on P-256`);
  }
}

/** Imports a P-256 SubjectPublicKeyInfo; OpenSSL checks that the point is on the curve. */
export function publicKeyFromSpki(spki: Uint8Array, what = 'public key'): KeyObject {
  const { spki: der } = readP256Spki(spki, what);
  try {
    return assertP256(createPublicKey({ key: der, format: 'der', type: 'spki' }), what);
  } catch (error) {
    throw importFailure(what, error);
  }
}

/**
 * SPKI DER of a P-256 KeyObject, built from its JWK coordinates. This is the hot path of minting:
 * one JWK export both proves the curve (crv) and yields the point, where `export({ type: 'spki' })`
 * goes through OpenSSL 3's slow generic encoder and `asymmetricKeyDetails` costs as much again on a
 * fresh key.
 */
export function spkiOf(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.type !== 'public') throw new PkiError('UNSUPPORTED_KEY', 'Expected an asymmetric key');
  let jwk: JsonWebKey;
  try {
    jwk = publicKey.export({ format: 'jwk' });
  } catch {
    assertP256(publicKey); // throws with a message naming the key type
    throw new PkiError('UNSUPPORTED_KEY', 'P-256 key could not be exported');
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    assertP256(publicKey);
    throw new PkiError('UNSUPPORTED_KEY', 'Only ECDSA P-256 keys are accepted');
  }
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  if (x.length !== 32 || y.length !== 32) {
    throw new PkiError('UNSUPPORTED_KEY', 'P-256 coordinates must be 32 bytes');
  }
  const spki = Buffer.allocUnsafe(91);
  P256_SPKI_PREFIX.copy(spki, 0);
  spki[26] = 0x04;
  x.copy(spki, 27);
  y.copy(spki, 59);
  return spki;
}

/** RFC 5280 key identifier (method 1): SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(point: Uint8Array): Buffer {
  return createHash('sha1').update(point).digest();
}
