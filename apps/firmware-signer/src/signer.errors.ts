/** Every way the signing tool refuses to go on; the CLI maps them to exit codes. */
export const SIGNER_ERROR_CODES = [
  /** The command line itself is wrong: exit 2 with the usage. */
  'USAGE',
  'INPUT_INVALID',
  'KEY_INVALID',
  'PASSPHRASE_MISSING',
  'EXISTS',
  /** `verify` refused the envelope: the line names the failure code. */
  'REFUSED',
] as const;

export type SignerErrorCode = (typeof SIGNER_ERROR_CODES)[number];

export class SignerError extends Error {
  constructor(
    readonly code: SignerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignerError';
  }
}

export const usageError = (message: string) => new SignerError('USAGE', message);
