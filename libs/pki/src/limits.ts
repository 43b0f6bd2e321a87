import { malformed } from './errors.js';

/**
 * Bounds checked before untrusted input is decoded, so a refusal costs little (a few µs per
 * certificate). Ours are about 600 bytes with 5 extensions; the bounds leave room for any sane
 * P-256 certificate from an OEM. Nesting depth needs no bound of its own: the decoders follow the
 * X.509 schema and never descend into a value they do not understand.
 */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;
export const MAX_CSR_BYTES = 16 * 1024;
/** Per certificate, CRL or CRL entry. */
export const MAX_EXTENSIONS = 32;
/** Attributes in one Name, over all its RDNs. */
export const MAX_NAME_ATTRIBUTES = 32;
/** A presented chain: leaf and intermediates (paths longer than MAX_PATH_LENGTH are refused anyway). */
export const MAX_CHAIN_CERTIFICATES = 8;
export const MAX_CHAIN_BYTES = 64 * 1024;

/** Refuses input longer than `max` bytes (PEM text counts at its base64 size). */
export function checkSize(input: string | Uint8Array, max: number, what: string): void {
  // Base64 takes 4 characters per 3 bytes, plus line breaks and the BEGIN/END lines.
  const limit = typeof input === 'string' ? Math.ceil((max * 4) / 3) * 1.05 + 200 : max;
  if (input.length > limit) throw malformed(`${what} is larger than ${max} bytes`);
}
