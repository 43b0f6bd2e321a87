import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Operator API keys: `mk_<keyId>_<secret>`. The key id (12 base32 characters) finds the stored row; the
 * secret (32 random bytes, base64url) is checked against its SHA-256. A fast hash is right here: the
 * secret has 256 bits of entropy, so there is nothing to brute-force that a slow hash would protect.
 */
const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const KEY_ID_LENGTH = 12;
const SECRET_BYTES = 32;
const API_KEY = /^mk_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  keyId: string;
  /** The whole key, to show once: never stored, never logged. */
  token: string;
  secretSha256: Buffer;
}

export interface ParsedApiKey {
  keyId: string;
  secret: string;
}

export function generateApiKey(): GeneratedApiKey {
  const keyId = Array.from({ length: KEY_ID_LENGTH }, () => KEY_ID_ALPHABET[randomInt(32)]).join('');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { keyId, token: `mk_${keyId}_${secret}`, secretSha256: hashSecret(secret) };
}

/** The key id and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  const match = API_KEY.exec(token);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of the secret's hash with the stored one. */
export function secretMatches(secret: string, stored: Buffer): boolean {
  const actual = hashSecret(secret);
  return stored.length === actual.length && timingSafeEqual(actual, stored);
}

/** How an API key appears as an actor in events and audit records: its id, never its secret. */
export function keyActor(keyId: string): string {
  return `key_${keyId}`;
}
