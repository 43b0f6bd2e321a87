import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from '@meterkeep/cache';
import { REDIS } from '@meterkeep/cache/nest';
import type { Logger } from '@meterkeep/observability';
import { LOGGER } from '@meterkeep/service-runtime';
import type { BootstrapAnswer } from '@meterkeep/contracts';

export const SESSION_TTL_SECONDS = 600;

export interface BootstrapSession {
  tenantId: string;
  serial: string;
  answer: BootstrapAnswer;
}

/**
 * A meter's recent bootstrap or renewal, by its CSR: a meter that lost the answer and sends the same
 * CSR again gets the same certificate, not a second one (and no second lifecycle event). Holds only
 * what the answer held (public certificates). Best effort: without Redis, a new certificate is issued.
 */
@Injectable()
export class BootstrapSessions {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private key(endpointName: string, csrDigest: string): string {
    return `bootstrap:session:${endpointName}:${csrDigest}`;
  }

  async find(endpointName: string, csrDigest: string): Promise<BootstrapSession | undefined> {
    try {
      const value = await this.redis.get(this.key(endpointName, csrDigest));
      return value ? (JSON.parse(value) as BootstrapSession) : undefined;
    } catch (error) {
      this.logger.warn({ err: error }, 'bootstrap session lookup failed');
      return undefined;
    }
  }

  async save(endpointName: string, csrDigest: string, session: BootstrapSession): Promise<void> {
    try {
      await this.redis.set(
        this.key(endpointName, csrDigest),
        JSON.stringify(session),
        'EX',
        SESSION_TTL_SECONDS,
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'bootstrap session not saved');
    }
  }
}
