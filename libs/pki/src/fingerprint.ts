import { createHash } from 'node:crypto';

/** SHA-256 of the DER, lowercase hex without separators. */
export function fingerprintSha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** "AB:CD:…", the form OpenSSL and Node's X509Certificate.fingerprint256 print. */
export function formatFingerprint(hex: string): string {
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new RangeError('Fingerprint must be whole bytes of hex');
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** Accepts either form and returns lowercase hex without separators. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toLowerCase();
}
