import { BaseRpcContext } from '@nestjs/microservices';
import type { EventMeta } from '../event-consumer';

/** What a Kafka event handler can ask for with `@Ctx()`: topic, partition, offset, key, headers, attempt. */
export class KafkaEventContext extends BaseRpcContext<[EventMeta]> {
  getMeta(): EventMeta {
    return this.args[0];
  }
}

/** What a batch handler (`@KafkaEventPattern(contract, { batch: true })`) can ask for with `@Ctx()`. */
export class KafkaBatchContext extends BaseRpcContext<[readonly EventMeta[]]> {
  /** Each event's topic, partition, offset, key, headers and attempt, in the payload's order. */
  getMetas(): readonly EventMeta[] {
    return this.args[0];
  }
}
