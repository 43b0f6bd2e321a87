import { Inject, Injectable } from '@nestjs/common';
import { API_KEYS_INTROSPECT } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import type { Caller } from '../auth/caller';
import { InternalHttpClient } from '../internal-http/internal-http-client';
import type { ServiceCredential } from '../internal-http/service-credential';
import { LOGGER } from '../service-core.module';
import { OperatorAuthErrors } from './operator-auth.errors';
import { ENROLLMENT_AUTH } from './operator-auth.tokens';

export interface EnrollmentAuthOptions {
  /** ENROLLMENT_INTERNAL_URL: where enrollment's internal routes answer. */
  enrollmentUrl: string;
  /** This service's mutual-TLS credential (its platform certificate). */
  credential: ServiceCredential;
  /** How long a resolved key is trusted without asking again; 30 s, never more. */
  cacheTtlMs?: number;
  /** How long one introspection may take; 3 s. */
  timeoutMs?: number;
}

/**
 * Asks enrollment, which owns tenants and API keys, whose key a caller presented (its route
 * API_KEYS_INTROSPECT). The key is never logged. Unknown or revoked (401, 400): undefined. No usable
 * answer, or enrollment refusing us as a caller (403): OperatorAuthErrors.unavailable (503).
 */
@Injectable()
export class EnrollmentApiKeysClient {
  private readonly enrollment: InternalHttpClient;

  constructor(@Inject(ENROLLMENT_AUTH) options: EnrollmentAuthOptions, @Inject(LOGGER) logger: Logger) {
    this.enrollment = new InternalHttpClient({
      service: 'enrollment',
      baseUrl: options.enrollmentUrl,
      credential: options.credential,
      timeoutMs: options.timeoutMs ?? 3_000,
      unavailable: OperatorAuthErrors.unavailable,
      logger,
    });
  }

  async introspect(apiKey: string): Promise<Caller | undefined> {
    // Enrollment would refuse it with a 400: no key of its making looks like that.
    if (!API_KEYS_INTROSPECT.request.safeParse({ apiKey }).success) return undefined;
    const answer = await this.enrollment.exchange(API_KEYS_INTROSPECT, { body: { apiKey } }, [400, 401]);
    return answer.status === 200 ? answer.body : undefined;
  }
}
