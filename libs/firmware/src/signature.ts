import { type KeyObject, createHash, createPublicKey, sign, verify } from 'node:crypto';
import { assertP256 } from '@meterkeep/pki';

/** A DER ECDSA P-256 signature is 8 to 72 bytes; anything else is refused before OpenSSL sees it. */
export const MIN_DER_SIGNATURE_BYTES = 8;
export const MAX_DER_SIGNATURE_BYTES = 72;

/** base64url without padding, as RFC 7515 writes signatures; the text bound covers 72 bytes. */
export const BASE64URL = /^[A-Za-z0-9_-]{11,96}$/;

/**
 * A key's id: lowercase hex SHA-256 of its SubjectPublicKeyInfo DER. Takes a public or a private key
 * (the id of a private key is that of its public half). Only P-256 keys have ids here.
 */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  assertP256(publicKey, 'key');
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** ES256 over the bytes, DER signature (what `openssl dgst -sha256 -verify` reads). */
export function signEs256(privateKey: KeyObject, bytes: Uint8Array): Buffer {
  assertP256(privateKey, 'signing key');
  if (privateKey.type !== 'private') throw new TypeError('A signature needs a private key');
  return sign('sha256', bytes, { key: privateKey, dsaEncoding: 'der' });
}

/** False for a wrong, malformed, truncated or non-DER signature, or a key that is not P-256. */
export function verifyEs256(publicKey: KeyObject, bytes: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length < MIN_DER_SIGNATURE_BYTES || signature.length > MAX_DER_SIGNATURE_BYTES) return false;
  try {
    assertP256(publicKey, 'verification key');
    return verify('sha256', bytes, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Decodes canonical unpadded base64url only (re-encoding gives the same text), else undefined. */
export function fromBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
