import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Logger } from '@meterkeep/observability';
import { DomainError, httpStatusOf } from './domain-error';

/** Where the answer's error code is left on the response (`response.locals`) for the request metrics. */
export const ERROR_CODE_LOCAL = 'meterkeepErrorCode';

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  errorId?: string;
}

/** RFC 9457 problem details around the stable `{ code, message }` (kept for every existing client). */
export interface ProblemBody extends ErrorBody {
  type: string;
  title: string;
  status: number;
  detail: string;
}

/** Problem type URIs are identifiers, one per code: `RATE_LIMITED` → `…/problems/rate-limited`. */
export const PROBLEM_TYPE_BASE = 'https://meterkeep.dev/problems/';

/**
 * No `instance` (optional in RFC 9457): a refusal for another tenant's resource must read byte for byte
 * as one for a resource that does not exist, whatever path was asked.
 */
export function problemDetails(status: number, body: ErrorBody): ProblemBody {
  return {
    type: `${PROBLEM_TYPE_BASE}${body.code.toLowerCase().replaceAll('_', '-')}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: body.message,
    ...body,
  };
}

function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHENTICATED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    409: 'CONFLICT',
    410: 'GONE',
    422: 'UNPROCESSABLE',
    413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'RATE_LIMITED',
    503: 'UNAVAILABLE',
  };
  return codes[status] ?? 'HTTP_ERROR';
}

/**
 * pg-pool's refusal when every connection stayed busy for its whole connectionTimeoutMillis: load, not a
 * fault of the request, so the caller is told to come back (a meter's status is kept for its retry).
 */
export function isDatabasePoolExhausted(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout exceeded when trying to connect';
}

/** Seconds a caller waits before trying again after the pool was exhausted. */
export const POOL_EXHAUSTED_RETRY_AFTER_S = 2;

/**
 * Maps every error to RFC 9457 problem details carrying `{ code, message }`; an exhausted database pool
 * answers 503 DATABASE_BUSY with Retry-After; an unexpected error answers 500 with an id that is in the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    const { status, body, retryAfter } = this.toResponse(error);
    if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
    // The code the request metrics label a 429 or 503 with.
    response.locals[ERROR_CODE_LOCAL] = body.code;
    response.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
    response.status(status).json(problemDetails(status, body));
  }

  private toResponse(error: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
    if (error instanceof DomainError) {
      return {
        status: httpStatusOf(error.kind),
        body: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
        },
        retryAfter: error.retryAfterSeconds,
      };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      if (status < 500) {
        const response = error.getResponse();
        const message =
          typeof response === 'object' && response !== null && 'message' in response
            ? String(response.message)
            : error.message;
        return { status, body: { code: codeForStatus(status), message } };
      }
    }
    if (isDatabasePoolExhausted(error)) {
      this.logger.warn('database pool exhausted: answered 503');
      return {
        status: 503,
        body: { code: 'DATABASE_BUSY', message: 'Busy: try again shortly' },
        retryAfter: POOL_EXHAUSTED_RETRY_AFTER_S,
      };
    }
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId }, 'unexpected error');
    return { status: 500, body: { code: 'INTERNAL', message: 'Internal error', errorId } };
  }
}
