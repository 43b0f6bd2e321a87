/**
 * What went wrong, in the domain's words. Use cases throw these; the HTTP edge maps `kind` to a status
 * and a Kafka consumer maps it to retry or dead-letter, so one use case serves both.
 */
export type DomainErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'gone'
  | 'conflict'
  | 'unprocessable'
  | 'too-large'
  | 'unsupported-media-type'
  | 'rate-limited'
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    /** Stable, machine-readable: UPPER_SNAKE_CASE. */
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds a client should wait before retrying (rate-limited, unavailable). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  /** Retrying the same input cannot succeed: a Kafka consumer dead-letters it. */
  get permanent(): boolean {
    return this.kind !== 'unavailable' && this.kind !== 'rate-limited';
  }
}

export function httpStatusOf(kind: DomainErrorKind): number {
  switch (kind) {
    case 'invalid':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
      return 404;
    case 'gone':
      return 410;
    case 'conflict':
      return 409;
    case 'unprocessable':
      return 422;
    case 'too-large':
      return 413;
    case 'unsupported-media-type':
      return 415;
    case 'rate-limited':
      return 429;
    case 'unavailable':
      return 503;
  }
}
