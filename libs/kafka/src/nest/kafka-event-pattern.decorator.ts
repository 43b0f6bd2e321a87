import type { TopicContract } from '@meterkeep/contracts';
import { UseFilters, applyDecorators } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { KafkaEventErrorFilter } from './kafka-event-error.filter';

/**
 * `@EventPattern(contract.name)` without a hand-typed topic string, plus KafkaEventErrorFilter so a
 * PermanentEventError thrown by the handler reaches the transport and is dead-lettered.
 */
export function KafkaEventPattern(contract: Pick<TopicContract, 'name'>): MethodDecorator {
  return applyDecorators(EventPattern(contract.name), UseFilters(KafkaEventErrorFilter));
}
