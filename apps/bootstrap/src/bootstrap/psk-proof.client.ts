import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Logger } from '@meterkeep/observability';
import { INTERNAL_TOKEN_HEADER } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { BootstrapErrors } from './bootstrap.errors';

const Verdict = z.object({
  valid: z.boolean(),
  tenantId: z.string().optional(),
  endpointName: z.string().optional(),
});
export type PskVerdict = z.infer<typeof Verdict>;

const TIMEOUT_MS = 3_000;

/**
 * Asks enrollment, where the PSK lives sealed, whether a proof verifies: the key never leaves it.
 * POST /internal/v1/psk-proofs with the shared x-internal-token; any failure is a 503 (retried).
 */
@Injectable()
export class PskProofClient {
  constructor(
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async check(request: { pskIdentity: string; message: Buffer; proof: string }): Promise<PskVerdict> {
    const url = new URL('/internal/v1/psk-proofs', this.config.ENROLLMENT_INTERNAL_URL);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [INTERNAL_TOKEN_HEADER]: this.config.INTERNAL_API_TOKEN,
        },
        body: JSON.stringify({
          pskIdentity: request.pskIdentity,
          message: request.message.toString('base64'),
          proof: request.proof,
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      this.logger.warn({ err: error, url: url.origin }, 'PSK proof check: enrollment unreachable');
      throw BootstrapErrors.enrollmentUnavailable();
    }
    if (response.status !== 200) {
      this.logger.warn({ status: response.status, url: url.origin }, 'PSK proof check: enrollment refused');
      throw BootstrapErrors.enrollmentUnavailable();
    }
    const verdict = Verdict.safeParse(await response.json().catch(() => undefined));
    if (!verdict.success) {
      this.logger.warn({ url: url.origin }, 'PSK proof check: unexpected answer');
      throw BootstrapErrors.enrollmentUnavailable();
    }
    return verdict.data;
  }
}
