import type { TopicContract } from '@meterkeep/contracts';
import { UseFilters, applyDecorators } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { KafkaEventErrorFilter } from './kafka-event-error.filter';

export interface KafkaEventPatternOptions {
  /**
   * The handler receives a partition's records a slice at a time: the payload is the events in
   * offset order, the context a KafkaBatchContext (EventConsumer.subscribeBatch). A transport's
   * handlers are either all per record or all per batch.
   */
  batch?: boolean;
}

/**
 * `@EventPattern(contract.name)` without a hand-typed topic string, plus KafkaEventErrorFilter so a
 * PermanentEventError thrown by the handler reaches the transport and is dead-lettered.
 */
export function KafkaEventPattern(
  contract: Pick<TopicContract, 'name'>,
  options: KafkaEventPatternOptions = {},
): MethodDecorator {
  return applyDecorators(
    EventPattern(contract.name, options.batch ? { batch: true } : undefined),
    UseFilters(KafkaEventErrorFilter),
  );
}
