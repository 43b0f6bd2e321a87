import type { TopicContract } from '@meterkeep/contracts';
import { type Logger, createLogger } from '@meterkeep/observability';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { Kafka } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { EventConsumer, type EventConsumerOptions } from '../event-consumer';
import { type KafkaClientOptions, createKafkaClient } from '../kafka-client';
import { KafkaBatchContext, KafkaEventContext } from './kafka-event.context';

export interface KafkaTransportOptions extends Omit<EventConsumerOptions, 'kafka' | 'logger'> {
  /** A client to share, or what to build one from. */
  kafka: Kafka | KafkaClientOptions;
  /** Every topic a handler may name in `@EventPattern(<topic name>)`. */
  contracts: readonly TopicContract[];
  logger?: Logger;
}

/**
 * Nest microservice transport on EventConsumer: each `@EventPattern('<topic>')` handler receives the
 * validated event, and its outcome decides commit, retry or dead letter exactly as for EventConsumer.
 */
export class KafkaTransport extends Server implements CustomTransportStrategy {
  private consumer: EventConsumer | undefined;
  private readonly kafkaLogger: Logger;

  constructor(private readonly options: KafkaTransportOptions) {
    super();
    this.kafkaLogger = options.logger ?? createLogger({ service: 'kafka-transport' });
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  /** Drains the consumer: the handler under way finishes and its offset is committed. */
  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
    this._status$.next('stopped');
  }

  on(): never {
    throw new Error('KafkaTransport does not support event listeners; use its status observable');
  }

  unwrap<T>(): T {
    if (!this.consumer) throw new Error('KafkaTransport is not listening; call listen() first');
    return this.consumer as T;
  }

  private async start(): Promise<void> {
    const { kafka, contracts, logger: _logger, ...consumerOptions } = this.options;
    const byName = new Map(contracts.map((contract) => [contract.name, contract]));
    const consumer = new EventConsumer({
      ...consumerOptions,
      kafka: kafka instanceof Kafka ? kafka : createKafkaClient({ logger: this.kafkaLogger, ...kafka }),
      logger: this.kafkaLogger,
    });

    const problems: string[] = [];
    for (const [pattern, handler] of this.getHandlers()) {
      const contract = byName.get(pattern);
      if (!contract) problems.push(`no topic contract for pattern '${pattern}'`);
      else if (!handler.isEventHandler)
        problems.push(`'${pattern}' is a @MessagePattern; Kafka topics take @EventPattern`);
      else if (handler.extras?.batch === true)
        consumer.subscribeBatch(contract, (records) =>
          this.invoke(
            handler,
            records.map((record) => record.event),
            new KafkaBatchContext([records.map((record) => record.meta)]),
          ),
        );
      else
        consumer.subscribe(contract, (event, meta) =>
          this.invoke(handler, event, new KafkaEventContext([meta])),
        );
    }
    // Fail at start-up, not at the first message: a typo in a pattern would otherwise consume nothing.
    if (problems.length > 0) throw new Error(`KafkaTransport cannot listen: ${problems.join('; ')}`);
    if (consumer.topics.length === 0) {
      this.kafkaLogger.warn('KafkaTransport has no @EventPattern handlers; nothing to consume');
      return;
    }
    this.consumer = consumer;
    await consumer.start();
    this._status$.next('connected');
  }

  private async invoke(
    handler: MessageHandler,
    payload: unknown,
    context: KafkaEventContext | KafkaBatchContext,
  ): Promise<void> {
    try {
      const result: unknown = await handler(payload, context);
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    } catch (error) {
      throw asError(error);
    }
  }
}

/** Nest's default RPC filter rethrows a plain `{ status, message }`; keep real errors, wrap that. */
function asError(error: unknown): unknown {
  if (error instanceof Error || typeof error !== 'object' || error === null) return error;
  const { message } = error as { message?: unknown };
  return new Error(
    `Event handler failed: ${typeof message === 'string' ? message : JSON.stringify(error)} ` +
      '(use @KafkaEventPattern or KafkaEventErrorFilter so handler errors reach the transport)',
  );
}
