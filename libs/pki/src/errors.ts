/** Every way the PKI library refuses something. One code per reason, so callers can map it once. */
export const PKI_ERROR_CODES = [
  'MALFORMED',
  'INVALID_ARGUMENT',
  'UNSUPPORTED_KEY',
  'UNSUPPORTED_ALGORITHM',
  'KEY_MISMATCH',
  'EXPIRED',
  'NOT_YET_VALID',
  'BAD_SIGNATURE',
  'WRONG_ISSUER',
  'UNTRUSTED_ROOT',
  'NOT_A_CA',
  'LEAF_IS_CA',
  'PATH_LENGTH_EXCEEDED',
  'KEY_USAGE',
  'EXTENDED_KEY_USAGE',
  'UNKNOWN_CRITICAL_EXTENSION',
  'REVOKED',
  'CSR_SUBJECT_MISMATCH',
  'CSR_BAD_SIGNATURE',
  'CRL_BAD_SIGNATURE',
  'CRL_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_MISSING',
] as const;

export type PkiErrorCode = (typeof PKI_ERROR_CODES)[number];

export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PkiError';
  }
}

export function isPkiError(error: unknown, code?: PkiErrorCode): error is PkiError {
  return error instanceof PkiError && (code === undefined || error.code === code);
}

/** Shorthand for the most common refusal: input that is not the DER/PEM structure it claims to be. */
export function malformed(message: string): PkiError {
  return new PkiError('MALFORMED', message);
}
