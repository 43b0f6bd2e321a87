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

/**
 * Thrown by a batch handler that refused some records of its slice and wrote nothing of it: the
 * consumer dead-letters exactly those, each with its reason, and hands the rest over again as one slice,
 * instead of replaying the slice record by record to find them. `index` is the record's place in the
 * slice the handler was given. Permanent, so a consumer that does not know it replays as before.
 */
export class RefusedRecordsError extends PermanentEventError {
  constructor(readonly refused: readonly { index: number; reason: string }[]) {
    const first = refused[0];
    super(`${refused.length} records refused${first ? ` (first, at ${first.index}: ${first.reason})` : ''}`);
    this.name = 'RefusedRecordsError';
  }

  /** Whether it names one or more distinct records of a slice of `size`: else it cannot be trusted. */
  namesRecordsOf(size: number): boolean {
    const indices = new Set(this.refused.map((r) => r.index));
    return (
      this.refused.length > 0 &&
      indices.size === this.refused.length &&
      [...indices].every((i) => Number.isInteger(i) && i >= 0 && i < size)
    );
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
