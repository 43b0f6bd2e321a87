import { Inject, Injectable } from '@nestjs/common';
import { PSK_PROOFS_CHECK, type PskProofVerdict } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { InternalHttpClient, SERVICE_CREDENTIAL, type ServiceCredential } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { BootstrapErrors } from './bootstrap.errors';

export type PskVerdict = PskProofVerdict;

/**
 * Asks enrollment, where the PSK lives sealed, whether a proof verifies: the key never leaves it.
 * Enrollment's internal PSK-proof route (PSK_PROOFS_CHECK); any failure is a 503 (retried).
 */
@Injectable()
export class PskProofClient {
  private readonly enrollment: InternalHttpClient;

  constructor(
    @Inject(CONFIG) config: BootstrapConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.enrollment = new InternalHttpClient({
      service: 'enrollment',
      baseUrl: config.ENROLLMENT_INTERNAL_URL,
      credential,
      timeoutMs: 3_000,
      unavailable: BootstrapErrors.enrollmentUnavailable,
      logger,
    });
  }

  check(request: { pskIdentity: string; message: Buffer; proof: string }): Promise<PskVerdict> {
    return this.enrollment.call(PSK_PROOFS_CHECK, {
      body: {
        pskIdentity: request.pskIdentity,
        message: request.message.toString('base64'),
        proof: request.proof,
      },
    });
  }
}
