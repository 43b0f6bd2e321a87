import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ENROLLMENT_API_KEY_REVOCATIONS } from '@meterkeep/contracts';
import { EventConsumer, type KafkaClient } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { ServiceState } from '../health/readiness';
import { LOGGER } from '../service-core.module';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import { OPERATOR_AUTH_SERVICE } from './operator-auth.tokens';

const RETRY_MS = 2_000;

/** The group of one replica's revocation consumer: its own, so it hears every revocation. */
export const revocationsGroupId = (service: string) => `${service}-api-key-revocations-${randomUUID()}`;

/**
 * Hears enrollment's API-key revocations and drops the key from the caller cache at once. Every
 * replica caches on its own, so each reads every revocation in a group of its own, from the latest
 * record: a process just started has nothing cached to drop. Not ready until it has joined, so no
 * answer is cached that a revocation could not reach.
 */
@Injectable()
export class ApiKeyRevocationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: EventConsumer | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly authenticate: AuthenticateCallerUseCase,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OPERATOR_AUTH_SERVICE) private readonly service: string,
    state: ServiceState,
  ) {
    state.addProbe({
      name: 'api-key-revocations',
      check: () =>
        this.consumer?.running
          ? Promise.resolve()
          : Promise.reject(new Error('not following API-key revocations')),
    });
  }

  onApplicationBootstrap(): void {
    void this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.consumer?.stop();
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    const consumer = new EventConsumer({
      kafka: this.kafka,
      groupId: revocationsGroupId(this.service),
      logger: this.logger.child({ component: 'api-key-revocations-consumer' }),
      fromBeginning: false,
      maxWaitTimeInMs: 200,
    }).subscribe(ENROLLMENT_API_KEY_REVOCATIONS, (event) => {
      this.authenticate.revoked(event.tenantId, event.keyId);
      this.logger.info({ tenantId: event.tenantId, keyId: event.keyId }, 'api key revoked: dropped');
    });
    this.consumer = consumer;
    try {
      await consumer.start();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not follow API-key revocations; will retry');
      this.consumer = undefined;
      this.timer = setTimeout(() => void this.start(), RETRY_MS);
      this.timer.unref();
    }
  }
}
