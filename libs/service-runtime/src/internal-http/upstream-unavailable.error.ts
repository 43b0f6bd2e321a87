import { DomainError } from '../errors/domain-error';

/** Why a call to another service gave no usable answer. */
export type UpstreamFailure = 'unreachable' | 'timeout' | 'status' | 'invalid-answer';

/**
 * The one error an internal call fails with: the other service was unreachable, too slow, answered a
 * status the caller does not expect (503 among them) or an answer that breaks the route's contract.
 * Always kind 'unavailable', so retryable: the HTTP edge answers 503 with Retry-After, a Kafka consumer
 * retries. Its code and message are the caller's own (from its errors file); nothing in it names a
 * secret or a URL.
 */
export class UpstreamUnavailableError extends DomainError {
  constructor(
    base: DomainError,
    /** The service called, such as 'enrollment'. */
    readonly service: string,
    /** The route's contract name. */
    readonly route: string,
    readonly failure: UpstreamFailure,
    /** The status the other service answered, when it answered. */
    readonly status?: number,
    retryAfterSeconds = base.retryAfterSeconds,
  ) {
    super('unavailable', base.code, base.message, base.details, retryAfterSeconds);
    this.name = 'UpstreamUnavailableError';
  }
}
