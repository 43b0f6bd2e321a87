import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  type InjectionToken,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { TopicContract } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { type EventPublisher, OutboxRelay, type OutboxRelayOptions } from '../outbox-relay';
import type { OutboxDb } from '../outbox-table';
import { OutboxRepository } from '../outbox.repository';
import { type AfterCommit, Transactions } from '../transactions';

export interface OutboxModuleOptions extends Pick<
  OutboxRelayOptions<OutboxDb>,
  'schema' | 'pollMs' | 'batchSize' | 'maxBackoffMs' | 'finalDrainMs'
> {
  /** The topics the service publishes through its outbox. */
  topics: readonly TopicContract[];
  /** Token of the service's Kysely instance (DATABASE of @meterkeep/db/nest). */
  database: InjectionToken;
  /** Token of an EventPublisher (EventProducer of @meterkeep/kafka), connected before bootstrap. */
  publisher: InjectionToken;
  /** Token of the service's logger. */
  logger: InjectionToken;
  /** Token of an AfterCommit that every Transactions.run() waits for after its commit. */
  afterCommit?: InjectionToken;
}

/** Starts the relay once the app is up, and drains it before the producer and the pool close. */
@Injectable()
class OutboxLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(OutboxRelay) private readonly relay: OutboxRelay) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.relay.stop();
  }
}

/**
 * A service's transactional outbox: provides OutboxRepository (enqueue events in a transaction),
 * Transactions (the unit of work that nudges the relay after commit) and OutboxRelay (publishes in
 * id order, one replica at a time). Global: import it once in the app module.
 */
@Module({})
export class OutboxModule {
  static forRoot(options: OutboxModuleOptions): DynamicModule {
    const { topics, database, publisher, logger, afterCommit, ...relayOptions } = options;
    return {
      module: OutboxModule,
      global: true,
      providers: [
        { provide: OutboxRepository, useFactory: () => new OutboxRepository({ schema: options.schema }) },
        {
          provide: OutboxRelay,
          useFactory: (
            db: Kysely<OutboxDb>,
            events: EventPublisher,
            log: Logger,
            repository: OutboxRepository,
          ) =>
            new OutboxRelay({
              ...relayOptions,
              db,
              publisher: events,
              topics,
              logger: log.child({ component: 'outbox' }),
              repository,
            }),
          inject: [database, publisher, logger, OutboxRepository],
        },
        {
          provide: Transactions,
          useFactory: (db: Kysely<unknown>, relay: OutboxRelay, committed?: AfterCommit) =>
            new Transactions(db, relay, committed),
          inject: [database, OutboxRelay, ...(afterCommit ? [afterCommit] : [])],
        },
        OutboxLifecycle,
      ],
      exports: [OutboxRepository, OutboxRelay, Transactions],
    };
  }
}
