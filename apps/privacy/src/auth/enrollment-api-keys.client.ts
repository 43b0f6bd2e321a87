import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Logger } from '@meterkeep/observability';
import { type Caller, INTERNAL_TOKEN_HEADER } from '@meterkeep/service-runtime';
import { ENROLLMENT_AUTH } from '../core/tokens';
import { LOGGER } from '@meterkeep/service-runtime';
import { AuthErrors } from './auth.errors';

export interface EnrollmentAuthOptions {
  /** ENROLLMENT_INTERNAL_URL: where enrollment's internal routes answer. */
  enrollmentUrl: string;
  /** INTERNAL_API_TOKEN, sent as x-internal-token. */
  internalToken: string;
  /** How long a resolved key is trusted without asking again; 30 s, never more. */
  cacheTtlMs?: number;
  /** How long one introspection may take; 3 s. */
  timeoutMs?: number;
}

export const INTROSPECTION_PATH = '/internal/v1/api-keys/introspect';

const Introspection = z.object({
  tenantId: z.string().min(1).max(64),
  keyId: z.string().min(1).max(64),
  role: z.enum(['admin', 'operator', 'auditor']),
  actor: z.string().min(1).max(128),
});

/**
 * Asks enrollment, which owns tenants and API keys, whose key a caller presented:
 * POST {ENROLLMENT_INTERNAL_URL}/internal/v1/api-keys/introspect with x-internal-token. The key is
 * never logged. Unknown or revoked: undefined. No usable answer: AuthErrors.unavailable (503).
 */
@Injectable()
export class EnrollmentApiKeysClient {
  private readonly url: URL;

  constructor(
    @Inject(ENROLLMENT_AUTH) private readonly options: EnrollmentAuthOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.url = new URL(INTROSPECTION_PATH, options.enrollmentUrl);
  }

  async introspect(apiKey: string): Promise<Caller | undefined> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.options.internalToken },
        body: JSON.stringify({ apiKey }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000),
      });
    } catch (error) {
      this.logger.warn({ err: error, url: this.url.origin }, 'API key introspection: enrollment unreachable');
      throw AuthErrors.unavailable();
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (response.status === 401) {
      // The same status answers a wrong internal token: that is our misconfiguration, not the caller's.
      const message = (body as { message?: unknown } | undefined)?.message;
      if (typeof message === 'string' && /internal-token/i.test(message)) {
        this.logger.error(
          { url: this.url.origin },
          'API key introspection: enrollment refused our INTERNAL_API_TOKEN',
        );
        throw AuthErrors.unavailable();
      }
      return undefined;
    }
    if (response.status === 400) return undefined;
    if (response.status !== 200) {
      this.logger.warn(
        { status: response.status, url: this.url.origin },
        'API key introspection: enrollment failed',
      );
      throw AuthErrors.unavailable();
    }
    const caller = Introspection.safeParse(body);
    if (!caller.success) {
      this.logger.warn({ url: this.url.origin }, 'API key introspection: unexpected answer');
      throw AuthErrors.unavailable();
    }
    return caller.data;
  }
}
