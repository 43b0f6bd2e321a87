import { createHash } from 'node:crypto';

/**
 * What a PSK meter signs to prove it holds its key: utf8(nonce) || 0x00 || SHA-256(CSR DER). The proof
 * is HMAC-SHA256(psk, message); binding the CSR means a captured proof cannot certify another key.
 */
export function pskProofMessage(nonce: string, csrDer: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(nonce, 'utf8'),
    Buffer.from([0]),
    createHash('sha256').update(csrDer).digest(),
  ]);
}
