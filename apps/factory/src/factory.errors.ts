/** Every way the factory tool refuses to go on. One code per reason; the CLI maps them to exit codes. */
export const FACTORY_ERROR_CODES = [
  /** The command line itself is wrong: exit 2 with the usage. */
  'USAGE',
  'PASSPHRASE_MISSING',
  'WRONG_PASSPHRASE',
  'CA_EXISTS',
  'CA_INVALID',
  'BATCH_CONFLICT',
  'LIFETIME_NOT_COVERED',
  'INPUT_INVALID',
  'BATCH_INVALID',
  'WORKER_FAILED',
  'INTERRUPTED',
] as const;

export type FactoryErrorCode = (typeof FACTORY_ERROR_CODES)[number];

export class FactoryError extends Error {
  constructor(
    readonly code: FactoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FactoryError';
  }
}

export const usageError = (message: string) => new FactoryError('USAGE', message);

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
