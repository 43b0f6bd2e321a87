import { ContractViolationError } from '@meterkeep/contracts';

/**
 * Thrown by a handler when retrying cannot help (the event refers to something that will never
 * exist, a business rule rejects it): the record goes to the dead-letter topic instead.
 */
export class PermanentEventError extends Error {
  readonly permanent = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentEventError';
  }
}

/** Permanent: a PermanentEventError, any error flagged `permanent: true`, or a contract violation. */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof PermanentEventError || error instanceof ContractViolationError) return true;
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'object' && error !== null) {
    try {
      return JSON.stringify(error);
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
